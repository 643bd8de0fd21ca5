//! Recording a program's traffic with the render server into a trace file, as
//! `glwire run --record FILE` asks through [`RECORD_ENV`]: the wire stream is the trace
//! format. It owns the trace format (below: header, record kinds, limits, the parsers
//! of each record's fixed part) and the writer; it does not replay (`replay`) nor decide
//! what a program sends (`context`, `egl`).
//!
//! What feeds it are one-line hooks: `Connection::call` and `Connection::call_for_fds`
//! (a control request and the server's answer), `Connection::new_context_with` (a new
//! context's link is wrapped in a `RecordingLink`) and `egl::terminate` (what is
//! queued is written and flushed). Records are built on the program's thread (one copy
//! of the bytes) and written by a writer thread through a buffered file, flushed
//! whenever the writer has caught up; the program waits for the disk only when a
//! thousand records are queued, since a trace, unlike a capture, may not skip anything.
//! A program that exits without eglTerminate is flushed by an `atexit` hook; one that
//! ends by a signal or `_exit` loses what the writer had not taken yet (its last
//! moments) and may leave a record cut short, which replay refuses.
//!
//! # Format (little-endian)
//!
//! Header: `b"GLWTRACE"`, the trace format version u32 ([`TRACE_VERSION`]), the wire
//! protocol version u32 (`wire::protocol::PROTOCOL_VERSION`: the streams are that
//! protocol's bytes), the length u32 of the glwire version text (at most
//! [`MAX_VERSION_TEXT`]), a zero u32, the text, zeros to a multiple of 8 bytes.
//!
//! Then records, each `[kind u32][id u32][length u64][length bytes]`, in the order the
//! client did things (across threads: the order they reached the recorder):
//!
//! | kind | id | bytes | why it is kept |
//! |---|---|---|---|
//! | 1 `Control` | session | control kind u32, 0 u32, the request's payload | what the program asked of the server outside its command streams: contexts, surfaces (pbuffer and window), make-current, EGLImages, destroys, configs. Not kept: `QueryStats`, `QueryServerStats` and `Ping`, which change nothing on the server; the handshake and `AttachRing`, which the replayer does itself; no descriptor |
//! | 2 `ControlReply` | session | control kind u32, status u32 (`u32::MAX`: no answer), descriptors u32, 0 u32, the reply's payload | always right after its request. The handles the server chose (contexts, surfaces, images) appear in later requests and streams: replay maps them to the ones its server gives; the status says what was expected to fail; `QueryConfigs`' list lets replay warn when its server's configs differ |
//! | 3 `Context` | context | session u32, 0 u32, the server's context handle u64 | the context got its link (rings or socket) right after its `CreateContext`; streams name a context by this number, unique in the trace, where server handles restart in each session |
//! | 4 `Stream` | context | encoded commands | a batch sent without waiting, exactly the bytes that went down the ring or socket |
//! | 5 `StreamSync` | context | encoded commands, the last synchronous | a batch sent and waited for |
//! | 6 `Reply` | context | the reply's bytes | only after a `StreamSync` whose last command answers a value the server chose that later commands carry: glCreateProgram, glCreateShader, glCreateShaderProgramv (program and shader names) and glFenceSync (sync ids). Other answers (queries, readbacks, mapped bytes) are left out: what the program did with them is already in its later commands |
//! | 7 `Frame` | context | width u32, height u32 | eglSwapBuffers: the stream before it ends with glwire's swap command (the recorder splits a stream there), so replay takes the frame here |
//!
//! glGen* names need no record of their own: the client chooses them, and they travel
//! in the streams. Values the host's driver chooses (uniform locations, block indices)
//! are not mapped: replay expects the same driver to choose the same ones.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wire::commands::{Command, Opcode};
use wire::control::{ControlKind, ControlStatus};
use wire::CommandBuf;

