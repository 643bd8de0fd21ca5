//! `cargo xtask coverage`: runs the wire crate's coverage example, which reports every
//! command's encoding and reply kind and round-trips each one. It runs as a separate
//! build so the generator never depends on the code it generates.

use std::path::Path;
use std::process::Command;

pub fn run(root: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--release", "-p", "wire", "--features", "arbitrary", "--example", "coverage"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("coverage report failed ({status})"))
    }
}
