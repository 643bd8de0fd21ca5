//! glmark2-es2, when it is installed: a short run of three of its scenes natively and
//! through glwire under an X server (`DISPLAY`, or a private Xvfb this module starts
//! and stops), sides alternating, each side's best score kept.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::child::{self, Launcher, SessionStats, Side};

/// One glmark2 run: its score and each scene's frames per second.
#[derive(Debug, Clone)]
pub struct Glmark2Run {
    pub score: f64,
    pub scenes: Vec<(String, f64)>,
    pub stats: Option<SessionStats>,
}

#[derive(Debug)]
pub struct Glmark2 {
    pub native: Result<Glmark2Run, String>,
    pub glwire: Result<Glmark2Run, String>,
    pub seconds: u32,
    pub display: String,
}

impl Glmark2 {
    /// Round trips per frame through glwire: the session's round trips over its
    /// frames, as the server counted them (polled, see [`poll_server_stats`]; scene
    /// setup included).
    pub fn round_trips_per_frame(&self) -> Option<f64> {
        let s = self.glwire.as_ref().ok()?.stats?;
        Some(s.round_trips as f64 / (s.frames as f64).max(1.0))
    }
}

/// An executable in `PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// A private Xvfb, stopped when dropped.
#[derive(Debug)]
struct Xvfb {
    child: Child,
}

impl Xvfb {
    /// Starts Xvfb on a free display (`-displayfd`), returning it and the display.
    fn start(exe: &Path) -> Result<(Xvfb, String), String> {
        let mut child = Command::new(exe)
            .args(["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start Xvfb: {e}"))?;
        let stdout = child.stdout.take();
        let xvfb = Xvfb { child };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = std::io::BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if !line.trim().is_empty() => Ok((xvfb, format!(":{}", line.trim()))),
            _ => Err("Xvfb did not start within 10 s".into()),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        for _ in 0..200 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls the server's summed session figures (`QueryServerStats`) every 10 ms until
/// `stop`, keeping the largest seen: a program that does not end with `eglTerminate`
/// prints no figures of its own, and a session's figures leave the sums when it ends.
/// The probe's own session sends no GL, so the sums are the program's.
fn poll_server_stats(
    socket: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Option<SessionStats>> {
    std::thread::spawn(move || {
        let conn = ::client::Connection::unix(&socket, "glwire-bench-probe").ok()?;
        let mut best: Option<SessionStats> = None;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let reply = conn.call(wire::control::ControlKind::QueryServerStats, &[]).ok()?;
            let t = wire::control::ServerStatsReply::parse(&reply).ok()?.totals;
            if best.is_none_or(|b| t.round_trips >= b.round_trips) {
                best = Some(SessionStats {
                    frames: t.frames,
                    commands: t.commands,
                    bytes_in: t.bytes_in,
                    bytes_out: t.bytes_out,
                    round_trips: t.round_trips,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        best
    })
}

fn parse(out: &child::Output) -> Result<Glmark2Run, String> {
    let mut scenes = Vec::new();
    let mut score = None;
    for line in out.stdout.lines() {
        if let Some((name, rest)) = line.split_once(": FPS: ") {
            let fps = rest.split_whitespace().next().and_then(|f| f.parse::<f64>().ok());
            scenes.push((name.trim().to_owned(), fps.ok_or_else(|| format!("bad FPS line {line:?}"))?));
        } else if let Some(s) = line.trim().strip_prefix("glmark2 Score: ") {
            score = s.trim().parse::<f64>().ok();
        }
    }
    let score = score.ok_or_else(|| {
        let tail: Vec<&str> = out.stdout.lines().chain(out.stderr.lines()).collect();
        format!("no glmark2 Score (last output: {})", tail[tail.len().saturating_sub(2)..].join(" | "))
    })?;
    Ok(Glmark2Run { score, scenes, stats: SessionStats::parse(&out.stderr) })
}

/// Runs glmark2 on both sides, or says why it is skipped (`Err`).
pub fn run(
    launcher: &Launcher,
    size: (u32, u32),
    seconds: u32,
    rounds: u32,
    progress: &mut dyn FnMut(&str),
) -> Result<Glmark2, String> {
    let glmark2 = find_in_path("glmark2-es2").ok_or("glmark2-es2 is not installed")?;
    let (_xvfb, display) = match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => (None, d),
        _ => {
            let xvfb = find_in_path("Xvfb").ok_or("no DISPLAY and no Xvfb to start")?;
            let (x, d) = Xvfb::start(&xvfb)?;
            (Some(x), d)
        }
    };
    let mut argv = vec![glmark2.display().to_string()];
    for scene in ["build", "texture", "shading"] {
        argv.push("-b".into());
        argv.push(format!("{scene}:duration={seconds}"));
    }
    argv.push("--size".into());
    argv.push(format!("{}x{}", size.0, size.1));
    let limit = Duration::from_secs(u64::from(seconds) * 3 + 120);
    let (mut native, mut glwire): (Result<Glmark2Run, String>, Result<Glmark2Run, String>) =
        (Err("not run".into()), Err("not run".into()));
    for round in 0..rounds {
        let order = if round % 2 == 0 { [Side::Native, Side::Glwire] } else { [Side::Glwire, Side::Native] };
        for side in order {
            progress(&format!("glmark2-es2 {}, round {}/{rounds}", side.name(), round + 1));
            let mut cmd = launcher.command(side, &argv);
            cmd.env("DISPLAY", &display);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let poll = (side == Side::Glwire).then(|| poll_server_stats(launcher.socket.clone(), stop.clone()));
            let mut result = child::run(cmd, limit).and_then(|out| parse(&out));
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let polled = poll.and_then(|p| p.join().ok().flatten());
            if let Ok(r) = &mut result {
                r.stats = r.stats.or(polled);
            }
            let best = if side == Side::Native { &mut native } else { &mut glwire };
            match (&*best, result) {
                (Ok(b), Ok(r)) if r.score <= b.score => {}
                (Ok(_), Err(_)) => {}
                (_, r) => *best = r,
            }
        }
    }
    Ok(Glmark2 { native, glwire, seconds, display })
}
