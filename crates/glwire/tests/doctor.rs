//! `glwire doctor` as a user runs it: the real binary against a real `glwire serve`, a
//! socket nothing listens on, and machines missing what rendering needs (no ICD beside
//! the binary, no host EGL driver). Checks the rows a user reads and the exit status
//! scripts read. Needs host EGL (Mesa, llvmpipe is enough), as the server does.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output};

use wire::protocol::PROTOCOL_VERSION;

mod support;
use support::{ensure_icd_built, serve_quiet};

fn doctor(args: &[&str], env: &[(&str, &str)]) -> Output {
    ensure_icd_built();
    doctor_with(Path::new(env!("CARGO_BIN_EXE_glwire")), args, env)
}

fn doctor_with(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(exe)
        .arg("doctor")
        .args(args)
        // The caller's environment must not decide what the test sees.
        .env_remove("GLWIRE_SOCKET")
        .env_remove("GLWIRE_HOST_EGL_VENDOR")
        .env_remove("__EGL_VENDOR_LIBRARY_FILENAMES")
        .env_remove("__EGL_VENDOR_LIBRARY_DIRS")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The table lines of the row `check`: its first line and its continuation lines
/// (detail and fix), which start with blanks.
fn row(table: &str, check: &str) -> Vec<String> {
    let mut lines = table.lines().skip_while(|l| !l.starts_with(&format!("{check}  ")));
    let Some(first) = lines.next() else { panic!("no {check} row in:\n{table}") };
    let mut row = vec![first.to_owned()];
    row.extend(lines.take_while(|l| l.starts_with(' ')).map(str::to_owned));
    row
}

fn status(row: &[String], check: &str) -> String {
    row[0][check.len()..].split_whitespace().next().unwrap_or("").to_owned()
}

#[test]
fn a_running_server_is_reachable_with_its_protocol_version() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, socket) = serve_quiet(dir.path());
    let out = doctor(&["--socket", socket.to_str().unwrap()], &[]);
    let table = stdout(&out);
    let server_row = row(&table, "server");
    assert_eq!(status(&server_row, "server"), "ok", "{table}");
    assert!(server_row[0].contains(&format!("reachable at {} (--socket)", socket.display())), "{table}");
    assert!(
        server_row[1].contains(&format!("protocol {PROTOCOL_VERSION} (this glwire speaks {PROTOCOL_VERSION})")),
        "{table}"
    );
    // The host this test runs on renders (the server above does), so nothing fails.
    assert_eq!(out.status.code(), Some(0), "{table}\n{}", String::from_utf8_lossy(&out.stderr));
    for check in ["libglvnd", "egl vendors", "glwire icd", "host egl", "shared memory"] {
        assert_eq!(status(&row(&table, check), check), "ok", "{check}:\n{table}");
    }
    assert!(row(&table, "renderer")[0].contains("by "), "{table}");

    // The same as JSON, for scripts.
    let out = doctor(&["--json", "--socket", socket.to_str().unwrap()], &[]);
    let json = stdout(&out);
    assert!(json.starts_with("{\"ok\":true,\"checks\":["), "{json}");
    assert!(json.contains("{\"check\":\"server\",\"status\":\"ok\",\"detail\":[\"reachable at "), "{json}");
    assert_eq!(out.status.code(), Some(0));
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn no_server_is_a_warning_that_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    // No socket file at all, from --socket.
    let missing = dir.path().join("gpu0");
    let out = doctor(&["--socket", missing.to_str().unwrap()], &[]);
    let table = stdout(&out);
    let server_row = row(&table, "server");
    assert_eq!(status(&server_row, "server"), "warn", "{table}");
    assert!(server_row[0].contains(&format!("no server at {} (--socket): no socket there", missing.display())));
    assert!(server_row.iter().any(|l| l.contains("fix:") && l.contains("glwire serve &")), "{table}");
    assert_eq!(out.status.code(), Some(0), "no server does not block rendering: {table}");

    // A socket file a dead server left behind, named by $GLWIRE_SOCKET.
    let stale = dir.path().join("stale");
    drop(UnixListener::bind(&stale).unwrap());
    let out = doctor(&["--json"], &[("GLWIRE_SOCKET", stale.to_str().unwrap())]);
    let json = stdout(&out);
    let expected = format!(
        "{{\"check\":\"server\",\"status\":\"warn\",\"detail\":[\"no server at {} ($GLWIRE_SOCKET): a socket file \
         nothing listens on\"],\"fix\":\"start one with `glwire serve &`",
        stale.display()
    );
    assert!(json.contains(&expected), "{json}");
    assert!(json.starts_with("{\"ok\":true"), "{json}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_missing_icd_fails_with_the_build_command() {
    // A copy of the binary with no libEGL_glwire.so beside it: `glwire run` could not work.
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("glwire");
    std::fs::copy(env!("CARGO_BIN_EXE_glwire"), &exe).unwrap();
    let out = doctor_with(&exe, &["--socket", dir.path().join("none").to_str().unwrap()], &[]);
    let table = stdout(&out);
    let icd = row(&table, "glwire icd");
    assert_eq!(status(&icd, "glwire icd"), "FAIL", "{table}");
    assert!(icd[0].contains(&format!("{} is missing", dir.path().join("libEGL_glwire.so").display())), "{table}");
    assert!(icd.iter().any(|l| l.contains("cargo build --release -p glwire -p icd")), "{table}");
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(table.contains("1 problem(s) block rendering"), "{table}");
}

