//! EGL 1.5 on the client against a real `glwire serve` in a second process: configs
//! mirrored from the host (compared with the same program run natively on Mesa), fence
//! syncs, and their EGL errors. Needs Mesa (llvmpipe, EGL surfaceless) and python3.
//! Every wait has a deadline; a server child is killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use client::egl;

mod support;
use support::ensure_icd_built;

const MESA_VENDOR_FILE: &str = "/usr/share/glvnd/egl_vendor.d/50_mesa.json";

/// `glwire serve` on a socket in a fresh directory, killed on drop.
struct Serve {
    child: Child,
    _dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Serve {
    /// Starts the server and waits (at most 10 s) until it says where it listens.
    fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("glwire").join("gpu0");
        let mut child = Command::new(env!("CARGO_BIN_EXE_glwire"))
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let server = Serve { child, _dir: dir, socket };
        let line = rx.recv_timeout(Duration::from_secs(10)).expect("glwire serve did not start");
        assert!(line.contains("listening on unix:"), "{line}");
        server
    }

    fn connect(&self) -> client::Connection {
        client::Connection::unix(&self.socket, "egl-test").unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/egl_configs_sync.py")
}

/// The script on host Mesa directly, as a program would run without glwire.
fn run_natively(section: &str) -> Output {
    Command::new("python3")
        .arg(script())
        .arg(section)
        .env("EGL_PLATFORM", "surfaceless")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", MESA_VENDOR_FILE)
        .output()
        .unwrap()
}

fn run_through_glwire(section: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["run", "--", "python3"])
        .arg(script())
        .arg(section)
        .output()
        .unwrap()
}

/// The lines both runs must print alike.
fn same_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("same:")).map(str::to_owned).collect()
}

