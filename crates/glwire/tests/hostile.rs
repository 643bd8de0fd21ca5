//! Hostile clients against a real `glwire serve` process (issue 6, "Hardening"). The
//! server treats every client as hostile; each test here starts its own server, opens a
//! well-behaved *witness* session (a 4x4 framebuffer it clears and reads back), records
//! the server's baseline (context threads, session threads, open descriptors), then lets
//! one hostile client loose and checks, for that case:
//!
//! - the offending session gets exactly the error the server's code or GL's spec says
//!   (a GL error read with glGetError, a control status), or is ended (its socket hangs
//!   up);
//! - the server process is still running and answers a Ping;
//! - the witness, open all along, still renders correctly;
//! - once the hostile session is over, the server's context threads, session threads,
//!   open descriptors and QueryServerStats (live sessions; their contexts, surfaces,
//!   object names, shared memory and GL memory) are back to the baseline within a
//!   second, and its log holds no panic.
//!
//! Tests named `quota_*` exercise per-session quotas that are being built
//! (`--max-gl-memory`, `--max-objects`). Every test needs host GL (Mesa's llvmpipe
//! through EGL surfaceless). Every wait has a deadline; a server child is killed on drop.

use std::ffi::CStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client::{Session, SessionError};
use transport::channel::Channel;
use transport::liveness::Liveness;
use transport::ring::{producer, RingRegion, RING_HEADER_BYTES};
use transport::TransportError;
use wire::codec::{DataRef, OutRef, StrList};
use wire::commands::*;
use wire::control::{
    AttachRingRequest, ControlHeader, ControlKind, ControlStatus, CreateContextRequest, CreateImageRequest,
    CreateSurfaceRequest, HandlePayload, MakeCurrentRequest, ServerStatsReply, StatsReply, CONTROL_HEADER_SIZE,
    MAX_CONTROL_PAYLOAD,
};
use wire::names::Namespace;
use wire::protocol::{Hello, RefusalReason, ServerReply, HELLO_SIZE, PROTOCOL_VERSION, REFUSAL_HEADER_SIZE};
use wire::CommandBuf;
use zerocopy::IntoBytes;

const SECOND: Duration = Duration::from_secs(1);
/// How long the server may take to free what an ended session owned.
const SETTLE: Duration = Duration::from_secs(1);
const TOKEN: &str = "hostile-suite-token";

const GL_NO_ERROR: u32 = 0;
const GL_INVALID_VALUE: u32 = 0x0501;
const GL_INVALID_OPERATION: u32 = 0x0502;
const GL_OUT_OF_MEMORY: u32 = 0x0505;
const GL_FRAMEBUFFER: u32 = 0x8D40;
const GL_RENDERBUFFER: u32 = 0x8D41;
const GL_RGBA8: u32 = 0x8058;
const GL_RGBA32F: u32 = 0x8814;
const GL_COLOR_ATTACHMENT0: u32 = 0x8CE0;
const GL_FRAMEBUFFER_COMPLETE: u32 = 0x8CD5;
const GL_COLOR_BUFFER_BIT: u32 = 0x4000;
const GL_RGBA: u32 = 0x1908;
const GL_UNSIGNED_BYTE: u32 = 0x1401;
const GL_FLOAT: u32 = 0x1406;
const GL_TRIANGLES: u32 = 0x0004;
const GL_TEXTURE_2D: u32 = 0x0DE1;
const GL_TEXTURE_3D: u32 = 0x806F;
const GL_ARRAY_BUFFER: u32 = 0x8892;
const GL_STATIC_DRAW: u32 = 0x88E4;
const GL_MAP_READ_BIT: u32 = 0x1;
const GL_SYNC_GPU_COMMANDS_COMPLETE: u32 = 0x9117;
const GL_SYNC_STATUS: u32 = 0x9114;
const GL_EXTENSIONS: u32 = 0x1F03;
const GL_VERTEX_SHADER: u32 = 0x8B31;
const GL_FRAGMENT_SHADER: u32 = 0x8B30;
const EGL_GL_TEXTURE_2D_KHR: u32 = 0x30B1;

// ---------------------------------------------------------------------------------------
// The server process

struct Serve {
    child: Child,
    _dir: tempfile::TempDir,
    socket: PathBuf,
    stderr: Arc<Mutex<String>>,
    tcp: Option<SocketAddr>,
}

