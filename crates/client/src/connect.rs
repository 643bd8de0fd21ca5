//! Opening GL contexts on a server: a session (control channel) plus, per context, the
//! link its commands travel on — shared-memory rings when the session negotiated them
//! (local socket), the control socket otherwise (TCP).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use transport::liveness::Liveness;
use transport::ring::RingRegion;
use wire::control::{ControlKind, ControlStatus, CreateContextRequest, HandlePayload};
use wire::protocol::FEATURE_SHM_RINGS;
use zerocopy::IntoBytes;

use crate::link::{Link, ReplyBuf};
use crate::session::{Session, SessionError};
use crate::{CallError, Context, RingLink};

/// Data bytes of each ring of a context (commands and replies): big enough for a batch
/// and a large upload's fragments to stream without stalls.
pub const RING_DATA: u64 = 4 << 20;

/// The way a context's commands travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Shared-memory rings with doorbells (local sessions).
    Rings,
    /// `SubmitCommands` requests on the control socket.
    Socket,
}

/// A session with the server, shareable by the contexts opened on it.
#[derive(Debug, Clone)]
pub struct Connection {
    session: Arc<Mutex<Session>>,
    server: Liveness,
    rings: bool,
}

fn failed(e: SessionError) -> CallError {
    CallError::Lost(e.to_string())
}

impl Connection {
    /// Connects over the local socket at `path` (shared-memory rings available).
    pub fn unix(path: impl AsRef<std::path::Path>, program_name: &str) -> Result<Self, SessionError> {
        Self::new(Session::connect_unix(path, program_name)?)
    }

    /// Connects over TCP with the server's token (commands travel on the socket).
    pub fn tcp(addr: std::net::SocketAddr, token: &[u8]) -> Result<Self, SessionError> {
        Self::new(Session::connect_tcp(addr, token)?)
    }

    fn new(mut session: Session) -> Result<Self, SessionError> {
        let server = Liveness::watching_socket(session.channel_mut().as_fd())?;
        let rings = session.features() & FEATURE_SHM_RINGS != 0 && session.channel_mut().passes_fds();
        Ok(Connection { session: Arc::new(Mutex::new(session)), server, rings })
    }

    /// True when the server is still there (its socket not hung up).
    pub fn server_alive(&self) -> bool {
        self.server.is_alive()
    }

    /// Runs a control request that must succeed and returns its payload.
    pub fn call(&self, kind: ControlKind, payload: &[u8]) -> Result<Vec<u8>, CallError> {
        let mut session = self.session.lock().map_err(|_| CallError::Lost("session lock poisoned".into()))?;
        let reply = session.call(kind, payload);
        crate::record::control(&session, kind, payload, reply.as_ref().map(|r| (r.as_slice(), 0)));
        reply.map_err(failed)
    }

    /// Runs a control request that must succeed and returns its payload and the
    /// descriptors that came with it.
    pub fn call_for_fds(&self, kind: ControlKind, payload: &[u8]) -> Result<(Vec<u8>, Vec<OwnedFd>), CallError> {
        let mut session = self.session.lock().map_err(|_| CallError::Lost("session lock poisoned".into()))?;
        let reply = session.call_for_fds(kind, payload);
        crate::record::control(&session, kind, payload, reply.as_ref().map(|(r, fds)| (r.as_slice(), fds.len())));
        reply.map_err(failed)
    }

    /// Who to watch for the server's death (its socket's hang-up).
    pub fn server_liveness(&self) -> Liveness {
        self.server.clone()
    }

    /// Creates a context on the server and the client context that forwards to it,
    /// over shared-memory rings when the session has them.
    pub fn new_context(&self) -> Result<(u64, Context), CallError> {
        self.new_shared_context(0)
    }

    /// A new server context in the share group of the server context `share` (0: a
    /// new share group).
    pub fn new_shared_context(&self, share: u64) -> Result<(u64, Context), CallError> {
        self.new_context_with(share, if self.rings { Path::Rings } else { Path::Socket })
    }

    /// Like [`Connection::new_context`], choosing the path (benchmarks compare them).
    pub fn new_context_on(&self, path: Path) -> Result<(u64, Context), CallError> {
        self.new_context_with(0, path)
    }

    /// A control request whose reply is a handle (CreateContext, CreateSurface, …).
    pub fn call_for_handle(&self, kind: ControlKind, payload: &[u8]) -> Result<u64, CallError> {
        let reply = self.call(kind, payload)?;
        HandlePayload::parse(&reply)
            .map(|h| h.handle)
            .map_err(|_| CallError::Protocol(format!("the {} reply is not a handle", kind.name())))
    }

    fn new_context_with(&self, share: u64, path: Path) -> Result<(u64, Context), CallError> {
        let request = CreateContextRequest::encode(share, 0, &[]).map_err(|e| CallError::Protocol(e.to_string()))?;
        let id = self.call_for_handle(ControlKind::CreateContext, &request)?;
        let link = crate::record::wrap_link(&self.session, id, self.link_for(id, Some(path))?);
        Ok((id, Context::new(Some(link))))
    }

    /// The link of server context `context` on `path` (`None`: rings when the session
    /// has them). The replayer sends recorded streams on such a bare link.
    pub(crate) fn link_for(&self, context: u64, path: Option<Path>) -> Result<Box<dyn Link>, CallError> {
        Ok(match path.unwrap_or(if self.rings { Path::Rings } else { Path::Socket }) {
            Path::Rings if self.rings => Box::new(self.attach_rings(context)?),
            Path::Rings => return Err(CallError::Lost("this session has no shared-memory rings (TCP?)".into())),
            Path::Socket => Box::new(SocketLink { session: self.session.clone(), context }),
        })
    }

    fn attach_rings(&self, context: u64) -> Result<RingLink, CallError> {
        let lost = |e: transport::TransportError| CallError::Lost(e.to_string());
        let region = RingRegion::create(RING_DATA).map_err(lost)?;
        let request = region.attach_request(context);
        let fds = [region.shm.as_fd()];
        let mut session = self.session.lock().map_err(|_| CallError::Lost("session lock poisoned".into()))?;
        let (header, payload, _) =
            session.control(ControlKind::AttachRing, request.as_bytes(), &fds).map_err(failed)?;
        drop(session);
        if header.status() != Ok(ControlStatus::Ok) {
            return Err(CallError::Lost(format!("AttachRing refused: {}", String::from_utf8_lossy(&payload))));
        }
        RingLink::new(&region, self.server.clone())
    }
}

/// A context's commands over the control socket (`SubmitCommands`): for sessions
/// without shared memory. Every send is a request; replies come back in its answer.
#[derive(Debug)]
struct SocketLink {
    session: Arc<Mutex<Session>>,
    context: u64,
}

impl SocketLink {
    fn submit(&mut self, stream: &[u8]) -> Result<Vec<u8>, CallError> {
        let mut payload = Vec::with_capacity(8 + stream.len());
        payload.extend_from_slice(&self.context.to_le_bytes());
        payload.extend_from_slice(stream);
        let mut session = self.session.lock().map_err(|_| CallError::Lost("session lock poisoned".into()))?;
        session.call(ControlKind::SubmitCommands, &payload).map_err(failed)
    }
}

impl Link for SocketLink {
    fn send(&mut self, stream: &[u8]) -> Result<(), CallError> {
        self.submit(stream).map(drop)
    }

    fn round_trip(&mut self, stream: &[u8], reply: &mut ReplyBuf) -> Result<(), CallError> {
        let bytes = self.submit(stream)?;
        reply.clear();
        reply.extend_raw(&bytes);
        Ok(())
    }
}
