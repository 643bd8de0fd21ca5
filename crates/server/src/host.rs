//! The device host: binds the endpoints (`endpoint` checks the paths) and the metrics
//! listener, accepts connections, refuses other users (SO_PEERCRED) and connections
//! over the session limit, and runs one thread per session (and one for metrics). On
//! shutdown it stops every session (each stops its contexts), joins their threads and
//! removes its socket.
//!
//! It does not speak the handshake or dispatch requests (`session`), nor HTTP
//! (`metrics`).

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use transport::channel::{wait_any_readable, Channel};
use wire::protocol::{Refusal, RefusalReason};

use crate::config::ServeConfig;
use crate::endpoint::{self, BoundSocket};
use crate::error::ServerError;
use crate::session::{self, SessionParams};

/// How often the accept loop looks at the shutdown flag while idle.
const ACCEPT_TICK: Duration = Duration::from_millis(50);

/// A bound device endpoint, ready to [`run`](DeviceHost::run).
#[derive(Debug)]
pub struct DeviceHost {
    config: ServeConfig,
    unix: BoundSocket,
    tcp: Option<TcpListener>,
    token: Option<Arc<[u8]>>,
    euid: u32,
    /// The live sessions, for `QueryServerStats`, `ListSessions` and the metrics.
    registry: Arc<crate::stats::Registry>,
    /// `--metrics`: Prometheus text over HTTP.
    metrics: Option<TcpListener>,
}

#[derive(Debug)]
struct SessionThread {
    id: u64,
    thread: JoinHandle<()>,
}

impl DeviceHost {
    /// Prepares the socket's private directory, replaces a stale socket (refusing if a
    /// live server answers on it), binds and listens; with `listen`, also binds TCP,
    /// which requires a private, nonempty token file.
    pub fn bind(config: ServeConfig) -> Result<Self, ServerError> {
        let euid = rustix::process::geteuid().as_raw();
        // The token is checked first, so a bad token file leaves nothing bound.
        let token = match (&config.listen, &config.token_file) {
            (Some(_), Some(file)) => Some(Arc::from(endpoint::read_token(file)?)),
            (Some(addr), None) => {
                return Err(ServerError::Setup(format!(
                    "--listen {addr} needs --token-file: TCP clients must present a token"
                )))
            }
            (None, _) => None,
        };
        // Before the socket too: a port in use leaves nothing bound.
        let metrics = config.metrics.map(crate::metrics::bind).transpose()?;
        let dir = config.socket.parent().filter(|dir| !dir.as_os_str().is_empty()).ok_or_else(|| {
            ServerError::Setup(format!(
                "the socket path {} has no directory; pass a path like /run/user/UID/glwire/gpu0",
                config.socket.display()
            ))
        })?;
        endpoint::prepare_private_dir(dir, euid)?;
        let unix = endpoint::bind_socket(&config.socket)?;
        let tcp = match config.listen {
            Some(addr) => {
                let listener =
                    TcpListener::bind(addr).map_err(|e| ServerError::Setup(format!("cannot listen on {addr}: {e}")))?;
                listener
                    .set_nonblocking(true)
                    .map_err(|source| ServerError::Io { what: "set the TCP listener non-blocking", source })?;
                Some(listener)
            }
            None => None,
        };
        Ok(Self { config, unix, tcp, token, euid, registry: Arc::default(), metrics })
    }

    pub fn socket_path(&self) -> &Path {
        self.unix.path()
    }

    /// The TCP address actually bound (useful with port 0).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The metrics address actually bound (useful with port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` is set, then stops every session, joins their threads
    /// and removes the socket file. Prints the endpoints on stdout first.
    pub fn run(mut self, shutdown: Arc<AtomicBool>) -> Result<(), ServerError> {
        let stop = Arc::new(AtomicBool::new(false));
        let metrics_addr = self.metrics_addr();
        let metrics = match self.metrics.take() {
            Some(listener) => Some(crate::metrics::spawn(listener, self.registry.clone(), stop.clone())?),
            None => None,
        };
        announce(&format!("listening on unix:{}", self.socket_path().display()));
        if let Some(addr) = self.tcp_addr() {
            announce(&format!("listening on tcp:{addr}"));
        }
        if let Some(addr) = metrics_addr {
            announce(&format!("metrics on http://{addr}/metrics"));
        }
        tracing::info!(socket = %self.socket_path().display(), tcp = ?self.tcp_addr(), "device host up");
        let mut sessions = Vec::new();
        let mut next_id = 1u64;
        let result = self.accept_loop(&shutdown, &stop, &mut sessions, &mut next_id);
        // Whatever ended the loop, sessions end with it and free what they own.
        stop.store(true, Ordering::Release);
        if !sessions.is_empty() {
            tracing::info!("closing {} sessions", sessions.len());
        }
        for s in sessions {
            if s.thread.join().is_err() {
                tracing::error!(session = s.id, "session thread panicked");
            }
        }
        if metrics.is_some_and(|t| t.join().is_err()) {
            tracing::error!("the metrics thread panicked");
        }
        tracing::info!("device host down");
        result
        // `self` drops here: the socket file goes with it.
    }

