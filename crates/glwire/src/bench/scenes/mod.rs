//! `glwire bench scenes`: the same GLES workloads natively and through glwire in one
//! invocation, with their ratios.
//!
//! - Built-in scenes (`program`): draw-call heavy, texture-upload heavy, readback heavy
//!   and a typical mixed frame, each an ordinary GLES program (this binary's hidden
//!   `bench-client`) run natively (Mesa's vendor) and through `glwire run`. Both
//!   programs run at once, but take turns: after one warm-up burst each, one burst of
//!   frames each per round (`--rounds`, the first side alternating), each burst ended
//!   by `glFinish`. Turns of a fraction of a second put both sides of a pair on nearly
//!   the same machine, whose speed on a shared host drifts by more than the gap being
//!   measured; the ratio is the median of the rounds' ratios, with its quartiles.
//!   Frames per second (each side's median burst), and the centre pixel of a
//!   reference frame on both sides.
//! - Round trips per frame through glwire: the ICD prints the session's figures as the
//!   server counted them at `eglTerminate` (`GLWIRE_STATS`). A calibration run of the
//!   scene with as many bursts of no frames gives the setup's share (compiles, uniform
//!   locations, the warm-up and reference frames, each burst's `glFinish`); the timed
//!   run's figures minus the calibration's, over its frames, are the per-frame figures
//!   — exact, since a scene makes the same calls on every run.
//! - CPU time per frame on each side, less sensitive to other load than frame rates:
//!   the program with its driver threads natively; the program and the render server
//!   through glwire (the calibration runs' share taken out the same way).
//! - glmark2-es2 (`glmark2`), when installed and an X server is at hand.
//! - The transport's floors, measured in-process with the transport bench's code.
//!
//! A render server is started once for every glwire run (and stopped at the end).

mod child;
mod gl;
mod glmark2;
mod program;

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use child::{BurstProgram, Launcher, SceneRun, SessionStats, Side};
use program::Length;
pub use program::SCENES;

/// A burst's or a run's length in seconds: more than 0, at most an hour.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 3600.0 => Ok(t),
        Ok(_) => Err("must be more than 0 and at most 3600 seconds".into()),
        Err(e) => Err(format!("not a number of seconds: {e}")),
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT, e.g. 640x480")?;
    let w: u32 = w.trim().parse().map_err(|e| format!("width: {e}"))?;
    let h: u32 = h.trim().parse().map_err(|e| format!("height: {e}"))?;
    if !(1..=8192).contains(&w) || !(1..=8192).contains(&h) {
        return Err("width and height must be 1..8192".into());
    }
    Ok((w, h))
}

#[derive(Debug, clap::Args)]
pub struct ScenesArgs {
    /// Timed frames per burst (instead of --seconds).
    #[arg(long)]
    frames: Option<u32>,
    /// Seconds of timed frames per burst, when --frames is not given.
    #[arg(long, default_value_t = 0.5, value_parser = parse_seconds)]
    seconds: f64,
    /// Rounds per start of the scene's programs: one burst on each side (the first
    /// side alternates). The ratio is the median of all rounds' ratios.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    rounds: u32,
    /// Times each scene's two programs are started (one pair after the other): a
    /// process's placement on the machine sways its speed for its whole life.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    starts: u32,
    /// Runs of glmark2-es2 per side (sides alternate; each side's best score counts).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
    glmark2_rounds: u32,
    /// Size of the frames (and of glmark2's window).
    #[arg(long, default_value = "640x480", value_parser = parse_size)]
    size: (u32, u32),
    /// Only these scenes (comma-separated: draws,upload,readback,mixed).
    #[arg(long, value_delimiter = ',')]
    scenes: Vec<String>,
    /// Seconds per glmark2 scene.
    #[arg(long, default_value_t = 3)]
    glmark2_seconds: u32,
    /// Leave glmark2-es2 out.
    #[arg(long)]
    no_glmark2: bool,
    /// Leave the transport floors out.
    #[arg(long)]
    no_floors: bool,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Arguments of the scene program (`glwire bench-client`).
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// draws, upload, readback or mixed.
    #[arg(long)]
    scene: String,
    /// Timed frames (instead of --seconds).
    #[arg(long)]
    frames: Option<u32>,
    /// Seconds of timed frames, when --frames is not given.
    #[arg(long, default_value_t = 3.0, value_parser = parse_seconds)]
    seconds: f64,
    #[arg(long, default_value = "640x480", value_parser = parse_size)]
    size: (u32, u32),
    /// Timed frames in bursts asked for on stdin (the bench's protocol), instead of
    /// --frames or --seconds.
    #[arg(long, conflicts_with = "frames")]
    bursts: bool,
}

