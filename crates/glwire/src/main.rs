//! The `glwire` command line: `serve` runs the render server, `run` runs a program
//! through it, `capture` records what a program's windows show, `demo` renders a
//! built-in scene through it, `bench` measures, `doctor` checks the machine, `top`
//! shows what a running server's sessions are doing, `replay` plays a trace `run
//! --record` wrote, `info` says what this build speaks.

mod bench;
mod capture;
mod demo;
mod doctor;
mod private_server;
mod replay;
mod run;
mod serve;
mod top;

use std::process::ExitCode;

use clap::Parser;
use wire::commands::{Api, Opcode, GLES_COMMANDS, GLES_EXTENSIONS, GLES_EXTENSION_COMMANDS};

/// Forward OpenGL ES and EGL from unmodified programs to a render server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the render server (the device host that owns the GPU).
    Serve(serve::ServeArgs),
    /// Run a program with glwire as its EGL/GLES driver.
    Run(run::RunArgs),
    /// Run a program through glwire and stream the frames its windows present as Y4M.
    Capture(capture::CaptureArgs),
    /// Render a built-in GLES 3 scene through glwire and write the last frame as PNG.
    Demo(demo::DemoArgs),
    /// The program `glwire demo` runs.
    #[command(hide = true)]
    DemoClient(demo::DemoArgs),
    /// Measure glwire against its floors.
    Bench(bench::BenchArgs),
    /// The program `glwire bench scenes` runs.
    #[command(hide = true)]
    BenchClient(bench::scenes::ClientArgs),
    /// Check that glwire can run here (libglvnd, the ICD, the host driver, the server,
    /// virtualization, limits) and say how to fix what is missing.
    Doctor(doctor::DoctorArgs),
    /// Show what a running server's sessions are doing: calls/s, bytes/s, fps, round
    /// trips per frame, memory; live, or one snapshot (--once, --json).
    Top(top::TopArgs),
    /// Play a trace `glwire run --record` wrote against a server; fps, and frames as PNG.
    Replay(replay::ReplayArgs),
    /// Print the protocol version and the commands this build forwards.
    Info,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Run(args) => run::run(args),
        Command::Capture(args) => capture::run(args),
        Command::Demo(args) => demo::run(args),
        Command::DemoClient(args) => demo::client(args),
        Command::Bench(args) => match bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("glwire bench: {e}");
                ExitCode::FAILURE
            }
        },
        Command::BenchClient(args) => bench::scenes::client(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Top(args) => top::run(args),
        Command::Info => {
            let egl = Opcode::ALL.iter().filter(|op| op.info().api == Api::Egl).count();
            let core = |op: &&Opcode| op.info().api == Api::Gles && op.info().extension.is_none() && !op.info().private;
            let sync = Opcode::ALL.iter().filter(core).filter(|op| op.info().sync).count();
            println!("glwire {}", env!("CARGO_PKG_VERSION"));
            println!("protocol version {}", wire::protocol::PROTOCOL_VERSION);
            println!("GLES core commands forwarded: {GLES_COMMANDS} ({sync} wait for a reply)");
            println!(
                "GLES extensions offered: {} ({GLES_EXTENSION_COMMANDS} commands of their own; the rest alias core commands)",
                GLES_EXTENSIONS.len()
            );
            println!("EGL functions with a wire layout: {egl} (the ICD answers EGL through control requests)");
            ExitCode::SUCCESS
        }
    }
}