/// Starts `glwire serve` with its socket in a fresh private directory (and TCP on a
/// free port with a token when `tcp`), and waits (at most 10 s) until it says where it
/// listens.
fn serve(extra: &[&str], tcp: bool) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("glwire").join("gpu0");
    let mut args = vec!["serve".to_string(), "--socket".into(), socket.display().to_string()];
    if tcp {
        let token = dir.path().join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        args.extend(["--token-file".into(), token.display().to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Process::new(env!("CARGO_BIN_EXE_glwire"))
        .args(&args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, stdout): (_, Receiver<String>) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut server = Serve { child, _dir: dir, socket, stderr, tcp: None };
    let line = |s: &Serve| {
        stdout
            .recv_timeout(10 * SECOND)
            .unwrap_or_else(|e| panic!("no line from glwire serve ({e}); stderr: {}", s.stderr()))
    };
    let unix = line(&server);
    assert_eq!(unix, format!("glwire serve: listening on unix:{}", server.socket.display()), "{}", server.stderr());
    if tcp {
        let l = line(&server);
        let addr = l.strip_prefix("glwire serve: listening on tcp:").unwrap_or_else(|| panic!("unexpected {l:?}"));
        server.tcp = Some(addr.parse().unwrap());
    }
    server
}

impl Serve {
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn connect(&self, program: &str) -> Session {
        Session::connect_unix(&self.socket, program).unwrap()
    }

    /// Threads of the server whose name starts with `prefix` (Linux keeps 15 bytes of a
    /// thread name: `glwire-context-` and `glwire-session-`).
    fn threads_named(&self, prefix: &str) -> usize {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else { return 0 };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    /// Open descriptors of the server process.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map(|d| d.count()).unwrap_or(0)
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to `within` for `check` to hold; returns its last verdict.
fn eventually<T>(within: Duration, mut check: impl FnMut() -> Result<(), T>) -> Result<(), T> {
    let start = Instant::now();
    loop {
        let r = check();
        if r.is_ok() || start.elapsed() > within {
            return r;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------
// GL over SubmitCommands

/// A session with one context, whose commands go over the socket (SubmitCommands).
struct Gl {
    session: Session,
    context: u64,
    /// The last object name this client chose (glGen* names are the client's).
    last_name: u32,
}

fn create_context(session: &mut Session) -> Result<u64, SessionError> {
    let payload = CreateContextRequest::encode(0, 0, &[]).unwrap();
    Ok(HandlePayload::parse(&session.call(ControlKind::CreateContext, &payload)?).unwrap().handle)
}

fn encode(cmds: &[Command<'_>]) -> Vec<u8> {
    let mut stream = CommandBuf::new();
    for cmd in cmds {
        cmd.encode(&mut stream).unwrap();
    }
    stream.as_bytes().to_vec()
}

impl Gl {
    fn new(mut session: Session) -> Gl {
        let context = create_context(&mut session).unwrap();
        Gl { session, context, last_name: 7000 }
    }

    /// Sends raw command-stream bytes to this client's context.
    fn submit_raw(&mut self, stream: &[u8]) -> Result<CommandBuf, SessionError> {
        let mut payload = self.context.to_le_bytes().to_vec();
        payload.extend_from_slice(stream);
        let reply = self.session.call(ControlKind::SubmitCommands, &payload)?;
        let mut aligned = CommandBuf::new();
        aligned.extend_raw(&reply);
        Ok(aligned)
    }

    fn try_submit(&mut self, cmds: &[Command<'_>]) -> Result<CommandBuf, SessionError> {
        self.submit_raw(&encode(cmds))
    }

    fn submit(&mut self, cmds: &[Command<'_>]) -> CommandBuf {
        self.try_submit(cmds).unwrap_or_else(|e| panic!("submitting {:?}: {e}", cmds.first().map(|c| c.opcode())))
    }

    fn call(&mut self, cmd: Command<'_>) -> CommandBuf {
        self.submit(&[cmd])
    }

    fn error(&mut self) -> u32 {
        match decode_reply(self.call(Command::GetError(GetError {})).as_bytes()).unwrap() {
            (Reply::GetError(r), []) => r.ret,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// `cmds` raise `error` (GL keeps the first), nothing else is pending afterwards, and
    /// the context still answers.
    fn expect_error(&mut self, cmds: &[Command<'_>], error: u32) {
        self.submit(cmds);
        assert_eq!(self.error(), error, "after {:?}", cmds.iter().map(|c| c.opcode()).collect::<Vec<_>>());
        assert_eq!(self.error(), GL_NO_ERROR);
        self.still_works();
    }

    fn still_works(&mut self) {
        let b = self.call(Command::Finish(Finish {}));
        assert!(matches!(decode_reply(b.as_bytes()).unwrap().0, Reply::Finish(_)));
    }

    /// A new object name of `ns`, chosen here as the ICD does (glGen* has no reply).
    fn gen(&mut self, ns: Namespace) -> u32 {
        self.last_name += 1;
        let name = [self.last_name];
        assert!(self.call(wire::names::gen_command(ns, 1, &name).unwrap()).is_empty());
        name[0]
    }

    /// A single-integer glGet.
    fn integer(&mut self, pname: u32) -> i32 {
        match decode_reply(self.call(Command::GetIntegerv(GetIntegerv { pname, data: Some(1) })).as_bytes()).unwrap().0
        {
            Reply::GetIntegerv(r) => r.data.unwrap()[0],
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// This session's counters (QueryStats).
    fn stats(&mut self) -> StatsReply {
        StatsReply::parse(&self.session.call(ControlKind::QueryStats, &[]).unwrap()).unwrap()
    }

    fn is(&mut self, cmd: Command<'_>) -> bool {
        match decode_reply(self.call(cmd).as_bytes()).unwrap().0 {
            Reply::IsBuffer(r) => r.ret != 0,
            Reply::IsTexture(r) => r.ret != 0,
            Reply::IsProgram(r) => r.ret != 0,
            Reply::IsShader(r) => r.ret != 0,
            Reply::IsSync(r) => r.ret != 0,
            Reply::IsVertexArray(r) => r.ret != 0,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// A 4x4 RGBA8 renderbuffer as draw and read framebuffer.
    fn framebuffer_4x4(&mut self) {
        let fbo = self.gen(Namespace::Framebuffer);
        let rbo = self.gen(Namespace::Renderbuffer);
        let b = self.submit(&[
            Command::BindFramebuffer(BindFramebuffer { target: GL_FRAMEBUFFER, framebuffer: fbo }),
            Command::BindRenderbuffer(BindRenderbuffer { target: GL_RENDERBUFFER, renderbuffer: rbo }),
            Command::RenderbufferStorage(RenderbufferStorage {
                target: GL_RENDERBUFFER,
                internalformat: GL_RGBA8,
                width: 4,
                height: 4,
            }),
            Command::FramebufferRenderbuffer(FramebufferRenderbuffer {
                target: GL_FRAMEBUFFER,
                attachment: GL_COLOR_ATTACHMENT0,
                renderbuffertarget: GL_RENDERBUFFER,
                renderbuffer: rbo,
            }),
            Command::Viewport(Viewport { x: 0, y: 0, width: 4, height: 4 }),
            Command::CheckFramebufferStatus(CheckFramebufferStatus { target: GL_FRAMEBUFFER }),
        ]);
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::CheckFramebufferStatus(r) => assert_eq!(r.ret, GL_FRAMEBUFFER_COMPLETE),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// Clears the bound framebuffer to `rgba` and reads its 4x4 pixels back.
    fn clear_and_read(&mut self, rgba: [u8; 4]) -> Vec<u8> {
        let f = |v: u8| f32::from(v) / 255.0;
        let b = self.submit(&[
            Command::ClearColor(ClearColor { red: f(rgba[0]), green: f(rgba[1]), blue: f(rgba[2]), alpha: f(rgba[3]) }),
            Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }),
            Command::ReadPixels(ReadPixels {
                x: 0,
                y: 0,
                width: 4,
                height: 4,
                format: GL_RGBA,
                type_: GL_UNSIGNED_BYTE,
                pixels: OutRef::Reply(64),
            }),
        ]);
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::ReadPixels(r) => r.pixels.unwrap_or_default().to_vec(),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// A linked program of the two shaders' sources; returns (program, [shaders]).
    fn program(&mut self, vertex: &CStr, fragment: &CStr) -> (u32, [u32; 2]) {
        let ret = |b: CommandBuf| match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::CreateShader(r) => r.ret,
            Reply::CreateProgram(r) => r.ret,
            other => panic!("unexpected reply {other:?}"),
        };
        let program = ret(self.call(Command::CreateProgram(CreateProgram {})));
        let mut shaders = [0; 2];
        for (i, (kind, source)) in [(GL_VERTEX_SHADER, vertex), (GL_FRAGMENT_SHADER, fragment)].into_iter().enumerate()
        {
            let shader = ret(self.call(Command::CreateShader(CreateShader { type_: kind })));
            let sources = [source];
            self.submit(&[
                Command::ShaderSource(ShaderSource { shader, count: 1, string: StrList::Borrowed(&sources) }),
                Command::CompileShader(CompileShader { shader }),
                Command::AttachShader(AttachShader { program, shader }),
            ]);
            shaders[i] = shader;
        }
        self.submit(&[Command::LinkProgram(LinkProgram { program })]);
        assert_eq!(self.error(), GL_NO_ERROR);
        (program, shaders)
    }

    /// A buffer bound at GL_ARRAY_BUFFER holding `data`.
    fn buffer_with(&mut self, data: &[u8]) -> u32 {
        let buffer = self.gen(Namespace::Buffer);
        self.submit(&[
            Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }),
            Command::BufferData(BufferData {
                target: GL_ARRAY_BUFFER,
                size: data.len() as i64,
                data: Some(data),
                usage: GL_STATIC_DRAW,
            }),
        ]);
        assert_eq!(self.error(), GL_NO_ERROR);
        buffer
    }

    /// The first `len` bytes of the buffer bound at GL_ARRAY_BUFFER, through a read map.
    fn read_array_buffer(&mut self, len: i64) -> Vec<u8> {
        let b = self.call(Command::MapBufferRange(MapBufferRange {
            target: GL_ARRAY_BUFFER,
            offset: 0,
            length: len,
            access: GL_MAP_READ_BIT,
        }));
        let bytes = match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::MapBufferRange(r) => r.ret.map(<[u8]>::to_vec).unwrap_or_default(),
            other => panic!("unexpected reply {other:?}"),
        };
        self.call(Command::UnmapBuffer(UnmapBuffer { target: GL_ARRAY_BUFFER }));
        bytes
    }

    /// A 4x4 RGBA8 texture bound at GL_TEXTURE_2D.
    fn texture_4x4(&mut self) -> u32 {
        let texture = self.gen(Namespace::Texture);
        self.submit(&[
            Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture }),
            Command::TexImage2D(TexImage2D {
                target: GL_TEXTURE_2D,
                level: 0,
                internalformat: GL_RGBA8 as i32,
                width: 4,
                height: 4,
                border: 0,
                format: GL_RGBA,
                type_: GL_UNSIGNED_BYTE,
                pixels: DataRef::Null,
            }),
        ]);
        assert_eq!(self.error(), GL_NO_ERROR);
        texture
    }
}

/// The status a control call failed with (`None`: it succeeded; a transport error is
/// a test failure).
fn status<T: std::fmt::Debug>(r: Result<T, SessionError>) -> ControlStatus {
    match r {
        Ok(_) => ControlStatus::Ok,
        Err(e) => match e.status() {
            Some(Ok(s)) => s,
            _ => panic!("expected a control status, got {e}"),
        },
    }
}

/// The session was ended by the server: its socket hangs up (a request, at most a few
/// answered before the server noticed, then a transport error) within `within`.
fn assert_ended(session: &mut Session, within: Duration) {
    session.set_timeout(within);
    let start = Instant::now();
    loop {
        match session.call(ControlKind::Ping, b"still there?") {
            Err(SessionError::Transport(_)) => return,
            Err(e) => panic!("the session was expected to end, got {e}"),
            Ok(_) => {
                assert!(start.elapsed() < within, "the session still answers after {:?}", start.elapsed());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Raw stream bytes of one command with the little-endian u32 at `at` replaced.
fn patched(cmd: Command<'_>, at: usize, value: u32) -> Vec<u8> {
    let mut bytes = encode(&[cmd]);
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    bytes
}

// ---------------------------------------------------------------------------------------
// The witness and the leak checks

/// What the server holds with only the witness connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Baseline {
    /// Threads named `glwire-context-*` and `glwire-session-*`.
    contexts: usize,
    sessions: usize,
    fds: usize,
    /// QueryServerStats: live sessions and what they hold (contexts, surfaces, object
    /// names, shared memory, GL memory), summed.
    live: [u64; 6],
}

/// One case: a server, the witness session running beside the hostile client, and the
/// server's baseline with only the witness connected.
struct Case {
    server: Serve,
    witness: Gl,
    frame: u8,
    base: Baseline,
}

impl Case {
    fn new(extra: &[&str]) -> Case {
        Self::start(extra, false)
    }

    fn with_tcp(extra: &[&str]) -> Case {
        Self::start(extra, true)
    }

    fn start(extra: &[&str], tcp: bool) -> Case {
        let server = serve(extra, tcp);
        let mut witness = Gl::new(server.connect("hostile-witness"));
        witness.framebuffer_4x4();
        let base = Baseline { contexts: 0, sessions: 0, fds: 0, live: [0; 6] };
        let mut case = Case { server, witness, frame: 0, base };
        case.check_witness();
        // The host driver is open now (the witness's context opened it).
        let alone = eventually(SETTLE, || {
            let now = case.now();
            if now.contexts == 1 && now.sessions == 1 && now.live[..3] == [1, 1, 0] {
                Ok(())
            } else {
                Err(now)
            }
        });
        if let Err(now) = alone {
            panic!("the witness alone is not one session with one context: {now:?}");
        }
        case.base = case.now();
        case
    }

    fn now(&mut self) -> Baseline {
        let stats = self.witness.session.call(ControlKind::QueryServerStats, &[]).unwrap();
        let stats = ServerStatsReply::parse(&stats).unwrap();
        let t = stats.totals;
        Baseline {
            contexts: self.server.threads_named("glwire-context"),
            sessions: self.server.threads_named("glwire-session"),
            fds: self.server.fds(),
            live: [stats.sessions, t.contexts, t.surfaces, t.objects, t.shm_bytes, t.gl_bytes],
        }
    }

    fn connect(&self) -> Session {
        self.server.connect("hostile-client")
    }

    fn gl(&self) -> Gl {
        Gl::new(self.connect())
    }

    /// The server runs and answers a Ping, and the witness renders a fresh colour.
    fn check_witness(&mut self) {
        assert!(self.server.running(), "glwire serve died; stderr:\n{}", self.server.stderr());
        assert_eq!(self.witness.session.call(ControlKind::Ping, b"witness").unwrap(), b"witness");
        self.frame = self.frame.wrapping_add(1);
        let rgba = [self.frame.wrapping_mul(37), 255 - self.frame, self.frame.wrapping_mul(11), 255];
        let pixels = self.witness.clear_and_read(rgba);
        assert_eq!(pixels.len(), 64, "the witness reads 4x4 pixels");
        assert!(pixels.chunks(4).all(|p| p == rgba), "the witness renders {rgba:?}, read {pixels:?}");
        assert_eq!(self.witness.error(), GL_NO_ERROR);
    }

    /// After the hostile session is over: the witness still works, and within a second
    /// the server is back to its baseline of threads and descriptors, with no panic in
    /// its log.
    fn finish(mut self) {
        self.check_witness();
        let base = self.base;
        let settled = eventually(SETTLE, || {
            let now = self.now();
            if now.contexts == base.contexts
                && now.sessions == base.sessions
                && now.fds <= base.fds
                && now.live == base.live
            {
                Ok(())
            } else {
                Err(now)
            }
        });
        if let Err(now) = settled {
            panic!(
                "the server did not return to its baseline within {SETTLE:?}: {now:?}, baseline {base:?}\nopen \
                 descriptors:\n{}\nstderr:\n{}",
                self.describe_fds(),
                self.server.stderr()
            );
        }
        self.check_witness();
        let log = self.server.stderr();
        if std::env::var_os("HOSTILE_LOG").is_some() {
            eprintln!("glwire serve's log:\n{log}");
        }
        assert!(!log.contains("panicked"), "the server's log holds a panic:\n{log}");
    }

    /// The server's log says `text` within a second (why it ended a session).
    fn expect_log(&self, text: &str) {
        let said = eventually(SECOND, || if self.server.stderr().contains(text) { Ok(()) } else { Err(()) });
        assert!(said.is_ok(), "the server's log does not say {text:?}:\n{}", self.server.stderr());
    }

    fn describe_fds(&self) -> String {
        let dir = format!("/proc/{}/fd", self.server.child.id());
        let Ok(entries) = std::fs::read_dir(&dir) else { return String::new() };
        let mut lines: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| {
                format!(
                    "{} -> {}",
                    e.file_name().to_string_lossy(),
                    std::fs::read_link(e.path()).unwrap_or_default().display()
                )
            })
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

// ---------------------------------------------------------------------------------------
// Malformed command streams

/// An opcode no build knows: the stream does not decode, so the session ends with ProtocolError.
#[test]
fn unknown_opcode_ends_the_session() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let mut stream = 0xFFFF_0000u32.to_le_bytes().to_vec();
    stream.extend_from_slice(&8u32.to_le_bytes());
    assert_eq!(status(h.submit_raw(&stream)), ControlStatus::ProtocolError);
    assert_ended(&mut h.session, SECOND);
    case.finish();
}

/// A size field past the end of the stream or past the largest command: ProtocolError, session ended.
#[test]
fn command_size_past_the_end_ends_the_session() {
    let case = Case::new(&[]);
    let finish = encode(&[Command::Finish(Finish {})]);
    let mut sizes = vec![64u32, 1 << 20, u32::MAX - 7];
    sizes.push(wire::codec::MAX_COMMAND_BYTES + 8);
    for size in sizes {
        let mut h = case.gl();
        let mut stream = finish.clone();
        stream[4..8].copy_from_slice(&size.to_le_bytes());
        assert_eq!(status(h.submit_raw(&stream)), ControlStatus::ProtocolError, "size {size}");
        assert_ended(&mut h.session, SECOND);
    }
    case.finish();
}

/// A size field not 8-aligned, below the header or zero, or a cut header: ProtocolError, session ended.
#[test]
fn command_size_misaligned_or_below_the_header_ends_the_session() {
    let case = Case::new(&[]);
    let mut streams = Vec::new();
    for size in [12u32, 4, 0, 9] {
        let mut s = encode(&[Command::Finish(Finish {}), Command::Finish(Finish {})]);
        s[4..8].copy_from_slice(&size.to_le_bytes());
        streams.push(s);
    }
    // Five bytes: not even a header.
    streams.push(encode(&[Command::Finish(Finish {})])[..5].to_vec());
    for stream in streams {
        let mut h = case.gl();
        assert_eq!(status(h.submit_raw(&stream)), ControlStatus::ProtocolError, "{stream:?}");
        assert_ended(&mut h.session, SECOND);
    }
    case.finish();
}

/// glUniform4fv with count i32::MAX but one vec4 sent does not decode: ProtocolError, session ended.
#[test]
fn uniform_count_near_i32_max_ends_the_session() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let value = [1.0f32; 4];
    let cmd = Command::Uniform4fv(Uniform4fv { location: 0, count: 1, value: &value });
    // [opcode][size][location i32][count i32]...
    assert_eq!(&encode(&[cmd])[12..16], &1i32.to_le_bytes());
    let stream = patched(cmd, 12, i32::MAX as u32);
    assert_eq!(status(h.submit_raw(&stream)), ControlStatus::ProtocolError);
    assert_ended(&mut h.session, SECOND);
    case.finish();
}

/// The commands the server runs straight from their bytes (uniforms, state, non-indexed
/// draws) are refused as strictly as decoded ones: a set padding byte or a cut body is
/// ProtocolError and the session ends, also for a draw the vertex-array check would
/// refuse anyway (the malformed command is seen first).
#[test]
fn malformed_short_path_commands_end_the_session() {
    const GL_TRIANGLES: u32 = 0x0004;
    let case = Case::new(&[]);
    let uniform = Command::Uniform4f(Uniform4f { location: 0, v0: 1.0, v1: 2.0, v2: 3.0, v3: 4.0 });
    let draw = Command::DrawArrays(DrawArrays { mode: GL_TRIANGLES, first: 0, count: 3 });
    // [opcode][size][location][v0..v3][padding]; [opcode][size][mode][first][count][padding].
    assert_eq!(encode(&[uniform]).len(), 32);
    assert_eq!(encode(&[draw]).len(), 24);
    let mut cut = encode(&[draw])[..16].to_vec();
    cut[4..8].copy_from_slice(&16u32.to_le_bytes());
    let streams = [patched(uniform, 28, 1), patched(draw, 20, 1), cut];
    for (k, stream) in streams.iter().enumerate() {
        let mut h = case.gl();
        // The default vertex array, attribute 0 enabled and no buffer: a well-formed
        // draw would be GL_INVALID_OPERATION.
        h.submit(&[Command::EnableVertexAttribArray(EnableVertexAttribArray { index: 0 })]);
        let mut with_finish = stream.clone();
        with_finish.extend(encode(&[Command::Finish(Finish {})]));
        assert_eq!(status(h.submit_raw(&with_finish)), ControlStatus::ProtocolError, "stream {k}");
        assert_ended(&mut h.session, SECOND);
    }
    // Well formed, the same commands run (the draw raising its GL error).
    let mut h = case.gl();
    h.submit(&[Command::EnableVertexAttribArray(EnableVertexAttribArray { index: 0 })]);
    h.expect_error(&[uniform], GL_INVALID_OPERATION);
    h.expect_error(&[draw], GL_INVALID_OPERATION);
    drop(h);
    case.finish();
}

/// glDeleteBuffers with n = 2^30 and one name does not decode: ProtocolError, session ended.
#[test]
fn delete_buffers_with_a_huge_n_and_few_names_ends_the_session() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let cmd = Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[5] });
    assert_eq!(&encode(&[cmd])[8..12], &1i32.to_le_bytes());
    let stream = patched(cmd, 8, 1 << 30);
    assert_eq!(status(h.submit_raw(&stream)), ControlStatus::ProtocolError);
    assert_ended(&mut h.session, SECOND);
    case.finish();
}

/// glTexImage2D/3D whose byte size overflows 64 bits (inline bytes) is GL_INVALID_VALUE; the session goes on.
#[test]
fn tex_image_whose_size_overflows_is_invalid_value() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let texture = h.gen(Namespace::Texture);
    h.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture }));
    let few = [0u8; 16];
    let image = Command::TexImage2D(TexImage2D {
        target: GL_TEXTURE_2D,
        level: 0,
        internalformat: GL_RGBA32F as i32,
        width: i32::MAX,
        height: i32::MAX,
        border: 0,
        format: GL_RGBA,
        type_: GL_FLOAT,
        pixels: DataRef::Inline(&few),
    });
    h.expect_error(&[image], GL_INVALID_VALUE);
    let volume = h.gen(Namespace::Texture);
    h.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_3D, texture: volume }));
    let image = Command::TexImage3D(TexImage3D {
        target: GL_TEXTURE_3D,
        level: 0,
        internalformat: GL_RGBA32F as i32,
        width: 1 << 20,
        height: 1 << 20,
        depth: 1 << 20,
        border: 0,
        format: GL_RGBA,
        type_: GL_FLOAT,
        pixels: DataRef::Inline(&few),
    });
    h.expect_error(&[image], GL_INVALID_VALUE);
    drop(h);
    case.finish();
}

/// NULL storage past GL_MAX_TEXTURE_SIZE/GL_MAX_RENDERBUFFER_SIZE is GL_INVALID_VALUE, never GL_OUT_OF_MEMORY.
#[test]
fn storage_beyond_the_max_size_is_invalid_value() {
    const GL_MAX_TEXTURE_SIZE: u32 = 0x0D33;
    const GL_MAX_RENDERBUFFER_SIZE: u32 = 0x84E8;
    let case = Case::new(&[]);
    let mut h = case.gl();
    let max_texture = h.integer(GL_MAX_TEXTURE_SIZE);
    let max_renderbuffer = h.integer(GL_MAX_RENDERBUFFER_SIZE);
    let texture = h.gen(Namespace::Texture);
    h.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture }));
    let image = |width, height| {
        Command::TexImage2D(TexImage2D {
            target: GL_TEXTURE_2D,
            level: 0,
            internalformat: GL_RGBA32F as i32,
            width,
            height,
            border: 0,
            format: GL_RGBA,
            type_: GL_FLOAT,
            pixels: DataRef::Null,
        })
    };
    let mut wrong = Vec::new();
    // As dEQP's negative API tests ask, at glwire serve's default quota.
    let rgba8 = |width, height| {
        Command::TexImage2D(TexImage2D {
            target: GL_TEXTURE_2D,
            level: 0,
            internalformat: GL_RGBA as i32,
            width,
            height,
            border: 0,
            format: GL_RGBA,
            type_: GL_UNSIGNED_BYTE,
            pixels: DataRef::Null,
        })
    };
    for (w, hgt) in [(max_texture + 1, 1), (1, max_texture + 1), (max_texture + 1, max_texture + 1)] {
        h.submit(&[rgba8(w, hgt)]);
        let error = h.error();
        if error != GL_INVALID_VALUE {
            wrong.push(format!("glTexImage2D {w}x{hgt} RGBA/UNSIGNED_BYTE NULL: {error:#06x}"));
        }
    }
    for (w, hgt) in [(max_texture + 1, 1), (max_texture + 1, max_texture + 1), (i32::MAX, i32::MAX)] {
        h.submit(&[image(w, hgt)]);
        let error = h.error();
        if error != GL_INVALID_VALUE {
            wrong.push(format!("glTexImage2D {w}x{hgt} RGBA32F NULL: {error:#06x}"));
        }
    }
    let rbo = h.gen(Namespace::Renderbuffer);
    h.call(Command::BindRenderbuffer(BindRenderbuffer { target: GL_RENDERBUFFER, renderbuffer: rbo }));
    let over = max_renderbuffer + 1;
    for (w, hgt) in [(over, 1), (over, over), (i32::MAX, i32::MAX)] {
        h.submit(&[Command::RenderbufferStorage(RenderbufferStorage {
            target: GL_RENDERBUFFER,
            internalformat: GL_RGBA8,
            width: w,
            height: hgt,
        })]);
        let error = h.error();
        if error != GL_INVALID_VALUE {
            wrong.push(format!("glRenderbufferStorage {w}x{hgt} RGBA8: {error:#06x}"));
        }
    }
    assert!(wrong.is_empty(), "expected GL_INVALID_VALUE (0x0501) for each, got: {wrong:#?}");
    h.still_works();
    drop(h);
    case.finish();
}

