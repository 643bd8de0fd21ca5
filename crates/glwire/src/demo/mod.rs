//! `glwire demo`: glwire's main job until window surfaces land. It runs a built-in
//! OpenGL ES 3 program through glwire, as `glwire run` would run any program, and
//! writes its last frame as a PNG. The program is this binary again (`demo-client`):
//! our own code, but an ordinary GLES program — it loads the system libEGL and
//! libGLESv2 (libglvnd), which route it to glwire.

mod app;

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to write the last frame.
    #[arg(long, default_value = "glwire-demo.png")]
    out: PathBuf,
    /// Frames to render.
    #[arg(long, default_value_t = 60)]
    frames: u32,
    /// Width and height of the frames.
    #[arg(long, default_value_t = 256)]
    size: u32,
}

pub fn run(args: DemoArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("glwire demo: cannot find the glwire binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    let argv = [
        exe.display().to_string(),
        "demo-client".into(),
        "--out".into(),
        args.out.display().to_string(),
        "--frames".into(),
        args.frames.to_string(),
        "--size".into(),
        args.size.to_string(),
    ];
    match crate::run::run_program(None, &argv, &[(client::egl::STATS_ENV, "1")]) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("glwire demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The program `glwire demo` runs (hidden from `--help`).
pub fn client(args: DemoArgs) -> ExitCode {
    match app::render(&args.out, args.frames, args.size) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glwire demo: {e}");
            ExitCode::FAILURE
        }
    }
}