use crate::link::{Link, ReplyBuf};
use crate::session::{Session, SessionError};
use crate::CallError;

/// The trace file to write (`glwire run --record FILE` sets it).
pub const RECORD_ENV: &str = "GLWIRE_RECORD";
/// First bytes of a trace.
pub const MAGIC: [u8; 8] = *b"GLWTRACE";
/// The trace format this build writes and replays. Bump it when a record's layout or
/// meaning changes.
pub const TRACE_VERSION: u32 = 1;
/// Longest glwire version text a header may hold.
pub const MAX_VERSION_TEXT: usize = 64;
/// Bytes of a header before its version text.
pub const HEADER_FIXED: usize = 24;
/// Bytes of a record's `[kind][id][length]`.
pub const RECORD_HEADER: usize = 16;
/// Longest record: a command as large as the wire allows, with room for the batch it
/// ends. Anything longer is not a trace this build wrote.
pub const MAX_RECORD_BYTES: u64 = 2 * wire::codec::MAX_COMMAND_BYTES as u64;
/// Status written when a control request got no answer (the connection broke).
pub const NO_ANSWER: u32 = u32::MAX;

/// Records queued for the writer before the program waits for it.
const QUEUE: usize = 1024;
/// How long eglTerminate waits for the writer to catch up.
const FINISH_WAIT: Duration = Duration::from_secs(10);

/// What a record holds (see the module doc).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Control = 1,
    ControlReply = 2,
    Context = 3,
    Stream = 4,
    StreamSync = 5,
    Reply = 6,
    Frame = 7,
}

impl Kind {
    pub const fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => Kind::Control,
            2 => Kind::ControlReply,
            3 => Kind::Context,
            4 => Kind::Stream,
            5 => Kind::StreamSync,
            6 => Kind::Reply,
            7 => Kind::Frame,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            Kind::Control => "control request",
            Kind::ControlReply => "control reply",
            Kind::Context => "context",
            Kind::Stream => "stream",
            Kind::StreamSync => "synchronous stream",
            Kind::Reply => "reply",
            Kind::Frame => "frame",
        }
    }
}

/// A trace's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    pub trace_version: u32,
    pub protocol_version: u32,
    /// The glwire that recorded it.
    pub glwire_version: String,
}

impl TraceHeader {
    /// The header this build writes.
    pub fn current() -> Self {
        TraceHeader {
            trace_version: TRACE_VERSION,
            protocol_version: wire::protocol::PROTOCOL_VERSION,
            glwire_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let text = &self.glwire_version.as_bytes()[..self.glwire_version.len().min(MAX_VERSION_TEXT)];
        let mut out = Vec::with_capacity(HEADER_FIXED + MAX_VERSION_TEXT);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.trace_version.to_le_bytes());
        out.extend_from_slice(&self.protocol_version.to_le_bytes());
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(text);
        out.resize(out.len().next_multiple_of(8), 0);
        out
    }

    /// The bytes a header takes with a version text of `text_len` bytes.
    pub fn len_with(text_len: usize) -> usize {
        (HEADER_FIXED + text_len).next_multiple_of(8)
    }
}

/// The fixed part of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub kind: u32,
    pub id: u32,
    pub len: u64,
}

impl RecordHeader {
    pub fn encode(&self) -> [u8; RECORD_HEADER] {
        let mut out = [0u8; RECORD_HEADER];
        out[..4].copy_from_slice(&self.kind.to_le_bytes());
        out[4..8].copy_from_slice(&self.id.to_le_bytes());
        out[8..].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    pub fn parse(bytes: &[u8; RECORD_HEADER]) -> Self {
        RecordHeader { kind: le32(bytes, 0), id: le32(bytes, 4), len: le64(bytes, 8) }
    }
}

/// A `ControlReply` record's fixed part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlReplyHead {
    pub kind: u32,
    /// A `ControlStatus` number, or [`NO_ANSWER`].
    pub status: u32,
    pub fds: u32,
}