/// Negative sizes and counts (glBufferData, glGen*, glDelete*, glDrawArrays, glUniform4fv) are GL_INVALID_VALUE.
#[test]
fn negative_sizes_and_counts_are_invalid_value() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let buffer = h.gen(Namespace::Buffer);
    h.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    let data =
        |size, data| Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size, data, usage: GL_STATIC_DRAW });
    h.expect_error(&[data(-1, None)], GL_INVALID_VALUE);
    h.expect_error(&[data(-1, Some(&[]))], GL_INVALID_VALUE);
    h.expect_error(&[data(i64::MIN, None)], GL_INVALID_VALUE);
    h.expect_error(&[Command::GenBuffers(GenBuffers { n: -1, buffers: &[] })], GL_INVALID_VALUE);
    h.expect_error(&[Command::GenVertexArrays(GenVertexArrays { n: i32::MIN, arrays: &[] })], GL_INVALID_VALUE);
    h.expect_error(&[Command::DeleteBuffers(DeleteBuffers { n: -1, buffers: &[] })], GL_INVALID_VALUE);
    h.expect_error(&[Command::DrawArrays(DrawArrays { mode: GL_TRIANGLES, first: 0, count: -1 })], GL_INVALID_VALUE);
    let (program, _) = h.program(
        c"#version 300 es\nuniform vec4 u; void main() { gl_Position = u; }",
        c"#version 300 es\nprecision mediump float; out vec4 o; void main() { o = vec4(1.0); }",
    );
    let b = h.call(Command::GetUniformLocation(GetUniformLocation { program, name: c"u" }));
    let (Reply::GetUniformLocation(r), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
    assert!(r.ret >= 0);
    h.call(Command::UseProgram(UseProgram { program }));
    h.expect_error(&[Command::Uniform4fv(Uniform4fv { location: r.ret, count: -1, value: &[] })], GL_INVALID_VALUE);
    drop(h);
    case.finish();
}

// ---------------------------------------------------------------------------------------
// Object names

/// Names never created: unknown vertex arrays GL_INVALID_OPERATION, unknown programs/shaders GL_INVALID_VALUE.
#[test]
fn names_never_created_get_gl_errors() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    h.expect_error(&[Command::BindVertexArray(BindVertexArray { array: 4242 })], GL_INVALID_OPERATION);
    h.expect_error(&[Command::BindVertexArray(BindVertexArray { array: u32::MAX })], GL_INVALID_OPERATION);
    h.expect_error(&[Command::UseProgram(UseProgram { program: 4242 })], GL_INVALID_VALUE);
    h.expect_error(&[Command::UseProgram(UseProgram { program: u32::MAX })], GL_INVALID_VALUE);
    let (program, _) = h.program(
        c"#version 300 es\nvoid main() { gl_Position = vec4(0.0); }",
        c"#version 300 es\nprecision mediump float; out vec4 o; void main() { o = vec4(1.0); }",
    );
    h.expect_error(&[Command::AttachShader(AttachShader { program, shader: 4242 })], GL_INVALID_VALUE);
    h.expect_error(&[Command::AttachShader(AttachShader { program: 4243, shader: 4242 })], GL_INVALID_VALUE);
    h.expect_error(&[Command::DeleteShader(DeleteShader { shader: 4242 })], GL_INVALID_VALUE);
    h.expect_error(&[Command::LinkProgram(LinkProgram { program: 4242 })], GL_INVALID_VALUE);
    // Host names count from 1: the client's 1 is not the host's 1.
    assert!(!h.is(Command::IsBuffer(IsBuffer { buffer: 1 })));
    assert!(!h.is(Command::IsTexture(IsTexture { texture: 1 })));
    assert!(!h.is(Command::IsVertexArray(IsVertexArray { array: 1 })));
    assert_eq!(h.error(), GL_NO_ERROR);
    h.session.close().unwrap();
    case.finish();
}

