//! `glwire serve` as a real second process: clients in this process connect to it over
//! its socket. Covers what only two processes can show: signals, exit status, the
//! socket file on disk, a server that dies under its client, and a client that dies
//! under the server. Every wait has a deadline; a server child is killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client::{Session, SessionError};
use rustix::process::{kill_process, Pid, Signal};

mod support;
use support::ensure_icd_built;
use wire::commands::{decode_reply, Command as GlCommand, Finish, Reply};
use wire::control::{ControlKind, CreateContextRequest, HandlePayload};
use wire::protocol::{Hello, PROTOCOL_VERSION};
use wire::CommandBuf;

const SECOND: Duration = Duration::from_secs(1);

struct Serve {
    child: Child,
    _dir: tempfile::TempDir,
    socket: PathBuf,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    tcp: Option<SocketAddr>,
}

/// Starts `glwire serve` with its socket in a fresh directory and waits (at most 10 s)
/// until it says where it listens.
fn serve(extra: &[&str], tcp: bool) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("glwire").join("gpu0");
    let mut args = vec!["serve".to_string(), "--socket".into(), socket.display().to_string()];
    if tcp {
        let token = dir.path().join("token");
        std::fs::write(&token, "two-process-token\n").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        args.extend(["--token-file".into(), token.display().to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(&args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, stdout) = channel();
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
    let mut server = Serve { child, _dir: dir, socket, stdout, stderr, tcp: None };
    let unix = server.line(10 * SECOND);
    assert_eq!(
        unix,
        format!("glwire serve: listening on unix:{}", server.socket.display()),
        "stderr: {}",
        server.stderr()
    );
    if tcp {
        let line = server.line(10 * SECOND);
        let addr =
            line.strip_prefix("glwire serve: listening on tcp:").unwrap_or_else(|| panic!("unexpected line {line:?}"));
        server.tcp = Some(addr.parse().unwrap());
    }
    server
}

impl Serve {
    fn line(&self, within: Duration) -> String {
        self.stdout
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("no line from glwire serve ({e}); stderr: {}", self.stderr()))
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn connect(&self) -> Session {
        Session::connect_unix(&self.socket, "serve-test").unwrap()
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32).unwrap()
    }

    fn signal(&self, signal: Signal) {
        kill_process(self.pid(), signal).unwrap();
    }

    /// Waits for the child to exit, at most `within`.
    fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if start.elapsed() > within {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Threads of the server whose name starts with `prefix` (Linux truncates thread
    /// names to 15 bytes).
    fn threads_named(&self, prefix: &str) -> usize {
        let tasks = format!("/proc/{}/task", self.child.id());
        let Ok(entries) = std::fs::read_dir(tasks) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    /// Waits up to `within` for `check` to hold.
    fn eventually(&self, within: Duration, check: impl Fn(&Serve) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < within {
            if check(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        check(self)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_context(s: &mut Session) -> u64 {
    let payload = CreateContextRequest::encode(0, 0, &[]).unwrap();
    HandlePayload::parse(&s.call(ControlKind::CreateContext, &payload).unwrap()).unwrap().handle
}

fn submit_finish(s: &mut Session, context: u64) -> bool {
    let mut buf = CommandBuf::new();
    GlCommand::Finish(Finish {}).encode(&mut buf).unwrap();
    let mut payload = context.to_le_bytes().to_vec();
    payload.extend_from_slice(buf.as_bytes());
    let reply = s.call(ControlKind::SubmitCommands, &payload).unwrap();
    let mut aligned = CommandBuf::new();
    aligned.extend_raw(&reply);
    matches!(decode_reply(aligned.as_bytes()), Ok((Reply::Finish(_), _)))
}

#[test]
fn serves_a_session_end_to_end() {
    let server = serve(&["--max-contexts", "2"], false);
    let mut s = server.connect();
    assert_eq!(s.welcome().version, PROTOCOL_VERSION);
    assert_eq!(s.welcome().limits.max_contexts, 2);
    let id = create_context(&mut s);
    assert!(submit_finish(&mut s, id));
    assert_eq!(s.call(ControlKind::Ping, b"two processes").unwrap(), b"two processes");
    let (header, _, _) = s.control_raw(999, &[], &[]).unwrap();
    assert_eq!(header.status(), Ok(wire::control::ControlStatus::NotSupported));
    s.close().unwrap();
}

#[test]
fn version_mismatch_is_named_on_both_sides() {
    let server = serve(&[], false);
    let mut hello = Hello::new(0, std::process::id(), "old-client");
    hello.version = 77;
    let channel = transport::channel::Channel::connect_unix(&server.socket).unwrap();
    let err = Session::handshake(channel, hello, &[]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("protocol 77") && text.contains(&format!("server speaks {PROTOCOL_VERSION}")), "{text}");
    // The server's log names both versions too.
    let logged = server.eventually(2 * SECOND, |s| {
        let log = s.stderr();
        log.contains("client speaks glwire protocol 77") && log.contains(&format!("server speaks {PROTOCOL_VERSION}"))
    });
    assert!(logged, "server log: {}", server.stderr());
}

#[test]
fn sigterm_exits_zero_within_a_second_and_removes_the_socket() {
    let mut server = serve(&[], false);
    let mut s = server.connect();
    create_context(&mut s);
    // A client stalled halfway through its hello must not hold the shutdown up.
    let mut stalled = transport::channel::Channel::connect_unix(&server.socket).unwrap();
    stalled.send(&Hello::new(0, 1, "x").to_bytes(&[]).unwrap()[..40], &[]).unwrap();
    assert!(server.socket.exists());
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    server.signal(Signal::TERM);
    let status = server.wait(SECOND).expect("glwire serve still running 1 s after SIGTERM");
    assert!(status.success(), "exit status {status}; stderr: {}", server.stderr());
    assert!(start.elapsed() < SECOND);
    assert!(!server.socket.exists(), "the socket file is removed");
    // The client's next call fails promptly instead of hanging.
    let start = Instant::now();
    assert!(s.call(ControlKind::Ping, &[]).is_err());
    assert!(start.elapsed() < SECOND);
}

#[test]
fn sigint_also_stops_cleanly() {
    let mut server = serve(&[], false);
    server.signal(Signal::INT);
    let status = server.wait(SECOND).expect("still running 1 s after SIGINT");
    assert!(status.success(), "exit status {status}");
    assert!(!server.socket.exists());
}

#[test]
fn a_dead_server_fails_the_client_within_a_second() {
    let mut server = serve(&[], false);
    let mut s = server.connect();
    let id = create_context(&mut s);
    assert!(submit_finish(&mut s, id));
    server.signal(Signal::KILL);
    server.wait(5 * SECOND).expect("SIGKILL did not kill the server");
    let start = Instant::now();
    let err = s.call(ControlKind::Ping, &[]).unwrap_err();
    assert!(start.elapsed() < SECOND);
    assert!(matches!(err, SessionError::Transport(_)), "{err}");
}

#[test]
fn a_dead_client_is_freed_and_the_next_one_served() {
    let server = serve(&[], false);
    let mut s = server.connect();
    for _ in 0..3 {
        create_context(&mut s);
    }
    assert!(server.eventually(SECOND, |sv| sv.threads_named("glwire-context") == 3));
    // Half a request, then the client vanishes without Close.
    let header = wire::control::ControlHeader::encode(ControlKind::Ping, 99, b"abc", 0).unwrap();
    s.channel_mut().send(&header[..12], &[]).unwrap();
    drop(s);
    assert!(
        server.eventually(SECOND, |sv| sv.threads_named("glwire-context") == 0),
        "contexts of the dead client still running"
    );
    let mut next = server.connect();
    assert_eq!(next.call(ControlKind::Ping, b"next").unwrap(), b"next");
}

#[test]
fn tcp_needs_the_token() {
    let server = serve(&[], true);
    let addr = server.tcp.unwrap();
    let err = Session::connect_tcp(addr, b"guess").unwrap_err();
    assert!(err.to_string().contains("bad auth token"), "{err}");
    let mut s = Session::connect_tcp(addr, b"two-process-token").unwrap();
    let id = create_context(&mut s);
    assert!(submit_finish(&mut s, id));
}

#[test]
fn refuses_to_start_on_an_open_directory() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["serve", "--socket"])
        .arg(open.join("gpu0"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a server that wrongly starts is killed instead of hanging the test.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > 10 * SECOND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("glwire serve started on a directory others can enter");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("glwire serve: "), "{stderr}");
    assert!(last.contains("chmod 700") && last.contains(&open.display().to_string()), "{stderr}");
    assert!(!Path::new(&open.join("gpu0")).exists());
}

/// A call blocked on the reply ring notices the server's death through its socket.
#[test]
fn a_dead_server_fails_a_ring_call_within_a_second() {
    use client::{Connection, Forward};
    use wire::commands::GetError;
    let mut server = serve(&[], false);
    let conn = Connection::unix(&server.socket, "ring-death-test").unwrap();
    let (_, mut ctx) = conn.new_context().unwrap();
    ctx.call(&GlCommand::GetError(GetError {})).expect("a live server answers over the ring");
    server.signal(Signal::KILL);
    server.wait(5 * SECOND).expect("SIGKILL did not kill the server");
    let start = Instant::now();
    let err = ctx.call(&GlCommand::GetError(GetError {})).unwrap_err();
    assert!(start.elapsed() < SECOND, "took {:?}", start.elapsed());
    assert!(matches!(err, client::CallError::Lost(_)), "{err}");
    assert!(!conn.server_alive());
}

/// A client that vanishes halfway through a large command on its ring (fragments
/// published, the rest never coming) is freed, and the next client is served.
#[test]
fn a_client_dying_mid_command_on_its_ring_is_freed() {
    use transport::liveness::Liveness;
    use transport::ring::{producer, RingRegion};
    use wire::buf::Sink;
    use wire::control::ControlStatus;
    use zerocopy::IntoBytes;

    let server = serve(&[], false);
    let mut s = server.connect();
    let context = create_context(&mut s);
    let region = RingRegion::create(64 << 10).unwrap();
    let request = region.attach_request(context);
    let fds = [region.shm.as_fd()];
    let (header, _, _) = s.control(ControlKind::AttachRing, request.as_bytes(), &fds).unwrap();
    assert_eq!(header.status(), Ok(ControlStatus::Ok));
    assert!(server.eventually(SECOND, |sv| sv.threads_named("glwire-context") == 1));

    let mut to_server = producer(region.shm.clone(), region.commands, Liveness::new()).unwrap();
    to_server.open(1 << 20).unwrap();
    to_server.put(&vec![0u8; 100_000]).unwrap();
    // The client dies: its socket closes, its half command stays half.
    std::mem::forget(to_server);
    drop(s);
    assert!(
        server.eventually(SECOND, |sv| sv.threads_named("glwire-context") == 0),
        "the context of the dead client is still running"
    );
    let mut next = server.connect();
    assert_eq!(next.call(ControlKind::Ping, b"next").unwrap(), b"next");
}

/// `glwire bench transport` runs end to end (tiny counts) and reports every figure
/// with its floor; the figures themselves are for the README, not for a test.
#[test]
fn bench_transport_reports_every_figure_with_its_floor() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["bench", "transport", "--rounds", "200", "--calls", "20000", "--payloads", "8", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    for row in ["shm ring", "socket", "async 16-byte commands", "1 MiB payloads"] {
        assert!(table.contains(row), "missing {row:?} in\n{table}");
    }
    let json = std::fs::read_to_string(&json).unwrap();
    assert_eq!(json.matches("\"measure\"").count(), 6, "{json}");
    assert!(!json.contains("\"ratio\": 0,") && !json.contains("\"value\": 0,"), "{json}");
}

/// EGL on the client, against a real server: configs, a context, make-current on this
/// thread, a GL call through it, release, and the errors EGL names for misuse.
#[test]
fn egl_contexts_work_against_a_real_server() {
    use client::egl;
    use wire::commands::GetError;
    let server = serve(&[], false);
    let conn = client::Connection::unix(&server.socket, "egl-test").unwrap();
    let dpy = 0xE61;
    assert_eq!(egl::initialize_with(dpy, conn), (1, 5));
    assert_eq!(egl::query_string(dpy, 0x3053).unwrap(), c"glwire"); // EGL_VENDOR
                                                                    // RGBA8 with depth, for ES 3 pbuffers.
    let wanted = [0x3024, 8, 0x3021, 8, 0x3025, 16, 0x3040, 0x40, 0x3033, 0x1];
    let configs = egl::choose_config(dpy, &wanted).unwrap();
    assert!(!configs.is_empty());
    assert_eq!(egl::get_config_attrib(dpy, configs[0], 0x3021).unwrap(), 8); // EGL_ALPHA_SIZE
    assert!(egl::get_config_attrib(dpy, configs[0], 0x3025).unwrap() >= 16); // EGL_DEPTH_SIZE
    let ctx = egl::create_context(dpy, configs[0], 0, &[0x3098, 3]).unwrap();
    let surface = egl::create_pbuffer_surface(dpy, configs[0], &[0x3057, 64, 0x3056, 32]).unwrap();
    assert_eq!(egl::query_surface(dpy, surface, 0x3057).unwrap(), 64);
    egl::make_current(dpy, surface, surface, ctx).unwrap();
    let reply = client::with_current(|c| {
        use client::Forward;
        c.call(&GlCommand::GetError(GetError {})).map(|r| r.len())
    });
    assert!(matches!(reply, Some(Ok(n)) if n > 0), "{reply:?}");
    // The pbuffer is the context's default framebuffer on the server: clear it, read it.
    let pixel = client::with_current(|c| {
        use client::Forward;
        use wire::commands::{Clear, ClearColor, ReadPixels, ReadPixelsReply};
        c.submit(&GlCommand::ClearColor(ClearColor { red: 0.2, green: 0.4, blue: 0.6, alpha: 1.0 })).unwrap();
        c.submit(&GlCommand::Clear(Clear { mask: 0x4000 })).unwrap();
        let read = ReadPixels {
            x: 63,
            y: 31,
            width: 1,
            height: 1,
            format: 0x1908,
            type_: 0x1401,
            pixels: wire::codec::OutRef::Reply(4),
        };
        let reply = c.call(&GlCommand::ReadPixels(read)).unwrap();
        let body = wire::codec::reply_body(reply.as_bytes(), wire::commands::Opcode::ReadPixels as u32).unwrap();
        ReadPixelsReply::decode(body).unwrap().pixels.map(<[u8]>::to_vec)
    });
    assert_eq!(pixel, Some(Some(vec![51, 102, 153, 255])), "the far corner of the 64x32 pbuffer");
    // Another thread cannot take a context current here.
    let taken = std::thread::spawn(move || egl::make_current(dpy, 0, 0, ctx)).join().unwrap();
    assert_eq!(taken, Err(egl::EGL_BAD_ACCESS));
    egl::make_current(dpy, 0, 0, 0).unwrap();
    assert!(client::with_current(|_| ()).is_none());
    assert_eq!(egl::create_context(dpy, 999, 0, &[]), Err(egl::EGL_BAD_CONFIG));
    assert_eq!(egl::make_current(dpy, 0, 0, 12345), Err(egl::EGL_BAD_CONTEXT));
    egl::destroy_surface(dpy, surface).unwrap();
    egl::destroy_context(dpy, ctx).unwrap();
    egl::terminate(dpy).unwrap();
}

/// Builds the ICD next to the `glwire` binary if this test run did not (it is a
/// separate package: `cargo test -p glwire` alone does not build it).

#[test]
fn glwire_run_passes_exit_codes_and_the_environment() {
    ensure_icd_built();
    let out = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["run", "--", "sh", "-c", "echo \"$__EGL_VENDOR_LIBRARY_FILENAMES|$GLWIRE_SOCKET\"; exit 3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let (json, socket) = text.trim().split_once('|').unwrap();
    assert!(json.ends_with("10_glwire.json"), "{text}");
    assert!(socket.ends_with("gpu0"), "{text}");
    assert!(!Path::new(json).exists(), "the private vendor file is removed afterwards");
    let missing = Command::new(env!("CARGO_BIN_EXE_glwire")).args(["run", "--", "/no/such/program"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/program"));
}

/// Runs `tests/SCRIPT` (an unmodified Python program calling the system libEGL and
/// libGLESv2 through ctypes) under `glwire run`, asserts it exited 0, returns its stdout.
fn run_script(script: &str) -> String {
    ensure_icd_built();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests").join(script);
    let out = Command::new(env!("CARGO_BIN_EXE_glwire")).args(["run", "--", "python3"]).arg(&script).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "stdout: {text}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    text
}

/// An unmodified program — Python calling the system libEGL and libGLESv2 through
/// ctypes — renders through `glwire run`: EGL through the ICD, GL through libglvnd's
/// dispatch into the ICD, the commands through the rings to a private server, the
/// validator and Mesa, and the pixels back. Needs Mesa and python3.
#[test]
fn an_unmodified_program_renders_through_glwire_run() {
    let text = run_script("egl_clear.py");
    assert!(text.contains("EGL vendor: glwire"), "{text}");
    assert!(text.contains("pixel: [51, 102, 153, 255]"), "{text}");
}

/// `glwire demo` renders its scene through glwire and writes a PNG with the triangle
/// on the background. Needs Mesa.
#[test]
fn the_demo_renders_through_glwire() {
    ensure_icd_built();
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("demo.png");
    let out = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["demo", "--frames", "3", "--size", "64", "--out"])
        .arg(&png_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("EGL vendor (client side): glwire"), "{text}");
    assert!(text.contains("GL_RENDERER (server side):"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The session's figures as the server counted them, and the context's own: its 3
    // frames (each ends with eglSwapBuffers) wait for nothing.
    assert!(stderr.contains("glwire: 3 frames, "), "the session's figures are printed: {stderr}");
    assert!(stderr.contains(": 3 frames, ") && stderr.contains("(0.00 per frame after the first)"), "{stderr}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut pixels).unwrap();
    let at = |x: usize, y: usize| &pixels[(y * 64 + x) * 4..(y * 64 + x) * 4 + 4];
    assert_eq!(at(1, 1), &[20, 23, 31, 255], "the corner is the clear colour");
    let centre = at(32, 32);
    assert!(centre[0] > 60 && centre[2] > 60 && centre[3] == 255, "the centre is inside the triangle: {centre:?}");
}

/// EGL share groups across threads: a context created to share with another sees its
/// buffers and waits on its fences from a second thread; an unshared one does not see
/// them (tests/egl_share_group.py, real Mesa).
#[test]
fn share_groups_work_through_glwire_run() {
    let text = run_script("egl_share_group.py");
    assert!(text.contains("shared: (1, [1, 2, 3, 4]"), "{text}");
}

/// The hand-sized calls from an unmodified program on real Mesa
/// (tests/egl_pixels_strings.py): pixel-store state both ways (a readback leaves the
/// bytes between its rows alone), pixel buffers at offsets, multi-value glGet*,
/// strings that stay valid, glGetStringi, string arrays with lengths, a fence.
#[test]
fn hand_sized_calls_work_through_glwire_run() {
    let text = run_script("egl_pixels_strings.py");
    assert_eq!(text.matches("ok ").count(), 9, "{text}");
}

/// EGLImages from a texture level, used by a second texture; an unknown image handle
/// is a GL error, never a host pointer (tests/egl_image.py, real Mesa).
#[test]
fn egl_images_work_through_glwire_run() {
    let text = run_script("egl_image.py");
    assert_eq!(text.matches("ok ").count(), 11, "{text}");
}

/// glMapBufferRange, glFlushMappedBufferRange, glUnmapBuffer, glGetBufferPointerv and
/// persistent maps, from an unmodified program on real Mesa (tests/egl_map_buffer.py).
#[test]
fn mapped_buffers_work_through_glwire_run() {
    let text = run_script("egl_map_buffer.py");
    assert_eq!(text.matches("ok ").count(), 10, "{text}");
}

/// Client-side vertex arrays (the program's memory, no buffer bound) and client-memory
/// indices draw right through glwire. Needs Mesa and python3.
#[test]
fn client_side_vertex_arrays_draw_through_glwire_run() {
    let text = run_script("egl_client_arrays.py");
    assert!(text.contains("lower left: [255, 0, 0, 255] upper right: [0, 255, 0, 255] error: 0x0"), "{text}");
    assert!(text.contains("attribute pointer: client memory True, buffer offset True"), "{text}");
}

/// The server dies while an ordinary GLES program renders: its context is lost, so its
/// next call fails (eglSwapBuffers with EGL_CONTEXT_LOST, 0x300e; a GL call with
/// GL_CONTEXT_LOST, 0x0507, which glGetError says) and the program does not end as if
/// it had rendered — it used to exit 0 with a blank image.
#[test]
fn a_dead_server_loses_the_programs_context() {
    ensure_icd_built();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = support::serve_quiet(dir.path());
    let out = dir.path().join("frame.png");
    let program = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["run", "--socket"])
        .arg(&socket)
        .args(["--", env!("CARGO_BIN_EXE_glwire"), "demo-client", "--frames", "1000000", "--size", "64", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    server.kill().unwrap();
    server.wait().unwrap();
    let killed = Instant::now();
    let output = program.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(killed.elapsed() < Duration::from_secs(20), "the program kept going {:?}", killed.elapsed());
    assert!(!output.status.success(), "the program ended as if it had rendered; stderr: {stderr}");
    assert!(stderr.contains("0x507") || stderr.contains("eglSwapBuffers: 0x300e"), "{stderr}");
    assert!(!out.exists(), "a frame was written without a server");
}
