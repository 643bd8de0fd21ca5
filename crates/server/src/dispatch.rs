//! The one dispatch table for control requests: a static array indexed by
//! `ControlKind` number, each entry the kind's handler or `None` when this server does
//! not support it yet. Unknown and unsupported kinds get an explicit `NotSupported`
//! reply, never a silent success. The handlers live here too: each parses its payload,
//! checks the session's quotas and acts on the session.
//!
//! It does not read or write the socket (`session` does, around `dispatch`), nor run
//! commands (`context`).

use std::os::fd::OwnedFd;
use std::sync::Arc;

use transport::ring::{self, RingSpec};
use transport::shm::SharedMemory;
use wire::control::{
    AttachRingRequest, ControlError, ControlHeader, ControlKind, ControlStatus, CreateContextRequest,
    CreateImageRequest, CreateSurfaceRequest, HandlePayload, ListSessionsReply, MakeCurrentRequest, QueryConfigsReply,
    MAX_CONTROL_PAYLOAD, MAX_LISTED_SESSIONS,
};
use wire::protocol::FEATURE_SHM_RINGS;
use zerocopy::IntoBytes;

use crate::context::ContextWorker;
use crate::error::ServerError;
use crate::session::{OwnedContext, Session};
use crate::stats::SessionStats;
use crate::validate::ValidatorLimits;
use crate::{exec, gles};

/// A successful reply: payload and descriptors to send with it.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub payload: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

impl Reply {
    fn empty() -> Self {
        Self::default()
    }

    fn bytes(payload: Vec<u8>) -> Self {
        Self { payload, fds: Vec::new() }
    }
}

/// A failed request: the status and a text for the client.
#[derive(Debug)]
pub(crate) struct ControlFailure {
    pub status: ControlStatus,
    pub message: String,
}

impl ControlFailure {
    fn new(status: ControlStatus, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(ControlStatus::InvalidArgument, message)
    }

    fn limit(message: impl Into<String>) -> Self {
        Self::new(ControlStatus::LimitExceeded, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(ControlStatus::NotFound, message)
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new(ControlStatus::Internal, message)
    }
}

/// A payload that does not parse means a broken peer: the session ends after replying.
impl From<ControlError> for ControlFailure {
    fn from(e: ControlError) -> Self {
        Self::new(ControlStatus::ProtocolError, e.to_string())
    }
}

/// What the session sends back.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub status: ControlStatus,
    pub payload: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

pub(crate) type Handler = fn(&mut Session, &ControlHeader, &[u8], Vec<OwnedFd>) -> Result<Reply, ControlFailure>;

/// The table: entry `i` serves kind number `i + 1`. `None` is an explicit "not yet"
/// (ReadReply and WaitFence: replies and fences travel in the command stream today).
const TABLE: [(ControlKind, Option<Handler>); ControlKind::ALL.len()] = [
    (ControlKind::Open, Some(open)),
    (ControlKind::Close, Some(close)),
    (ControlKind::CreateContext, Some(create_context)),
    (ControlKind::DestroyContext, Some(destroy_context)),
    (ControlKind::CreateSurface, Some(create_surface)),
    (ControlKind::DestroySurface, Some(destroy_surface)),
    (ControlKind::MakeCurrent, Some(make_current)),
    (ControlKind::AttachRing, Some(attach_ring)),
    (ControlKind::SubmitCommands, Some(submit_commands)),
    (ControlKind::ReadReply, None),
    (ControlKind::WaitFence, None),
    (ControlKind::QueryStats, Some(query_stats)),
    (ControlKind::QueryConfigs, Some(query_configs)),
    (ControlKind::Ping, Some(ping)),
    (ControlKind::CreateImage, Some(create_image)),
    (ControlKind::DestroyImage, Some(destroy_image)),
    (ControlKind::CreateWindowSurface, Some(create_window_surface)),
    (ControlKind::SurfaceFrames, Some(surface_frames)),
    (ControlKind::QueryServerStats, Some(query_server_stats)),
    (ControlKind::ListSessions, Some(list_sessions)),
];

// The table's order is its indexing: a kind at the wrong place is a compile error, and
// a new kind in `ControlKind::ALL` changes the length, so it cannot be forgotten.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(TABLE[i].0 as u32 == i as u32 + 1);
        i += 1;
    }
};

