//! Record and replay end to end, with real processes and a real server on Mesa:
//! `glwire run --record` of an unmodified program, `glwire replay` of its trace (twice,
//! the frames byte for byte the same, the last one the program's own picture), traces
//! of another version refused with both versions named, damaged traces refused with a
//! clear message and never a panic; and an X11 program's window frames replayed as
//! they were presented (Xvfb).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../../tests/support/xvfb.rs"]
mod xvfb;

mod support;
use support::{ensure_icd_built, serve_quiet};

fn glwire(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glwire"));
    c.args(args).env_remove("GLWIRE_SOCKET").env_remove(client::record::RECORD_ENV);
    c
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stdout: {}\nstderr: {stderr}", String::from_utf8_lossy(&out.stdout));
    stderr
}

/// Fails (exit status 1, not a panic's 101) and says `needle` on stderr.
fn refused(out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(needle), "wanted {needle:?} in: {stderr}");
    stderr
}

/// Width, height and RGBA pixels of a PNG file.
fn pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba, "{}", path.display());
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn frames_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Records `glwire demo-client` (20 frames of 64×64 ending in eglSwapBuffers on a
/// pbuffer) on the server at `socket`; the trace and the program's own last frame.
fn record_demo(dir: &Path, socket: &Path) -> (PathBuf, PathBuf) {
    ensure_icd_built();
    let (trace, own) = (dir.join("demo.trace"), dir.join("own.png"));
    let exe = env!("CARGO_BIN_EXE_glwire");
    let out = glwire(&["run", "--socket", socket.to_str().unwrap(), "--record", trace.to_str().unwrap(), "--"])
        .args([exe, "demo-client", "--frames", "20", "--size", "64", "--out", own.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = ok(&out);
    assert!(stderr.contains("recorded 20 frames"), "{stderr}");
    (trace, own)
}

#[test]
fn a_recorded_program_replays_to_the_same_frames_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let (trace, own) = record_demo(dir.path(), &socket);
    let header = std::fs::read(&trace).unwrap();
    assert_eq!(&header[..8], b"GLWTRACE");

    let mut runs = Vec::new();
    for name in ["d1", "d2"] {
        let frames = dir.path().join(name);
        let out = glwire(&["replay", trace.to_str().unwrap(), "--socket", socket.to_str().unwrap()])
            .arg("--frames")
            .arg(&frames)
            .output()
            .unwrap();
        let stderr = ok(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("20 frames in") && stdout.contains("fps"), "{stdout}");
        assert!(stderr.contains("20/20 frames"), "the progress line: {stderr}");
        let files = frames_in(&frames);
        assert_eq!(files.len(), 20, "{files:?}");
        assert!(files[0].ends_with("frame-000001.png") && files[19].ends_with("frame-000020.png"));
        runs.push(files);
    }
    for (a, b) in runs[0].iter().zip(&runs[1]) {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{} and {} differ", a.display(), b.display());
    }
    // The last frame is the picture the program itself read back and wrote; the
    // frames move (the triangle turns).
    let (w, h, last) = pixels(&runs[0][19]);
    assert_eq!((w, h), (64, 64));
    assert_eq!((w, h, last.clone()), pixels(&own), "the replay's last frame is the program's own");
    assert_ne!(pixels(&runs[0][0]).2, last, "frame 1 and frame 20 differ");
    let _ = server.kill();
    let _ = server.wait();
}

/// The demo's trace as a server that chose other values would have written it:
/// context and surface handles 1000 higher, program and shader names 100 higher.
fn renamed(trace: &Path) -> Vec<u8> {
    use client::record::{ControlReplyHead, Kind, RecordHeader, TraceHeader};
    use wire::commands::{decode_command, decode_reply, CreateProgramReply, CreateShaderReply, Reply};
    use wire::control::{ControlKind, HandlePayload, MakeCurrentRequest};
    use zerocopy::IntoBytes;
    let handle = |h: u64| if h == 0 { 0 } else { h + 1000 };
    let mut reader = client::replay::TraceReader::open(trace).unwrap();
    let mut out = TraceHeader::current().encode();
    let mut buf = wire::CommandBuf::new();
    while let Some(rec) = reader.next_record(&mut buf).unwrap() {
        let bytes = buf.as_bytes();
        let mut new = wire::CommandBuf::new();
        match rec.kind {
            Kind::Control => {
                let (kind, payload) = client::record::split_control(bytes).unwrap();
                new.extend_raw(&bytes[..8]);
                match ControlKind::from_u32(kind).unwrap() {
                    ControlKind::MakeCurrent => {
                        let r = MakeCurrentRequest::parse(payload).unwrap();
                        let (context, draw_surface, read_surface) =
                            (handle(r.context), handle(r.draw_surface), handle(r.read_surface));
                        new.extend_raw(MakeCurrentRequest { context, draw_surface, read_surface }.as_bytes());
                    }
                    ControlKind::DestroyContext | ControlKind::DestroySurface => {
                        let h = HandlePayload::parse(payload).unwrap();
                        new.extend_raw(HandlePayload { handle: handle(h.handle) }.as_bytes());
                    }
                    _ => new.extend_raw(payload),
                }
            }
            Kind::ControlReply => {
                let (head, payload) = ControlReplyHead::split(bytes).unwrap();
                new.extend_raw(&bytes[..16]);
                let creates = matches!(
                    ControlKind::from_u32(head.kind),
                    Some(ControlKind::CreateContext | ControlKind::CreateSurface)
                );
                match HandlePayload::parse(payload) {
                    Ok(h) if creates && head.succeeded() => new.extend_raw(&handle(h.handle).to_le_bytes()),
                    _ => new.extend_raw(payload),
                }
            }
            Kind::Context => {
                new.extend_raw(&bytes[..8]);
                new.extend_raw(&handle(u64::from_le_bytes(bytes[8..16].try_into().unwrap())).to_le_bytes());
            }
            Kind::Reply => match decode_reply(bytes).unwrap().0 {
                Reply::CreateProgram(r) => CreateProgramReply { ret: r.ret + 100 }.encode(&mut new).unwrap(),
                Reply::CreateShader(r) => CreateShaderReply { ret: r.ret + 100 }.encode(&mut new).unwrap(),
                other => panic!("the demo keeps no {other:?}"),
            },
            Kind::Stream | Kind::StreamSync => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let (mut cmd, tail) = decode_command(rest).unwrap();
                    for (ns, name) in cmd.names_mut().into_iter().flatten() {
                        if ns == wire::names::Namespace::Program && *name != 0 {
                            *name += 100;
                        }
                    }
                    cmd.encode(&mut new).unwrap();
                    rest = tail;
                }
            }
            Kind::Frame => new.extend_raw(bytes),
        }
        out.extend_from_slice(&RecordHeader { kind: rec.kind as u32, id: rec.id, len: new.len() as u64 }.encode());
        out.extend_from_slice(new.as_bytes());
    }
    out
}

