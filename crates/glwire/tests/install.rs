//! Running glwire as a service: `scripts/install.sh` into a temporary prefix and glvnd
//! directory (no root needed) and back out, and `glwire serve` started the way systemd's
//! socket activation starts it — a listening socket bound beforehand and handed over as
//! descriptor 3 with `LISTEN_PID`/`LISTEN_FDS` — serving a real client through it.

use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use client::Session;
use rustix::process::{kill_process, Pid, Signal};
use wire::control::ControlKind;
use wire::protocol::PROTOCOL_VERSION;

mod support;
use support::ensure_icd_built;

fn install_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install.sh")
}

fn bin_dir() -> PathBuf {
    ensure_icd_built();
    Path::new(env!("CARGO_BIN_EXE_glwire")).parent().unwrap().to_path_buf()
}

fn install(args: &[&str]) -> Output {
    let out = Command::new("bash").arg(install_script()).args(args).output().unwrap();
    eprintln!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn install_puts_everything_in_place_and_uninstall_takes_exactly_it_away() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("prefix");
    let glvnd = tmp.path().join("glvnd/egl_vendor.d");
    // Something of someone else's in the prefix: it and its directory must stay.
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::fs::write(prefix.join("bin/other"), "not glwire's").unwrap();
    let bins = bin_dir();
    let (p, g, b) = (prefix.to_str().unwrap(), glvnd.to_str().unwrap(), bins.to_str().unwrap());

    let out = install(&["--prefix", p, "--glvnd-dir", g, "--bin-dir", b]);
    assert!(out.status.success());
    let exe = prefix.join("bin/glwire");
    assert_eq!(std::fs::metadata(&exe).unwrap().permissions().mode() & 0o777, 0o755);
    let lib = prefix.join("lib/glwire/libEGL_glwire.so");
    assert!(lib.is_file());
    assert_eq!(
        std::fs::read_link(prefix.join("bin/libEGL_glwire.so")).unwrap(),
        Path::new("../lib/glwire/libEGL_glwire.so")
    );
    assert_eq!(
        text(&glvnd.join("60_glwire.json")).trim(),
        format!("{{\"file_format_version\":\"1.0.0\",\"ICD\":{{\"library_path\":\"{}\"}}}}", lib.display())
    );
    let units = prefix.join("lib/systemd/user");
    let service = text(&units.join("glwire.service"));
    assert!(service.contains(&format!("ExecStart={} serve --socket %t/glwire/gpu0\n", exe.display())), "{service}");
    assert!(!service.contains("@BINDIR@"), "{service}");
    let socket = text(&units.join("glwire.socket"));
    for line in ["ListenStream=%t/glwire/gpu0", "SocketMode=0600", "DirectoryMode=0700", "Accept=no"] {
        assert!(socket.lines().any(|l| l == line), "{line} missing:\n{socket}");
    }
    assert!(prefix.join("lib/glwire/install-manifest").is_file());

    // The installed glwire finds its ICD (through the link) and the installed vendor
    // file, placed after the directory listed first.
    let out = Command::new(&exe)
        .args(["doctor", "--socket", "/nonexistent/gpu0"])
        .env("__EGL_VENDOR_LIBRARY_DIRS", format!("{}:{g}", tmp.path().join("empty").display()))
        .env_remove("__EGL_VENDOR_LIBRARY_FILENAMES")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&format!("for `glwire run`: {}", prefix.join("bin/libEGL_glwire.so").display())), "{table}");
    assert!(
        table.contains(&format!(
            "system-wide: {} ({} loads); vendor 1 of 1: glwire answers programs' default EGL display",
            glvnd.join("60_glwire.json").display(),
            lib.display()
        )),
        "{table}"
    );

    // Installing again replaces the first install.
    assert!(install(&["--prefix", p, "--glvnd-dir", g, "--bin-dir", b, "--priority", "70"]).status.success());
    assert!(!glvnd.join("60_glwire.json").exists());
    assert!(glvnd.join("70_glwire.json").exists());

    let out = install(&["--uninstall", "--prefix", p]);
    assert!(out.status.success());
    assert_eq!(text(&prefix.join("bin/other")), "not glwire's");
    let left: Vec<_> = walk(tmp.path());
    assert_eq!(left, [prefix.clone(), prefix.join("bin"), prefix.join("bin/other")], "left behind: {left:?}");

    let out = install(&["--uninstall", "--prefix", p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no install manifest"));
}

/// Every path under `dir`, sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        }
    }
    out.sort();
    out
}

