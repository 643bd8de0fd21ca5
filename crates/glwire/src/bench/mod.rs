//! `glwire bench transport`: the transport's figures and their floors, from one run.
//! It starts a private `glwire serve` (a real second process), opens contexts on it
//! over shared-memory rings and over the socket, and measures: the round trip of a
//! zero-argument synchronous call (`glGetError`), the rate of 16-byte asynchronous
//! commands (`glUniform1i`), and the rate of 1 MiB payloads (`glBufferSubData`). The
//! floors — a cache-line ping-pong, a socketpair ping-pong, memcpy of the same bytes —
//! are measured in the same run, and each figure is printed with its ratio to its floor.
//! The server runs the loopback executor, so this is the channel alone, not GL.

mod floors;
mod report;
pub(crate) mod scenes;
mod stats;

use std::time::{Duration, Instant};

use client::{CallError, Connection, Context, Forward, Path};
use wire::commands::{BufferSubData, Command, GetError, Uniform1i};

use report::{Report, Row};
use stats::Latencies;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Debug, clap::Subcommand)]
enum BenchWhat {
    /// Round trips and throughput of the command channel, against their floors.
    Transport(TransportArgs),
    /// Built-in GLES scenes (and glmark2-es2 when installed) natively and through glwire.
    Scenes(scenes::ScenesArgs),
}

#[derive(Debug, clap::Args)]
struct TransportArgs {
    /// Round trips per latency measurement.
    #[arg(long, default_value_t = 20_000)]
    rounds: u32,
    /// Asynchronous commands per throughput measurement.
    #[arg(long, default_value_t = 5_000_000)]
    calls: u32,
    /// 1 MiB payloads per bandwidth measurement.
    #[arg(long, default_value_t = 2_000)]
    payloads: u32,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    match args.what {
        BenchWhat::Transport(t) => transport(t),
        BenchWhat::Scenes(s) => scenes::run(s),
    }
}

const MIB: usize = 1 << 20;

fn progress(what: &str) {
    eprintln!("bench: {what}…");
}

fn call_error(e: CallError) -> String {
    e.to_string()
}

/// Round trips of `glGetError`.
fn sync_round_trips(ctx: &mut Context, rounds: u32) -> Result<Latencies, String> {
    let get_error = Command::GetError(GetError {});
    for _ in 0..rounds / 10 {
        ctx.call(&get_error).map_err(call_error)?;
    }
    let mut lat = Latencies::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let t = Instant::now();
        ctx.call(&get_error).map_err(call_error)?;
        lat.push(t.elapsed());
    }
    Ok(lat)
}

/// Time for `calls` asynchronous 16-byte commands, ended by one synchronous call so
/// every command has been executed when the clock stops.
fn async_rate(ctx: &mut Context, calls: u32) -> Result<f64, String> {
    let get_error = Command::GetError(GetError {});
    let start = Instant::now();
    for i in 0..calls {
        ctx.submit(&Command::Uniform1i(Uniform1i { location: 1, v0: i as i32 })).map_err(call_error)?;
    }
    ctx.call(&get_error).map_err(call_error)?;
    Ok(f64::from(calls) / start.elapsed().as_secs_f64())
}

/// Bytes per second of 1 MiB `glBufferSubData` payloads.
fn payload_rate(ctx: &mut Context, payloads: u32) -> Result<f64, String> {
    let data: Vec<u8> = (0..MIB).map(|i| i as u8).collect();
    let get_error = Command::GetError(GetError {});
    let upload = Command::BufferSubData(BufferSubData { target: 0x8892, offset: 0, size: MIB as i64, data: &data });
    for _ in 0..8 {
        ctx.submit(&upload).map_err(call_error)?;
    }
    ctx.call(&get_error).map_err(call_error)?;
    let start = Instant::now();
    for _ in 0..payloads {
        ctx.submit(&upload).map_err(call_error)?;
    }
    ctx.call(&get_error).map_err(call_error)?;
    Ok(f64::from(payloads) * MIB as f64 / start.elapsed().as_secs_f64())
}

fn transport(args: TransportArgs) -> Result<(), String> {
    progress("starting a private server");
    // The loopback executor: these figures are the channel's, not GL's.
    let server = crate::private_server::PrivateServer::start(&["--loopback"], "info")?;
    let conn = Connection::unix(server.socket(), "glwire-bench").map_err(|e| e.to_string())?;
    let (_, mut ring_ctx) = conn.new_context_on(Path::Rings).map_err(call_error)?;
    let (_, mut socket_ctx) = conn.new_context_on(Path::Socket).map_err(call_error)?;

    progress("floors: cache-line ping-pong");
    let mut line = floors::cache_line_ping_pong(args.rounds * 5);
    progress("floors: socketpair ping-pong");
    let mut pair = floors::socketpair_ping_pong(args.rounds).map_err(|e| e.to_string())?;
    progress("floors: memcpy");
    let memcpy_1m = floors::memcpy_rate(MIB, Duration::from_millis(500));
    let memcpy_16 = floors::memcpy_rate(16 * 4096, Duration::from_millis(500)) / 16.0;

    progress("sync round trips over the shared-memory ring");
    let mut ring_rtt = sync_round_trips(&mut ring_ctx, args.rounds * 5)?;
    progress("sync round trips over the socket");
    let mut socket_rtt = sync_round_trips(&mut socket_ctx, args.rounds)?;
    progress("asynchronous 16-byte commands");
    let calls = async_rate(&mut ring_ctx, args.calls)?;
    progress("1 MiB payloads");
    let bytes = payload_rate(&mut ring_ctx, args.payloads)?;

    let mut report = Report::default();
    for (name, p) in [("p50", 50.0), ("p99", 99.0)] {
        report.push(Row::latency(
            &format!("sync call RTT {name}, shm ring"),
            ring_rtt.percentile(p),
            "cache-line ping-pong",
            line.percentile(p),
        ));
    }
    for (name, p) in [("p50", 50.0), ("p99", 99.0)] {
        report.push(Row::latency(
            &format!("sync call RTT {name}, socket"),
            socket_rtt.percentile(p),
            "socketpair ping-pong",
            pair.percentile(p),
        ));
    }
    report.push(Row::rate("async 16-byte commands", calls, "calls/s", "memcpy of 16-byte blocks", memcpy_16));
    report.push(Row::rate("1 MiB payloads", bytes / 1e9, "GB/s", "memcpy of 1 MiB", memcpy_1m / 1e9));
    report.print();
    if let Some(path) = args.json {
        std::fs::write(&path, report.json()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    drop(ring_ctx);
    drop(socket_ctx);
    drop(conn);
    server.stop()
}