impl ControlReplyHead {
    pub const LEN: usize = 16;

    /// Splits a `ControlReply` record's bytes into its fixed part and the payload.
    pub fn split(bytes: &[u8]) -> Option<(Self, &[u8])> {
        let (head, payload) = split_at_checked(bytes, Self::LEN)?;
        Some((ControlReplyHead { kind: le32(head, 0), status: le32(head, 4), fds: le32(head, 8) }, payload))
    }

    pub fn succeeded(&self) -> bool {
        self.status == ControlStatus::Ok as u32
    }
}

/// A `Control` record's bytes: the control kind number and the request's payload.
pub fn split_control(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, payload) = split_at_checked(bytes, 8)?;
    Some((le32(head, 0), payload))
}

/// A `Context` record's bytes: the session number and the server's context handle.
pub fn parse_context(bytes: &[u8]) -> Option<(u32, u64)> {
    (bytes.len() == 16).then(|| (le32(bytes, 0), le64(bytes, 8)))
}

/// A `Frame` record's bytes: the surface's width and height.
pub fn parse_frame(bytes: &[u8]) -> Option<(u32, u32)> {
    (bytes.len() == 8).then(|| (le32(bytes, 0), le32(bytes, 4)))
}

fn split_at_checked(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    (bytes.len() >= at).then(|| bytes.split_at(at))
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// One command's place in a stream, found by its header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    pub opcode: u32,
    /// Where the command starts and ends in the stream.
    pub start: usize,
    pub end: usize,
}

/// Walks the commands of a stream by their `[opcode][size]` headers. Stops (and
/// reports where) at a header that does not frame a command: a size under 8, not a
/// multiple of 8, or past the end.
#[derive(Debug, Clone)]
pub struct Commands<'a> {
    stream: &'a [u8],
    pos: usize,
}

impl<'a> Commands<'a> {
    pub fn new(stream: &'a [u8]) -> Self {
        Commands { stream, pos: 0 }
    }

    /// Where the walk stopped: the stream's length when every command was framed.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Iterator for Commands<'_> {
    type Item = Framed;

    fn next(&mut self) -> Option<Framed> {
        let rest = self.stream.get(self.pos..)?;
        if rest.len() < 8 {
            return None;
        }
        let (opcode, size) = (le32(rest, 0), le32(rest, 4) as usize);
        if size < 8 || size % 8 != 0 || size > rest.len() {
            return None;
        }
        let start = self.pos;
        self.pos += size;
        Some(Framed { opcode, start, end: self.pos })
    }
}

/// True for the synchronous commands whose replies a trace keeps (see the module doc).
pub fn keeps_reply(opcode: u32) -> bool {
    matches!(
        Opcode::from_u32(opcode),
        Some(Opcode::CreateProgram | Opcode::CreateShader | Opcode::CreateShaderProgramv | Opcode::FenceSync)
    )
}

/// The surface size glwire's swap command carries (its `width` and `height`).
pub fn swap_size(command: &[u8]) -> Option<(u32, u32)> {
    // [opcode][size][x i32][y i32][width i32][height i32]
    let body = command.get(8..24)?;
    let (w, h) = (le32(body, 8) as i32, le32(body, 12) as i32);
    Some((w.max(0) as u32, h.max(0) as u32))
}

// ---------------------------------------------------------------------------------
// The writer.

enum Msg {
    /// One or more whole records, written together.
    Bytes(Vec<u8>),
    /// Flush, then answer.
    Flush(SyncSender<()>),
}

#[derive(Debug, Default)]
struct Numbers {
    /// The recorder's session number of each server session id.
    sessions: HashMap<u64, u32>,
    next_context: u32,
}

/// The process's recording, set up from the environment on first use.
#[derive(Debug)]
struct Recorder {
    queue: SyncSender<Msg>,
    numbers: Mutex<Numbers>,
    failed: Arc<Mutex<Option<String>>>,
    path: PathBuf,
    /// The process that opened the trace: a child forked after that has no writer
    /// thread, and records nothing.
    pid: u32,
}