/// Another session's buffers, programs, images, syncs, contexts and surfaces are out of reach; its data stays.
#[test]
fn names_of_another_session_are_out_of_reach() {
    let case = Case::new(&[]);
    let mut a = case.gl();
    let buffer = [5u32];
    a.call(Command::GenBuffers(GenBuffers { n: 1, buffers: &buffer }));
    a.submit(&[
        Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: 5 }),
        Command::BufferData(BufferData {
            target: GL_ARRAY_BUFFER,
            size: 4,
            data: Some(&[1, 2, 3, 4]),
            usage: GL_STATIC_DRAW,
        }),
    ]);
    let (program, _) = a.program(
        c"#version 300 es\nvoid main() { gl_Position = vec4(0.0); }",
        c"#version 300 es\nprecision mediump float; out vec4 o; void main() { o = vec4(1.0); }",
    );
    let texture = a.texture_4x4();
    let image = CreateImageRequest {
        context: a.context,
        target: EGL_GL_TEXTURE_2D_KHR,
        buffer: texture,
        level: 0,
        zoffset: 0,
        preserved: 0,
        _pad: 0,
    };
    let image =
        HandlePayload::parse(&a.session.call(ControlKind::CreateImage, image.as_bytes()).unwrap()).unwrap().handle;
    let b = a.call(Command::FenceSync(FenceSync { condition: GL_SYNC_GPU_COMMANDS_COMPLETE, flags: 0 }));
    let (Reply::FenceSync(sync), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
    assert_ne!(sync.ret, 0);
    let surface = CreateSurfaceRequest::new(8, 8, 0);
    let surface =
        HandlePayload::parse(&a.session.call(ControlKind::CreateSurface, surface.as_bytes()).unwrap()).unwrap().handle;
    assert_eq!(a.error(), GL_NO_ERROR);

    // B knows none of it.
    let mut b = case.gl();
    assert_eq!(b.context, a.context, "context ids are per session: both are the first");
    assert!(!b.is(Command::IsBuffer(IsBuffer { buffer: 5 })));
    b.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: 5 }));
    b.expect_error(
        &[Command::BufferSubData(BufferSubData { target: GL_ARRAY_BUFFER, offset: 0, size: 4, data: &[9; 4] })],
        GL_INVALID_VALUE,
    );
    b.call(Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[5] }));
    assert!(!b.is(Command::IsProgram(IsProgram { program })));
    b.expect_error(&[Command::UseProgram(UseProgram { program })], GL_INVALID_VALUE);
    let t = b.gen(Namespace::Texture);
    b.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture: t }));
    b.expect_error(
        &[Command::EGLImageTargetTexture2DOES(EGLImageTargetTexture2DOES { target: GL_TEXTURE_2D, image })],
        GL_INVALID_VALUE,
    );
    assert!(!b.is(Command::IsSync(IsSync { sync: sync.ret })));
    b.expect_error(
        &[Command::ClientWaitSync(ClientWaitSync { sync: sync.ret, flags: 0, timeout: 0 })],
        GL_INVALID_VALUE,
    );
    assert_eq!(
        status(b.session.call(ControlKind::DestroyImage, HandlePayload { handle: image }.as_bytes())),
        ControlStatus::NotFound
    );
    let bind = MakeCurrentRequest { context: b.context, draw_surface: surface, read_surface: surface };
    assert_eq!(status(b.session.call(ControlKind::MakeCurrent, bind.as_bytes())), ControlStatus::NotFound);
    assert_eq!(
        status(b.session.call(ControlKind::DestroySurface, HandlePayload { handle: surface }.as_bytes())),
        ControlStatus::NotFound
    );
    assert_eq!(b.error(), GL_NO_ERROR);

    // A B with no context cannot reach A's context by its id.
    let mut lone = case.connect();
    let mut payload = a.context.to_le_bytes().to_vec();
    payload.extend(encode(&[Command::Finish(Finish {})]));
    assert_eq!(status(lone.call(ControlKind::SubmitCommands, &payload)), ControlStatus::NotFound);
    assert_eq!(
        status(lone.call(ControlKind::DestroyContext, HandlePayload { handle: a.context }.as_bytes())),
        ControlStatus::NotFound
    );
    lone.close().unwrap();
    b.session.close().unwrap();

    // A's objects are whole.
    assert!(a.is(Command::IsBuffer(IsBuffer { buffer: 5 })));
    a.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: 5 }));
    assert_eq!(a.read_array_buffer(4), [1, 2, 3, 4]);
    assert!(a.is(Command::IsProgram(IsProgram { program })));
    assert!(a.is(Command::IsSync(IsSync { sync: sync.ret })));
    assert_eq!(a.error(), GL_NO_ERROR);
    a.session.call(ControlKind::DestroyImage, HandlePayload { handle: image }.as_bytes()).unwrap();
    a.session.close().unwrap();
    case.finish();
}

/// Deleting twice: no error for buffers/textures/FBOs, GL_INVALID_VALUE for programs/syncs, NotFound for handles.
#[test]
fn deleting_twice_is_harmless() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let buffer = h.buffer_with(&[1; 16]);
    let texture = h.texture_4x4();
    let fbo = h.gen(Namespace::Framebuffer);
    for _ in 0..2 {
        h.submit(&[
            Command::DeleteBuffers(DeleteBuffers { n: 2, buffers: &[buffer, buffer] }),
            Command::DeleteTextures(DeleteTextures { n: 1, textures: &[texture] }),
            Command::DeleteFramebuffers(DeleteFramebuffers { n: 1, framebuffers: &[fbo] }),
        ]);
        assert_eq!(h.error(), GL_NO_ERROR);
    }
    assert!(!h.is(Command::IsBuffer(IsBuffer { buffer })));
    let (program, [vs, _]) = h.program(
        c"#version 300 es\nvoid main() { gl_Position = vec4(0.0); }",
        c"#version 300 es\nprecision mediump float; out vec4 o; void main() { o = vec4(1.0); }",
    );
    h.call(Command::DetachShader(DetachShader { program, shader: vs }));
    h.expect_error(&[Command::DeleteShader(DeleteShader { shader: vs })], GL_NO_ERROR);
    h.expect_error(&[Command::DeleteShader(DeleteShader { shader: vs })], GL_INVALID_VALUE);
    h.expect_error(&[Command::DeleteProgram(DeleteProgram { program })], GL_NO_ERROR);
    h.expect_error(&[Command::DeleteProgram(DeleteProgram { program })], GL_INVALID_VALUE);
    // A new program does not come back under the deleted one's name.
    let ret = h.call(Command::CreateProgram(CreateProgram {}));
    let (Reply::CreateProgram(p), _) = decode_reply(ret.as_bytes()).unwrap() else { panic!("not the reply") };
    assert_ne!(p.ret, program);
    assert!(!h.is(Command::IsProgram(IsProgram { program })));
    let b = h.call(Command::FenceSync(FenceSync { condition: GL_SYNC_GPU_COMMANDS_COMPLETE, flags: 0 }));
    let (Reply::FenceSync(sync), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
    h.expect_error(&[Command::DeleteSync(DeleteSync { sync: sync.ret })], GL_NO_ERROR);
    h.expect_error(&[Command::DeleteSync(DeleteSync { sync: sync.ret })], GL_INVALID_VALUE);
    let texture = h.texture_4x4();
    let image = CreateImageRequest {
        context: h.context,
        target: EGL_GL_TEXTURE_2D_KHR,
        buffer: texture,
        level: 0,
        zoffset: 0,
        preserved: 0,
        _pad: 0,
    };
    let image = h.session.call(ControlKind::CreateImage, image.as_bytes()).unwrap();
    h.session.call(ControlKind::DestroyImage, &image).unwrap();
    assert_eq!(status(h.session.call(ControlKind::DestroyImage, &image)), ControlStatus::NotFound);
    let surface = h.session.call(ControlKind::CreateSurface, CreateSurfaceRequest::new(8, 8, 0).as_bytes()).unwrap();
    h.session.call(ControlKind::DestroySurface, &surface).unwrap();
    assert_eq!(status(h.session.call(ControlKind::DestroySurface, &surface)), ControlStatus::NotFound);
    let context = HandlePayload { handle: h.context };
    h.session.call(ControlKind::DestroyContext, context.as_bytes()).unwrap();
    assert_eq!(status(h.session.call(ControlKind::DestroyContext, context.as_bytes())), ControlStatus::NotFound);
    assert_eq!(status(h.submit_raw(&encode(&[Command::Finish(Finish {})]))), ControlStatus::NotFound);
    assert_eq!(h.session.call(ControlKind::Ping, b"x").unwrap(), b"x");
    h.session.close().unwrap();
    case.finish();
}

// ---------------------------------------------------------------------------------------
// Outputs and allocations

/// glReadPixels, a read map and glwireReadMapped of more than a reply carries are GL_OUT_OF_MEMORY.
#[test]
fn outputs_larger_than_a_reply_are_out_of_memory() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    h.framebuffer_4x4();
    let read = Command::ReadPixels(ReadPixels {
        x: 0,
        y: 0,
        width: 20_000,
        height: 20_000,
        format: GL_RGBA,
        type_: GL_UNSIGNED_BYTE,
        pixels: OutRef::Reply(64),
    });
    h.expect_error(&[read], GL_OUT_OF_MEMORY);
    let buffer = h.buffer_with(&[0; 64]);
    let map = Command::MapBufferRange(MapBufferRange {
        target: GL_ARRAY_BUFFER,
        offset: 0,
        length: 2 << 30,
        access: GL_MAP_READ_BIT,
    });
    h.expect_error(&[map], GL_OUT_OF_MEMORY);
    let read = Command::WireReadMapped(WireReadMapped { buffer, offset: 0, size: 2 << 30, data: None });
    h.expect_error(&[read], GL_OUT_OF_MEMORY);
    assert_eq!(h.clear_and_read([1, 2, 3, 4]).len(), 64);
    drop(h);
    case.finish();
}

/// An output capacity over the reply limit (1 GiB of glReadPixels) does not decode: ProtocolError, ended.
#[test]
fn output_capacity_beyond_a_reply_ends_the_session() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let read = Command::ReadPixels(ReadPixels {
        x: 0,
        y: 0,
        width: 4,
        height: 4,
        format: GL_RGBA,
        type_: GL_UNSIGNED_BYTE,
        pixels: OutRef::Reply(1 << 30),
    });
    assert_eq!(status(h.try_submit(&[read])), ControlStatus::ProtocolError);
    assert_ended(&mut h.session, SECOND);
    case.finish();
}

/// glBufferData of 2^40 bytes and glBufferStorageEXT of i64::MAX are GL_OUT_OF_MEMORY; the server lives on.
#[test]
fn huge_allocation_is_out_of_memory() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let buffer = h.gen(Namespace::Buffer);
    h.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    let data =
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 1 << 40, data: None, usage: GL_STATIC_DRAW });
    h.expect_error(&[data], GL_OUT_OF_MEMORY);
    let storage =
        Command::BufferStorageEXT(BufferStorageEXT { target: GL_ARRAY_BUFFER, size: i64::MAX, data: None, flags: 0 });
    h.expect_error(&[storage], GL_OUT_OF_MEMORY);
    // Still a working buffer afterwards.
    h.call(Command::BufferData(BufferData {
        target: GL_ARRAY_BUFFER,
        size: 16,
        data: Some(&[3; 16]),
        usage: GL_STATIC_DRAW,
    }));
    assert_eq!(h.read_array_buffer(16), [3; 16]);
    drop(h);
    case.finish();
}

/// EGLImage and GLsync handles never issued are GL_INVALID_VALUE (never a host pointer); bad images refused.
#[test]
fn made_up_image_and_sync_handles_are_invalid_value() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    h.texture_4x4();
    let fake = 0x7fff_dead_b000u64;
    for image in [fake, 1, u64::MAX] {
        h.expect_error(
            &[Command::EGLImageTargetTexture2DOES(EGLImageTargetTexture2DOES { target: GL_TEXTURE_2D, image })],
            GL_INVALID_VALUE,
        );
    }
    let rbo = h.gen(Namespace::Renderbuffer);
    h.call(Command::BindRenderbuffer(BindRenderbuffer { target: GL_RENDERBUFFER, renderbuffer: rbo }));
    h.expect_error(
        &[Command::EGLImageTargetRenderbufferStorageOES(EGLImageTargetRenderbufferStorageOES {
            target: GL_RENDERBUFFER,
            image: fake,
        })],
        GL_INVALID_VALUE,
    );
    for sync in [fake, 1, u64::MAX] {
        h.expect_error(&[Command::WaitSync(WaitSync { sync, flags: 0, timeout: u64::MAX })], GL_INVALID_VALUE);
        h.expect_error(
            &[Command::ClientWaitSync(ClientWaitSync { sync, flags: 1, timeout: u64::MAX })],
            GL_INVALID_VALUE,
        );
        h.expect_error(&[Command::DeleteSync(DeleteSync { sync })], GL_INVALID_VALUE);
        h.expect_error(
            &[Command::GetSynciv(GetSynciv {
                sync,
                pname: GL_SYNC_STATUS,
                buf_size: 1,
                length: Some(1),
                values: Some(1),
            })],
            GL_INVALID_VALUE,
        );
        assert!(!h.is(Command::IsSync(IsSync { sync })));
    }
    assert_eq!(h.error(), GL_NO_ERROR);
    let image = |context, buffer| CreateImageRequest {
        context,
        target: EGL_GL_TEXTURE_2D_KHR,
        buffer,
        level: 0,
        zoffset: 0,
        preserved: 0,
        _pad: 0,
    };
    assert_eq!(status(h.session.call(ControlKind::CreateImage, image(99, 1).as_bytes())), ControlStatus::NotFound);
    assert_eq!(
        status(h.session.call(ControlKind::CreateImage, image(h.context, 4242).as_bytes())),
        ControlStatus::InvalidArgument
    );
    assert_eq!(
        status(h.session.call(ControlKind::DestroyImage, HandlePayload { handle: fake }.as_bytes())),
        ControlStatus::NotFound
    );
    h.still_works();
    h.session.close().unwrap();
    case.finish();
}