fn describe(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// eglGetConfigs through glwire lists as many configs as Mesa offers for GLES 2/3, and
/// eglChooseConfig picks the same configs in the same order as Mesa for requests of
/// color, depth, samples and nothing (tests/egl_configs_sync.py).
#[test]
fn configs_are_the_hosts_through_glwire_run() {
    ensure_icd_built();
    let native = run_natively("configs");
    assert!(native.status.success(), "the script fails natively on Mesa: {}", describe(&native));
    let glwire = run_through_glwire("configs");
    assert!(glwire.status.success(), "{}", describe(&glwire));
    let text = String::from_utf8_lossy(&glwire.stdout);
    assert!(text.contains("EGL vendor: glwire"), "{text}");
    let (native_lines, glwire_lines) = (same_lines(&native), same_lines(&glwire));
    assert!(native_lines.iter().any(|l| l.starts_with("same: es2 configs: ")), "{}", describe(&native));
    assert!(!native_lines.contains(&"same: es2 configs: 0".to_owned()), "Mesa offers no GLES 2 config");
    assert_eq!(glwire_lines, native_lines, "glwire's answers differ from Mesa's");
}

/// The client's configs, contexts and fence syncs against a real server: the configs
/// are the host's, a fence runs a real glFinish on the server and is signaled, and the
/// EGL errors are the ones EGL_KHR_fence_sync names.
#[test]
fn fence_syncs_and_configs_against_a_real_server() {
    const EGL_SYNC_FENCE: i32 = 0x30F9;
    let server = Serve::start(&[]);
    let dpy = 0xE62;
    assert_eq!(egl::initialize_with(dpy, server.connect()), (1, 5));
    let configs = egl::get_configs(dpy).unwrap();
    assert!(!configs.is_empty());
    for &c in &configs {
        assert_ne!(egl::get_config_attrib(dpy, c, 0x3040).unwrap() & 0x4, 0, "ES 2 renderable");
        assert_eq!(egl::get_config_attrib(dpy, c, 0x3033).unwrap() & 0x1, 0x1, "pbuffers");
    }
    let extensions = egl::query_string(dpy, 0x3055).unwrap().to_str().unwrap();
    assert!(extensions.contains("EGL_KHR_fence_sync") && extensions.contains("EGL_KHR_wait_sync"), "{extensions}");

    let wanted = [0x3033, 0x1, 0x3040, 0x40, 0x3024, 8, 0x3021, 8, 0x3025, 24, 0x3026, 8];
    let config = egl::choose_config(dpy, &wanted).unwrap()[0];
    assert_eq!(egl::get_config_attrib(dpy, config, 0x3025).unwrap(), 24);
    let ctx = egl::create_context(dpy, config, 0, &[0x3098, 3]).unwrap();
    assert_eq!(egl::create_sync(dpy, EGL_SYNC_FENCE, &[]), Err(egl::EGL_BAD_MATCH), "no current context");
    egl::make_current(dpy, 0, 0, ctx).unwrap();
    assert_eq!(egl::create_sync(dpy, 0x1234, &[]), Err(egl::EGL_BAD_ATTRIBUTE));
    assert_eq!(egl::create_sync(dpy, EGL_SYNC_FENCE, &[0x30F1, 0x30F2]), Err(egl::EGL_BAD_ATTRIBUTE));
    assert_eq!(egl::create_sync(0xBAD, EGL_SYNC_FENCE, &[]), Err(egl::EGL_BAD_DISPLAY));
    let sync = egl::create_sync(dpy, EGL_SYNC_FENCE, &[]).unwrap();
    assert_eq!(egl::client_wait_sync(dpy, sync, 0x1, u64::MAX), Ok(egl::EGL_CONDITION_SATISFIED));
    assert_eq!(egl::get_sync_attrib(dpy, sync, egl::EGL_SYNC_TYPE), Ok(EGL_SYNC_FENCE));
    assert_eq!(egl::get_sync_attrib(dpy, sync, egl::EGL_SYNC_STATUS), Ok(egl::EGL_SIGNALED));
    assert_eq!(egl::get_sync_attrib(dpy, sync, egl::EGL_SYNC_CONDITION), Ok(egl::EGL_SYNC_PRIOR_COMMANDS_COMPLETE));
    assert_eq!(egl::wait_sync(dpy, sync, 0), Ok(()));
    egl::destroy_sync(dpy, sync).unwrap();
    assert_eq!(egl::destroy_sync(dpy, sync), Err(egl::EGL_BAD_PARAMETER));
    assert_eq!(egl::client_wait_sync(dpy, sync, 0, 0), Err(egl::EGL_BAD_PARAMETER));
    // The context still works after the fences' round trips.
    let reply = client::with_current(|c| {
        use client::Forward;
        c.call(&wire::commands::Command::GetError(wire::commands::GetError {})).map(|r| r.len())
    });
    assert!(matches!(reply, Some(Ok(n)) if n > 0), "{reply:?}");
    egl::make_current(dpy, 0, 0, 0).unwrap();
    egl::destroy_context(dpy, ctx).unwrap();
    egl::terminate(dpy).unwrap();
    assert_eq!(egl::get_configs(dpy), Err(egl::EGL_NOT_INITIALIZED));
}

/// A server without host GL (`--loopback`) still lists one config, so EGL programs
/// initialize against it.
#[test]
fn a_loopback_server_offers_one_config() {
    let server = Serve::start(&["--loopback"]);
    let dpy = 0xE63;
    egl::initialize_with(dpy, server.connect());
    let configs = egl::get_configs(dpy).unwrap();
    assert_eq!(configs.len(), 1);
    assert_eq!(egl::get_config_attrib(dpy, configs[0], 0x3024), Ok(8));
    assert_eq!(egl::choose_config(dpy, &[0x3033, 0x1, 0x3040, 0x4]), Ok(configs));
    egl::terminate(dpy).unwrap();
}

/// Fence syncs from an unmodified program through libglvnd: eglCreateSync and friends,
/// and the KHR names through eglGetProcAddress.
#[test]
fn fence_syncs_work_through_glwire_run() {
    ensure_icd_built();
    let native = run_natively("sync");
    assert!(native.status.success(), "the script fails natively on Mesa: {}", describe(&native));
    let glwire = run_through_glwire("sync");
    assert!(glwire.status.success(), "{}", describe(&glwire));
    assert!(String::from_utf8_lossy(&glwire.stdout).contains("failures: 0"), "{}", describe(&glwire));
}