static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();

/// The recording the environment asks for, if any.
fn get() -> Option<&'static Recorder> {
    RECORDER.get_or_init(Recorder::from_env).as_ref()
}

impl Recorder {
    fn from_env() -> Option<Self> {
        let path = PathBuf::from(std::env::var_os(RECORD_ENV).filter(|p| !p.is_empty())?);
        match Self::open(&path) {
            Ok(r) => {
                // SAFETY: registers a function with no arguments that catches every
                // panic; nothing else changes.
                if unsafe { libc::atexit(finish_at_exit) } != 0 {
                    eprintln!("glwire: record: cannot run at exit: end with eglTerminate to keep the trace's tail");
                }
                Some(r)
            }
            Err(e) => {
                eprintln!("glwire: {RECORD_ENV}: {}: {e}; this process is not recorded", path.display());
                None
            }
        }
    }

    /// Opens `path` for this process alone: an empty file (made if missing) that no
    /// other process is recording into. A trace already there is never overwritten: a
    /// program's child inheriting the variable, or a second program run after the
    /// first, would otherwise destroy the first trace.
    fn open(path: &Path) -> Result<Self, String> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| e.to_string())?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| "another process is recording into it".to_owned())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        if len != 0 {
            return Err(format!("it already holds {len} bytes (a trace?); remove it or choose another file"));
        }
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&TraceHeader::current().encode()).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        let failed = Arc::new(Mutex::new(None));
        let (queue, records) = sync_channel(QUEUE);
        let (shown, thread_failed) = (path.display().to_string(), failed.clone());
        std::thread::Builder::new()
            .name("glwire-record".into())
            .spawn(move || write_records(records, out, &shown, &thread_failed))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        let pid = std::process::id();
        Ok(Recorder { queue, numbers: Mutex::new(Numbers::default()), failed, path: path.to_owned(), pid })
    }

    fn send(&self, bytes: Vec<u8>) {
        if std::process::id() != self.pid {
            return;
        }
        // A writer that stopped has said why; records after that are dropped.
        let _ = self.queue.send(Msg::Bytes(bytes));
    }

    fn session_number(&self, server_session: u64) -> u32 {
        let mut n = lock(&self.numbers);
        let next = n.sessions.len() as u32 + 1;
        *n.sessions.entry(server_session).or_insert(next)
    }

    fn context_number(&self) -> u32 {
        let mut n = lock(&self.numbers);
        n.next_context += 1;
        n.next_context
    }

    /// Waits (bounded) until everything queued is on disk.
    fn finish(&self) {
        let (ack, done) = sync_channel(1);
        if std::process::id() == self.pid
            && self.queue.send(Msg::Flush(ack)).is_ok()
            && done.recv_timeout(FINISH_WAIT).is_err()
        {
            eprintln!("glwire: record: {} is still being written after {FINISH_WAIT:?}", self.path.display());
        }
        if let Some(e) = lock(&self.failed).as_ref() {
            eprintln!("glwire: record: {}: the trace is incomplete: {e}", self.path.display());
        }
    }
}