/// The handler for a raw kind number: `Err` with the failure to send when the kind is
/// unknown or unsupported.
fn lookup(kind: u32) -> Result<(ControlKind, Handler), ControlFailure> {
    let entry = (kind as usize).checked_sub(1).and_then(|i| TABLE.get(i)).filter(|(known, _)| known.as_u32() == kind);
    match entry {
        Some((known, Some(handler))) => Ok((*known, *handler)),
        Some((known, None)) => Err(ControlFailure::new(
            ControlStatus::NotSupported,
            format!("{} is not supported by this server yet", known.name()),
        )),
        None => Err(ControlFailure::new(ControlStatus::NotSupported, format!("unknown control request kind {kind}"))),
    }
}

/// Routes one request and turns the result into the reply to send.
pub(crate) fn dispatch(session: &mut Session, header: &ControlHeader, payload: &[u8], fds: Vec<OwnedFd>) -> Outcome {
    let result = lookup(header.kind).and_then(|(kind, handler)| {
        tracing::debug!(session = session.id, request = header.request_id, "{}", kind.name());
        if header.flags != 0 {
            return Err(ControlFailure::invalid(format!("flags {:#x} are reserved and must be 0", header.flags)));
        }
        handler(session, header, payload, fds)
    });
    match result {
        Ok(reply) => Outcome { status: ControlStatus::Ok, payload: reply.payload, fds: reply.fds },
        Err(failure) => {
            tracing::debug!(
                session = session.id,
                request = header.request_id,
                kind = header.kind,
                "{:?}: {}",
                failure.status,
                failure.message
            );
            let mut message = failure.message.into_bytes();
            message.truncate(MAX_CONTROL_PAYLOAD as usize);
            Outcome { status: failure.status, payload: message, fds: Vec::new() }
        }
    }
}

/// A refusal by a count the quota module does not keep (contexts, surfaces, images),
/// counted with the quota's own refusals. Refusals through `SessionQuota` are counted
/// there; counting them here too would count them twice.
fn over_quota(s: &Session, message: String) -> ControlFailure {
    SessionStats::add(&s.stats.quota_refusals, 1);
    ControlFailure::limit(message)
}

fn expect_fds(fds: &[OwnedFd], count: usize, what: &str) -> Result<(), ControlFailure> {
    if fds.len() == count {
        Ok(())
    } else {
        Err(ControlFailure::invalid(format!("{what} takes {count} file descriptors, {} arrived", fds.len())))
    }
}

fn expect_empty(payload: &[u8], what: &str) -> Result<(), ControlFailure> {
    if payload.is_empty() {
        Ok(())
    } else {
        Err(ControlFailure::invalid(format!("{what} takes no payload, {} bytes arrived", payload.len())))
    }
}

/// Acknowledges that the client opened the device; the reply carries the session id.
/// The handshake already did the real work, so repeating it is harmless.
fn open(s: &mut Session, _: &ControlHeader, payload: &[u8], fds: Vec<OwnedFd>) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "Open")?;
    expect_empty(payload, "Open")?;
    Ok(Reply::bytes(HandlePayload { handle: s.id }.as_bytes().to_vec()))
}

/// Ends the session after the reply; the session then frees everything.
fn close(s: &mut Session, _: &ControlHeader, payload: &[u8], fds: Vec<OwnedFd>) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "Close")?;
    expect_empty(payload, "Close")?;
    s.closing = true;
    Ok(Reply::empty())
}

