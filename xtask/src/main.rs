//! glwire's maintenance tasks: `codegen` writes the checked-in generated code from the
//! Khronos registry and `codegen/annotations.toml`; `coverage` reports how each GLES
//! command is encoded. Never run by a consumer's build.

mod annotations;
mod coverage;
mod emit;
mod model;
mod registry;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <task>\n\n\
         tasks:\n  \
         codegen [--out DIR]   regenerate the checked-in code (into DIR instead of the tree)\n  \
         coverage              list every GLES 3.2 command: encoding and sync, then `covered N/358`"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => {
            let out = match args.get(1).map(String::as_str) {
                None => repo_root(),
                Some("--out") => match args.get(2) {
                    Some(dir) => PathBuf::from(dir),
                    None => return usage(),
                },
                Some(_) => return usage(),
            };
            emit::generate(&repo_root(), &out).map(|files| {
                for f in files {
                    println!("wrote {}", f.display());
                }
            })
        }
        Some("coverage") => coverage::run(&repo_root()),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
