//! What the `glwire` binary's test files share: the ICD built beside the binary, and a
//! quiet render server of the test's own.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Builds `libEGL_glwire.so` beside the test's `glwire` binary when it is missing or
/// older than a source file of its crates (`cargo test` builds the binary, not the
/// cdylib, so a stale ICD would otherwise be tested against a fresh server). Asking
/// cargo every time would serialize the tests on its build lock.
pub fn ensure_icd_built() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_glwire"));
    let icd = bin.with_file_name("libEGL_glwire.so");
    let built = std::fs::metadata(&icd).and_then(|m| m.modified()).ok();
    if built.is_some_and(|built| newest_icd_source().is_some_and(|source| source <= built)) {
        return;
    }
    let profile = if bin.parent().is_some_and(|d| d.ends_with("release")) { vec!["--release"] } else { vec![] };
    let status = Command::new(env!("CARGO")).args(["build", "-p", "icd"]).args(profile).status().unwrap();
    assert!(status.success(), "building the ICD failed");
    assert!(icd.exists(), "no {} after building the ICD", icd.display());
}

/// When the newest source file of the ICD and the workspace crates it links was
/// changed (`None` when none can be read: then the ICD is built).
fn newest_icd_source() -> Option<std::time::SystemTime> {
    const CRATES: [&str; 5] = ["icd", "client", "wire", "transport", "framechan"];
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut newest = None;
    let mut dirs: Vec<PathBuf> = CRATES.iter().map(|c| crates.join(c)).collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                // Sources and manifests only; no build output lives in these trees.
                if name != "target" {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
                let changed = entry.metadata().ok()?.modified().ok()?;
                newest = newest.max(Some(changed));
            }
        }
    }
    newest
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
