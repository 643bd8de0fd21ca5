//! X11 window surfaces end to end: an unmodified Xlib + EGL program (tests/egl_window.py,
//! Python through ctypes) renders into its window under `glwire run` on a real X server
//! (Xvfb) and reads its window back from X; and the frames it presents are captured as
//! PNG (`--capture`) and as Y4M (`glwire capture`). Needs Mesa, python3 and Xvfb
//! (`scripts/setup.sh` installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../../tests/support/xvfb.rs"]
mod xvfb;

mod support;
use support::{ensure_icd_built, serve_quiet};

/// Runs `tests/egl_window.py` through `glwire ARGS… -- python3 egl_window.py` on `x`.
fn window_program(x: &xvfb::Xvfb, glwire_args: &[&str]) -> Output {
    window_program_with(x, glwire_args, &[])
}

fn window_program_with(x: &xvfb::Xvfb, glwire_args: &[&str], env: &[(&str, &str)]) -> Output {
    ensure_icd_built();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(glwire_args)
        .args(["--", "python3"])
        .arg(tests.join("egl_window.py"))
        .current_dir(&tests)
        .env("DISPLAY", &x.display)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    stdout.into_owned()
}

/// The program's window shows its frames the right way up (X reads red at the top,
/// blue at the bottom), the surface follows a resize of the window, and swap interval
/// 0 works; with MIT-SHM and with plain PutImage.
#[test]
fn an_x11_program_renders_into_its_window_through_glwire_run() {
    let x = xvfb::Xvfb::start();
    // The ICD reads GLWIRE_X11_NO_SHM from the program's environment.
    for (shm, env) in [(true, vec![]), (false, vec![("GLWIRE_X11_NO_SHM", "1")])] {
        let t = text(&window_program_with(&x, &["run"], &env));
        assert!(t.contains("size: (96, 64)"), "{t}");
        assert!(t.contains("top-left: (255, 0, 0) bottom-left: (0, 0, 255)"), "shm {shm}: {t}");
        assert!(t.contains("resized: (150, 40)"), "{t}");
        assert!(t.contains("after resize top-right: (255, 0, 0) bottom-right: (0, 0, 255)"), "{t}");
        assert!(t.contains("ok"), "{t}");
    }
}

/// `glwire run --capture DIR --every N` writes every Nth presented frame as PNG, the
/// right way up; `glwire capture --y4m` streams them as Y4M of the first size.
#[test]
fn presented_frames_are_captured_as_png_and_y4m() {
    let x = xvfb::Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let pngs = dir.path().join("frames");
    let out = window_program(&x, &["run", "--capture", pngs.to_str().unwrap(), "--every", "5"]);
    text(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut files: Vec<_> = std::fs::read_dir(&pngs).unwrap().map(|e| e.unwrap().file_name()).collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?} {stderr}");
    assert_eq!(files[0], "frame-000005.png");
    // The last frame is 150x40, red over blue.
    let last = pngs.join(files.last().unwrap());
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&last).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (150, 40));
    assert_eq!(&buf[..4], &[255, 0, 0, 255], "top row red");
    let bottom = (39 * 150) * 4;
    assert_eq!(&buf[bottom..bottom + 4], &[0, 0, 255, 255], "bottom row blue");

    let y4m = dir.path().join("out.y4m");
    let out = window_program(&x, &["capture", "--y4m", y4m.to_str().unwrap()]);
    text(&out);
    let video = std::fs::read(&y4m).unwrap();
    let header = b"YUV4MPEG2 W96 H64 F60:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n";
    assert!(video.starts_with(header), "{:?}", String::from_utf8_lossy(&video[..60.min(video.len())]));
    let frame = 6 + 96 * 64 + 2 * 48 * 32;
    assert_eq!((video.len() - header.len()) % frame, 0);
    assert!((video.len() - header.len()) / frame >= 2);
    // The first frame's top-left luma is red's (82), its bottom-left blue's (41).
    let y = &video[header.len() + 6..];
    assert_eq!((y[0], y[63 * 96]), (82, 41));
    // To standard output: the video alone (the program's own prints go to stderr).
    let out = window_program(&x, &["capture", "--y4m", "-"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, video, "the same stream, and nothing else, on stdout");
    assert!(String::from_utf8_lossy(&out.stderr).contains("native visual"));
}