/// Handles and names the recording server chose are mapped to the ones this server
/// gives: a trace whose values all differ from this server's replays the same frames.
#[test]
fn values_the_server_chose_are_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let (trace, _) = record_demo(dir.path(), &socket);
    let other = dir.path().join("renamed.trace");
    let renamed = renamed(&trace);
    assert_ne!(renamed, std::fs::read(&trace).unwrap());
    std::fs::write(&other, renamed).unwrap();
    let mut runs = Vec::new();
    for (name, t) in [("as-recorded", &trace), ("renamed", &other)] {
        let frames = dir.path().join(name);
        let out = glwire(&["replay", t.to_str().unwrap(), "--socket", socket.to_str().unwrap()])
            .arg("--frames")
            .arg(&frames)
            .output()
            .unwrap();
        ok(&out);
        runs.push(frames_in(&frames));
    }
    assert_eq!(runs[0].len(), 20);
    assert_eq!(runs[1].len(), 20);
    for (a, b) in runs[0].iter().zip(&runs[1]) {
        assert_eq!(pixels(a), pixels(b), "{} differs", b.display());
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// Without a server: a private one is started (and stopped); `--loop 2` plays the
/// trace twice, in fresh sessions, numbering the frames on.
#[test]
fn a_replay_starts_its_own_server_and_loops() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let (trace, _) = record_demo(dir.path(), &socket);
    let _ = server.kill();
    let _ = server.wait();
    let frames = dir.path().join("looped");
    let runtime = dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let out = glwire(&["replay", trace.to_str().unwrap(), "--loop", "2", "--frames", frames.to_str().unwrap()])
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("40 frames in"), "{stdout}");
    let files = frames_in(&frames);
    assert_eq!(files.len(), 40);
    assert_eq!(std::fs::read(&files[19]).unwrap(), std::fs::read(&files[39]).unwrap(), "both rounds end alike");
}