#[test]
fn uninstall_keeps_a_file_changed_since_install() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("p");
    let glvnd = tmp.path().join("g");
    let bins = bin_dir();
    let (p, g, b) = (prefix.to_str().unwrap(), glvnd.to_str().unwrap(), bins.to_str().unwrap());
    assert!(install(&["--prefix", p, "--glvnd-dir", g, "--bin-dir", b]).status.success());
    let service = prefix.join("lib/systemd/user/glwire.service");
    std::fs::write(&service, "[Service]\nExecStart=/usr/bin/true\n").unwrap();
    let out = install(&["--uninstall", "--prefix", p]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("kept {}: it changed since glwire installed it", service.display())), "{said}");
    assert!(service.exists());
    assert!(!prefix.join("bin/glwire").exists());
    assert!(!glvnd.exists());
}

#[test]
fn install_says_what_is_wrong_with_its_input() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--prefix", p.to_str().unwrap(), "--bin-dir", empty.to_str().unwrap()],
            "cargo build --release -p glwire -p icd",
        ),
        (&["--prefix", "relative/dir"], "--prefix must be an absolute path"),
        (&["--priority", "5"], "--priority takes two digits"),
        (&["--frobnicate"], "unknown argument '--frobnicate'"),
    ];
    for (args, message) in cases {
        let out = install(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{args:?}");
    }
    assert!(!p.exists(), "a refused install touches nothing");
}

/// `glwire serve` started as systemd starts a socket-activated service: `listener` is
/// descriptor 3 and `LISTEN_PID` is the server's own pid (the shell's `$$`, kept by
/// `exec`). Its output is collected.
struct Activated {
    child: Child,
    stdout: Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn serve_activated(fd: BorrowedFd<'_>, socket: &Path) -> Activated {
    let raw = fd.as_raw_fd();
    // bash moves the socket to descriptor 3 (any number, unlike sh) and closes the
    // original, so the server holds exactly the one systemd would pass.
    let mv = if raw == 3 { String::new() } else { format!("exec 3<&{raw} {raw}<&-; ") };
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(r#"{mv}LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=glwire.socket exec "$0" serve --socket "$1""#))
        .arg(env!("CARGO_BIN_EXE_glwire"))
        .arg(socket)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs in the forked child before exec and makes one
    // fcntl(F_SETFD) system call, which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            // SAFETY: `raw` is the listener's descriptor, open in the parent when it
            // forked and so in this child too.
            let fd = BorrowedFd::borrow_raw(raw);
            // Rust opens every descriptor close-on-exec; this one must cross exec.
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).map_err(std::io::Error::from)
        });
    }
    let mut child = cmd.spawn().unwrap();
    let (tx, stdout) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    Activated { child, stdout, stderr }
}

impl Activated {
    /// Waits up to 10 s for the server to exit; its status and log.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        (status.code(), self.stderr.join().unwrap())
    }

    fn stop(self) -> (Option<i32>, String) {
        kill_process(Pid::from_raw(self.child.id() as i32).unwrap(), Signal::TERM).unwrap();
        self.finish()
    }
}

/// A private directory holding the socket path, as systemd makes with DirectoryMode=0700.
fn socket_dir(tmp: &Path) -> PathBuf {
    let dir = tmp.join("glwire");
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    dir.join("gpu0")
}