/// glwireWriteMapped unmapped or to no buffer is a GL error; a size disagreeing with its bytes ends the session.
#[test]
fn private_mapped_writes_with_bad_arguments_are_refused() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let buffer = h.buffer_with(&[0; 64]);
    let write = |buffer, offset| Command::WireWriteMapped(WireWriteMapped { buffer, offset, size: 4, data: &[7; 4] });
    h.expect_error(&[write(buffer, 0)], GL_INVALID_OPERATION);
    h.expect_error(&[write(4242, 0)], GL_INVALID_VALUE);
    h.expect_error(&[write(0, 0)], GL_INVALID_VALUE);
    assert_eq!(h.read_array_buffer(64), [0; 64], "nothing was written");
    // [opcode][size][buffer u32][pad][offset i64][size i64]...: size 2^40 for 4 bytes.
    let mut stream = encode(&[write(buffer, 0)]);
    assert_eq!(&stream[24..32], &4i64.to_le_bytes());
    stream[24..32].copy_from_slice(&(1i64 << 40).to_le_bytes());
    assert_eq!(status(h.submit_raw(&stream)), ControlStatus::ProtocolError);
    assert_ended(&mut h.session, SECOND);
    case.finish();
}

/// glwireSwapBuffers with x != 0 or a non-positive size on a window surface is LimitExceeded; the session goes on.
#[test]
fn private_swap_with_bad_arguments_is_refused() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let swap = |x, y, width, height| Command::WireSwapBuffers(WireSwapBuffers { x, y, width, height });
    // No surface bound: nothing to publish, no error.
    h.submit(&[swap(5, 5, -1, -1)]);
    assert_eq!(h.error(), GL_NO_ERROR);
    let request = CreateSurfaceRequest::new(32, 32, 0);
    let (payload, fds) = h.session.call_for_fds(ControlKind::CreateWindowSurface, request.as_bytes()).unwrap();
    assert_eq!(fds.len(), 1, "the reply carries the frame ring");
    let surface = HandlePayload::parse(&payload).unwrap().handle;
    let bind = MakeCurrentRequest { context: h.context, draw_surface: surface, read_surface: surface };
    h.session.call(ControlKind::MakeCurrent, bind.as_bytes()).unwrap();
    for bad in [swap(1, 0, 32, 32), swap(0, -1, 32, 32), swap(0, 0, 0, 32), swap(0, 0, 32, i32::MIN)] {
        assert_eq!(status(h.try_submit(&[bad])), ControlStatus::LimitExceeded, "{bad:?}");
    }
    h.submit(&[swap(0, 0, 32, 32)]);
    assert_eq!(h.error(), GL_NO_ERROR);
    h.still_works();
    drop(fds);
    h.session.close().unwrap();
    case.finish();
}

/// MakeCurrent naming another session's surface (same handle number) or context is NotFound.
#[test]
fn make_current_with_another_sessions_surface_is_not_found() {
    let case = Case::new(&[]);
    let mut a = case.gl();
    let mut b = case.gl();
    let surface = HandlePayload::parse(
        &a.session.call(ControlKind::CreateSurface, CreateSurfaceRequest::new(8, 8, 0).as_bytes()).unwrap(),
    )
    .unwrap()
    .handle;
    let bind = MakeCurrentRequest { context: b.context, draw_surface: surface, read_surface: surface };
    assert_eq!(status(b.session.call(ControlKind::MakeCurrent, bind.as_bytes())), ControlStatus::NotFound);
    let bind = MakeCurrentRequest { context: b.context + 1, draw_surface: 0, read_surface: 0 };
    assert_eq!(status(b.session.call(ControlKind::MakeCurrent, bind.as_bytes())), ControlStatus::NotFound);
    // A's surface still works for A.
    let bind = MakeCurrentRequest { context: a.context, draw_surface: surface, read_surface: surface };
    a.session.call(ControlKind::MakeCurrent, bind.as_bytes()).unwrap();
    a.still_works();
    b.still_works();
    a.session.close().unwrap();
    b.session.close().unwrap();
    case.finish();
}

/// DestroyContext twice is NotFound the second time, and the context's thread is gone at once.
#[test]
fn destroy_context_twice_is_not_found() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let second = create_context(&mut h.session).unwrap();
    assert!(
        eventually(SECOND, || if case.server.threads_named("glwire-context") == 3 { Ok(()) } else { Err(()) }).is_ok()
    );
    for id in [h.context, second] {
        let handle = HandlePayload { handle: id };
        h.session.call(ControlKind::DestroyContext, handle.as_bytes()).unwrap();
        assert_eq!(status(h.session.call(ControlKind::DestroyContext, handle.as_bytes())), ControlStatus::NotFound);
    }
    assert_eq!(case.server.threads_named("glwire-context"), 1, "only the witness's context is left");
    assert_eq!(h.session.call(ControlKind::Ping, b"p").unwrap(), b"p");
    drop(h);
    case.finish();
}

/// CreateContext past --max-contexts is LimitExceeded and starts no thread; an unknown share context NotFound.
#[test]
fn more_contexts_than_the_limit_are_refused() {
    let case = Case::new(&["--max-contexts", "2"]);
    let mut h = case.connect();
    assert_eq!(h.welcome().limits.max_contexts, 2);
    create_context(&mut h).unwrap();
    create_context(&mut h).unwrap();
    for _ in 0..3 {
        assert_eq!(status(create_context(&mut h)), ControlStatus::LimitExceeded);
    }
    assert_eq!(case.server.threads_named("glwire-context"), 3);
    // A share context of one that does not exist is NotFound, not a context.
    let payload = CreateContextRequest::encode(77, 0, &[]).unwrap();
    assert_eq!(status(h.call(ControlKind::CreateContext, &payload)), ControlStatus::NotFound);
    h.close().unwrap();
    case.finish();
}

// ---------------------------------------------------------------------------------------
// Control requests

/// Control kinds no build knows are NotSupported, reserved flags InvalidArgument; the session goes on.
#[test]
fn unknown_control_kinds_and_flags_are_refused() {
    let case = Case::new(&[]);
    let mut h = case.connect();
    // Kinds no build knows (the table grows by appending, so one past the last too).
    for kind in [0, ControlKind::ALL.len() as u32 + 1, 999, 0x8000_0000, u32::MAX] {
        let (header, _, _) = h.control_raw(kind, b"abc", &[]).unwrap();
        assert_eq!(header.status(), Ok(ControlStatus::NotSupported), "kind {kind}");
    }
    let mut bytes = ControlHeader::encode(ControlKind::Ping, 77, b"hi", 0).unwrap();
    bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
    h.channel_mut().send(&bytes, &[]).unwrap();
    let (header, _, _) = h.channel_mut().recv_control_reply(Instant::now() + SECOND).unwrap();
    assert_eq!((header.request_id, header.status()), (77, Ok(ControlStatus::InvalidArgument)));
    assert_eq!(h.call(ControlKind::Ping, b"after").unwrap(), b"after");
    h.close().unwrap();
    case.finish();
}

/// A fixed control payload of the wrong size is ProtocolError, then the session ends.
#[test]
fn malformed_control_payload_ends_the_session() {
    let case = Case::new(&[]);
    for (kind, payload) in [
        (ControlKind::MakeCurrent, vec![0u8; 23]),
        (ControlKind::DestroyContext, vec![1; 7]),
        (ControlKind::SubmitCommands, vec![1; 5]),
    ] {
        let mut h = case.gl();
        assert_eq!(status(h.session.call(kind, &payload)), ControlStatus::ProtocolError, "{kind:?}");
        assert_ended(&mut h.session, SECOND);
    }
    case.finish();
}

/// Stray descriptors are InvalidArgument and closed; a header miscounting them, or five of them, ends the session.
#[test]
fn wrong_number_of_descriptors_is_refused() {
    let case = Case::new(&[]);
    let (r, w) = rustix::pipe::pipe().unwrap();
    let mut h = case.connect();
    for _ in 0..20 {
        let (header, _, _) = h.control(ControlKind::Ping, b"fd", &[r.as_fd()]).unwrap();
        assert_eq!(header.status(), Ok(ControlStatus::InvalidArgument));
    }
    let region = RingRegion::create(4096).unwrap();
    let request = region.attach_request(1);
    let (header, _, _) = h.control(ControlKind::AttachRing, request.as_bytes(), &[]).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::InvalidArgument), "AttachRing without its memfd");
    assert!(case.server.fds() <= case.base.fds + 2, "the refused descriptors were closed");
    assert_eq!(h.call(ControlKind::Ping, b"ok").unwrap(), b"ok");
    h.close().unwrap();

    // The header says 2, one comes.
    let mut h = case.connect();
    let mut bytes = ControlHeader::encode(ControlKind::Ping, 1, b"fd", 0).unwrap();
    bytes[20..24].copy_from_slice(&2u32.to_le_bytes());
    h.channel_mut().send(&bytes, &[r.as_fd()]).unwrap();
    assert_ended(&mut h, SECOND);

    // Five descriptors (more than a message may carry).
    let mut h = case.connect();
    let mut bytes = ControlHeader::encode(ControlKind::Ping, 1, b"fd", 0).unwrap();
    bytes[20..24].copy_from_slice(&5u32.to_le_bytes());
    let fds: Vec<BorrowedFd<'_>> = (0..5).map(|i| if i % 2 == 0 { r.as_fd() } else { w.as_fd() }).collect();
    let _ = h.channel_mut().send(&bytes, &fds);
    assert_ended(&mut h, SECOND);
    case.finish();
}

/// A control header announcing a payload over 1 MiB ends the session without the server reading it.
#[test]
fn control_payload_too_big_ends_the_session() {
    let case = Case::new(&[]);
    let mut h = case.connect();
    let mut bytes = ControlHeader::encode(ControlKind::Ping, 1, b"", 0).unwrap();
    bytes[16..20].copy_from_slice(&(MAX_CONTROL_PAYLOAD + 1).to_le_bytes());
    h.channel_mut().send(&bytes, &[]).unwrap();
    assert_ended(&mut h, SECOND);
    let mut h = case.connect();
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    h.channel_mut().send(&bytes, &[]).unwrap();
    assert_ended(&mut h, SECOND);
    case.finish();
}

/// A client gone after half a control header, or half a SubmitCommands payload, is freed.
#[test]
fn disconnecting_in_the_middle_of_a_request_frees_the_session() {
    let case = Case::new(&[]);
    // Half a header.
    let mut h = case.gl();
    let header = ControlHeader::encode(ControlKind::Ping, 99, b"abc", 0).unwrap();
    h.session.channel_mut().send(&header[..12], &[]).unwrap();
    drop(h);
    // A header and half of a SubmitCommands payload.
    let mut h = case.gl();
    let mut payload = h.context.to_le_bytes().to_vec();
    payload.extend(encode(&[Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }); 64]));
    let bytes = ControlHeader::encode(ControlKind::SubmitCommands, 1, &payload, 0).unwrap();
    h.session.channel_mut().send(&bytes[..CONTROL_HEADER_SIZE + payload.len() / 2], &[]).unwrap();
    drop(h);
    case.finish();
}

// ---------------------------------------------------------------------------------------
// The handshake