/// A peer dies during swaps: the program, killed while it swaps, costs the server
/// nothing (the next program's window works); the server, killed while the program
/// swaps, makes the program's next swap fail (EGL_CONTEXT_LOST) within a second,
/// never a hang.
#[test]
fn a_peer_dying_during_swaps_is_noticed() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    ensure_icd_built();
    let x = xvfb::Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    let looping = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_glwire"))
            .args(["run", "--socket"])
            .arg(&socket)
            .args(["--", "python3", "egl_window.py", "--until-lost"])
            .current_dir(&tests)
            .env("DISPLAY", &x.display)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.by_ref().find_map(|l| l.ok().filter(|l| l.starts_with("looping")));
        assert!(first.is_some(), "the program never got to its swap loop");
        std::thread::sleep(Duration::from_millis(200));
        (child, lines)
    };
    // The program dies mid-swap; the server goes on serving windows.
    let (mut program, _) = looping();
    program.kill().unwrap();
    program.wait().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["run", "--socket"])
        .arg(&socket)
        .args(["--", "python3", "egl_window.py"])
        .current_dir(&tests)
        .env("DISPLAY", &x.display)
        .output()
        .unwrap();
    assert!(text(&out).contains("top-left: (255, 0, 0) bottom-left: (0, 0, 255)"));
    // The server dies mid-swap; the program learns it at once.
    let (mut program, mut lines) = looping();
    server.kill().unwrap();
    server.wait().unwrap();
    let killed = Instant::now();
    let failed = lines.find_map(|l| l.ok().filter(|l| l.starts_with("swap failed")));
    let noticed = killed.elapsed();
    let status = program.wait().unwrap();
    assert_eq!(failed.as_deref(), Some("swap failed: EGL error 0x300e"), "EGL_CONTEXT_LOST");
    eprintln!("the program noticed the server's death after {noticed:?}");
    assert!(noticed < Duration::from_secs(1), "took {noticed:?}");
    assert_eq!(status.code(), Some(3));
}

/// `kill -9` of a program in the middle of its frames: within a second the server has
/// let go of everything that session held — its session, contexts, surfaces, object
/// names and GL memory leave the server's totals, and its context threads are gone.
#[test]
fn a_killed_program_leaves_nothing_on_the_server() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    use wire::control::{ControlKind, ServerStatsReply};
    ensure_icd_built();
    let x = xvfb::Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let mut witness = client::Session::connect_unix(&socket, "witness").unwrap();
    let mut totals = || {
        let reply = witness.call(ControlKind::QueryServerStats, &[]).unwrap();
        ServerStatsReply::parse(&reply).unwrap()
    };
    let context_threads = || {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", server.id())).unwrap();
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("glwire-context"))
            .count()
    };
    let baseline = totals();
    assert_eq!(baseline.sessions, 1, "the witness");
    // The program, run directly (no `glwire run` in between) so it is the one killed.
    let vendor = dir.path().join("10_glwire.json");
    let lib = PathBuf::from(env!("CARGO_BIN_EXE_glwire")).with_file_name("libEGL_glwire.so");
    let json = format!("{{\"file_format_version\":\"1.0.0\",\"ICD\":{{\"library_path\":\"{}\"}}}}", lib.display());
    std::fs::write(&vendor, json).unwrap();
    let mut program = Command::new("python3")
        .args(["egl_window.py", "--until-lost"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests"))
        .env("DISPLAY", &x.display)
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", &vendor)
        .env(transport::endpoint::SOCKET_ENV, &socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(program.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.starts_with("looping"))), "the program never got to its frames");
    std::thread::sleep(Duration::from_millis(200));
    let busy = totals();
    assert_eq!(busy.sessions, 2);
    assert!(busy.totals.contexts >= 1 && busy.totals.surfaces >= 1, "{busy:?}");
    assert!(busy.totals.objects >= 2 && busy.totals.gl_bytes >= 64 * 64 * 4 + 4096, "{busy:?}");
    assert!(context_threads() >= 1);
    program.kill().unwrap();
    program.wait().unwrap();
    let killed = Instant::now();
    while (totals() != baseline || context_threads() != 0) && killed.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let freed = killed.elapsed();
    eprintln!("everything of the killed program was freed after {freed:?}");
    assert_eq!(totals(), baseline);
    assert_eq!(context_threads(), 0);
    assert!(freed < Duration::from_secs(1), "took {freed:?}");
    server.kill().unwrap();
    server.wait().unwrap();
}
