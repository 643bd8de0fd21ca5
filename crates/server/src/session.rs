//! One client connection from hello to close: the handshake (via `handshake`), then the
//! control loop that reads requests within deadlines, routes each through the dispatch
//! table and sends its reply. A session owns everything its client created (its
//! contexts and their threads, its shared memory) and frees all of it when it ends,
//! however it ends: Close, EOF, a protocol error, a dead peer, or server shutdown.
//!
//! It does not decide what a request does (`dispatch`), execute commands (`context`),
//! or accept connections and check credentials (`host`).

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use transport::channel::Channel;
use transport::liveness::{Liveness, LIVENESS_TICK};
use transport::TransportError;
use wire::control::{ControlHeader, ControlStatus};
use wire::protocol::{negotiate_features, Welcome, FEATURE_EVENTFD_DOORBELL, FEATURE_FD_PASSING, FEATURE_SHM_RINGS};

use crate::config::SessionLimits;
use crate::context::ContextWorker;
use crate::dispatch;
use crate::handshake::{self, Rejected};
use crate::stats::SessionStats;

/// Features offered on the Unix socket: rings in shared memory, descriptors over the
/// socket, eventfd doorbells.
pub(crate) const UNIX_FEATURES: u64 = FEATURE_SHM_RINGS | FEATURE_FD_PASSING | FEATURE_EVENTFD_DOORBELL;
/// Over TCP everything travels in the byte stream.
pub(crate) const TCP_FEATURES: u64 = 0;

/// Once a request's first byte arrived, all of it must arrive within this; a client
/// that stalls mid-message loses its session instead of holding the thread.
pub(crate) const MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a reply may wait for a client that does not read.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// What the host hands a new connection's thread.
#[derive(Debug)]
pub(crate) struct SessionParams {
    pub id: u64,
    pub limits: SessionLimits,
    /// The expected token on TCP; `None` on the Unix socket.
    pub token: Option<Arc<[u8]>>,
    /// Set by the host when the server shuts down.
    pub stop: Arc<AtomicBool>,
    /// From SO_PEERCRED, for logs (the hello's pid is the client's claim only).
    pub peer_pid: Option<u32>,
    /// Contexts get the loopback executor instead of host GL.
    pub loopback: bool,
    /// The server's live sessions; this one is listed while it holds anything.
    pub registry: Arc<crate::stats::Registry>,
}

/// A context the session owns, and the shared memory its rings hold against the quota.
#[derive(Debug)]
pub(crate) struct OwnedContext {
    pub worker: ContextWorker,
    pub shm_bytes: u64,
}

/// The state of one open session, which dispatch handlers act on.
#[derive(Debug)]
pub(crate) struct Session {
    pub id: u64,
    pub channel: Channel,
    pub limits: SessionLimits,
    /// Features both sides offered.
    pub features: u64,
    pub contexts: BTreeMap<u64, OwnedContext>,
    /// Pbuffer and window surfaces, by handle.
    pub surfaces: BTreeMap<u64, Arc<crate::surface::Surface>>,
    /// EGLImages, by handle; its contexts' validators read it.
    pub images: crate::images::SharedImages,
    next_context: u64,
    /// Shared memory mapped for this session, against `limits.max_shm_bytes`.
    pub shm_bytes: u64,
    pub stats: Arc<SessionStats>,
    /// What this session's GL objects may take (counted in `stats`).
    pub quota: Arc<crate::quota::SessionQuota>,
    /// The server's live sessions (for `QueryServerStats` and `ListSessions`).
    pub registry: Arc<crate::stats::Registry>,
    /// Marked gone when the client hangs up or breaks the protocol, so context threads
    /// blocked on its rings give up within a liveness tick.
    pub peer: Liveness,
    /// Set by Close: the session ends after replying.
    pub closing: bool,
    /// Contexts get the loopback executor instead of host GL.
    pub loopback: bool,
}

/// Why a session ended, for the log.
#[derive(Debug)]
enum End {
    Closed,
    HungUp,
    Shutdown,
    /// A context thread found the client's ring broken, or the client gone.
    PeerGone,
    Error(String),
}