/// A hello of another protocol version is refused with VersionMismatch naming both versions.
#[test]
fn version_mismatch_is_refused() {
    let case = Case::new(&[]);
    for version in [PROTOCOL_VERSION + 1, 0, u32::MAX] {
        let mut hello = Hello::new(0, std::process::id(), "old-client");
        hello.version = version;
        let channel = Channel::connect_unix(&case.server.socket).unwrap();
        match Session::handshake(channel, hello, &[]).unwrap_err() {
            SessionError::Handshake(wire::protocol::HandshakeError::Refused { reason, .. }) => {
                assert_eq!(reason, RefusalReason::VersionMismatch { server: PROTOCOL_VERSION, client: version })
            }
            e => panic!("expected a refusal, got {e}"),
        }
    }
    case.finish();
}

/// Sends `bytes` on a fresh connection to the server and reads its whole answer (until
/// it closes, at most 3 s), parsed as a handshake reply.
fn raw_hello(channel: &mut Channel, bytes: &[u8]) -> ServerReply {
    // The server may close before reading all of a garbage hello: sending can fail.
    let _ = channel.send(bytes, &[]);
    let deadline = Instant::now() + 3 * SECOND;
    let mut reply = vec![0u8; REFUSAL_HEADER_SIZE];
    channel.recv_exact(&mut reply, "server reply", deadline).unwrap();
    reply.resize(ServerReply::needed_len(&reply).unwrap(), 0);
    channel.recv_exact(&mut reply[REFUSAL_HEADER_SIZE..], "server reply", deadline).unwrap();
    ServerReply::parse(&reply).unwrap()
}

fn refusal_reason(reply: ServerReply) -> RefusalReason {
    match reply {
        ServerReply::Refused(r) => r.reason,
        ServerReply::Welcome(_) => panic!("the server welcomed a hostile hello"),
    }
}

/// A hello with a huge token length or nonzero padding is MalformedHello; a non-UTF-8 program name is served.
#[test]
fn hello_with_huge_lengths_is_refused() {
    let case = Case::new(&[]);
    for token_len in [u32::MAX, 257, 1 << 20] {
        let mut bytes = Hello::new(0, 1, "x").to_bytes(&[]).unwrap();
        bytes[12..16].copy_from_slice(&token_len.to_le_bytes());
        let mut channel = Channel::connect_unix(&case.server.socket).unwrap();
        assert_eq!(refusal_reason(raw_hello(&mut channel, &bytes)), RefusalReason::MalformedHello, "{token_len}");
    }
    // Nonzero padding.
    let mut bytes = Hello::new(0, 1, "x").to_bytes(&[]).unwrap();
    bytes[28..32].copy_from_slice(&1u32.to_le_bytes());
    let mut channel = Channel::connect_unix(&case.server.socket).unwrap();
    assert_eq!(refusal_reason(raw_hello(&mut channel, &bytes)), RefusalReason::MalformedHello);
    // A full program-name field of bytes that are not UTF-8: served (the name is only
    // logged).
    let mut hello = Hello::new(client::session::LOCAL_FEATURES, 1, "");
    hello.program_name = [0xFF; 64];
    assert_eq!(HELLO_SIZE, hello.as_bytes().len());
    let mut weird = Session::handshake(Channel::connect_unix(&case.server.socket).unwrap(), hello, &[]).unwrap();
    assert_eq!(weird.call(ControlKind::Ping, b"w").unwrap(), b"w");
    weird.close().unwrap();
    case.finish();
}

/// Garbage on the TCP port (HTTP, TLS-like noise) and on the Unix socket is refused with BadMagic.
#[test]
fn garbage_on_the_tcp_port_is_refused() {
    let case = Case::with_tcp(&[]);
    let addr = case.server.tcp.unwrap();
    let mut noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    noise[..8].copy_from_slice(b"\x16\x03\x01\x02\x00\x01\x00\x01");
    for garbage in [&b"GET / HTTP/1.1\r\nHost: glwire\r\n\r\n"[..], &noise[..]] {
        let mut channel = Channel::connect_tcp(addr).unwrap();
        assert_eq!(refusal_reason(raw_hello(&mut channel, garbage)), RefusalReason::BadMagic);
        let mut unix = Channel::connect_unix(&case.server.socket).unwrap();
        assert_eq!(refusal_reason(raw_hello(&mut unix, garbage)), RefusalReason::BadMagic);
    }
    // A few bytes and a hang-up.
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(b"\x00\x01\x02").unwrap();
    drop(tcp);
    case.finish();
}

/// A wrong, short, long or missing TCP token is BadToken; the right one is served, without rings or windows.
#[test]
fn wrong_tcp_token_is_refused() {
    let case = Case::with_tcp(&[]);
    let addr = case.server.tcp.unwrap();
    let long = [b'a'; 256];
    for token in [&b"guess"[..], b"", &TOKEN.as_bytes()[..TOKEN.len() - 1], &long[..]] {
        match Session::connect_tcp(addr, token).unwrap_err() {
            SessionError::Handshake(wire::protocol::HandshakeError::Refused { reason, .. }) => {
                assert_eq!(reason, RefusalReason::BadToken)
            }
            e => panic!("expected a refusal, got {e}"),
        }
    }
    let mut ok = Gl::new(Session::connect_tcp(addr, TOKEN.as_bytes()).unwrap());
    ok.still_works();
    // TCP sessions get no shared memory: no rings, no window surfaces.
    let region = RingRegion::create(4096).unwrap();
    assert_eq!(
        status(ok.session.call(ControlKind::AttachRing, region.attach_request(ok.context).as_bytes())),
        ControlStatus::NotSupported
    );
    let request = CreateSurfaceRequest::new(8, 8, 0);
    assert_eq!(
        status(ok.session.call(ControlKind::CreateWindowSurface, request.as_bytes())),
        ControlStatus::NotSupported
    );
    ok.session.close().unwrap();
    case.finish();
}

/// Clients past --max-sessions are refused Busy, and a freed slot goes to the next client.
#[test]
fn sessions_beyond_the_limit_are_refused_busy() {
    let case = Case::new(&["--max-sessions", "2"]);
    let first = case.connect();
    for _ in 0..3 {
        match Session::connect_unix(&case.server.socket, "one-too-many").unwrap_err() {
            SessionError::Handshake(wire::protocol::HandshakeError::Refused { reason, .. }) => {
                assert_eq!(reason, RefusalReason::Busy)
            }
            e => panic!("expected a refusal, got {e}"),
        }
    }
    first.close().unwrap();
    let next =
        eventually(SECOND, || Session::connect_unix(&case.server.socket, "next").map_err(|e| e.to_string()).map(drop));
    assert!(next.is_ok(), "{next:?}");
    case.finish();
}

// ---------------------------------------------------------------------------------------
// Shared-memory rings

/// A sealed memfd of `len` bytes (seals against shrinking and growing), or unsealed.
fn memfd(len: u64, sealed: bool) -> OwnedFd {
    use rustix::fs::{MemfdFlags, SealFlags};
    let fd = rustix::fs::memfd_create("hostile", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&fd, len).unwrap();
    if sealed {
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL).unwrap();
    }
    fd
}

/// AttachRing with a memfd of the wrong size, unsealed, a pipe, a file or bad regions is InvalidArgument.
#[test]
fn attach_ring_with_the_wrong_memory_is_refused() {
    let case = Case::new(&[]);
    let mut h = case.connect();
    let context = create_context(&mut h).unwrap();
    let good = RingRegion::create(4096).unwrap();
    let request = good.attach_request(context);
    let len = good.shm.len() as u64;
    let (pipe_r, _pipe_w) = rustix::pipe::pipe().unwrap();
    let file = tempfile::tempfile().unwrap();
    file.set_len(len).unwrap();
    let cases: Vec<(&str, AttachRingRequest, OwnedFd)> = vec![
        ("regions past a smaller memfd", request, memfd(4096, true)),
        ("ring_bytes over the memfd", AttachRingRequest { ring_bytes: len * 2, ..request }, memfd(len, true)),
        ("no seals", request, memfd(len, false)),
        ("a pipe", request, pipe_r),
        ("a regular file", request, file.into()),
        ("an empty memfd", AttachRingRequest { ring_bytes: 0, ..request }, memfd(0, true)),
        ("overlapping regions", AttachRingRequest { reply_offset: 0, ..request }, memfd(len, true)),
        ("misaligned region", AttachRingRequest { cmd_offset: 8, ..request }, memfd(len, true)),
        ("region past the end", AttachRingRequest { reply_len: u64::MAX - 63, ..request }, memfd(len, true)),
        ("ring data not a power of two", AttachRingRequest { cmd_len: 256 + 3 * 1024, ..request }, memfd(len, true)),
    ];
    for (what, request, fd) in cases {
        let (header, message, _) = h.control(ControlKind::AttachRing, request.as_bytes(), &[fd.as_fd()]).unwrap();
        assert_eq!(
            header.status(),
            Ok(ControlStatus::InvalidArgument),
            "{what}: {}",
            String::from_utf8_lossy(&message)
        );
    }
    // Another session's context id.
    let (header, _, _) =
        h.control(ControlKind::AttachRing, good.attach_request(context + 5).as_bytes(), &[good.shm.as_fd()]).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::NotFound));
    // The proper ring still attaches, once.
    let (header, _, _) = h.control(ControlKind::AttachRing, request.as_bytes(), &[good.shm.as_fd()]).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::Ok));
    let (header, _, _) = h.control(ControlKind::AttachRing, request.as_bytes(), &[good.shm.as_fd()]).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::InvalidArgument), "a second ring for the same context");
    h.close().unwrap();
    case.finish();
}

/// A session with one context on rings of `data` bytes each; returns the session, the
/// region and the context id.
fn ring_session(case: &Case, data: u64) -> (Session, RingRegion, u64) {
    let mut h = case.connect();
    let context = create_context(&mut h).unwrap();
    let region = RingRegion::create(data).unwrap();
    let request = region.attach_request(context);
    let (header, _, _) = h.control(ControlKind::AttachRing, request.as_bytes(), &[region.shm.as_fd()]).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::Ok));
    (h, region, context)
}

/// Writes `value` at byte `offset` of the region's memfd (as a hostile client writes
/// its shared memory).
fn poke(region: &RingRegion, offset: u64, value: &[u8]) {
    assert_eq!(rustix::io::pwrite(region.shm.as_fd(), value, offset).unwrap(), value.len());
}

/// A ring whose positions do not start at zero is refused at attach with InvalidArgument.
#[test]
fn ring_that_does_not_start_empty_is_refused() {
    let case = Case::new(&[]);
    let mut h = case.connect();
    let context = create_context(&mut h).unwrap();
    let region = RingRegion::create(4096).unwrap();
    poke(&region, region.commands.offset, &(4096u64 - 8).to_le_bytes());
    poke(&region, region.commands.offset + 64, &(4096u64 - 8).to_le_bytes());
    let (header, _, _) =
        h.control(ControlKind::AttachRing, region.attach_request(context).as_bytes(), &[region.shm.as_fd()]).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::InvalidArgument));
    h.close().unwrap();
    case.finish();
}

/// Ring heads, tails and record lengths pointing outside the ring end the session; nothing is read outside.
#[test]
fn ring_indices_outside_the_ring_end_the_session() {
    let case = Case::new(&[]);
    let data = 4096u64;
    let head_at = |r: &RingRegion| r.commands.offset;
    type Corrupt = Box<dyn Fn(&RingRegion)>;
    let variants: Vec<(&str, Corrupt)> = vec![
        ("ring: head 16384 is not within", Box::new(move |r| poke(r, head_at(r), &(data * 4).to_le_bytes()))),
        (
            "ring: head 18446744073709551608 is not within",
            Box::new(move |r| poke(r, head_at(r), &(u64::MAX - 7).to_le_bytes())),
        ),
        ("ring: head 3 is not within", Box::new(move |r| poke(r, head_at(r), &3u64.to_le_bytes()))),
        (
            "ring: record of 4000 bytes overruns",
            Box::new(move |r| {
                let record = [4000u32.to_le_bytes(), 1u32.to_le_bytes()].concat();
                poke(r, r.commands.offset + RING_HEADER_BYTES, &record);
                poke(r, head_at(r), &16u64.to_le_bytes());
            }),
        ),
        (
            "ring: record of 4096 bytes overruns",
            Box::new(move |r| {
                let record = [(data as u32).to_le_bytes(), 1u32.to_le_bytes()].concat();
                poke(r, r.commands.offset + RING_HEADER_BYTES, &record);
                poke(r, head_at(r), &data.to_le_bytes());
            }),
        ),
    ];
    for (what, corrupt) in variants {
        let (mut h, region, _) = ring_session(&case, data);
        corrupt(&region);
        assert_ended(&mut h, 2 * SECOND);
        case.expect_log(what);
    }
    // The reply ring's tail: the server finds it when it has a reply to write.
    let (mut h, region, _) = ring_session(&case, data);
    poke(&region, region.replies.offset + 64, &(1u64 << 40).to_le_bytes());
    let live = Liveness::watching_socket(h.channel_mut().as_fd()).unwrap();
    let mut to_server = producer(region.shm.clone(), region.commands, live).unwrap();
    to_server.send(&encode(&[Command::GetError(GetError {})])).unwrap();
    assert_ended(&mut h, 2 * SECOND);
    case.expect_log("ring: tail 1099511627776 is not within");
    case.finish();
}

