//! The client's connection to `glwire serve`: connect (Unix socket or TCP), the
//! handshake (send `Hello`, read `Welcome` or `Refusal`), and control requests with
//! request ids and a deadline on every reply. It owns the client half of the control
//! plane; it does not encode GL commands (`context`, `link`) or drive the shared-memory
//! rings (`transport::ring`).
//!
//! Every wait is bounded: a dead or silent server turns into an error within the
//! timeout, never a hang.

use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use zerocopy::IntoBytes;

use transport::channel::Channel;
use transport::TransportError;
use wire::control::{
    ControlError, ControlHeader, ControlKind, ControlReplyHeader, ControlStatus, CONTROL_HEADER_SIZE, MAX_CONTROL_FDS,
};
use wire::protocol::{
    negotiate_features, HandshakeError, Hello, ServerReply, Welcome, FEATURE_EVENTFD_DOORBELL, FEATURE_FD_PASSING,
    FEATURE_SHM_RINGS, REFUSAL_HEADER_SIZE,
};

/// How long the server has to answer the hello.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a control request waits for its reply unless told otherwise.
pub const DEFAULT_CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// Features a local client offers.
pub const LOCAL_FEATURES: u64 = FEATURE_SHM_RINGS | FEATURE_FD_PASSING | FEATURE_EVENTFD_DOORBELL;

/// Why connecting or a control request failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// Includes a refusal, whose text carries the server's message (both protocol
    /// versions on a mismatch).
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    #[error("control request: {0}")]
    Control(#[from] ControlError),
    #[error("the reply to request {got} arrived while waiting for request {expected}")]
    ReplyMismatch { expected: u64, got: u64 },
    /// A request the server answered with a non-`Ok` status (from [`Session::call`]).
    #[error("{kind} failed with {}: {message}", status_name(*status))]
    Failed {
        kind: &'static str,
        /// The raw status word, possibly one this build does not know.
        status: u32,
        message: String,
    },
}

impl SessionError {
    /// The status of a [`SessionError::Failed`] reply (`Err` with the raw number when
    /// this build does not know it); `None` for other errors.
    pub fn status(&self) -> Option<Result<ControlStatus, u32>> {
        match self {
            SessionError::Failed { status, .. } => Some(ControlStatus::from_u32(*status).ok_or(*status)),
            _ => None,
        }
    }
}

fn status_name(status: u32) -> String {
    match ControlStatus::from_u32(status) {
        Some(known) => format!("{known:?}"),
        None => format!("status {status}"),
    }
}

/// An open session with the server.
#[derive(Debug)]
pub struct Session {
    channel: Channel,
    welcome: Welcome,
    features: u64,
    next_request: u64,
    timeout: Duration,
}

impl Session {
    /// Connects to the server's Unix socket and opens a session.
    pub fn connect_unix(path: impl AsRef<Path>, program_name: &str) -> Result<Self, SessionError> {
        let channel = Channel::connect_unix(path)?;
        let hello = Hello::new(LOCAL_FEATURES, std::process::id(), program_name);
        Self::handshake(channel, hello, &[])
    }