    fn accept_loop(
        &self,
        shutdown: &AtomicBool,
        stop: &Arc<AtomicBool>,
        sessions: &mut Vec<SessionThread>,
        next_id: &mut u64,
    ) -> Result<(), ServerError> {
        while !shutdown.load(Ordering::Acquire) {
            reap(sessions);
            let mut fds = vec![self.unix.listener.as_fd()];
            if let Some(tcp) = &self.tcp {
                fds.push(tcp.as_fd());
            }
            let ready = wait_any_readable(&fds, ACCEPT_TICK)?;
            if ready.first() == Some(&true) {
                while let Some(stream) = accept(|| self.unix.listener.accept().map(|(s, _)| s)) {
                    match Channel::unix(stream) {
                        Ok(channel) => self.admit(channel, false, stop, sessions, next_id),
                        Err(e) => tracing::warn!("cannot set up a connection: {e}"),
                    }
                }
            }
            if let (Some(tcp), Some(&true)) = (&self.tcp, ready.get(1)) {
                while let Some(stream) = accept(|| tcp.accept().map(|(s, _)| s)) {
                    match Channel::tcp(stream) {
                        Ok(channel) => self.admit(channel, true, stop, sessions, next_id),
                        Err(e) => tracing::warn!("cannot set up a TCP connection: {e}"),
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks who connected and whether there is room, then starts the session thread.
    fn admit(
        &self,
        mut channel: Channel,
        tcp: bool,
        stop: &Arc<AtomicBool>,
        sessions: &mut Vec<SessionThread>,
        next_id: &mut u64,
    ) {
        let mut peer_pid = None;
        if !tcp {
            match channel.peer_credentials() {
                Some((pid, uid, _)) if uid == self.euid => peer_pid = Some(pid),
                Some((pid, uid, _)) => {
                    tracing::warn!(pid, uid, "refusing a connection from another user");
                    let message = format!(
                        "this glwire server runs for uid {}, you are uid {uid}; start your own `glwire serve`",
                        self.euid
                    );
                    refuse_now(&mut channel, RefusalReason::WrongUser, message);
                    return;
                }
                None => {
                    tracing::warn!("refusing a connection whose credentials cannot be read");
                    refuse_now(
                        &mut channel,
                        RefusalReason::WrongUser,
                        "the server cannot verify who you are (SO_PEERCRED failed)".into(),
                    );
                    return;
                }
            }
        } else if let Some(addr) = channel.peer_addr() {
            tracing::debug!(%addr, "TCP connection");
        }
        if sessions.len() >= self.config.max_sessions {
            tracing::warn!("refusing a connection: {} sessions open", sessions.len());
            let message = format!("the server has {} sessions, its limit", sessions.len());
            refuse_now(&mut channel, RefusalReason::Busy, message);
            return;
        }
        let id = *next_id;
        *next_id += 1;
        let params = SessionParams {
            id,
            limits: self.config.limits,
            token: if tcp { self.token.clone() } else { None },
            stop: stop.clone(),
            peer_pid,
            loopback: self.config.loopback,
            registry: self.registry.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("glwire-session-{id}"))
            .spawn(move || session::run(channel, params));
        match spawned {
            Ok(thread) => sessions.push(SessionThread { id, thread }),
            Err(e) => tracing::error!("cannot start a session thread: {e}"),
        }
    }
}

/// Tells whoever started the server where it listens (scripts wait for these lines).
/// Not `println!`: a closed stdout must not panic the server, only go unannounced.
fn announce(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "glwire serve: {line}");
    let _ = out.flush();
}

/// One accept: `None` when no connection is waiting (or accept failed, which is
/// logged: a full descriptor table must not stop the loop).
fn accept<S>(f: impl FnOnce() -> io::Result<S>) -> Option<S> {
    match f() {
        Ok(stream) => Some(stream),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => None,
        Err(e) => {
            tracing::warn!("accept failed: {e}");
            // The listener stays readable while, say, the descriptor table is full;
            // pausing keeps that from becoming a busy loop of warnings.
            std::thread::sleep(ACCEPT_TICK);
            None
        }
    }
}

/// Refuses from the accept loop itself: the refusal fits the socket buffer, so this
/// does not wait on the peer (the send timeout bounds it regardless).
fn refuse_now(channel: &mut Channel, reason: RefusalReason, message: String) {
    channel.set_send_timeout(Duration::from_millis(100));
    if let Err(e) = channel.send(&Refusal::new(reason, message).to_bytes(), &[]) {
        tracing::debug!("could not deliver a refusal: {e}");
    }
    let _ = channel.shutdown_write();
}

/// Joins session threads that have finished, so the list tracks only live sessions.
fn reap(sessions: &mut Vec<SessionThread>) {
    let mut i = 0;
    while i < sessions.len() {
        if sessions[i].thread.is_finished() {
            let done = sessions.swap_remove(i);
            if done.thread.join().is_err() {
                tracing::error!(session = done.id, "session thread panicked");
            }
        } else {
            i += 1;
        }
    }
}