fn create_context(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "CreateContext")?;
    let (request, _attribs) = CreateContextRequest::parse(payload)?;
    let share = match request.share_context {
        0 => None,
        other => Some(
            s.contexts
                .get(&other)
                .ok_or_else(|| {
                    ControlFailure::not_found(format!("share context {other} does not exist in this session"))
                })?
                .worker
                .share_group(),
        ),
    };
    if s.contexts.len() >= s.limits.max_contexts as usize {
        return Err(over_quota(
            s,
            format!("this session already has {} contexts, the limit is {}", s.contexts.len(), s.limits.max_contexts),
        ));
    }
    let id = s.allocate_context_id();
    // One allocation may not ask for more than the whole quota (the quota adds them up).
    let limits = ValidatorLimits { max_buffer_bytes: s.limits.max_gl_bytes };
    let factory = if s.loopback { exec::loopback() } else { gles::factory(limits, s.images.clone(), s.quota.clone()) };
    let worker = ContextWorker::spawn(id, factory, share, s.stats.clone(), s.peer.clone())
        .map_err(|e| ControlFailure::internal(format!("cannot start context {id}: {e}")))?;
    s.contexts.insert(id, OwnedContext { worker, shm_bytes: 0 });
    SessionStats::add(&s.stats.contexts, 1);
    Ok(Reply::bytes(HandlePayload { handle: id }.as_bytes().to_vec()))
}

fn destroy_context(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "DestroyContext")?;
    let id = HandlePayload::parse(payload)?.handle;
    let owned =
        s.contexts.remove(&id).ok_or_else(|| ControlFailure::not_found(format!("no context {id} in this session")))?;
    owned.worker.stop();
    s.shm_bytes = s.shm_bytes.saturating_sub(owned.shm_bytes);
    SessionStats::sub(&s.stats.contexts, 1);
    SessionStats::sub(&s.stats.shm_bytes, owned.shm_bytes);
    Ok(Reply::empty())
}

use crate::surface::{Surface, MAX_SURFACE_SIDE};

/// A pbuffer surface: a host pbuffer a context renders into as its default framebuffer.
fn create_surface(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "CreateSurface")?;
    let request = CreateSurfaceRequest::parse(payload)?;
    let reserved = reserve_surface(s, &request, false)?;
    let host = new_pbuffer(s, &request).inspect_err(|_| Surface::unreserve(&s.quota, reserved))?;
    let id = s.allocate_context_id();
    s.surfaces.insert(id, Arc::new(Surface::pbuffer(host, request.config_id, s.quota.clone(), reserved)));
    SessionStats::add(&s.stats.surfaces, 1);
    Ok(Reply::bytes(HandlePayload { handle: id }.as_bytes().to_vec()))
}

/// A window surface: a host pbuffer like `CreateSurface`'s, whose swaps publish into a
/// frame ring. The reply carries the ring's memfd; only this session's peer gets it.
fn create_window_surface(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "CreateWindowSurface")?;
    if !s.channel.passes_fds() {
        return Err(ControlFailure::new(
            ControlStatus::NotSupported,
            "window surfaces need a local (Unix socket) session: their frames travel in shared memory",
        ));
    }
    let request = CreateSurfaceRequest::parse(payload)?;
    let reserved = reserve_surface(s, &request, true)?;
    let made = new_pbuffer(s, &request).and_then(|host| {
        let spec = framechan::FrameSpec::bgra(request.width.max(1), request.height.max(1));
        let frames = framechan::FrameProducer::create(spec, 1, s.peer.clone())
            .map_err(|e| ControlFailure::internal(format!("cannot create the frame ring: {e}")))?;
        let fd =
            frames.share_fd().map_err(|e| ControlFailure::internal(format!("cannot share the frame ring: {e}")))?;
        Ok((host, frames, fd))
    });
    let (host, frames, fd) = made.inspect_err(|_| Surface::unreserve(&s.quota, reserved))?;
    let id = s.allocate_context_id();
    s.surfaces.insert(id, Arc::new(Surface::window(host, frames, request.config_id, s.quota.clone(), reserved)));
    SessionStats::add(&s.stats.surfaces, 1);
    Ok(Reply { payload: HandlePayload { handle: id }.as_bytes().to_vec(), fds: vec![fd] })
}