/// Never reading the reply ring while sending sync commands ends the session after 2 s; the witness renders meanwhile.
#[test]
fn flooding_the_ring_without_reading_replies_ends_the_session() {
    let mut case = Case::new(&[]);
    let (mut h, region, _) = ring_session(&case, 4096);
    let live = Liveness::watching_socket(h.channel_mut().as_fd()).unwrap();
    let mut to_server = producer(region.shm.clone(), region.commands, live).unwrap();
    let get_error = encode(&[Command::GetError(GetError {})]);
    let start = Instant::now();
    let flood = std::thread::spawn(move || {
        let mut sent = 0;
        let err = loop {
            match to_server.send(&get_error) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(start.elapsed() < 10 * SECOND, "the server kept taking commands without replies being read");
        };
        (sent, err)
    });
    // The witness renders while the flooding session's context waits on its ring.
    while !flood.is_finished() {
        let t = Instant::now();
        case.check_witness();
        assert!(t.elapsed() < SECOND, "the witness took {:?} during the flood", t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (sent, err) = flood.join().unwrap();
    assert!(matches!(err, TransportError::PeerGone), "{err}");
    assert!(sent > 100, "{sent} commands");
    assert!(start.elapsed() < 5 * SECOND, "{:?}", start.elapsed());
    assert_ended(&mut h, SECOND);
    case.finish();
}

/// Flooding SubmitCommands without reading replies ends the session after 2 s; the witness renders meanwhile.
#[test]
fn flooding_submits_without_reading_replies_ends_the_session() {
    let mut case = Case::new(&[]);
    let mut h = case.gl();
    let mut payload = h.context.to_le_bytes().to_vec();
    payload.extend(encode(&[Command::GetString(GetString { name: GL_EXTENSIONS }); 16]));
    let start = Instant::now();
    let flood = std::thread::spawn(move || {
        let channel = h.session.channel_mut();
        channel.set_send_timeout(5 * SECOND);
        let mut sent = 0u64;
        let err = loop {
            match channel.send_control(ControlKind::SubmitCommands, sent + 1, &payload, &[]) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(start.elapsed() < 10 * SECOND, "the server kept answering a client that does not read");
        };
        (h, sent, err)
    });
    // The witness renders while the flooding session's thread waits on its socket.
    while !flood.is_finished() {
        let t = Instant::now();
        case.check_witness();
        assert!(t.elapsed() < SECOND, "the witness took {:?} during the flood", t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut h, sent, err) = flood.join().unwrap();
    assert!(sent > 4, "{sent} requests before {err}");
    assert!(start.elapsed() < 6 * SECOND, "{:?}", start.elapsed());
    let live = Liveness::watching_socket(h.session.channel_mut().as_fd()).unwrap();
    assert!(
        eventually(SECOND, || if live.is_alive() { Err(()) } else { Ok(()) }).is_ok(),
        "the server kept the session"
    );
    drop(h);
    case.finish();
}

/// A ring message over --max-shm-bytes ends the session; a ring bigger than the quota is LimitExceeded.
#[test]
fn ring_message_beyond_the_shm_quota_ends_the_session() {
    let case = Case::new(&["--max-shm-bytes", "1048576"]);
    let (mut h, region, _) = ring_session(&case, 64 << 10);
    let live = Liveness::watching_socket(h.channel_mut().as_fd()).unwrap();
    let mut to_server = producer(region.shm.clone(), region.commands, live).unwrap();
    let huge = vec![0u8; 2 << 20];
    let start = Instant::now();
    let sent = to_server.send(&huge);
    assert!(sent.is_err(), "2 MiB went through to a session allowed 1 MiB");
    assert!(start.elapsed() < 3 * SECOND);
    assert_ended(&mut h, SECOND);
    // A ring larger than the quota is refused at attach.
    let mut h = case.connect();
    let context = create_context(&mut h).unwrap();
    let big = RingRegion::create(1 << 20).unwrap();
    let (header, _, _) =
        h.control(ControlKind::AttachRing, big.attach_request(context).as_bytes(), &[big.shm.as_fd()]).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::LimitExceeded));
    h.close().unwrap();
    case.finish();
}

/// A client gone halfway through a fragmented ring command, or with a batch unanswered, is freed.
#[test]
fn disconnecting_in_the_middle_of_a_ring_command_frees_the_session() {
    let case = Case::new(&[]);
    let (h, region, _) = ring_session(&case, 64 << 10);
    let mut to_server = producer(region.shm.clone(), region.commands, Liveness::new()).unwrap();
    use wire::buf::Sink;
    to_server.open(1 << 20).unwrap();
    to_server.put(&vec![0u8; 100_000]).unwrap();
    std::mem::forget(to_server);
    drop(h);
    drop(region);
    // A batch of real work, then gone before the answer.
    let (h, region, _) = ring_session(&case, 64 << 10);
    let mut to_server = producer(region.shm.clone(), region.commands, Liveness::new()).unwrap();
    let mut batch = Vec::new();
    for _ in 0..200 {
        batch.extend(encode(&[Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }), Command::Finish(Finish {})]));
    }
    to_server.send(&batch).unwrap();
    drop(h);
    drop(region);
    case.finish();
}

/// A client gone while its eglSwapBuffers (with a resize) is in flight, on socket or ring, is freed.
#[test]
fn disconnecting_in_the_middle_of_a_frame_frees_the_session() {
    let case = Case::new(&[]);
    let frame = |width| {
        let mut cmds = Vec::new();
        for i in 0..32 {
            cmds.push(Command::ClearColor(ClearColor { red: i as f32 / 32.0, green: 0.5, blue: 0.2, alpha: 1.0 }));
            cmds.push(Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }));
        }
        cmds.push(Command::WireSwapBuffers(WireSwapBuffers { x: 0, y: 0, width, height: width }));
        encode(&cmds)
    };
    let window = |session: &mut Session, context| {
        let request = CreateSurfaceRequest::new(512, 512, 0);
        let (payload, fds) = session.call_for_fds(ControlKind::CreateWindowSurface, request.as_bytes()).unwrap();
        let surface = HandlePayload::parse(&payload).unwrap().handle;
        let bind = MakeCurrentRequest { context, draw_surface: surface, read_surface: surface };
        session.call(ControlKind::MakeCurrent, bind.as_bytes()).unwrap();
        fds
    };
    // On the socket: the swap is in flight (a resize too) when the client goes.
    let mut h = case.gl();
    let fds = window(&mut h.session, h.context);
    let mut payload = h.context.to_le_bytes().to_vec();
    payload.extend(frame(600));
    h.session.channel_mut().send_control(ControlKind::SubmitCommands, 1, &payload, &[]).unwrap();
    drop(h);
    drop(fds);
    // On the ring: three frames queued, none presented, then gone.
    let (mut h, region, context) = ring_session(&case, 64 << 10);
    let fds = window(&mut h, context);
    let mut to_server = producer(region.shm.clone(), region.commands, Liveness::new()).unwrap();
    for _ in 0..3 {
        to_server.send(&frame(512)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    drop(h);
    drop(fds);
    drop(region);
    case.finish();
}

/// A client process killed with SIGKILL while holding a session with GL objects is freed.
#[test]
fn a_killed_client_process_is_freed() {
    let mut case = Case::new(&[]);
    // The session's socket goes to a child process (as its stdin), which is then
    // killed: the server sees a process die under an open session, not a Close.
    let mut h = case.gl();
    h.framebuffer_4x4();
    let fd = h.session.channel_mut().as_fd().try_clone_to_owned().unwrap();
    let mut child = Process::new("sleep").arg("30").stdin(Stdio::from(fd)).spawn().unwrap();
    // The session now lives in the child too; this process lets go of it.
    drop(h);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(case.now().sessions, 2, "the child holds the session open");
    child.kill().unwrap();
    child.wait().unwrap();
    case.finish();
}

// ---------------------------------------------------------------------------------------
// Quotas being built (issue 6): --max-gl-memory and --max-objects

/// --max-gl-memory 1 MiB: buffers adding up past it are GL_OUT_OF_MEMORY; deleting one makes room again.
#[test]
fn quota_gl_memory_adds_up_buffers() {
    let case = Case::new(&["--max-gl-memory", "1048576"]);
    let mut h = case.gl();
    let data =
        |size| Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size, data: None, usage: GL_STATIC_DRAW });
    let first = h.gen(Namespace::Buffer);
    h.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: first }));
    h.expect_error(&[data(600 << 10)], GL_NO_ERROR);
    let second = h.gen(Namespace::Buffer);
    h.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: second }));
    h.expect_error(&[data(600 << 10)], GL_OUT_OF_MEMORY);
    h.expect_error(&[data(2 << 20)], GL_OUT_OF_MEMORY);
    h.call(Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[first] }));
    h.expect_error(&[data(600 << 10)], GL_NO_ERROR);
    // Re-specifying a buffer replaces its size rather than adding to it.
    h.expect_error(&[data(700 << 10)], GL_NO_ERROR);
    h.session.close().unwrap();
    case.finish();
}

/// --max-gl-memory 16 MiB: textures and renderbuffers count with buffers; past it is GL_OUT_OF_MEMORY.
#[test]
fn quota_gl_memory_counts_textures_and_renderbuffers() {
    let case = Case::new(&["--max-gl-memory", "16777216"]);
    let mut h = case.gl();
    let texture = h.gen(Namespace::Texture);
    h.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture }));
    let image = |side, internal: u32, type_| {
        Command::TexImage2D(TexImage2D {
            target: GL_TEXTURE_2D,
            level: 0,
            internalformat: internal as i32,
            width: side,
            height: side,
            border: 0,
            format: GL_RGBA,
            type_,
            pixels: DataRef::Null,
        })
    };
    h.expect_error(&[image(4096, GL_RGBA32F, GL_FLOAT)], GL_OUT_OF_MEMORY);
    h.expect_error(&[image(1024, GL_RGBA8, GL_UNSIGNED_BYTE)], GL_NO_ERROR); // 4 MiB
    let rbo = h.gen(Namespace::Renderbuffer);
    h.call(Command::BindRenderbuffer(BindRenderbuffer { target: GL_RENDERBUFFER, renderbuffer: rbo }));
    let storage = |side| {
        Command::RenderbufferStorage(RenderbufferStorage {
            target: GL_RENDERBUFFER,
            internalformat: GL_RGBA8,
            width: side,
            height: side,
        })
    };
    h.expect_error(&[storage(4096)], GL_OUT_OF_MEMORY);
    h.expect_error(&[storage(1024)], GL_NO_ERROR); // 4 MiB more: 8 MiB
    let buffer = h.gen(Namespace::Buffer);
    h.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    let data =
        |size| Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size, data: None, usage: GL_STATIC_DRAW });
    h.expect_error(&[data(10 << 20)], GL_OUT_OF_MEMORY); // 18 MiB in all
    h.expect_error(&[data(4 << 20)], GL_NO_ERROR);
    h.session.close().unwrap();
    case.finish();
}