/// Runs a connection from the hello to the end of its session. Never panics on peer
/// input; every wait is bounded by a deadline or the stop flag.
pub(crate) fn run(mut channel: Channel, params: SessionParams) {
    let id = params.id;
    // Shutdown cuts every wait short, even one inside a slow peer's deadline.
    channel.set_abort_flag(params.stop.clone());
    let hello = match handshake::read_hello(&mut channel, params.token.as_deref()) {
        Ok(hello) => hello,
        Err(Rejected::Refuse(refusal)) => {
            tracing::warn!(session = id, "refused: {}: {}", refusal.reason, refusal.message);
            handshake::refuse(&mut channel, &refusal);
            return;
        }
        Err(Rejected::Gone(e)) => {
            tracing::debug!(session = id, "client left during the handshake: {e}");
            return;
        }
    };
    let offered = if channel.passes_fds() { UNIX_FEATURES } else { TCP_FEATURES };
    let welcome = Welcome::new(offered, id, params.limits.to_wire());
    channel.set_send_timeout(REPLY_TIMEOUT);
    if let Err(e) = channel.send(&welcome.to_bytes(), &[]) {
        tracing::debug!(session = id, "could not send the welcome: {e}");
        return;
    }
    tracing::info!(
        session = id,
        program = %String::from_utf8_lossy(hello.program_name()),
        pid = params.peer_pid.unwrap_or(hello.pid),
        transport = if channel.is_tcp() { "tcp" } else { "unix" },
        "session opened"
    );
    let features = negotiate_features(hello.features, offered);
    let mut session = Session::new(id, channel, params.limits, features, params.registry.clone());
    session.loopback = params.loopback;
    let entry = crate::stats::SessionEntry {
        program: String::from_utf8_lossy(hello.program_name()).into_owned(),
        pid: params.peer_pid.unwrap_or(hello.pid),
        stats: session.stats.clone(),
        started: Instant::now(),
    };
    params.registry.insert(id, entry);
    let end = session.serve(&params.stop);
    let contexts = session.contexts.len();
    session.end();
    // Its surfaces, images and host objects go with it; only then is it off the list.
    drop(session);
    params.registry.remove(id);
    match end {
        End::Error(e) => tracing::warn!(session = id, contexts, "session ended: {e}"),
        other => tracing::info!(session = id, contexts, "session ended: {other:?}"),
    }
}

impl Session {
    fn new(
        id: u64,
        channel: Channel,
        limits: SessionLimits,
        features: u64,
        registry: Arc<crate::stats::Registry>,
    ) -> Self {
        // Its round trips' times go into the server's histogram.
        let stats = registry.new_stats();
        let channel_fd = std::os::fd::AsFd::as_fd(&channel);
        let peer = Liveness::watching_socket(channel_fd).unwrap_or_default();
        Self {
            id,
            channel,
            limits,
            features,
            contexts: BTreeMap::new(),
            surfaces: BTreeMap::new(),
            images: Default::default(),
            next_context: 1,
            shm_bytes: 0,
            stats: stats.clone(),
            quota: crate::quota::SessionQuota::new(
                crate::quota::Limits {
                    max_objects: u64::from(limits.max_objects),
                    max_gl_bytes: limits.max_gl_bytes,
                    max_shm_bytes: limits.max_shm_bytes,
                    max_server_bytes: limits.max_server_bytes,
                },
                stats,
            ),
            registry,
            // Context threads probe the client's socket themselves, so a client that
            // dies is noticed even while this session thread waits on one of them.
            peer,
            closing: false,
            loopback: false,
        }
    }

    /// A fresh context id; ids are never reused within a session, so a stale id from
    /// the client can only miss, never hit another context.
    pub fn allocate_context_id(&mut self) -> u64 {
        let id = self.next_context;
        self.next_context += 1;
        id
    }

    /// The control loop: wait for a request (looking at the stop flag and the peer's
    /// liveness every tick), read it whole within `MESSAGE_TIMEOUT`, dispatch, reply.
    fn serve(&mut self, stop: &AtomicBool) -> End {
        loop {
            if stop.load(Ordering::Acquire) {
                return End::Shutdown;
            }
            if !self.peer.is_alive() {
                return End::PeerGone;
            }
            match self.channel.wait_readable(LIVENESS_TICK) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => return End::Error(e.to_string()),
            }
            let (header, payload, fds) = match self.channel.recv_control(Instant::now() + MESSAGE_TIMEOUT) {
                Ok(Some(message)) => message,
                Ok(None) => return End::HungUp,
                Err(TransportError::Aborted) => return End::Shutdown,
                Err(e) => return End::Error(e.to_string()),
            };
            let outcome = dispatch::dispatch(self, &header, &payload, fds);
            if let Err(e) = self.reply(&header, &outcome) {
                return End::Error(format!("cannot reply: {e}"));
            }
            if outcome.status == ControlStatus::ProtocolError {
                return End::Error(String::from_utf8_lossy(&outcome.payload).into_owned());
            }
            if self.closing {
                return End::Closed;
            }
        }
    }

    fn reply(&mut self, header: &ControlHeader, outcome: &dispatch::Outcome) -> Result<(), TransportError> {
        let fds: Vec<_> = outcome.fds.iter().map(|fd| fd.as_fd()).collect();
        self.channel.send_control_reply(header.request_id, outcome.status, &outcome.payload, &fds)
    }

    /// Frees everything the session owned: tells context threads the peer is gone (so
    /// ring waits end within a tick), then stops and joins each of them.
    fn end(&mut self) {
        self.peer.mark_gone();
        let contexts = std::mem::take(&mut self.contexts);
        for (_, owned) in contexts {
            owned.worker.stop();
            SessionStats::sub(&self.stats.contexts, 1);
            SessionStats::sub(&self.stats.shm_bytes, owned.shm_bytes);
        }
        self.shm_bytes = 0;
    }
}

impl Drop for Session {
    /// Safety net: a session dropped on any path still stops its contexts.
    fn drop(&mut self) {
        self.end();
    }
}