/// The frame ring a window surface publishes into now (a new generation after a
/// resize), as the reply's one descriptor.
fn surface_frames(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "SurfaceFrames")?;
    let id = HandlePayload::parse(payload)?.handle;
    let surface =
        s.surfaces.get(&id).ok_or_else(|| ControlFailure::not_found(format!("no surface {id} in this session")))?;
    let fd = surface
        .frames_fd()
        .ok_or_else(|| ControlFailure::invalid(format!("surface {id} is a pbuffer: it has no frame ring")))?
        .map_err(|e| ControlFailure::internal(format!("cannot share the frame ring: {e}")))?;
    Ok(Reply { payload: Vec::new(), fds: vec![fd] })
}

/// Charges a new surface to the session's GL memory (and for a window its frame ring to
/// its shared memory), before anything is made.
fn reserve_surface(s: &Session, request: &CreateSurfaceRequest, window: bool) -> Result<(u64, u64), ControlFailure> {
    if request.width > MAX_SURFACE_SIDE || request.height > MAX_SURFACE_SIDE {
        return Err(ControlFailure::invalid(format!(
            "a {}x{} surface exceeds the {MAX_SURFACE_SIDE}-pixel limit",
            request.width, request.height
        )));
    }
    let (w, h) = (request.width, request.height);
    Surface::reserve(&s.quota, w, h, window).ok_or_else(|| {
        ControlFailure::limit(format!(
            "a {w}x{h} surface would take this session past its GL memory ({} bytes) or shared memory ({} bytes) quota",
            s.limits.max_gl_bytes, s.limits.max_shm_bytes
        ))
    })
}

/// The host pbuffer of a new surface (none under the loopback executor, which renders
/// nothing: the surface is bookkeeping), after the request's size and the session's
/// surface count are checked.
fn new_pbuffer(
    s: &Session,
    request: &CreateSurfaceRequest,
) -> Result<Option<Arc<backend_gles::HostSurface>>, ControlFailure> {
    if request.width > MAX_SURFACE_SIDE || request.height > MAX_SURFACE_SIDE {
        return Err(ControlFailure::invalid(format!(
            "a {}x{} surface exceeds the {MAX_SURFACE_SIDE}-pixel limit",
            request.width, request.height
        )));
    }
    if s.surfaces.len() >= s.limits.max_contexts as usize * 4 {
        return Err(over_quota(s, format!("this session already has {} surfaces", s.surfaces.len())));
    }
    Ok(match (s.loopback, gles::host_backend()) {
        (false, Some(backend)) => Some(Arc::new(
            backend
                .display()
                .create_pbuffer(request.width as i32, request.height as i32, request.config_id)
                .map_err(|e| ControlFailure::internal(format!("cannot create the host pbuffer: {e}")))?,
        )),
        _ => None,
    })
}

fn destroy_surface(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "DestroySurface")?;
    let id = HandlePayload::parse(payload)?.handle;
    // A context still rendering into it keeps the host surface alive until it moves on.
    s.surfaces.remove(&id).ok_or_else(|| ControlFailure::not_found(format!("no surface {id} in this session")))?;
    SessionStats::sub(&s.stats.surfaces, 1);
    Ok(Reply::empty())
}

/// Binds a context to a draw surface (0: none), as the client's eglMakeCurrent does.
/// The read surface is the draw surface: clients only ever pass the same pbuffer.
fn make_current(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "MakeCurrent")?;
    let request = MakeCurrentRequest::parse(payload)?;
    let surface = match request.draw_surface {
        0 => None,
        id => Some(
            s.surfaces
                .get(&id)
                .ok_or_else(|| ControlFailure::not_found(format!("no surface {id} in this session")))?
                .clone(),
        ),
    };
    let owned = s
        .contexts
        .get(&request.context)
        .ok_or_else(|| ControlFailure::not_found(format!("no context {} in this session", request.context)))?;
    owned.worker.set_surface(surface).map_err(|e| ControlFailure::internal(format!("cannot bind the surface: {e}")))?;
    Ok(Reply::empty())
}