#[test]
fn no_host_egl_driver_fails_the_host_rows() {
    let dir = tempfile::tempdir().unwrap();
    let vendor = dir.path().join("no_such_vendor.json");
    let out = doctor(
        &["--socket", dir.path().join("none").to_str().unwrap()],
        &[("GLWIRE_HOST_EGL_VENDOR", vendor.to_str().unwrap())],
    );
    let table = stdout(&out);
    let host = row(&table, "host egl");
    assert_eq!(status(&host, "host egl"), "FAIL", "{table}");
    assert!(host[0].contains(&format!("host EGL vendor file {} not found", vendor.display())), "{table}");
    assert!(host.iter().any(|l| l.contains("fix:") && l.contains("libegl-mesa0")), "{table}");
    assert_eq!(status(&row(&table, "renderer"), "renderer"), "FAIL", "{table}");
    assert_eq!(out.status.code(), Some(1), "{table}");
}

#[test]
fn vendor_files_are_listed_in_libglvnd_order_with_glwire_s_place() {
    ensure_icd_built();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let icd = Path::new(env!("CARGO_BIN_EXE_glwire")).with_file_name("libEGL_glwire.so");
    let json = |lib: &str| format!("{{\"file_format_version\":\"1.0.0\",\"ICD\":{{\"library_path\":\"{lib}\"}}}}");
    std::fs::write(b.join("60_glwire.json"), json(icd.to_str().unwrap())).unwrap();
    std::fs::write(b.join("10_first.json"), json("libEGL_mesa.so.0")).unwrap();
    std::fs::write(a.join("99_broken.json"), "{ not json").unwrap();
    let dirs = format!("{}:{}", a.display(), b.display());
    let out = doctor(&["--socket", "/nonexistent/gpu0"], &[("__EGL_VENDOR_LIBRARY_DIRS", &dirs)]);
    let table = stdout(&out);
    let vendors = row(&table, "egl vendors");
    assert_eq!(status(&vendors, "egl vendors"), "warn", "the broken file is skipped: {table}");
    assert!(vendors[0].contains("from __EGL_VENDOR_LIBRARY_DIRS"), "{table}");
    // Directory a before directory b, whatever the names; file-name order within b.
    assert!(vendors[1].contains("1. ") && vendors[1].contains("99_broken.json") && vendors[1].contains("not JSON"));
    assert!(vendors[2].contains("2. ") && vendors[2].contains("10_first.json"), "{table}");
    assert!(vendors[3].contains("3. ") && vendors[3].contains("60_glwire.json"), "{table}");
    let icd_row = row(&table, "glwire icd");
    assert_eq!(status(&icd_row, "glwire icd"), "ok", "{table}");
    assert!(
        icd_row.iter().any(|l| l.contains("system-wide:")
            && l.contains("60_glwire.json")
            && l.contains("vendor 3 of 3, after 99_broken.json, 10_first.json")),
        "{table}"
    );
    assert_eq!(out.status.code(), Some(0), "{table}");
}
