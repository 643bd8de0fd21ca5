//! Running the measured programs: natively (Mesa's vendor, nothing of glwire in the
//! environment) or through `glwire run`, their output captured, bounded in time.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Which driver a run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Native,
    Glwire,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Native => "native",
            Side::Glwire => "glwire",
        }
    }
}

/// The session's figures as the server counted them (`GLWIRE_STATS`, printed by the
/// ICD at `eglTerminate`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionStats {
    pub frames: u64,
    pub commands: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub round_trips: u64,
}

impl SessionStats {
    /// The line `glwire: F frames, C commands, I bytes to the server, O bytes back, R
    /// round trips`.
    pub fn parse(stderr: &str) -> Option<SessionStats> {
        let line = stderr.lines().rev().find(|l| l.starts_with("glwire: ") && l.ends_with(" round trips"))?;
        let numbers: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().ok())
            .collect::<Option<_>>()?;
        match numbers[..] {
            [frames, commands, bytes_in, bytes_out, round_trips] => {
                Some(SessionStats { frames, commands, bytes_in, bytes_out, round_trips })
            }
            _ => None,
        }
    }
}

/// What a finished program left.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// Where the programs come from and go.
#[derive(Debug)]
pub struct Launcher {
    /// This binary (the scene program and `glwire run`).
    pub exe: PathBuf,
    /// Mesa's vendor JSON, for the native side.
    pub mesa_json: PathBuf,
    /// The render server every glwire run uses.
    pub socket: PathBuf,
}

/// Mesa's libglvnd vendor JSON.
pub fn mesa_vendor_json() -> Result<PathBuf, String> {
    let known = Path::new("/usr/share/glvnd/egl_vendor.d/50_mesa.json");
    if known.exists() {
        return Ok(known.to_path_buf());
    }
    for dir in ["/usr/share/glvnd/egl_vendor.d", "/etc/glvnd/egl_vendor.d", "/usr/local/share/glvnd/egl_vendor.d"] {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_lowercase();
            if name.contains("mesa") && name.ends_with(".json") {
                return Ok(e.path());
            }
        }
    }
    Err("no Mesa EGL vendor JSON (/usr/share/glvnd/egl_vendor.d/50_mesa.json): install libegl-mesa0".into())
}

impl Launcher {
    /// `argv` as a command on `side`: natively with Mesa's vendor and no `GLWIRE_*`
    /// variable, or through `glwire run --socket` with the session's figures asked for.
    pub fn command(&self, side: Side, argv: &[String]) -> Command {
        match side {
            Side::Native => {
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                for (key, _) in std::env::vars_os() {
                    if key.to_string_lossy().starts_with("GLWIRE_") {
                        cmd.env_remove(&key);
                    }
                }
                cmd.env("__EGL_VENDOR_LIBRARY_FILENAMES", &self.mesa_json).env_remove("LD_PRELOAD");
                cmd
            }
            Side::Glwire => {
                let mut cmd = Command::new(&self.exe);
                cmd.arg("run").arg("--socket").arg(&self.socket).arg("--").args(argv);
                cmd.env(client::egl::STATS_ENV, "1");
                cmd
            }
        }
    }
}

/// Runs `cmd` to its end (its whole process group is killed after `limit`), and
/// returns its output, or why it failed (with the end of its stderr).
pub fn run(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let mut bytes = Vec::new();
                let _ = p.read_to_end(&mut bytes);
                s = String::from_utf8_lossy(&bytes).into_owned();
            }
            s
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                timed_out = true;
                if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = child.kill();
                break child.wait().map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let output = Output { stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() };
    if timed_out || !status.success() {
        let tail: Vec<&str> = output.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
        let why = if timed_out { format!("no end within {} s", limit.as_secs()) } else { status.to_string() };
        return Err(if tail.is_empty() { why } else { format!("{why}: {tail}") });
    }
    Ok(output)
}

/// Fields 14.. of `/proc/PID/stat` (after the command name), as clock ticks.
fn stat_ticks(pid: &str, first: usize, n: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (first..first + n).map(|f| fields.get(f - 3)?.parse::<u64>().ok()).sum()
}

fn ticks(t: u64) -> Duration {
    Duration::from_secs_f64(t as f64 / rustix::param::clock_ticks_per_second().max(1) as f64)
}

/// CPU time (user + system) of this process's children that have been waited for,
/// with theirs (`glwire run` waits for its program).
pub fn children_cpu() -> Duration {
    ticks(stat_ticks("self", 16, 2).unwrap_or(0))
}

/// CPU time (user + system) of process `pid`.
pub fn process_cpu(pid: u32) -> Duration {
    ticks(stat_ticks(&pid.to_string(), 14, 2).unwrap_or(0))
}

/// The process id of this process's only running child (the render server, right
/// after it was started).
pub fn only_child() -> Option<u32> {
    let me = std::process::id().to_string();
    let mut found = None;
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else { continue };
        let Some(close) = stat.rfind(')') else { continue };
        if stat[close + 1..].split_whitespace().nth(1) == Some(me.as_str()) {
            if found.is_some() {
                return None;
            }
            found = name.parse().ok();
        }
    }
    found
}

/// One scene run's result line, `key=value` fields.
#[derive(Debug, Clone)]
pub struct SceneRun {
    pub fields: BTreeMap<String, String>,
    pub fps: f64,
    pub frames: u32,
    pub seconds: f64,
    pub pixel: [u8; 4],
    pub stats: Option<SessionStats>,
    /// CPU time of the whole run: the program (and `glwire run`), and the render
    /// server's share while it ran.
    pub cpu: Duration,
}

impl SceneRun {
    pub fn parse(out: &Output) -> Result<SceneRun, String> {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with("scene="))
            .ok_or_else(|| format!("the scene program printed no result line (stdout {:?})", out.stdout.trim()))?;
        let fields: BTreeMap<String, String> = line
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let get = |k: &str| fields.get(k).ok_or_else(|| format!("no {k}= in {line:?}"));
        let number = |k: &str| get(k)?.parse::<f64>().map_err(|e| format!("{k}: {e}"));
        let mut pixel = [0u8; 4];
        let parts: Vec<&str> = get("pixel")?.split(',').collect();
        if parts.len() != 4 {
            return Err(format!("bad pixel= in {line:?}"));
        }
        for (p, s) in pixel.iter_mut().zip(parts) {
            *p = s.parse().map_err(|_| format!("bad pixel= in {line:?}"))?;
        }
        Ok(SceneRun {
            fps: number("fps")?,
            frames: number("frames")? as u32,
            seconds: number("seconds")?,
            pixel,
            stats: SessionStats::parse(&out.stderr),
            cpu: Duration::ZERO,
            fields,
        })
    }
}