#[test]
fn serve_takes_over_the_socket_systemd_passes_and_leaves_it_for_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = socket_dir(tmp.path());
    let listener = UnixListener::bind(&socket).unwrap();

    for start in 1..=2 {
        let server = serve_activated(listener.as_fd(), &socket);
        // No waiting for the server: the socket listens already, so a client connects
        // at once and its hello waits in the socket until the server takes it.
        let mut session = Session::connect_unix(&socket, "activation-test").unwrap();
        assert_eq!(session.welcome().version, PROTOCOL_VERSION);
        assert_eq!(session.call(ControlKind::Ping, b"activated").unwrap(), b"activated");
        session.close().unwrap();
        let line = server.stdout.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(line, format!("glwire serve: listening on unix:{}", socket.display()), "start {start}");
        let (code, log) = server.stop();
        assert_eq!(code, Some(0), "start {start}: {log}");
        assert!(log.contains("using the socket systemd passed"), "{log}");
        // The file is systemd's: it stays, and the listener keeps taking connections
        // that start the server again.
        assert!(socket.exists(), "start {start}: the server removed systemd's socket");
    }
}

#[test]
fn serve_refuses_a_passed_descriptor_that_is_not_its_listening_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = socket_dir(tmp.path());

    // A connected socket, as Accept=yes would pass.
    let (a, _b) = UnixStream::pair().unwrap();
    let (code, log) = serve_activated(a.as_fd(), &socket).finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("systemd socket activation: descriptor 3 is not listening"), "{log}");
    assert!(log.contains("Accept=no"), "{log}");

    // A listening socket bound elsewhere than --socket.
    let elsewhere = tmp.path().join("elsewhere");
    let listener = UnixListener::bind(&elsewhere).unwrap();
    let (code, log) = serve_activated(listener.as_fd(), &socket).finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains(&format!("bound to {}", elsewhere.display())) && log.contains("ListenStream="), "{log}");
    assert!(!socket.exists(), "nothing was bound in its place");
}

/// A tool of systemd's, or `None` (with a note) where systemd is not installed.
fn systemd_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("{name} is not installed (package systemd): this check is skipped");
    }
    found
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned()
}

#[test]
fn systemd_socket_activate_starts_serve_on_the_first_connection() {
    let Some(activate) = systemd_tool("systemd-socket-activate") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let socket = socket_dir(tmp.path());
    let mut child = Command::new(activate)
        .arg(format!("--listen={}", socket.display()))
        .args(["-E", "RUST_LOG=info", env!("CARGO_BIN_EXE_glwire"), "serve", "--socket"])
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(socket.exists(), "systemd-socket-activate did not listen");
    // Listening, and no server yet: it starts on the first connection.
    assert!(comm(child.id()).starts_with("systemd-socket"), "{}", comm(child.id()));
    let mut session = Session::connect_unix(&socket, "activation-test").unwrap();
    assert_eq!(session.welcome().version, PROTOCOL_VERSION);
    assert_eq!(session.call(ControlKind::Ping, b"on demand").unwrap(), b"on demand");
    session.close().unwrap();
    assert_eq!(comm(child.id()), "glwire", "the server runs in the activated process");
    kill_process(Pid::from_raw(child.id() as i32).unwrap(), Signal::TERM).unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("using the socket systemd passed"), "{log}");
}

#[test]
fn the_installed_units_pass_systemd_s_checks() {
    let Some(analyze) = systemd_tool("systemd-analyze") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("p");
    let bins = bin_dir();
    let (p, g, b) = (prefix.to_str().unwrap(), tmp.path().join("g"), bins.to_str().unwrap());
    assert!(install(&["--prefix", p, "--glvnd-dir", g.to_str().unwrap(), "--bin-dir", b]).status.success());
    // `--user` needs a runtime directory for %t.
    let runtime = tmp.path().join("runtime");
    std::fs::DirBuilder::new().mode(0o700).create(&runtime).unwrap();
    let units = prefix.join("lib/systemd/user");
    let out = Command::new(analyze)
        .args(["verify", "--user"])
        .arg(units.join("glwire.socket"))
        .arg(units.join("glwire.service"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
}