fn write_records(records: Receiver<Msg>, mut out: BufWriter<File>, path: &str, failed: &Mutex<Option<String>>) {
    let mut broken = false;
    let fail = |e: std::io::Error, broken: &mut bool| {
        if !*broken {
            eprintln!("glwire: record: writing {path} failed: {e}; the trace stops here");
            *lock(failed) = Some(e.to_string());
            *broken = true;
        }
    };
    loop {
        // Flush whenever the queue runs dry: a program that exits without
        // eglTerminate loses at most what it sent in its last moments.
        let msg = match records.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Empty) => {
                if let Err(e) = out.flush() {
                    fail(e, &mut broken);
                }
                match records.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match msg {
            Msg::Bytes(b) if !broken => {
                if let Err(e) = out.write_all(&b) {
                    fail(e, &mut broken);
                }
            }
            Msg::Bytes(_) => {}
            Msg::Flush(ack) => {
                if let Err(e) = out.flush() {
                    fail(e, &mut broken);
                }
                let _ = ack.send(());
            }
        }
    }
    let _ = out.flush();
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Appends one record to `out`.
fn put(out: &mut Vec<u8>, kind: Kind, id: u32, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.extend_from_slice(&RecordHeader { kind: kind as u32, id, len: len as u64 }.encode());
    for p in parts {
        out.extend_from_slice(p);
    }
}

// ---------------------------------------------------------------------------------
// The hooks.

/// Hook of `Connection::call`/`call_for_fds`: records a control request and what the
/// server answered (`reply`: its payload and how many descriptors came with it).
pub(crate) fn control(
    session: &Session,
    kind: ControlKind,
    request: &[u8],
    reply: Result<(&[u8], usize), &SessionError>,
) {
    let Some(r) = get() else { return };
    if matches!(kind, ControlKind::QueryStats | ControlKind::QueryServerStats | ControlKind::Ping) {
        return;
    }
    let number = r.session_number(session.welcome().session_id);
    let (status, fds, payload): (u32, usize, &[u8]) = match reply {
        Ok((payload, fds)) => (ControlStatus::Ok as u32, fds, payload),
        Err(SessionError::Failed { status, message, .. }) => (*status, 0, message.as_bytes()),
        Err(_) => (NO_ANSWER, 0, &[]),
    };
    let mut out = Vec::with_capacity(2 * RECORD_HEADER + 24 + request.len() + payload.len());
    put(&mut out, Kind::Control, number, &[&kind.as_u32().to_le_bytes(), &[0; 4], request]);
    let head = [kind.as_u32(), status, fds as u32, 0];
    put(&mut out, Kind::ControlReply, number, &[zerocopy::IntoBytes::as_bytes(&head), payload]);
    r.send(out);
}

/// Hook of `Connection::new_context_with`: the link of the new server context
/// `context`, recording what goes through it when this process records.
pub(crate) fn wrap_link(session: &Mutex<Session>, context: u64, link: Box<dyn Link>) -> Box<dyn Link> {
    let Some(r) = get() else { return link };
    let server_session = lock(session).welcome().session_id;
    let number = r.context_number();
    let mut out = Vec::with_capacity(RECORD_HEADER + 16);
    let head = [r.session_number(server_session), 0];
    put(&mut out, Kind::Context, number, &[zerocopy::IntoBytes::as_bytes(&head), &context.to_le_bytes()]);
    r.send(out);
    Box::new(RecordingLink { inner: link, context: number, recorder: r, scratch: CommandBuf::new() })
}

/// At `exit` (registered with `atexit` when recording starts): what a program that
/// never called eglTerminate recorded last is written too. The writer thread still
/// runs then; threads stop only after the exit handlers.
extern "C" fn finish_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if let Some(Some(r)) = RECORDER.get() {
            r.finish();
        }
    });
}

/// Hook of `eglTerminate`: everything recorded so far is written and flushed (a
/// program may exit right after).
pub fn finish() {
    if let Some(r) = get() {
        r.finish();
    }
}

/// A context's link that records each stream before passing it on.
struct RecordingLink {
    inner: Box<dyn Link>,
    context: u32,
    recorder: &'static Recorder,
    scratch: CommandBuf,
}