/// --max-objects 100: glGen*/bind-to-create past 100 names is GL_OUT_OF_MEMORY; deleting makes room.
#[test]
fn quota_objects_caps_a_sessions_names() {
    let case = Case::new(&["--max-objects", "100"]);
    let mut h = case.gl();
    let first: Vec<u32> = (1000..1050).collect();
    h.expect_error(&[Command::GenBuffers(GenBuffers { n: 50, buffers: &first })], GL_NO_ERROR);
    let second: Vec<u32> = (2000..2100).collect();
    h.expect_error(&[Command::GenTextures(GenTextures { n: 100, textures: &second })], GL_OUT_OF_MEMORY);
    let more: Vec<u32> = (3000..3060).collect();
    h.expect_error(&[Command::GenBuffers(GenBuffers { n: 60, buffers: &more })], GL_OUT_OF_MEMORY);
    let fill: Vec<u32> = (4000..4050).collect();
    h.expect_error(&[Command::GenRenderbuffers(GenRenderbuffers { n: 50, renderbuffers: &fill })], GL_NO_ERROR);
    h.expect_error(&[Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture: 5555 })], GL_OUT_OF_MEMORY);
    h.call(Command::DeleteBuffers(DeleteBuffers { n: 50, buffers: &first }));
    h.expect_error(&[Command::GenTextures(GenTextures { n: 40, textures: &second[..40] })], GL_NO_ERROR);
    h.session.close().unwrap();
    case.finish();
}

/// Resident memory of the server process, in bytes (evidence for the quota tests).
fn rss(server: &Serve) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Storage a vertex array keeps alive after its buffer's name is deleted is given back to
/// the session's count at the delete (a known gap of the per-session quota); the
/// server-wide guard (--max-server-memory) still stops it: past the guard, allocations
/// are GL_OUT_OF_MEMORY and the server's memory stays near it.
#[test]
fn quota_server_memory_guard_stops_storage_kept_alive_by_a_vertex_array() {
    const GUARD: u64 = 256 << 20;
    let case = Case::new(&["--max-gl-memory", "1048576", "--max-server-memory", &GUARD.to_string()]);
    let mut h = case.gl();
    let before = rss(&case.server);
    assert!(before < GUARD, "the server starts at {} MiB, above the guard", before >> 20);
    let data = vec![0xAB; 768 << 10];
    let mut errors = Vec::new();
    // 400 buffers of 768 KiB (300 MiB), each kept alive by a vertex array once deleted.
    for _ in 0..400 {
        let vao = h.gen(Namespace::VertexArray);
        let buffer = h.gen(Namespace::Buffer);
        h.submit(&[
            Command::BindVertexArray(BindVertexArray { array: vao }),
            Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }),
            Command::BufferData(BufferData {
                target: GL_ARRAY_BUFFER,
                size: data.len() as i64,
                data: Some(&data),
                usage: GL_STATIC_DRAW,
            }),
            Command::VertexAttribPointer(VertexAttribPointer {
                index: 0,
                size: 4,
                type_: GL_FLOAT,
                normalized: 0,
                stride: 0,
                pointer: 0,
            }),
            Command::BindVertexArray(BindVertexArray { array: 0 }),
            Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[buffer] }),
        ]);
        errors.push(h.error());
    }
    let after = rss(&case.server);
    assert!(
        errors.contains(&GL_OUT_OF_MEMORY),
        "300 MiB kept alive by vertex arrays all allocated past a {} MiB server guard; the server grew from {} to {} MiB",
        GUARD >> 20,
        before >> 20,
        after >> 20
    );
    // One allocation may pass the guard before it is seen; no more.
    assert!(after < GUARD + (16 << 20), "the server grew to {} MiB past its {} MiB guard", after >> 20, GUARD >> 20);
    h.session.close().unwrap();
    case.finish();
}

/// --max-objects: deleted shaders and programs give their count back (create/delete in turn never hits it).
#[test]
fn quota_objects_are_given_back_when_shaders_and_programs_are_deleted() {
    let case = Case::new(&["--max-objects", "20"]);
    let mut h = case.gl();
    let mut failed = Vec::new();
    for i in 0..60 {
        let b = h.call(Command::CreateShader(CreateShader { type_: GL_VERTEX_SHADER }));
        let (Reply::CreateShader(shader), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
        let b = h.call(Command::CreateProgram(CreateProgram {}));
        let (Reply::CreateProgram(program), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
        let error = h.error();
        if shader.ret == 0 || program.ret == 0 || error != GL_NO_ERROR {
            failed.push((i, error));
        }
        h.submit(&[
            Command::DeleteShader(DeleteShader { shader: shader.ret }),
            Command::DeleteProgram(DeleteProgram { program: program.ret }),
        ]);
        assert!(!h.is(Command::IsShader(IsShader { shader: shader.ret })) || shader.ret == 0);
    }
    let objects = h.stats().objects;
    assert!(
        failed.is_empty(),
        "creating a shader and a program after deleting the previous ones failed {} times, first at round {:?}; the \
         session counts {objects} objects with none alive",
        failed.len(),
        failed.first()
    );
    h.session.close().unwrap();
    case.finish();
}

/// --max-objects 10: deleting names twice or never generated gives nothing back; the quota still holds.
#[test]
fn quota_objects_survive_deleting_names_twice() {
    let case = Case::new(&["--max-objects", "10"]);
    let mut h = case.gl();
    let names: Vec<u32> = (100..110).collect();
    h.expect_error(&[Command::GenBuffers(GenBuffers { n: 10, buffers: &names })], GL_NO_ERROR);
    assert_eq!(h.stats().objects, 10);
    let strangers: Vec<u32> = (500..600).collect();
    for _ in 0..5 {
        h.submit(&[
            Command::DeleteBuffers(DeleteBuffers { n: 100, buffers: &strangers }),
            Command::DeleteTextures(DeleteTextures { n: 100, textures: &strangers }),
            Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &names[..1] }),
        ]);
    }
    assert_eq!(h.stats().objects, 9);
    h.expect_error(&[Command::GenBuffers(GenBuffers { n: 1, buffers: &[100] })], GL_NO_ERROR);
    h.expect_error(&[Command::GenBuffers(GenBuffers { n: 1, buffers: &[111] })], GL_OUT_OF_MEMORY);
    h.expect_error(&[Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: 112 })], GL_OUT_OF_MEMORY);
    assert_eq!(h.stats().objects, 10);
    h.session.close().unwrap();
    case.finish();
}

/// A window surface's frame ring counts against --max-shm-bytes, at creation and when a swap resizes it.
#[test]
fn window_surfaces_count_against_the_shm_quota() {
    let case = Case::new(&["--max-shm-bytes", "8388608"]);
    let mut h = case.gl();
    let mut over = Vec::new();
    let big = CreateSurfaceRequest::new(2048, 2048, 0);
    match h.session.call_for_fds(ControlKind::CreateWindowSurface, big.as_bytes()) {
        Ok((_, fds)) => {
            let len = rustix::fs::fstat(&fds[0]).unwrap().st_size;
            over.push(format!("CreateWindowSurface 2048x2048 succeeded with a {len}-byte frame ring"));
        }
        Err(e) => assert_eq!(e.status(), Some(Ok(ControlStatus::LimitExceeded)), "{e}"),
    }
    // A small one, then a swap that asks for 2048x2048.
    let small = CreateSurfaceRequest::new(64, 64, 0);
    let (payload, _fds) = h.session.call_for_fds(ControlKind::CreateWindowSurface, small.as_bytes()).unwrap();
    let surface = HandlePayload::parse(&payload).unwrap().handle;
    let bind = MakeCurrentRequest { context: h.context, draw_surface: surface, read_surface: surface };
    h.session.call(ControlKind::MakeCurrent, bind.as_bytes()).unwrap();
    let swap = h.try_submit(&[Command::WireSwapBuffers(WireSwapBuffers { x: 0, y: 0, width: 2048, height: 2048 })]);
    if swap.is_ok() {
        let handle = HandlePayload { handle: surface };
        let (_, fds) = h.session.call_for_fds(ControlKind::SurfaceFrames, handle.as_bytes()).unwrap();
        let len = rustix::fs::fstat(&fds[0]).unwrap().st_size as u64;
        if len > 8 << 20 {
            over.push(format!("a swap asking for 2048x2048 grew the frame ring to {len} bytes"));
        }
    }
    assert!(over.is_empty(), "past the session's 8 MiB of shared memory: {over:#?}");
    drop(h);
    case.finish();
}

/// Surfaces past 4 per allowed context are LimitExceeded; over 16384 pixels a side InvalidArgument.
#[test]
fn more_surfaces_than_the_limit_are_refused() {
    let case = Case::new(&["--max-contexts", "1"]);
    let mut h = case.connect();
    let small = CreateSurfaceRequest::new(8, 8, 0);
    for _ in 0..4 {
        h.call(ControlKind::CreateSurface, small.as_bytes()).unwrap();
    }
    assert_eq!(status(h.call(ControlKind::CreateSurface, small.as_bytes())), ControlStatus::LimitExceeded);
    assert_eq!(status(h.call(ControlKind::CreateWindowSurface, small.as_bytes())), ControlStatus::LimitExceeded);
    let mut h2 = case.connect();
    for (w, hgt) in [(16385, 1), (1, u32::MAX)] {
        let huge = CreateSurfaceRequest::new(w, hgt, 0);
        assert_eq!(status(h2.call(ControlKind::CreateSurface, huge.as_bytes())), ControlStatus::InvalidArgument);
        assert_eq!(status(h2.call(ControlKind::CreateWindowSurface, huge.as_bytes())), ControlStatus::InvalidArgument);
    }
    let mut padded = small;
    padded._pad = 1;
    assert_eq!(status(h2.call(ControlKind::CreateSurface, padded.as_bytes())), ControlStatus::ProtocolError);
    assert_ended(&mut h2, SECOND);
    h.close().unwrap();
    case.finish();
}

/// glFenceSync past 4096 live syncs is GL_OUT_OF_MEMORY without a host call; deleting one makes room.
#[test]
fn more_syncs_than_the_limit_are_out_of_memory() {
    let case = Case::new(&[]);
    let mut h = case.gl();
    let fence = Command::FenceSync(FenceSync { condition: GL_SYNC_GPU_COMMANDS_COMPLETE, flags: 0 });
    let b = h.submit(&vec![fence; 4096]);
    let mut rest = b.as_bytes();
    let mut ids = Vec::new();
    while !rest.is_empty() {
        let (Reply::FenceSync(r), next) = decode_reply(rest).unwrap() else { panic!("not the reply") };
        ids.push(r.ret);
        rest = next;
    }
    assert_eq!(ids.len(), 4096);
    assert!(ids.iter().all(|&id| id != 0));
    assert_eq!(h.error(), GL_NO_ERROR);
    let b = h.call(fence);
    let (Reply::FenceSync(r), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
    assert_eq!(r.ret, 0);
    assert_eq!(h.error(), GL_OUT_OF_MEMORY);
    h.call(Command::DeleteSync(DeleteSync { sync: ids[0] }));
    let b = h.call(fence);
    let (Reply::FenceSync(r), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
    assert_ne!(r.ret, 0);
    assert_eq!(h.error(), GL_NO_ERROR);
    drop(h);
    case.finish();
}

/// --max-gl-memory 64 MiB: an 8192x8192 pbuffer or window surface (256 MiB of pixels) is refused, not made.
#[test]
fn quota_gl_memory_counts_surfaces() {
    let case = Case::new(&["--max-gl-memory", "67108864"]);
    let mut h = case.connect();
    let mut made = Vec::new();
    let huge = CreateSurfaceRequest::new(8192, 8192, 0);
    // Only created, never rendered: a cleared 16384x16384 pbuffer takes the server ~3 GiB.
    for kind in [ControlKind::CreateSurface, ControlKind::CreateWindowSurface] {
        if let Ok((payload, _fds)) = h.call_for_fds(kind, huge.as_bytes()) {
            made.push(format!("{} 8192x8192 gave surface {:?}", kind.name(), HandlePayload::parse(&payload)));
        }
    }
    assert!(made.is_empty(), "surfaces of 256 MiB each in a session allowed 64 MiB of GL memory: {made:#?}");
    h.close().unwrap();
    case.finish();
}
