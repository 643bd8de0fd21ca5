//! The `glwire` command line. Today it reports what this build speaks; `serve`, `run`,
//! `demo` and the other commands of DESIGN.md arrive with the issues that build them.

use clap::Parser;
use wire::commands::{Api, Opcode, GLES_COMMANDS};

/// Forward OpenGL ES and EGL from unmodified programs to a render server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the protocol version and the commands this build forwards.
    Info,
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Info => {
            let egl = Opcode::ALL.iter().filter(|op| op.info().api == Api::Egl).count();
            let sync = Opcode::ALL.iter().filter(|op| op.info().api == Api::Gles && op.info().sync).count();
            println!("glwire {}", env!("CARGO_PKG_VERSION"));
            println!("protocol version {}", wire::protocol::PROTOCOL_VERSION);
            println!("GLES commands forwarded: {GLES_COMMANDS} ({sync} wait for a reply)");
            println!("EGL functions forwarded: {egl}");
        }
    }
}