impl RecordingLink {
    /// Records `stream` as `last` (the kind of its final piece), split after each of
    /// glwire's swap commands, each followed by its `Frame` record.
    fn record(&self, stream: &[u8], last: Kind) {
        let mut out = Vec::with_capacity(stream.len() + 4 * RECORD_HEADER);
        let mut from = 0;
        for c in Commands::new(stream).filter(|c| c.opcode == Opcode::WireSwapBuffers as u32) {
            let (w, h) = swap_size(&stream[c.start..c.end]).unwrap_or((0, 0));
            put(&mut out, Kind::Stream, self.context, &[&stream[from..c.end]]);
            put(&mut out, Kind::Frame, self.context, &[&w.to_le_bytes(), &h.to_le_bytes()]);
            from = c.end;
        }
        // A synchronous stream never ends with the swap (the swap waits for nothing),
        // so its last piece is never empty.
        if from < stream.len() {
            put(&mut out, last, self.context, &[&stream[from..]]);
        }
        self.recorder.send(out);
    }
}

impl Link for RecordingLink {
    fn send(&mut self, stream: &[u8]) -> Result<(), CallError> {
        self.record(stream, Kind::Stream);
        self.inner.send(stream)
    }

    fn round_trip(&mut self, stream: &[u8], reply: &mut ReplyBuf) -> Result<(), CallError> {
        self.record(stream, Kind::StreamSync);
        self.inner.round_trip(stream, reply)?;
        let last = Commands::new(stream).last().map(|c| c.opcode);
        if last.is_some_and(keeps_reply) {
            let mut out = Vec::with_capacity(RECORD_HEADER + reply.len());
            put(&mut out, Kind::Reply, self.context, &[reply.as_bytes()]);
            self.recorder.send(out);
        }
        Ok(())
    }

    fn send_command(&mut self, cmd: &Command<'_>) -> Result<(), CallError> {
        // Encoded twice (here for the trace, then straight into the transport): a
        // recording's cost, not the program's usual one.
        self.scratch.clear();
        cmd.encode(&mut self.scratch)?;
        self.record(self.scratch.as_bytes(), Kind::Stream);
        self.scratch.clear();
        self.inner.send_command(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::commands::{Finish, WireSwapBuffers};

    #[test]
    fn headers_round_trip() {
        let h = TraceHeader::current();
        let bytes = h.encode();
        assert_eq!(bytes.len() % 8, 0);
        assert_eq!(&bytes[..8], b"GLWTRACE");
        assert_eq!(bytes.len(), TraceHeader::len_with(h.glwire_version.len()));
        let r = RecordHeader { kind: 4, id: 2, len: 40 };
        assert_eq!(RecordHeader::parse(&r.encode()), r);
    }

    #[test]
    fn streams_are_walked_by_their_headers_and_split_at_swaps() {
        let mut buf = CommandBuf::new();
        Command::Finish(Finish {}).encode(&mut buf).unwrap();
        Command::WireSwapBuffers(WireSwapBuffers { x: 0, y: 0, width: 64, height: 32 }).encode(&mut buf).unwrap();
        Command::Finish(Finish {}).encode(&mut buf).unwrap();
        let stream = buf.as_bytes();
        let cmds: Vec<_> = Commands::new(stream).collect();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[1].opcode, Opcode::WireSwapBuffers as u32);
        assert_eq!(swap_size(&stream[cmds[1].start..cmds[1].end]), Some((64, 32)));
        assert_eq!(cmds[2].end, stream.len());
        // A header that frames nothing stops the walk where it is.
        let mut bad = stream.to_vec();
        bad[cmds[1].start + 4] = 7;
        let mut walk = Commands::new(&bad);
        assert_eq!(walk.by_ref().count(), 1);
        assert_eq!(walk.position(), cmds[1].start);
    }

    #[test]
    fn only_replies_with_server_chosen_values_are_kept() {
        assert!(keeps_reply(Opcode::CreateProgram as u32));
        assert!(keeps_reply(Opcode::FenceSync as u32));
        assert!(!keeps_reply(Opcode::GetError as u32));
        assert!(!keeps_reply(Opcode::ReadPixels as u32));
        assert!(!keeps_reply(u32::MAX));
    }
}