/// Moves a context onto shared-memory rings. Descriptors: the sealed memfd holding both
/// rings, the command ring's doorbell, the reply ring's doorbell.
fn attach_ring(s: &mut Session, _: &ControlHeader, payload: &[u8], fds: Vec<OwnedFd>) -> Result<Reply, ControlFailure> {
    // Negotiated in the handshake: never over TCP, and not for a client that did not
    // offer them.
    if s.features & FEATURE_SHM_RINGS == 0 || !s.channel.passes_fds() {
        return Err(ControlFailure::new(
            ControlStatus::NotSupported,
            "shared-memory rings were not negotiated for this session (they need the local socket); use SubmitCommands",
        ));
    }
    expect_fds(&fds, 1, "AttachRing (the rings' memfd)")?;
    let request = AttachRingRequest::parse(payload)?;
    let owned = s
        .contexts
        .get(&request.context)
        .ok_or_else(|| ControlFailure::not_found(format!("no context {} in this session", request.context)))?;
    if owned.shm_bytes != 0 {
        return Err(ControlFailure::invalid(format!("context {} already has rings", request.context)));
    }
    let Some(memfd) = fds.into_iter().next() else {
        return Err(ControlFailure::invalid("AttachRing takes the rings' memfd"));
    };
    let shm = SharedMemory::from_fd(memfd).map_err(|e| ControlFailure::invalid(format!("ring memory: {e}")))?;
    let len = shm.len() as u64;
    request.validate(len).map_err(|e| ControlFailure::invalid(e.to_string()))?;
    // Counted with the session's frame rings; given back below if attaching fails.
    if !s.quota.add_shm(len) {
        return Err(ControlFailure::limit(format!(
            "mapping {len} more bytes would take this session past its {} bytes of shared memory",
            s.limits.max_shm_bytes
        )));
    }
    let attached = attach_rings(s, &request, shm, len);
    if attached.is_err() {
        s.quota.remove_shm(len);
    }
    attached
}

/// The rest of `attach_ring`, once the memory is counted.
fn attach_rings(
    s: &mut Session,
    request: &AttachRingRequest,
    shm: SharedMemory,
    len: u64,
) -> Result<Reply, ControlFailure> {
    let owned = s
        .contexts
        .get(&request.context)
        .ok_or_else(|| ControlFailure::not_found(format!("no context {} in this session", request.context)))?;
    let shm = Arc::new(shm);
    let commands = RingSpec { offset: request.cmd_offset, len: request.cmd_len };
    let replies = RingSpec { offset: request.reply_offset, len: request.reply_len };
    let mut commands = ring::consumer(shm.clone(), commands, s.peer.clone())
        .map_err(|e| ControlFailure::invalid(format!("command ring: {e}")))?;
    // One message may not hold more memory than the session's shared-memory quota.
    commands.set_max_message(usize::try_from(s.limits.max_shm_bytes).unwrap_or(usize::MAX));
    let replies = ring::producer(shm, replies, s.peer.clone())
        .map_err(|e| ControlFailure::invalid(format!("reply ring: {e}")))?;
    owned
        .worker
        .attach(commands, replies)
        .map_err(|e| ControlFailure::internal(format!("cannot attach the rings: {e}")))?;
    if let Some(owned) = s.contexts.get_mut(&request.context) {
        owned.shm_bytes = len;
    }
    s.shm_bytes = s.shm_bytes.saturating_add(len);
    Ok(Reply::empty())
}

/// The command stream over the socket, for clients without shared memory: payload is
/// `[context id u64][encoded commands]`, the reply payload the synchronous commands'
/// replies.
fn submit_commands(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "SubmitCommands")?;
    let Some((id, commands)) = payload.split_first_chunk::<8>() else {
        return Err(ControlError::Truncated { what: "SubmitCommands payload", needed: 8, got: payload.len() }.into());
    };
    let id = u64::from_le_bytes(*id);
    let owned =
        s.contexts.get(&id).ok_or_else(|| ControlFailure::not_found(format!("no context {id} in this session")))?;
    let replies = owned.worker.submit(commands.to_vec()).map_err(|e| match e {
        // A command stream that does not decode is a broken client: end the session.
        ServerError::Decode(e) => ControlFailure::new(ControlStatus::ProtocolError, format!("context {id}: {e}")),
        ServerError::Limit(what) => ControlFailure::limit(what),
        e => ControlFailure::internal(format!("context {id}: {e}")),
    })?;
    if replies.len() > MAX_CONTROL_PAYLOAD as usize {
        return Err(ControlFailure::limit(format!(
            "the replies are {} bytes, more than a control reply carries ({MAX_CONTROL_PAYLOAD}); use shared-memory rings",
            replies.len()
        )));
    }
    Ok(Reply::bytes(replies))
}