/// The scene program (hidden `glwire bench-client`).
pub fn client(args: ClientArgs) -> ExitCode {
    let length = match (args.bursts, args.frames) {
        (true, _) => None,
        (false, Some(n)) => Some(program::Length::Frames(n)),
        (false, None) => Some(program::Length::Seconds(args.seconds)),
    };
    match program::run(&args.scene, length, args.size.0 as i32, args.size.1 as i32) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glwire bench-client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A progress line on stderr: rewritten in place on a terminal, one line per step
/// otherwise.
#[derive(Debug)]
struct Progress {
    tty: bool,
    step: u32,
    total: u32,
}

impl Progress {
    fn show(&mut self, what: &str) {
        self.step += 1;
        if self.tty {
            eprint!("\r\x1b[Kbench scenes [{}/{}] {what}…", self.step, self.total);
        } else {
            eprintln!("bench scenes [{}/{}] {what}…", self.step, self.total);
        }
    }

    fn done(&self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }
}

/// One scene's results.
#[derive(Debug)]
struct SceneResult {
    name: String,
    /// Each side's runs, added up: the bursts' totals, CPU and session figures, and
    /// the pixel (the same in every run).
    native: Result<SceneRun, String>,
    glwire: Result<SceneRun, String>,
    /// How many times each side's program was started.
    starts: u32,
    /// One calibration run (bursts of no frames) of each side: the setup's share of
    /// each start.
    setup_native: Result<SceneRun, String>,
    setup: Result<SceneRun, String>,
    /// Frames per second of each round's two bursts: (native, glwire).
    rounds: Vec<(f64, f64)>,
}

/// The `q`-quantile (0–1) of `xs` (sorted here), interpolated; `None` when empty.
fn quantile(xs: &mut [f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let at = q.clamp(0.0, 1.0) * (xs.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    Some(xs[lo] + (xs[hi] - xs[lo]) * (at - lo as f64))
}

impl SceneResult {
    /// Each round's glwire fps ÷ native fps.
    fn round_ratios(&self) -> Vec<f64> {
        self.rounds.iter().filter(|(n, _)| *n > 0.0).map(|(n, g)| g / n).collect()
    }

    /// The median of the rounds' ratios, and their first and third quartiles.
    fn ratio(&self) -> Option<(f64, f64, f64)> {
        let mut r = self.round_ratios();
        Some((quantile(&mut r, 0.5)?, quantile(&mut r, 0.25)?, quantile(&mut r, 0.75)?))
    }

    /// Each side's median burst, in frames per second.
    fn median_fps(&self, side: Side) -> Option<f64> {
        let mut fps: Vec<f64> = self.rounds.iter().map(|&(n, g)| if side == Side::Native { n } else { g }).collect();
        quantile(&mut fps, 0.5)
    }

    /// The glwire run's figures per timed frame: (round trips, commands, bytes to the
    /// server, bytes back).
    fn per_frame(&self) -> Option<[f64; 4]> {
        let g = self.glwire.as_ref().ok()?;
        let (s, c) = (g.stats?, self.setup.as_ref().ok()?.stats?);
        if g.frames == 0 {
            return None;
        }
        let f = f64::from(g.frames);
        let k = u64::from(self.starts);
        let d = |a: u64, b: u64| a.saturating_sub(b.saturating_mul(k)) as f64 / f;
        Some([
            d(s.round_trips, c.round_trips),
            d(s.commands, c.commands),
            d(s.bytes_in, c.bytes_in),
            d(s.bytes_out, c.bytes_out),
        ])
    }

    /// CPU milliseconds per timed frame on `side` (program, its driver threads and,
    /// through glwire, the render server), the calibration run's share taken out.
    fn cpu_ms_per_frame(&self, side: Side) -> Option<f64> {
        let (run, setup) = match side {
            Side::Native => (self.native.as_ref().ok()?, self.setup_native.as_ref().ok()?),
            Side::Glwire => (self.glwire.as_ref().ok()?, self.setup.as_ref().ok()?),
        };
        if run.frames == 0 {
            return None;
        }
        let setup = setup.cpu.saturating_mul(self.starts);
        Some(run.cpu.saturating_sub(setup).as_secs_f64() * 1e3 / f64::from(run.frames))
    }

    fn pixels_match(&self) -> Option<bool> {
        Some(self.native.as_ref().ok()?.pixel == self.glwire.as_ref().ok()?.pixel)
    }
}

/// The transport's figures and floors (see `glwire bench transport`), with small counts.
#[derive(Debug)]
struct Floors {
    ring_rtt_p50_us: f64,
    ring_rtt_p99_us: f64,
    cache_line_p50_us: f64,
    async_calls_per_s: f64,
    memcpy_16_per_s: f64,
    payload_bytes_per_s: f64,
    memcpy_1m_bytes_per_s: f64,
}

fn floors() -> Result<Floors, String> {
    use super::{async_rate, floors, payload_rate, sync_round_trips, MIB};
    let server = crate::private_server::PrivateServer::start(&["--loopback"], "warn")?;
    let conn = client::Connection::unix(server.socket(), "glwire-bench").map_err(|e| e.to_string())?;
    let (_, mut ctx) = conn.new_context_on(client::Path::Rings).map_err(|e| e.to_string())?;
    let mut line = floors::cache_line_ping_pong(20_000);
    let mut ring = sync_round_trips(&mut ctx, 20_000)?;
    let calls = async_rate(&mut ctx, 1_000_000)?;
    let payload = payload_rate(&mut ctx, 300)?;
    let memcpy_16 = floors::memcpy_rate(16 * 4096, Duration::from_millis(200)) / 16.0;
    let memcpy_1m = floors::memcpy_rate(MIB, Duration::from_millis(200));
    drop(ctx);
    drop(conn);
    server.stop()?;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Ok(Floors {
        ring_rtt_p50_us: us(ring.percentile(50.0)),
        ring_rtt_p99_us: us(ring.percentile(99.0)),
        cache_line_p50_us: us(line.percentile(50.0)),
        async_calls_per_s: calls,
        memcpy_16_per_s: memcpy_16,
        payload_bytes_per_s: payload,
        memcpy_1m_bytes_per_s: memcpy_1m,
    })
}

/// The scene's two programs (`argv`, in burst mode) run at once, taking turns for
/// `rounds` bursts of `length` each: each side's whole run, and each round's frames
/// per second (native, glwire). Through glwire the render server's CPU time over the
/// runs is added to the program's: it serves only that side.
struct Duet<'a> {
    launcher: &'a Launcher,
    server_pid: Option<u32>,
    limit: Duration,
}

type DuetRuns = (Result<SceneRun, String>, Result<SceneRun, String>, Vec<(f64, f64)>);

impl Duet<'_> {
    fn run(&self, argv: &[String], rounds: u32, length: Length, progress: &mut dyn FnMut(u32)) -> DuetRuns {
        let server_cpu = || self.server_pid.map_or(Duration::ZERO, child::process_cpu);
        let before = server_cpu();
        let start = |side| BurstProgram::start(self.launcher.command(side, argv), self.limit);
        let (native, glwire) = (start(Side::Native), start(Side::Glwire));
        let (mut native, mut glwire) = match (native, glwire) {
            (Ok(n), Ok(g)) => (n, g),
            (n, g) => {
                let why = |r: Result<BurstProgram, String>| r.err().unwrap_or_else(|| "the other side failed".into());
                return (Err(why(n)), Err(why(g)), Vec::new());
            }
        };
        let mut failed = (None, None);
        // One burst a side first, not counted: a driver grows its heaps over its first
        // few hundred frames (page faults, heap growth), and rounds measured then read
        // the warm-up rather than the steady state (the second round of each start was
        // often the lowest). Its frames count in the run's per-frame figures like any
        // other, and the calibration run warms up the same way.
        if let (n, g @ Err(_)) | (n @ Err(_), g) = (native.burst(length), glwire.burst(length)) {
            failed = (n.err(), g.err());
        }
        let mut fps = Vec::with_capacity(rounds as usize);
        let rounds = if failed == (None, None) { rounds } else { 0 };
        for round in 0..rounds {
            progress(round);
            let burst =
                |p: &mut BurstProgram| p.burst(length).map(|(f, t)| if t > 0.0 { f64::from(f) / t } else { 0.0 });
            let (n, g) = if round % 2 == 0 {
                let n = burst(&mut native);
                (n, burst(&mut glwire))
            } else {
                let g = burst(&mut glwire);
                (burst(&mut native), g)
            };
            match (n, g) {
                (Ok(n), Ok(g)) => fps.push((n, g)),
                (n, g) => {
                    failed = (n.err(), g.err());
                    break;
                }
            }
        }
        let finish = |p: BurstProgram, why: Option<String>| match why {
            Some(why) => Err(why),
            None => p.finish().and_then(|out| SceneRun::parse(&out)),
        };
        let other = || Some("the other side failed".to_string());
        let (why_n, why_g) = match failed {
            (None, None) => (None, None),
            (n, g) => (n.or_else(other), g.or_else(other)),
        };
        let native = finish(native, why_n);
        let mut glwire = finish(glwire, why_g);
        if let Ok(g) = &mut glwire {
            g.cpu += server_cpu().saturating_sub(before);
        }
        (native, glwire, fps)
    }
}

pub fn run(args: ScenesArgs) -> Result<(), String> {
    let scenes: Vec<String> = if args.scenes.is_empty() {
        SCENES.iter().map(|s| s.to_string()).collect()
    } else {
        for s in &args.scenes {
            if !SCENES.contains(&s.as_str()) {
                return Err(format!("no scene {s:?} (scenes: {})", SCENES.join(", ")));
            }
        }
        args.scenes.clone()
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the glwire binary: {e}"))?;
    if !exe.with_file_name("libEGL_glwire.so").exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release -p icd`",
            exe.with_file_name("libEGL_glwire.so").display()
        ));
    }
    let mesa_json = child::mesa_vendor_json()?;
    let glmark2_steps = if args.no_glmark2 { 0 } else { 2 * args.glmark2_rounds };
    let mut progress = Progress {
        tty: std::io::stderr().is_terminal(),
        step: 0,
        total: scenes.len() as u32 * (1 + args.starts * args.rounds) + glmark2_steps + u32::from(!args.no_floors),
    };
    let server = crate::private_server::PrivateServer::start(&[], "warn")?;
    let launcher = Launcher { exe: exe.clone(), mesa_json, socket: server.socket().to_path_buf() };
    let size = format!("{}x{}", args.size.0, args.size.1);
    let argv = |scene: &str| {
        let mut argv = vec![exe.display().to_string(), "bench-client".into(), "--scene".into(), scene.into()];
        argv.extend(["--size".into(), size.clone(), "--bursts".into()]);
        argv
    };
    let length = match args.frames {
        Some(n) => Length::Frames(n),
        None => Length::Seconds(args.seconds),
    };
    // Bounds each wait on a program: its start (compiles), one burst, or its end.
    let limit = match args.frames {
        Some(_) => Duration::from_secs(600),
        None => Duration::from_secs_f64(args.seconds * 20.0 + 60.0),
    };
    // The render server (just started, this process's only child): its CPU time is
    // the glwire side's.
    let duet = Duet { launcher: &launcher, server_pid: child::only_child(), limit };
    let mut results = Vec::new();
    for scene in &scenes {
        progress.show(&format!("{scene}: the setup's share, natively and through glwire"));
        let (setup_native, setup, _) = duet.run(&argv(scene), args.rounds, Length::Frames(0), &mut |_| {});
        let setup = setup.and_then(|r| match r.stats {
            Some(_) => Ok(r),
            None => Err("the ICD printed no session figures (GLWIRE_STATS)".into()),
        });
        let mut result = SceneResult {
            name: scene.clone(),
            native: Err("not run".into()),
            glwire: Err("not run".into()),
            starts: args.starts,
            setup_native,
            setup,
            rounds: Vec::new(),
        };
        for start in 0..args.starts {
            let (native, glwire, rounds) = duet.run(&argv(scene), args.rounds, length, &mut |round| {
                let at = start * args.rounds + round + 1;
                progress.show(&format!("{scene}, round {at}/{} (both sides)", args.starts * args.rounds))
            });
            result.rounds.extend(rounds);
            let first = start == 0;
            child::add_run(&mut result.native, native, first);
            child::add_run(&mut result.glwire, glwire, first);
        }
        results.push(result);
    }
    let glmark2 = if args.no_glmark2 {
        Err("--no-glmark2".to_string())
    } else {
        glmark2::run(&launcher, args.size, args.glmark2_seconds, args.glmark2_rounds, &mut |s| progress.show(s))
    };
    server.stop()?;
    let floors = if args.no_floors {
        None
    } else {
        progress.show("transport floors");
        Some(floors())
    };
    progress.done();

    print_table(&results, &glmark2, floors.as_ref());
    if let Some(path) = &args.json {
        let text = json(&args, &results, &glmark2, floors.as_ref());
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.native.is_err() || r.glwire.is_err() || r.pixels_match() != Some(true))
        .map(|r| r.name.clone())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("scenes that failed or whose pixels differ: {}", failed.join(", ")))
    }
}

/// A side's median burst, or `failed`.
fn fmt_fps(r: &SceneResult, side: Side) -> String {
    let run = if side == Side::Native { &r.native } else { &r.glwire };
    match (run, r.median_fps(side)) {
        (Ok(_), Some(fps)) => format!("{fps:.1}"),
        _ => "failed".into(),
    }
}

fn print_table(
    results: &[SceneResult],
    glmark2: &Result<glmark2::Glmark2, String>,
    floors: Option<&Result<Floors, String>>,
) {
    let h = [
        "scene",
        "native fps",
        "glwire fps",
        "ratio",
        "quartiles",
        "RT/frame",
        "setup RT",
        "CPU ms/f nat",
        "CPU ms/f glw",
        "cmds/frame",
        "KB/frame →",
        "KB ←",
        "pixels",
    ];
    println!(
        "{:<9} {:>10} {:>10} {:>6} {:>10} {:>8} {:>8} {:>12} {:>12} {:>10} {:>11} {:>8}  {}",
        h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12]
    );
    for r in results {
        let (ratio, quartiles) = match r.ratio() {
            Some((m, q1, q3)) => (format!("{:.0} %", m * 100.0), format!("{:.0}–{:.0} %", q1 * 100.0, q3 * 100.0)),
            None => ("-".into(), "-".into()),
        };
        let (rt, cmds, kb_in, kb_out) = match r.per_frame() {
            Some([rt, c, i, o]) => {
                (format!("{rt:.2}"), format!("{c:.0}"), format!("{:.1}", i / 1024.0), format!("{:.1}", o / 1024.0))
            }
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let setup = match r.setup.as_ref().ok().and_then(|s| s.stats) {
            Some(s) => s.round_trips.to_string(),
            None => "-".into(),
        };
        let cpu = |side| r.cpu_ms_per_frame(side).map_or("-".into(), |ms| format!("{ms:.2}"));
        let pixels = match (&r.native, &r.glwire) {
            (Ok(n), Ok(g)) if n.pixel == g.pixel => format!("same {:?}", n.pixel),
            (Ok(n), Ok(g)) => format!("DIFFER native {:?} glwire {:?}", n.pixel, g.pixel),
            _ => "-".into(),
        };
        println!(
            "{:<9} {:>10} {:>10} {:>6} {:>10} {:>8} {:>8} {:>12} {:>12} {:>10} {:>11} {:>8}  {}",
            r.name,
            fmt_fps(r, Side::Native),
            fmt_fps(r, Side::Glwire),
            ratio,
            quartiles,
            rt,
            setup,
            cpu(Side::Native),
            cpu(Side::Glwire),
            cmds,
            kb_in,
            kb_out,
            pixels
        );
    }
    for r in results {
        for (side, run) in [("native", &r.native), ("glwire", &r.glwire)] {
            match run {
                Err(e) => println!("  {} {side}: {e}", r.name),
                Ok(run) => {
                    if let Some(ms) = run.fields.get("read_ms") {
                        println!("  {} {side}: {ms} ms per frame in glReadPixels", r.name);
                    }
                }
            }
        }
        for (side, run) in [("native", &r.setup_native), ("glwire", &r.setup)] {
            if let Err(e) = run {
                println!("  {} {side} calibration run: {e}", r.name);
            }
        }
    }
    println!(
        "(fps: each side's median burst; ratio: the median of the rounds' glwire fps ÷ native fps, \
         quartiles: the middle half of those ratios; RT/frame: replies waited for per timed frame, from the server's \
         count; setup RT: those of a run without timed frames; CPU ms/f: CPU time per timed frame of the \
         program with its driver threads, natively and through glwire (program + render server); cmds, \
         KB →/←: per frame to and from the server)"
    );
    match glmark2 {
        Err(why) => println!("glmark2: skipped ({why})"),
        Ok(g) => {
            let score = |r: &Result<glmark2::Glmark2Run, String>| match r {
                Ok(r) => format!("{:.0}", r.score),
                Err(_) => "failed".into(),
            };
            let ratio = match (&g.native, &g.glwire) {
                (Ok(n), Ok(w)) if n.score > 0.0 => format!("{:.0} %", w.score / n.score * 100.0),
                _ => "-".into(),
            };
            let rt = g.round_trips_per_frame().map_or("-".into(), |x| format!("{x:.2}"));
            println!(
                "glmark2-es2 ({} s per scene, {}): score native {} glwire {} ratio {ratio}; {rt} round trips per frame (setup included)",
                g.seconds,
                g.display,
                score(&g.native),
                score(&g.glwire)
            );
            if let (Ok(n), Ok(w)) = (&g.native, &g.glwire) {
                for ((name, nf), (_, wf)) in n.scenes.iter().zip(&w.scenes) {
                    let ratio = if *nf > 0.0 { format!("{:.0} %", wf / nf * 100.0) } else { "-".into() };
                    println!("  {name:<40} native {nf:>7.0} fps  glwire {wf:>7.0} fps  {ratio:>6}");
                }
            }
            for (side, r) in [("native", &g.native), ("glwire", &g.glwire)] {
                if let Err(e) = r {
                    println!("  glmark2 {side}: {e}");
                }
            }
        }
    }
    match floors {
        None => println!("floors: left out (--no-floors)"),
        Some(Err(e)) => println!("floors: failed: {e}"),
        Some(Ok(f)) => {
            println!(
                "floors (loopback server, this run): sync call RTT p50 {:.2} µs / p99 {:.2} µs on the shm ring \
                 (cache-line ping-pong {:.2} µs); async 16-byte commands {:.1} M/s (memcpy {:.0} M/s); \
                 1 MiB payloads {:.1} GB/s (memcpy {:.1} GB/s)",
                f.ring_rtt_p50_us,
                f.ring_rtt_p99_us,
                f.cache_line_p50_us,
                f.async_calls_per_s / 1e6,
                f.memcpy_16_per_s / 1e6,
                f.payload_bytes_per_s / 1e9,
                f.memcpy_1m_bytes_per_s / 1e9
            );
        }
    }
    println!(
        "more: `glwire bench transport` (the transport against its floors), \
         `cargo run -p framechan --example bench --release` (the frame ring against memcpy)"
    );
}

/// A JSON string.
fn js(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number (non-finite ones as null).
fn jn(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn jopt(x: Option<f64>) -> String {
    x.map_or("null".into(), jn)
}

fn stats_json(s: &SessionStats) -> String {
    format!(
        "{{\"frames\": {}, \"commands\": {}, \"bytes_to_server\": {}, \"bytes_back\": {}, \"round_trips\": {}}}",
        s.frames, s.commands, s.bytes_in, s.bytes_out, s.round_trips
    )
}

fn run_json(r: &Result<SceneRun, String>) -> String {
    match r {
        Err(e) => format!("{{\"error\": {}}}", js(e)),
        Ok(r) => {
            let mut s = format!(
                "{{\"fps\": {}, \"frames\": {}, \"seconds\": {}, \"cpu_seconds\": {}, \"pixel\": [{}, {}, {}, {}]",
                jn(r.fps),
                r.frames,
                jn(r.seconds),
                jn(r.cpu.as_secs_f64()),
                r.pixel[0],
                r.pixel[1],
                r.pixel[2],
                r.pixel[3]
            );
            if let Some(st) = &r.stats {
                let _ = write!(s, ", \"session\": {}", stats_json(st));
            }
            for (k, v) in &r.fields {
                // `cpu` and `bursts` are the first start's alone: the totals are above.
                if !matches!(k.as_str(), "scene" | "fps" | "frames" | "seconds" | "pixel" | "cpu" | "bursts") {
                    let value = if v.parse::<f64>().is_ok_and(f64::is_finite) { v.clone() } else { js(v) };
                    let _ = write!(s, ", {}: {value}", js(k));
                }
            }
            s.push('}');
            s
        }
    }
}

fn json(
    args: &ScenesArgs,
    results: &[SceneResult],
    glmark2: &Result<glmark2::Glmark2, String>,
    floors: Option<&Result<Floors, String>>,
) -> String {
    let mut s = String::from("{\n");
    let _ = writeln!(s, "  \"size\": [{}, {}],", args.size.0, args.size.1);
    let _ = writeln!(s, "  \"rounds\": {},", args.rounds);
    let _ = writeln!(s, "  \"starts\": {},", args.starts);
    let _ = writeln!(s, "  \"glmark2_rounds\": {},", args.glmark2_rounds);
    let _ = writeln!(s, "  \"frames\": {},", args.frames.map_or("null".into(), |n| n.to_string()));
    let _ = writeln!(s, "  \"seconds\": {},", if args.frames.is_some() { "null".into() } else { jn(args.seconds) });
    s.push_str("  \"scenes\": [\n");
    for (i, r) in results.iter().enumerate() {
        let pf = r.per_frame();
        let setup = format!("{{\"native\": {}, \"glwire\": {}}}", run_json(&r.setup_native), run_json(&r.setup));
        let cpu = format!(
            "{{\"native\": {}, \"glwire\": {}}}",
            jopt(r.cpu_ms_per_frame(Side::Native)),
            jopt(r.cpu_ms_per_frame(Side::Glwire))
        );
        let _ = write!(
            s,
            "    {{\"scene\": {}, \"native\": {}, \"glwire\": {}, \"ratio\": {}, \"round_trips_per_frame\": {}, \
             \"commands_per_frame\": {}, \"bytes_to_server_per_frame\": {}, \"bytes_back_per_frame\": {}, \
             \"cpu_ms_per_frame\": {cpu}, \"setup\": {setup}, \"pixels_match\": {}, \"ratio_quartiles\": {}, \
             \"rounds_fps\": [{}]}}",
            js(&r.name),
            run_json(&r.native),
            run_json(&r.glwire),
            jopt(r.ratio().map(|(m, _, _)| m)),
            jopt(pf.map(|p| p[0])),
            jopt(pf.map(|p| p[1])),
            jopt(pf.map(|p| p[2])),
            jopt(pf.map(|p| p[3])),
            r.pixels_match().map_or("null".into(), |b| b.to_string()),
            r.ratio().map_or("null".into(), |(_, q1, q3)| format!("[{}, {}]", jn(q1), jn(q3))),
            r.rounds.iter().map(|&(n, g)| format!("[{}, {}]", jn(n), jn(g))).collect::<Vec<_>>().join(", "),
        );
        s.push_str(if i + 1 < results.len() { ",\n" } else { "\n" });
    }
    s.push_str("  ],\n");
    match glmark2 {
        Err(why) => {
            let _ = writeln!(s, "  \"glmark2\": {{\"skipped\": {}}},", js(why));
        }
        Ok(g) => {
            let side = |r: &Result<glmark2::Glmark2Run, String>| match r {
                Err(e) => format!("{{\"error\": {}}}", js(e)),
                Ok(r) => {
                    let scenes: Vec<String> =
                        r.scenes.iter().map(|(n, f)| format!("{{\"name\": {}, \"fps\": {}}}", js(n), jn(*f))).collect();
                    let stats = r.stats.as_ref().map_or("null".into(), stats_json);
                    format!("{{\"score\": {}, \"scenes\": [{}], \"session\": {stats}}}", jn(r.score), scenes.join(", "))
                }
            };
            let ratio = match (&g.native, &g.glwire) {
                (Ok(n), Ok(w)) if n.score > 0.0 => jn(w.score / n.score),
                _ => "null".into(),
            };
            let _ = writeln!(
                s,
                "  \"glmark2\": {{\"seconds_per_scene\": {}, \"native\": {}, \"glwire\": {}, \"ratio\": {ratio}, \
                 \"round_trips_per_frame\": {}}},",
                g.seconds,
                side(&g.native),
                side(&g.glwire),
                jopt(g.round_trips_per_frame())
            );
        }
    }
    match floors {
        None => s.push_str("  \"floors\": null\n"),
        Some(Err(e)) => {
            let _ = writeln!(s, "  \"floors\": {{\"error\": {}}}", js(e));
        }
        Some(Ok(f)) => {
            let _ = writeln!(
                s,
                "  \"floors\": {{\"sync_rtt_p50_us\": {}, \"sync_rtt_p99_us\": {}, \"cache_line_ping_pong_p50_us\": {}, \
                 \"async_calls_per_s\": {}, \"memcpy_16_byte_blocks_per_s\": {}, \"payload_bytes_per_s\": {}, \
                 \"memcpy_1mib_bytes_per_s\": {}}}",
                jn(f.ring_rtt_p50_us),
                jn(f.ring_rtt_p99_us),
                jn(f.cache_line_p50_us),
                jn(f.async_calls_per_s),
                jn(f.memcpy_16_per_s),
                jn(f.payload_bytes_per_s),
                jn(f.memcpy_1m_bytes_per_s)
            );
        }
    }
    s.push('}');
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(frames: u32, pixel: [u8; 4], round_trips: u64) -> SceneRun {
        SceneRun {
            fields: Default::default(),
            fps: 0.0,
            frames,
            seconds: f64::from(frames) / 100.0,
            pixel,
            stats: Some(SessionStats { round_trips, commands: 10 * u64::from(frames), ..Default::default() }),
            cpu: Duration::from_millis(u64::from(frames)),
        }
    }

    #[test]
    fn seconds_must_be_positive_and_bounded() {
        assert_eq!(parse_seconds("0.5"), Ok(0.5));
        for bad in ["0", "-1", "NaN", "inf", "1e9", "half"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantiles_interpolate_between_samples() {
        let mut xs = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut xs, 0.5), Some(2.5));
        assert_eq!(quantile(&mut xs, 0.0), Some(1.0));
        assert_eq!(quantile(&mut xs, 1.0), Some(4.0));
        assert_eq!(quantile(&mut xs, 0.25), Some(1.75));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn the_ratio_is_the_median_of_the_rounds() {
        let mut r = SceneResult {
            name: "x".into(),
            native: Err("not run".into()),
            glwire: Err("not run".into()),
            starts: 1,
            setup_native: Err("not run".into()),
            setup: Err("not run".into()),
            // Ratios 0.5, 0.9, 1.0, 2.0 (one round lost to a slow machine on each side).
            rounds: vec![(100.0, 50.0), (100.0, 90.0), (50.0, 50.0), (100.0, 200.0), (0.0, 10.0)],
        };
        assert_eq!(r.ratio(), Some((0.95, 0.8, 1.25)));
        assert_eq!(r.median_fps(Side::Native), Some(100.0));
        r.rounds.clear();
        assert_eq!(r.ratio(), None);
    }

    #[test]
    fn starts_add_up_and_each_takes_out_its_setup() {
        let mut total = Err("not run".into());
        child::add_run(&mut total, Ok(run(100, [1, 2, 3, 4], 3)), true);
        child::add_run(&mut total, Ok(run(50, [1, 2, 3, 4], 3)), false);
        let t = total.as_ref().unwrap();
        assert_eq!((t.frames, t.cpu, t.stats.unwrap().round_trips), (150, Duration::from_millis(150), 6));
        assert!((t.fps - 100.0).abs() < 1e-9);
        let r = SceneResult {
            name: "x".into(),
            native: total.clone(),
            glwire: total,
            starts: 2,
            // The setup: 3 round trips and 10 commands per start.
            setup_native: Ok(run(1, [1, 2, 3, 4], 3)),
            setup: Ok(run(1, [1, 2, 3, 4], 3)),
            rounds: Vec::new(),
        };
        assert_eq!(r.per_frame().map(|p| [p[0], p[1]]), Some([0.0, (1500.0 - 20.0) / 150.0]));
        assert_eq!(r.cpu_ms_per_frame(Side::Native), Some((150.0 - 2.0) / 150.0));

        // A start that differs or fails spoils the total; the first failure stays.
        let mut total = Ok(run(1, [1, 2, 3, 4], 0));
        child::add_run(&mut total, Ok(run(1, [9, 2, 3, 4], 0)), false);
        assert!(total.as_ref().unwrap_err().contains("differs between starts"), "{total:?}");
        child::add_run(&mut total, Err("later".into()), false);
        assert!(total.unwrap_err().contains("differs"));
    }
}
