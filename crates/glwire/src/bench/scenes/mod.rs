//! `glwire bench scenes`: the same GLES workloads natively and through glwire in one
//! invocation, with their ratios.
//!
//! - Built-in scenes (`program`): draw-call heavy, texture-upload heavy, readback heavy
//!   and a typical mixed frame, each an ordinary GLES program (this binary's hidden
//!   `bench-client`) run natively (Mesa's vendor) and through `glwire run`, sides
//!   alternating for `--rounds` rounds, each side's best kept. Frames per second, the
//!   ratio, and the centre pixel of a reference frame on both sides.
//! - Round trips per frame through glwire: the ICD prints the session's figures as the
//!   server counted them at `eglTerminate` (`GLWIRE_STATS`). A calibration run of the
//!   scene with no timed frames gives the setup's share (compiles, uniform locations,
//!   the warm-up and reference frames, `glFinish`); the timed run's figures minus the
//!   calibration's, over its frames, are the per-frame figures — exact, since a scene
//!   makes the same calls on every run.
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

use child::{Launcher, SceneRun, SessionStats, Side};
pub use program::SCENES;

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
    /// Timed frames per run (instead of --seconds).
    #[arg(long)]
    frames: Option<u32>,
    /// Seconds of timed frames per run, when --frames is not given.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Runs per side of each scene (sides alternate; each side's best counts).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
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
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    #[arg(long, default_value = "640x480", value_parser = parse_size)]
    size: (u32, u32),
}

/// The scene program (hidden `glwire bench-client`).
pub fn client(args: ClientArgs) -> ExitCode {
    let length = match args.frames {
        Some(n) => program::Length::Frames(n),
        None => program::Length::Seconds(args.seconds.max(0.0)),
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
    native: Result<SceneRun, String>,
    glwire: Result<SceneRun, String>,
    /// The calibration runs (no timed frames) of each side: the setup's share.
    setup_native: Result<SceneRun, String>,
    setup: Result<SceneRun, String>,
}

impl SceneResult {
    fn ratio(&self) -> Option<f64> {
        let (n, g) = (self.native.as_ref().ok()?, self.glwire.as_ref().ok()?);
        (n.fps > 0.0).then(|| g.fps / n.fps)
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
        let d = |a: u64, b: u64| a.saturating_sub(b) as f64 / f;
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
        Some(run.cpu.saturating_sub(setup.cpu).as_secs_f64() * 1e3 / f64::from(run.frames))
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

fn better(best: &mut Result<SceneRun, String>, new: Result<SceneRun, String>) {
    match (&*best, new) {
        (Ok(b), Ok(n)) if n.fps <= b.fps => {}
        (Ok(_), Err(_)) => {}
        (_, n) => *best = n,
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
    let glmark2_steps = if args.no_glmark2 { 0 } else { 2 * args.rounds };
    let mut progress = Progress {
        tty: std::io::stderr().is_terminal(),
        step: 0,
        total: scenes.len() as u32 * (1 + 2 * args.rounds) + glmark2_steps + u32::from(!args.no_floors),
    };
    let server = crate::private_server::PrivateServer::start(&[], "warn")?;
    let launcher = Launcher { exe: exe.clone(), mesa_json, socket: server.socket().to_path_buf() };
    let size = format!("{}x{}", args.size.0, args.size.1);
    let client_argv = |scene: &str, frames: Option<u32>| {
        let mut argv = vec![exe.display().to_string(), "bench-client".into(), "--scene".into(), scene.into()];
        argv.extend(["--size".into(), size.clone()]);
        match frames {
            Some(n) => argv.extend(["--frames".into(), n.to_string()]),
            None => argv.extend(["--seconds".into(), args.seconds.to_string()]),
        }
        argv
    };
    let limit = match args.frames {
        Some(_) => Duration::from_secs(600),
        None => Duration::from_secs_f64(args.seconds * 20.0 + 60.0),
    };
    // One scene run, with the CPU time it cost (the server's share through glwire).
    let server_pid = child::only_child();
    let measure = |side: Side, argv: &[String]| -> Result<SceneRun, String> {
        let server_cpu = || match (side, server_pid) {
            (Side::Glwire, Some(pid)) => child::process_cpu(pid),
            _ => Duration::ZERO,
        };
        let before = child::children_cpu() + server_cpu();
        let mut run = child::run(launcher.command(side, argv), limit).and_then(|out| SceneRun::parse(&out))?;
        run.cpu = (child::children_cpu() + server_cpu()).saturating_sub(before);
        Ok(run)
    };
    let mut results = Vec::new();
    for scene in &scenes {
        progress.show(&format!("{scene}: the setup's share, natively and through glwire"));
        let setup_native = measure(Side::Native, &client_argv(scene, Some(0)));
        let setup = measure(Side::Glwire, &client_argv(scene, Some(0))).and_then(|r| match r.stats {
            Some(_) => Ok(r),
            None => Err("the ICD printed no session figures (GLWIRE_STATS)".into()),
        });
        let mut result = SceneResult {
            name: scene.clone(),
            native: Err("not run".into()),
            glwire: Err("not run".into()),
            setup_native,
            setup,
        };
        for round in 0..args.rounds {
            let order = if round % 2 == 0 { [Side::Native, Side::Glwire] } else { [Side::Glwire, Side::Native] };
            for side in order {
                progress.show(&format!("{scene} {}, round {}/{}", side.name(), round + 1, args.rounds));
                let run = measure(side, &client_argv(scene, args.frames));
                better(if side == Side::Native { &mut result.native } else { &mut result.glwire }, run);
            }
        }
        results.push(result);
    }
    let glmark2 = if args.no_glmark2 {
        Err("--no-glmark2".to_string())
    } else {
        glmark2::run(&launcher, args.size, args.glmark2_seconds, args.rounds, &mut |s| progress.show(s))
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

fn fmt_fps(r: &Result<SceneRun, String>) -> String {
    match r {
        Ok(r) => format!("{:.1}", r.fps),
        Err(_) => "failed".into(),
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
        "{:<9} {:>10} {:>10} {:>6} {:>8} {:>8} {:>12} {:>12} {:>10} {:>11} {:>8}  {}",
        h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11]
    );
    for r in results {
        let ratio = r.ratio().map_or("-".into(), |x| format!("{:.0} %", x * 100.0));
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
            "{:<9} {:>10} {:>10} {:>6} {:>8} {:>8} {:>12} {:>12} {:>10} {:>11} {:>8}  {}",
            r.name,
            fmt_fps(&r.native),
            fmt_fps(&r.glwire),
            ratio,
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
        "(ratio: glwire fps ÷ native fps; RT/frame: replies waited for per timed frame, from the server's \
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
                if !matches!(k.as_str(), "scene" | "fps" | "frames" | "seconds" | "pixel") {
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
             \"cpu_ms_per_frame\": {cpu}, \"setup\": {setup}, \"pixels_match\": {}}}",
            js(&r.name),
            run_json(&r.native),
            run_json(&r.glwire),
            jopt(r.ratio()),
            jopt(pf.map(|p| p[0])),
            jopt(pf.map(|p| p[1])),
            jopt(pf.map(|p| p[2])),
            jopt(pf.map(|p| p[3])),
            r.pixels_match().map_or("null".into(), |b| b.to_string()),
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