fn query_stats(s: &mut Session, _: &ControlHeader, payload: &[u8], fds: Vec<OwnedFd>) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "QueryStats")?;
    expect_empty(payload, "QueryStats")?;
    Ok(Reply::bytes(s.stats.snapshot().as_bytes().to_vec()))
}

/// The whole server's counters: the live sessions and their stats summed (a session
/// leaves the sums only once everything it held is freed).
fn query_server_stats(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "QueryServerStats")?;
    expect_empty(payload, "QueryServerStats")?;
    Ok(Reply::bytes(s.registry.totals().as_bytes().to_vec()))
}

/// Every live session of the server (the asker's own too) with its counters, and the
/// server's resident memory, for `glwire top`. Any local session may list: the Unix
/// socket admits only the server's own uid, so what it sees are that user's own
/// programs. A TCP client is not: the token proves it may render, not that it is this
/// user, and the list names other clients' programs and pids.
fn list_sessions(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    if s.channel.is_tcp() {
        return Err(ControlFailure::new(
            ControlStatus::NotSupported,
            "ListSessions is answered on the local socket only: it names other clients' programs and pids",
        ));
    }
    expect_fds(&fds, 0, "ListSessions")?;
    expect_empty(payload, "ListSessions")?;
    let (total, records) = s.registry.list(MAX_LISTED_SESSIONS as usize);
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    let rss = crate::quota::resident_bytes().unwrap_or(0);
    let reply = ListSessionsReply::encode(total, rss, &records)
        .map_err(|e| ControlFailure::internal(format!("the session list does not fit a reply: {e}")))?;
    Ok(Reply::bytes(reply))
}

/// The host's configs GLES 2/3 can render with, for the client's eglGetConfigs and
/// eglChooseConfig. A session without host GL (loopback) gets one nominal RGBA8 D24S8
/// pbuffer config: its contexts render nothing, but EGL programs still initialize.
fn query_configs(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "QueryConfigs")?;
    expect_empty(payload, "QueryConfigs")?;
    let configs = match (s.loopback, gles::host_backend()) {
        (false, Some(backend)) => backend
            .display()
            .configs()
            .map_err(|e| ControlFailure::internal(format!("cannot list the host's configs: {e}")))?,
        _ => vec![loopback_config()],
    };
    let reply = QueryConfigsReply::encode(&configs)
        .map_err(|e| ControlFailure::internal(format!("the host's configs do not fit a reply: {e}")))?;
    Ok(Reply::bytes(reply))
}

fn loopback_config() -> wire::control::ConfigRecord {
    const ES_BITS: i32 = 0x0001 | 0x0004 | 0x0040;
    const EGL_NONE: i32 = 0x3038;
    let mut c = wire::control::ConfigRecord::default();
    let values = [
        (0x3028, 1), // EGL_CONFIG_ID
        (0x3020, 32),
        (0x3024, 8),
        (0x3023, 8),
        (0x3022, 8),
        (0x3021, 8),
        (0x3025, 24),
        (0x3026, 8),
        (0x3040, ES_BITS),
        (0x3033, 0x0001), // EGL_PBUFFER_BIT
        (0x3042, ES_BITS),
        (0x3027, EGL_NONE),
        (0x303F, 0x308E), // EGL_RGB_BUFFER
        (0x302F, EGL_NONE),
        (0x3034, EGL_NONE),
        (0x303B, 1),
        (0x303C, 1),
        (0x302C, MAX_SURFACE_SIDE as i32),
        (0x302A, MAX_SURFACE_SIDE as i32),
        (0x3339, 0x333A), // EGL_COLOR_COMPONENT_TYPE_FIXED_EXT
    ];
    for (attr, value) in values {
        c.set(attr, value);
    }
    c
}

