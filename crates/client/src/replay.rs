//! Replaying a trace (`record`'s format) against a render server, as an ordinary
//! client: one session per recorded session, each recorded context given a link of
//! its own (rings or socket, whatever the server offers), the recorded streams sent as
//! they are, the control requests made again, and each frame taken at its `Frame`
//! record. It owns replaying: the sessions, links and handles of the replay, which
//! values to map, when to take a frame; reading and checking a trace is `trace`'s
//! ([`TraceReader`], [`scan`]), rewriting streams `remap`'s, taking pixels `pixels`'.
//! It does not write files or draw progress (`glwire replay` does) nor record
//! (`record`).
//!
//! A trace is untrusted input: every record is checked before it is acted on (and
//! `glwire replay` checks the whole trace before it starts) — its
//! length against the file and [`MAX_RECORD_BYTES`](crate::record::MAX_RECORD_BYTES),
//! its kind, its fixed part, the framing of every command in a stream, that a
//! synchronous stream ends with its one synchronous command (else replay would wait
//! for a reply that never comes) and an asynchronous one has none, that records name
//! sessions and contexts introduced before them. The server checks the commands
//! themselves, as it does any client's.
//!
//! What is mapped, recorded value to the value this server gives: context and
//! surface handles (per session: in control requests), EGLImage handles (per
//! session: in control requests and the glEGLImageTarget* commands), program and
//! shader names and sync ids (per share group: in every command naming them). A
//! fresh session on the same server build gives the same values, so the streams
//! usually go out byte for byte; only when a value differs is a stream decoded,
//! rewritten and encoded again.
//!
//! Frames: a window surface's frame is taken from its frame ring, as the program's
//! client did (always, so the ring keeps flowing). For any other surface, when pixels
//! are wanted, the frame is read with a glReadPixels of the replayer's own, after the
//! swap, from the framebuffer bound for reading then (the surface, or the program's
//! own framebuffer object when it renders offscreen), `width`×`height` of the surface.
//! The pixel-pack buffer binding and the pack pixel-store state are put back
//! afterwards; the read framebuffer is left as it is.

mod pixels;
mod remap;
mod trace;

#[cfg(test)]
mod tests {
    use wire::commands::Command;
    use wire::CommandBuf;