#[test]
fn traces_of_another_version_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let (trace, _) = record_demo(dir.path(), &socket);
    let bytes = std::fs::read(&trace).unwrap();
    let format = client::record::TRACE_VERSION;
    let protocol = wire::protocol::PROTOCOL_VERSION;
    // The trace format (bytes 8..12), then the wire protocol (12..16).
    let cases = [
        (8, format + 1, format!("a trace of format {}", format + 1), format!("replays trace format {format}")),
        (12, protocol + 1, format!("for wire protocol {}", protocol + 1), format!("for wire protocol {protocol} only")),
    ];
    for (at, theirs, a, b) in cases {
        let mut bumped = bytes.clone();
        bumped[at..at + 4].copy_from_slice(&theirs.to_le_bytes());
        let path = dir.path().join(format!("bumped-{at}.trace"));
        std::fs::write(&path, bumped).unwrap();
        let out = glwire(&["replay", path.to_str().unwrap(), "--socket", socket.to_str().unwrap()]).output().unwrap();
        let stderr = refused(&out, "record the program again with this glwire");
        assert!(stderr.contains(&a) && stderr.contains(&b), "wanted {a:?} and {b:?}: {stderr}");
    }
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn damaged_traces_are_clear_errors_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let (trace, _) = record_demo(dir.path(), &socket);
    let bytes = std::fs::read(&trace).unwrap();
    let replay = |name: &str, content: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        glwire(&["replay", path.to_str().unwrap(), "--socket", socket.to_str().unwrap()]).output().unwrap()
    };
    refused(&replay("empty", b""), "is not a glwire trace");
    refused(&replay("garbage", &[0x5a; 4096]), "is not a glwire trace");
    refused(&replay("header-cut", &bytes[..20]), "is cut short");
    // Cut inside a record: refused before anything reaches the server.
    let out = replay("cut", &bytes[..bytes.len() - 5]);
    let stderr = refused(&out, "is cut short");
    assert!(!stderr.contains("frames in"), "{stderr}");
    // Garbage after a valid header.
    let mut junk = bytes[..32].to_vec();
    junk.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    refused(&replay("junk", &junk), "the trace is damaged");
    // A record longer than any trace holds.
    let mut long = bytes[..32].to_vec();
    long.extend_from_slice(&[4, 0, 0, 0, 1, 0, 0, 0]);
    long.extend_from_slice(&u64::MAX.to_le_bytes());
    refused(&replay("long", &long), "the trace is damaged");

    // Every cut and many single-byte changes, checked without a server: an error or a
    // shorter trace, never a panic.
    let scratch = dir.path().join("mutant");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refusals = 0;
    for len in (0..bytes.len()).step_by(7) {
        std::fs::write(&scratch, &bytes[..len]).unwrap();
        refusals += usize::from(client::replay::scan(&scratch).is_err());
    }
    assert!(refusals > 0);
    for _ in 0..2000 {
        let mut m = bytes.clone();
        let at = next() as usize % m.len();
        m[at] ^= 1 << (next() % 8);
        std::fs::write(&scratch, &m).unwrap();
        let _ = client::replay::scan(&scratch);
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// `glwire run --record TRACE OPTIONS -- python3 tests/SCRIPT` (run in `tests/`, with
/// `env` added), which must succeed.
fn record_script(socket: &Path, trace: &Path, options: &[&std::ffi::OsStr], script: &str, env: &[(&str, &str)]) {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    let out = glwire(&["run", "--socket", socket.to_str().unwrap(), "--record", trace.to_str().unwrap()])
        .args(options)
        .args(["--", "python3"])
        .arg(tests.join(script))
        .current_dir(&tests)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    ok(&out);
}

/// Replays `trace` on the server at `socket`, writing its frames into `frames`.
fn replay_frames(trace: &Path, socket: &Path, frames: &Path) {
    let out = glwire(&["replay", trace.to_str().unwrap(), "--socket", socket.to_str().unwrap()])
        .arg("--frames")
        .arg(frames)
        .output()
        .unwrap();
    ok(&out);
}

/// An X11 program's window frames (tests/egl_window.py under Xvfb, through a resize)
/// replay as the program presented them: captured while recording, replayed without X.
#[test]
fn window_frames_replay_as_they_were_presented() {
    ensure_icd_built();
    let x = xvfb::Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let (trace, captured) = (dir.path().join("window.trace"), dir.path().join("captured"));
    let capture = [std::ffi::OsStr::new("--capture"), captured.as_os_str()];
    record_script(&socket, &trace, &capture, "egl_window.py", &[("DISPLAY", &x.display)]);
    let replayed = dir.path().join("replayed");
    replay_frames(&trace, &socket, &replayed);
    // The capture skips frames its writer cannot keep up with; those it kept are
    // numbered by presented frame, as the replay numbers every frame.
    let (captured, replayed) = (frames_in(&captured), frames_in(&replayed));
    assert!(captured.len() >= 6, "{captured:?}");
    assert!(replayed.len() >= captured.len());
    for c in &captured {
        let r = replayed.iter().find(|r| r.file_name() == c.file_name());
        let r = r.unwrap_or_else(|| panic!("{} was presented and not replayed", c.display()));
        assert_eq!(pixels(c), pixels(r), "{} differs from what the program presented", r.display());
    }
    let (w, h, _) = pixels(replayed.last().unwrap());
    assert_eq!((w, h), (150, 40), "the last frames come after the window's resize");
    let _ = server.kill();
    let _ = server.wait();
}

/// A program that exits without eglTerminate, right after a large upload, still leaves
/// every frame in its trace: the ICD writes out what is queued at exit.
#[test]
fn a_program_that_exits_without_terminate_keeps_its_last_frames() {
    ensure_icd_built();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let trace = dir.path().join("exit.trace");
    record_script(&socket, &trace, &[], "egl_exit_without_terminate.py", &[]);
    let replayed = dir.path().join("replayed");
    replay_frames(&trace, &socket, &replayed);
    let frames = frames_in(&replayed);
    assert_eq!(frames.len(), 5, "{frames:?}");
    // Each frame is cleared to its own grey: 0.2, 0.4 … 1.0 (within what a 5/6/5
    // config, the first the program's choice gives, keeps of it).
    for (k, frame) in frames.iter().enumerate() {
        let (w, h, rgba) = pixels(frame);
        let grey = ((k + 1) as f32 / 5.0 * 255.0).round() as i32;
        assert_eq!((w, h), (16, 16));
        let near = |p: &[u8]| p[..3].iter().all(|&c| (i32::from(c) - grey).abs() <= 4);
        assert!(rgba.chunks(4).all(near), "frame {} is not grey {grey}: {:?}", k + 1, &rgba[..4]);
    }
    let _ = server.kill();
    let _ = server.wait();
}