const EGL_GL_TEXTURE_LEVEL_KHR: i32 = 0x30BC;
const EGL_GL_TEXTURE_ZOFFSET_KHR: i32 = 0x30BD;
const EGL_IMAGE_PRESERVED_KHR: i32 = 0x30D2;

/// An EGLImage of a GL object of one of the session's contexts, made on that context's
/// thread; the reply is its handle, which GL commands naming the image carry.
fn create_image(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "CreateImage")?;
    let r = CreateImageRequest::parse(payload)?;
    let context = s
        .contexts
        .get(&r.context)
        .ok_or_else(|| ControlFailure::not_found(format!("no context {} in this session", r.context)))?;
    if crate::images::lock(&s.images).len() >= crate::images::MAX_IMAGES {
        return Err(over_quota(s, format!("this session holds {} images", crate::images::MAX_IMAGES)));
    }
    let attribs = vec![
        (EGL_GL_TEXTURE_LEVEL_KHR, r.level),
        (EGL_GL_TEXTURE_ZOFFSET_KHR, r.zoffset),
        (EGL_IMAGE_PRESERVED_KHR, i32::from(r.preserved != 0)),
    ];
    let image = context
        .worker
        .create_image(r.target, r.buffer, attribs)
        .map_err(|e| ControlFailure::invalid(format!("cannot make the image: {e}")))?;
    let id = crate::images::lock(&s.images)
        .insert(image)
        .ok_or_else(|| over_quota(s, format!("this session holds {} images", crate::images::MAX_IMAGES)))?;
    Ok(Reply::bytes(HandlePayload { handle: id }.as_bytes().to_vec()))
}

/// Drops the session's handle; GL objects made from the image keep its contents.
fn destroy_image(
    s: &mut Session,
    _: &ControlHeader,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "DestroyImage")?;
    let id = HandlePayload::parse(payload)?.handle;
    crate::images::lock(&s.images)
        .remove(id)
        .ok_or_else(|| ControlFailure::not_found(format!("no image {id} in this session")))?;
    Ok(Reply::empty())
}

/// Echoes the payload: liveness and round-trip measurement.
fn ping(_: &mut Session, _: &ControlHeader, payload: &[u8], fds: Vec<OwnedFd>) -> Result<Reply, ControlFailure> {
    expect_fds(&fds, 0, "Ping")?;
    Ok(Reply::bytes(payload.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_an_entry_at_its_number() {
        for kind in ControlKind::ALL {
            let (at, _) = TABLE[kind.as_u32() as usize - 1];
            assert_eq!(at, kind);
        }
    }

    #[test]
    fn unknown_and_unsupported_kinds_are_not_supported() {
        for kind in [0, ControlKind::ALL.len() as u32 + 1, 999, u32::MAX] {
            let failure = lookup(kind).err().unwrap();
            assert_eq!(failure.status, ControlStatus::NotSupported);
            assert!(failure.message.contains(&kind.to_string()));
        }
        for kind in [ControlKind::ReadReply, ControlKind::WaitFence] {
            let failure = lookup(kind.as_u32()).err().unwrap();
            assert_eq!(failure.status, ControlStatus::NotSupported);
            assert!(failure.message.contains(kind.name()));
        }
        for kind in [
            ControlKind::Open,
            ControlKind::Close,
            ControlKind::CreateContext,
            ControlKind::DestroyContext,
            ControlKind::AttachRing,
            ControlKind::SubmitCommands,
            ControlKind::QueryStats,
            ControlKind::QueryConfigs,
            ControlKind::Ping,
            ControlKind::CreateImage,
            ControlKind::DestroyImage,
            ControlKind::QueryServerStats,
            ControlKind::ListSessions,
        ] {
            assert_eq!(lookup(kind.as_u32()).ok().map(|(k, _)| k), Some(kind));
        }
    }
}
