//! What the `glwire` binary's test files share: the ICD built beside the binary, and a
//! quiet render server of the test's own.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Builds `libEGL_glwire.so` beside the test's `glwire` binary when it is not there
/// (`cargo test` builds the binary, not the cdylib).
pub fn ensure_icd_built() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_glwire"));
    if bin.with_file_name("libEGL_glwire.so").exists() {
        return;
    }
    let profile = if bin.parent().is_some_and(|d| d.ends_with("release")) { vec!["--release"] } else { vec![] };
    let status = Command::new(env!("CARGO")).args(["build", "-p", "icd"]).args(profile).status().unwrap();
    assert!(status.success(), "building the ICD failed");
}

/// `glwire serve` on a socket in `dir`, once its socket exists. Its output is dropped
/// but for warnings and errors, which reach the test run's own stderr: a server that
/// failed under a test says why.
pub fn serve_quiet(dir: &Path) -> (Child, PathBuf) {
    let socket = dir.join("glwire").join("gpu0");
    let server = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["serve", "--socket"])
        .arg(&socket)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(socket.exists(), "the server did not start");
    (server, socket)
}