    /// `cmds` encoded one after another, as a recorded stream holds them.
    pub(super) fn encode(cmds: &[Command<'_>]) -> CommandBuf {
        let mut buf = CommandBuf::new();
        for c in cmds {
            c.encode(&mut buf).unwrap();
        }
        buf
    }
}

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use framechan::FrameConsumer;
use wire::commands::{decode_reply, Reply};
use wire::control::{ControlKind, CreateContextRequest, CreateImageRequest, HandlePayload, MakeCurrentRequest};
use wire::CommandBuf;
use zerocopy::IntoBytes;

use crate::link::{Link, ReplyBuf};
use crate::record::{self, ControlReplyHead, Kind};
use crate::{CallError, Connection};
use remap::{rewrite_stream, Remap};
use trace::Checker;
pub use trace::{scan, RecordInfo, Summary, TraceReader};

/// How long a window surface's frame may take to arrive (as the client's own wait).
const RECOVERY: Duration = Duration::from_secs(10);

/// Why a trace could not be read or replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a glwire trace (it does not start with GLWTRACE); record one with `glwire run --record FILE -- PROGRAM`")]
    NotATrace { path: String },
    #[error(
        "{path} is a trace of format {format} for wire protocol {protocol} (recorded by glwire {recorded_by}); \
         this glwire {ours} replays trace format {} for wire protocol {} only: record the program again with this glwire",
        record::TRACE_VERSION,
        wire::protocol::PROTOCOL_VERSION
    )]
    Version { path: String, format: u32, protocol: u32, recorded_by: String, ours: &'static str },
    #[error("{path} is cut short: {what} at byte {offset} needs {need} bytes and {have} remain (the recording was interrupted: record the program again)")]
    Truncated { path: String, what: &'static str, offset: u64, need: u64, have: u64 },
    #[error("{path}: its header is damaged: {what}")]
    BadHeader { path: String, what: String },
    #[error("{path}: record {index} at byte {offset}: {what}; the trace is damaged")]
    Corrupt { path: String, index: u64, offset: u64, what: String },
    #[error("the render server: {0}")]
    Server(String),
    #[error("the render server refused {kind}, which succeeded when the trace was recorded: {message}")]
    Refused { kind: &'static str, message: String },
    #[error("{0}")]
    Output(String),
}

impl From<CallError> for ReplayError {
    fn from(e: CallError) -> Self {
        ReplayError::Server(e.to_string())
    }
}

impl From<wire::codec::EncodeError> for ReplayError {
    fn from(e: wire::codec::EncodeError) -> Self {
        ReplayError::Server(format!("cannot encode a command: {e}"))
    }
}

/// One replayed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 1 for the first frame of the replay.
    pub index: u64,
    pub width: u32,
    pub height: u32,
    /// RGBA rows, top-down, when pixels were asked for.
    pub rgba: Option<Vec<u8>>,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Played {
    pub records: u64,
    pub frames: u64,
    pub stream_bytes: u64,
}

/// Replays the trace at `path` once. `connect` opens a session with the server (once
/// per recorded session); with `pixels`, every frame's pixels are taken; `on_frame`
/// gets each frame as it is taken (an error stops the replay).
pub fn play(
    path: &Path,
    connect: &mut dyn FnMut() -> Result<Connection, String>,
    pixels: bool,
    on_frame: &mut dyn FnMut(Frame) -> Result<(), String>,
) -> Result<Played, ReplayError> {
    let mut reader = TraceReader::open(path)?;
    let mut checker = Checker::default();
    let mut buf = CommandBuf::new();
    let mut replayer = Replayer {
        connect,
        pixels,
        on_frame,
        sessions: HashMap::new(),
        contexts: HashMap::new(),
        frames: 0,
        warned_configs: false,
    };
    let mut played = Played::default();
    while let Some(rec) = reader.next_record(&mut buf)? {
        checker.check(&rec, buf.as_bytes()).map_err(|what| reader.corrupt(&rec, what))?;
        replayer.apply(&rec, &buf)?;
        played.records += 1;
        if matches!(rec.kind, Kind::Stream | Kind::StreamSync) {
            played.stream_bytes += buf.len() as u64;
        }
    }
    checker.end().map_err(|what| ReplayError::Corrupt {
        path: reader.path().to_owned(),
        index: played.records,
        offset: reader.offset(),
        what,
    })?;
    played.frames = replayer.frames;
    Ok(played)
}

enum SurfaceKind {
    Pbuffer,
    Window(FrameConsumer),
}

/// One recorded session, replayed.
struct ReplaySession {
    connection: Connection,
    /// Context and surface handles, recorded to new (one counter on the server).
    handles: HashMap<u64, u64>,
    images: HashMap<u64, u64>,
    /// The share group of each (new) context: the first context of the group.
    group_of: HashMap<u64, u64>,
    groups: HashMap<u64, Remap>,
    /// The draw surface of each (new) context.
    draw: HashMap<u64, u64>,
    surfaces: HashMap<u64, SurfaceKind>,
    /// A control request waiting for its recorded reply: kind and payload.
    pending: Option<(ControlKind, Vec<u8>)>,
}

impl ReplaySession {
    fn handle(&self, recorded: u64) -> u64 {
        self.handles.get(&recorded).copied().unwrap_or(recorded)
    }
}

struct ReplayContext {
    session: u32,
    /// Its handle on this server.
    server: u64,
    group: u64,
    link: Box<dyn Link>,
    /// The reply to its last synchronous stream (for a kept reply to be compared with).
    reply: ReplyBuf,
    /// Buffers of rewritten streams and of the replayer's own commands.
    scratch: CommandBuf,
    own_reply: ReplyBuf,
}

struct Replayer<'a> {
    connect: &'a mut dyn FnMut() -> Result<Connection, String>,
    pixels: bool,
    on_frame: &'a mut dyn FnMut(Frame) -> Result<(), String>,
    sessions: HashMap<u32, ReplaySession>,
    contexts: HashMap<u32, ReplayContext>,
    frames: u64,
    warned_configs: bool,
}

impl<'a> Replayer<'a> {
    fn apply(&mut self, rec: &RecordInfo, buf: &CommandBuf) -> Result<(), ReplayError> {
        let bytes = buf.as_bytes();
        match rec.kind {
            Kind::Control => {
                let (kind, payload) = record::split_control(bytes).ok_or_else(|| bad("control"))?;
                let kind = ControlKind::from_u32(kind).ok_or_else(|| bad("control kind"))?;
                let session = self.session(rec.id)?;
                session.pending = Some((kind, payload.to_vec()));
                Ok(())
            }
            Kind::ControlReply => {
                let (head, payload) = ControlReplyHead::split(bytes).ok_or_else(|| bad("control reply"))?;
                let session = self.session(rec.id)?;
                let (kind, request) = session.pending.take().ok_or_else(|| bad("control reply"))?;
                self.control(rec.id, kind, &request, head, payload)
            }
            Kind::Context => {
                let (session_number, recorded) = record::parse_context(bytes).ok_or_else(|| bad("context"))?;
                let session = self.session(session_number)?;
                let server = session.handle(recorded);
                let group = session.group_of.get(&server).copied().ok_or_else(|| {
                    ReplayError::Server(format!(
                        "context {} was never made on this server (its CreateContext failed)",
                        rec.id
                    ))
                })?;
                let link = session.connection.link_for(server, None)?;
                let context = ReplayContext {
                    session: session_number,
                    server,
                    group,
                    link,
                    reply: ReplyBuf::new(),
                    scratch: CommandBuf::new(),
                    own_reply: ReplyBuf::new(),
                };
                self.contexts.insert(rec.id, context);
                Ok(())
            }
            Kind::Stream | Kind::StreamSync => self.stream(rec, buf),
            Kind::Reply => self.learn(rec.id, bytes),
            Kind::Frame => {
                let (w, h) = record::parse_frame(bytes).ok_or_else(|| bad("frame"))?;
                self.frame(rec.id, w, h)
            }
        }
    }

    /// The replay of recorded session `number`, opened on first use.
    fn session(&mut self, number: u32) -> Result<&mut ReplaySession, ReplayError> {
        if !self.sessions.contains_key(&number) {
            let connection = (self.connect)().map_err(ReplayError::Server)?;
            let session = ReplaySession {
                connection,
                handles: HashMap::new(),
                images: HashMap::new(),
                group_of: HashMap::new(),
                groups: HashMap::new(),
                draw: HashMap::new(),
                surfaces: HashMap::new(),
                pending: None,
            };
            self.sessions.insert(number, session);
        }
        self.sessions.get_mut(&number).ok_or_else(|| bad("session"))
    }

    /// Makes a recorded control request again, with this server's handles.
    fn control(
        &mut self,
        number: u32,
        kind: ControlKind,
        request: &[u8],
        recorded: ControlReplyHead,
        recorded_payload: &[u8],
    ) -> Result<(), ReplayError> {
        let s = self.session(number)?;
        let c = s.connection.clone();
        let recorded_handle =
            HandlePayload::parse(recorded_payload).ok().map(|h| h.handle).filter(|_| recorded.succeeded());
        let handle_of = |p: &[u8]| HandlePayload::parse(p).map(|h| h.handle).map_err(|_| bad_reply(kind));
        match kind {
            ControlKind::CreateContext => {
                let (req, attribs) = CreateContextRequest::parse(request).map_err(|e| bad_request(kind, e))?;
                let share = if req.share_context == 0 { 0 } else { s.handle(req.share_context) };
                let payload =
                    CreateContextRequest::encode(share, req.config_id, &attribs).map_err(|e| bad_request(kind, e))?;
                if let Some(reply) = expected(c.call(kind, &payload), recorded, kind)? {
                    let new = handle_of(&reply)?;
                    let group = s.group_of.get(&share).copied().unwrap_or(new);
                    s.group_of.insert(new, group);
                    s.groups.entry(group).or_default();
                    if let Some(old) = recorded_handle {
                        s.handles.insert(old, new);
                    }
                }
            }
            ControlKind::CreateSurface | ControlKind::CreateWindowSurface => {
                let window = kind == ControlKind::CreateWindowSurface;
                if let Some((reply, fds)) = expected(c.call_for_fds(kind, request), recorded, kind)? {
                    let new = handle_of(&reply)?;
                    let surface =
                        if window { SurfaceKind::Window(attach(&c, fds, None)?) } else { SurfaceKind::Pbuffer };
                    s.surfaces.insert(new, surface);
                    if let Some(old) = recorded_handle {
                        s.handles.insert(old, new);
                    }
                }
            }
            ControlKind::SurfaceFrames => {
                let h = HandlePayload::parse(request).map_err(|e| bad_request(kind, e))?;
                let new = s.handle(h.handle);
                let payload = HandlePayload { handle: new };
                if let Some((_, fds)) = expected(c.call_for_fds(kind, payload.as_bytes()), recorded, kind)? {
                    let after = match s.surfaces.get(&new) {
                        Some(SurfaceKind::Window(f)) => Some(f.generation()),
                        _ => None,
                    };
                    s.surfaces.insert(new, SurfaceKind::Window(attach(&c, fds, after)?));
                }
            }
            ControlKind::DestroySurface | ControlKind::DestroyContext => {
                let h = HandlePayload::parse(request).map_err(|e| bad_request(kind, e))?;
                let new = s.handle(h.handle);
                expected(c.call(kind, HandlePayload { handle: new }.as_bytes()), recorded, kind)?;
                if kind == ControlKind::DestroySurface {
                    s.surfaces.remove(&new);
                } else {
                    s.draw.remove(&new);
                    self.contexts.retain(|_, ctx| !(ctx.session == number && ctx.server == new));
                }
            }
            ControlKind::MakeCurrent => {
                let r = MakeCurrentRequest::parse(request).map_err(|e| bad_request(kind, e))?;
                let map = |h: u64| if h == 0 { 0 } else { s.handle(h) };
                let new = MakeCurrentRequest {
                    context: map(r.context),
                    draw_surface: map(r.draw_surface),
                    read_surface: map(r.read_surface),
                };
                if expected(c.call(kind, new.as_bytes()), recorded, kind)?.is_some() && new.context != 0 {
                    s.draw.insert(new.context, new.draw_surface);
                }
            }
            ControlKind::CreateImage => {
                let mut r = CreateImageRequest::parse(request).map_err(|e| bad_request(kind, e))?;
                r.context = s.handle(r.context);
                if let Some(reply) = expected(c.call(kind, r.as_bytes()), recorded, kind)? {
                    let new = handle_of(&reply)?;
                    if let Some(old) = recorded_handle.filter(|&old| old != new) {
                        s.images.insert(old, new);
                    }
                }
            }
            ControlKind::DestroyImage => {
                let h = HandlePayload::parse(request).map_err(|e| bad_request(kind, e))?;
                let new = s.images.remove(&h.handle).unwrap_or(h.handle);
                expected(c.call(kind, HandlePayload { handle: new }.as_bytes()), recorded, kind)?;
            }
            ControlKind::QueryConfigs => {
                let ours = expected(c.call(kind, request), recorded, kind)?;
                if recorded.succeeded() && ours.as_deref() != Some(recorded_payload) && !self.warned_configs {
                    self.warned_configs = true;
                    eprintln!(
                        "glwire replay: this server's EGL configs differ from the recording server's: \
                         surfaces may get other formats and frames may differ"
                    );
                }
            }
            // The rest carry no handle: made again as they were.
            _ => {
                expected(c.call(kind, request), recorded, kind)?;
            }
        }
        Ok(())
    }

    /// Sends a recorded stream on its context's link (rewritten when a value it
    /// carries differs on this server).
    fn stream(&mut self, rec: &RecordInfo, buf: &CommandBuf) -> Result<(), ReplayError> {
        let ctx = self.contexts.get_mut(&rec.id).ok_or_else(|| lost_context(rec.id))?;
        let s = self.sessions.get(&ctx.session).ok_or_else(|| bad("session"))?;
        let empty = Remap::default();
        let remap = s.groups.get(&ctx.group).unwrap_or(&empty);
        let bytes = if remap.programs.is_empty() && remap.syncs.is_empty() && s.images.is_empty() {
            buf.as_bytes()
        } else {
            ctx.scratch.clear();
            rewrite_stream(buf.as_bytes(), remap, &s.images, &mut ctx.scratch)
                .map_err(|e| ReplayError::Server(format!("a stream of context {} does not decode: {e}", rec.id)))?;
            ctx.scratch.as_bytes()
        };
        if rec.kind == Kind::StreamSync {
            ctx.link.round_trip(bytes, &mut ctx.reply)?;
        } else {
            ctx.link.send(bytes)?;
        }
        Ok(())
    }

    /// A kept reply: where this server's answer differs, later commands get its value.
    fn learn(&mut self, context: u32, recorded: &[u8]) -> Result<(), ReplayError> {
        let ctx = self.contexts.get(&context).ok_or_else(|| lost_context(context))?;
        let (Ok((old, _)), Ok((new, _))) = (decode_reply(recorded), decode_reply(ctx.reply.as_bytes())) else {
            return Err(ReplayError::Server(format!("the reply of context {context} does not decode")));
        };
        let s = self.sessions.get_mut(&ctx.session).ok_or_else(|| bad("session"))?;
        let group = s.groups.entry(ctx.group).or_default();
        match (old, new) {
            (Reply::CreateProgram(o), Reply::CreateProgram(n)) => note(&mut group.programs, o.ret, n.ret),
            (Reply::CreateShader(o), Reply::CreateShader(n)) => note(&mut group.programs, o.ret, n.ret),
            (Reply::CreateShaderProgramv(o), Reply::CreateShaderProgramv(n)) => note(&mut group.programs, o.ret, n.ret),
            (Reply::FenceSync(o), Reply::FenceSync(n)) => note(&mut group.syncs, o.ret, n.ret),
            _ => return Err(ReplayError::Server(format!("context {context} got the answer to another command"))),
        }
        Ok(())
    }

    /// A frame: from its window's ring, or read back.
    fn frame(&mut self, context: u32, width: u32, height: u32) -> Result<(), ReplayError> {
        let ctx = self.contexts.get_mut(&context).ok_or_else(|| lost_context(context))?;
        let s = self.sessions.get_mut(&ctx.session).ok_or_else(|| bad("session"))?;
        let surface = s.draw.get(&ctx.server).copied().unwrap_or(0);
        self.frames += 1;
        let index = self.frames;
        let frame = match s.surfaces.get_mut(&surface) {
            Some(SurfaceKind::Window(frames)) => {
                let f = frames.wait_frame(RECOVERY).map_err(|e| {
                    ReplayError::Server(format!("frame {index}: no frame from the window surface: {e}"))
                })?;
                let g = *f.geometry();
                let rgba = self.pixels.then(|| pixels::window_rgba(&g, f.pixels()));
                let _ = f.release();
                Frame { index, width: g.width, height: g.height, rgba }
            }
            _ if self.pixels && width > 0 && height > 0 => {
                let mut readback =
                    pixels::Readback { link: &mut *ctx.link, buf: &mut ctx.scratch, reply: &mut ctx.own_reply };
                let rgba = pixels::read_frame(&mut readback, width, height)?;
                Frame { index, width, height, rgba: Some(rgba) }
            }
            _ => Frame { index, width, height, rgba: None },
        };
        (self.on_frame)(frame).map_err(ReplayError::Output)
    }
}

fn note<T: Eq + std::hash::Hash + Copy>(map: &mut HashMap<T, T>, recorded: T, new: T) {
    if recorded == new {
        map.remove(&recorded);
    } else {
        map.insert(recorded, new);
    }
}

fn bad(what: &str) -> ReplayError {
    ReplayError::Server(format!("internal: a checked {what} record did not parse"))
}

fn bad_request(kind: ControlKind, e: impl std::fmt::Display) -> ReplayError {
    ReplayError::Server(format!("the recorded {} request does not parse: {e}", kind.name()))
}

fn bad_reply(kind: ControlKind) -> ReplayError {
    ReplayError::Server(format!("the {} reply is not a handle", kind.name()))
}

fn lost_context(number: u32) -> ReplayError {
    ReplayError::Server(format!("context {number} is gone on this server (destroyed, or never made)"))
}

/// What this server answered, where a failure is an error only if the same request
/// succeeded when recorded (one that failed then may fail again).
fn expected<T>(
    r: Result<T, CallError>,
    recorded: ControlReplyHead,
    kind: ControlKind,
) -> Result<Option<T>, ReplayError> {
    match r {
        Ok(p) => Ok(Some(p)),
        Err(_) if !recorded.succeeded() => Ok(None),
        Err(e) => Err(ReplayError::Refused { kind: kind.name(), message: e.to_string() }),
    }
}

/// A consumer of the frame ring a reply's descriptor holds.
fn attach(
    c: &Connection,
    mut fds: Vec<std::os::fd::OwnedFd>,
    after: Option<u64>,
) -> Result<FrameConsumer, ReplayError> {
    let fd = fds.pop().ok_or_else(|| ReplayError::Server("a window surface came without its frame ring".into()))?;
    let peer = c.server_liveness();
    match after {
        Some(g) => FrameConsumer::attach_newer(fd, peer, g),
        None => FrameConsumer::attach(fd, peer),
    }
    .map_err(|e| ReplayError::Server(format!("the frame ring is unusable: {e}")))
}