    /// Connects over TCP and opens a session, presenting `token`. Shared memory and
    /// descriptor passing are not offered: everything travels in the byte stream.
    pub fn connect_tcp(addr: SocketAddr, token: &[u8]) -> Result<Self, SessionError> {
        let channel = Channel::connect_tcp(addr)?;
        let program = std::env::args().next().unwrap_or_default();
        let program = Path::new(&program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let hello = Hello::new(0, std::process::id(), &program);
        Self::handshake(channel, hello, token)
    }

    /// Runs the handshake on a connected channel with a given hello (tools and tests use
    /// this to send a hello of their own making, e.g. another protocol version).
    pub fn handshake(mut channel: Channel, hello: Hello, token: &[u8]) -> Result<Self, SessionError> {
        match channel.send(&hello.to_bytes(token)?, &[]) {
            // A server that refuses at once (wrong user, busy) may close before our
            // hello is out; its refusal is still waiting to be read, and says why.
            Ok(()) | Err(TransportError::PeerGone) => {}
            Err(e) => return Err(e.into()),
        }
        let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
        let mut reply = vec![0u8; REFUSAL_HEADER_SIZE];
        channel.recv_exact(&mut reply, "server reply", deadline)?;
        // Bounded: a welcome's size, or a refusal's header plus at most
        // MAX_REFUSAL_MESSAGE_LEN bytes of text.
        let total = ServerReply::needed_len(&reply)?;
        reply.resize(total, 0);
        channel.recv_exact(&mut reply[REFUSAL_HEADER_SIZE..], "server reply", deadline)?;
        let welcome = ServerReply::parse(&reply)?.into_result()?;
        let features = negotiate_features(hello.features, welcome.features);
        Ok(Self { channel, welcome, features, next_request: 1, timeout: DEFAULT_CONTROL_TIMEOUT })
    }

    /// The server's welcome: its features, this session's id, the session limits.
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Features both sides offered; what this session may use.
    pub fn features(&self) -> u64 {
        self.features
    }

    /// How long a control request waits for its reply.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends one control request and waits for its reply. Statuses are data here: the
    /// reply header says whether the request succeeded.
    pub fn control(
        &mut self,
        kind: ControlKind,
        payload: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(ControlReplyHeader, Vec<u8>, Vec<OwnedFd>), SessionError> {
        self.control_raw(kind.as_u32(), payload, fds)
    }

    /// [`control`](Self::control) with a raw kind number, including kinds this build
    /// does not know (the server must answer those with `NotSupported`).
    pub fn control_raw(
        &mut self,
        kind: u32,
        payload: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(ControlReplyHeader, Vec<u8>, Vec<OwnedFd>), SessionError> {
        let request_id = self.next_request;
        self.next_request += 1;
        match ControlKind::from_u32(kind) {
            Some(known) => self.channel.send_control(known, request_id, payload, fds)?,
            None => self.send_unknown(kind, request_id, payload, fds)?,
        }
        let (header, payload, fds) = self.channel.recv_control_reply(Instant::now() + self.timeout)?;
        if header.request_id != request_id {
            return Err(SessionError::ReplyMismatch { expected: request_id, got: header.request_id });
        }
        Ok((header, payload, fds))
    }

    /// Sends a request and returns its reply payload, turning a non-`Ok` status into
    /// [`SessionError::Failed`] with the server's explanation.
    pub fn call(&mut self, kind: ControlKind, payload: &[u8]) -> Result<Vec<u8>, SessionError> {
        self.call_for_fds(kind, payload).map(|(payload, _)| payload)
    }

    /// Like [`Session::call`], keeping the descriptors the reply carries.
    pub fn call_for_fds(&mut self, kind: ControlKind, payload: &[u8]) -> Result<(Vec<u8>, Vec<OwnedFd>), SessionError> {
        let (header, payload, fds) = self.control(kind, payload, &[])?;
        match header.status() {
            Ok(ControlStatus::Ok) => Ok((payload, fds)),
            _ => Err(SessionError::Failed {
                kind: kind.name(),
                status: header.status,
                message: String::from_utf8_lossy(&payload).into_owned(),
            }),
        }
    }

    /// Ends the session in order: the server frees everything this client owned.
    pub fn close(mut self) -> Result<(), SessionError> {
        self.call(ControlKind::Close, &[]).map(drop)
    }

    /// The underlying channel, for tools and tests that need to send raw bytes.
    pub fn channel_mut(&mut self) -> &mut Channel {
        &mut self.channel
    }

    fn send_unknown(
        &mut self,
        kind: u32,
        request_id: u64,
        payload: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), SessionError> {
        // The encoder's bounds checks, via a known kind; then the header with the raw
        // kind number, so this build can exercise kinds it does not know.
        let checked = ControlHeader::encode(ControlKind::Ping, request_id, payload, 0)?;
        let num_fds = u32::try_from(fds.len()).unwrap_or(u32::MAX);
        if num_fds > MAX_CONTROL_FDS {
            return Err(ControlError::TooManyFds { count: num_fds, max: MAX_CONTROL_FDS }.into());
        }
        let header = ControlHeader {
            kind,
            flags: 0,
            request_id,
            payload_len: (checked.len() - CONTROL_HEADER_SIZE) as u32,
            num_fds,
        };
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(payload);
        self.channel.send(&bytes, fds)?;
        Ok(())
    }
}
