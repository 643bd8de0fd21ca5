//! Running the measured programs: natively (Mesa's vendor, nothing of glwire in the
//! environment) or through `glwire run`, their output captured, bounded in time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::program::{Bursts, Length};

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

/// A thread reading all of `pipe` into a string.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Kills `child`'s whole process group (`glwire run` and its program).
fn kill_group(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}

/// Waits for `child` until `deadline` (then kills its process group); whether it
/// timed out, and its status.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<(bool, ExitStatus), String> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok((false, status)),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                kill_group(child);
                return Ok((true, child.wait().map_err(|e| e.to_string())?));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Why a program failed: `why`, with the last lines of its stderr.
fn failure(why: String, stderr: &str) -> String {
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
    if tail.is_empty() {
        why
    } else {
        format!("{why}: {tail}")
    }
}

/// Runs `cmd` to its end (its whole process group is killed after `limit`), and
/// returns its output, or why it failed (with the end of its stderr).
pub fn run(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let (timed_out, status) = wait_until(&mut child, Instant::now() + limit)?;
    let output = Output { stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() };
    if timed_out || !status.success() {
        let why = if timed_out { format!("no end within {} s", limit.as_secs()) } else { status.to_string() };
        return Err(failure(why, &output.stderr));
    }
    Ok(output)
}

/// A scene program serving the burst protocol (`program::Bursts`) on its stdin and
/// stdout: started and warmed up, asked for one burst at a time, then told to finish.
/// Every wait is bounded; a program that misses one is killed with its group.
pub struct BurstProgram {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    limit: Duration,
}

impl BurstProgram {
    /// Starts `cmd` (a `bench-client --bursts`) and waits, at most `limit`, until it is
    /// ready.
    pub fn start(mut cmd: Command, limit: Duration) -> Result<BurstProgram, String> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
        let stdout = child.stdout.take();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Some(drain(child.stderr.take()));
        let stdin = child.stdin.take();
        let mut p = BurstProgram { child, stdin, lines, stderr, limit };
        match p.line()? {
            l if l == Bursts::READY => Ok(p),
            l => Err(p.fail(format!("expected {:?}, got {l:?}", Bursts::READY))),
        }
    }

    /// Kills the program and says why it failed, with the end of its stderr.
    fn fail(&mut self, why: String) -> String {
        kill_group(&mut self.child);
        let _ = self.child.wait();
        let stderr = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
        failure(why, &stderr)
    }

    /// The program's next stdout line, within the time limit.
    fn line(&mut self) -> Result<String, String> {
        match self.lines.recv_timeout(self.limit) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(self.fail(format!("no answer within {} s", self.limit.as_secs()))),
            Err(RecvTimeoutError::Disconnected) => {
                // Its stdout closed: it ended, or is about to (a program that closed
                // it and lives on is killed after the limit, not waited for).
                let status = match wait_until(&mut self.child, Instant::now() + self.limit) {
                    Ok((false, status)) => status.to_string(),
                    Ok((true, _)) => format!("it closed its stdout and had not ended after {} s", self.limit.as_secs()),
                    Err(e) => e,
                };
                Err(self.fail(format!("it ended ({status})")))
            }
        }
    }

    /// One burst of `length`: its frames and seconds.
    pub fn burst(&mut self, length: Length) -> Result<(u32, f64), String> {
        let request = Bursts::request(length);
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{request}").and_then(|()| stdin.flush()),
            None => return Err("the program was told to finish".into()),
        };
        if let Err(e) = sent {
            return Err(self.fail(format!("cannot ask for a burst: {e}")));
        }
        let answer = self.line()?;
        Bursts::parse_answer(&answer).ok_or_else(|| self.fail(format!("a bad burst answer {answer:?}")))
    }

    /// Tells the program to finish (closes its stdin) and returns what it printed
    /// after its last burst, and its stderr.
    pub fn finish(mut self) -> Result<Output, String> {
        drop(self.stdin.take());
        let deadline = Instant::now() + self.limit;
        let mut stdout = String::new();
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    stdout.push_str(&line);
                    stdout.push('\n');
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.fail(format!("no end within {} s", self.limit.as_secs())))
                }
            }
        }
        let (timed_out, status) = wait_until(&mut self.child, deadline)?;
        let stderr = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
        if timed_out || !status.success() {
            let why = if timed_out { format!("no end within {} s", self.limit.as_secs()) } else { status.to_string() };
            return Err(failure(why, &stderr));
        }
        Ok(Output { stdout, stderr })
    }
}

impl Drop for BurstProgram {
    /// A program left behind (an error on the other side) does not outlive the bench.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            kill_group(&mut self.child);
            let _ = self.child.wait();
        }
    }
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
    /// CPU time of the whole run: the program's own (`cpu=`, all its threads) and,
    /// through glwire, the render server's share while it ran.
    pub cpu: Duration,
}

/// Adds `run` (another start of the same program) to `total`, which is replaced when
/// `first`. The first failure stays; pixels that differ between starts are one.
pub fn add_run(total: &mut Result<SceneRun, String>, run: Result<SceneRun, String>, first: bool) {
    match (&mut *total, run) {
        (_, run) if first => *total = run,
        (Err(_), _) => {}
        (Ok(_), Err(e)) => *total = Err(e),
        (Ok(t), Ok(r)) if t.pixel != r.pixel => {
            *total = Err(format!("its pixel differs between starts: {:?} then {:?}", t.pixel, r.pixel));
        }
        (Ok(t), Ok(r)) => {
            t.frames = t.frames.saturating_add(r.frames);
            t.seconds += r.seconds;
            t.fps = if t.seconds > 0.0 { f64::from(t.frames) / t.seconds } else { 0.0 };
            t.cpu += r.cpu;
            t.stats = match (t.stats, r.stats) {
                (Some(a), Some(b)) => Some(SessionStats {
                    frames: a.frames.saturating_add(b.frames),
                    commands: a.commands.saturating_add(b.commands),
                    bytes_in: a.bytes_in.saturating_add(b.bytes_in),
                    bytes_out: a.bytes_out.saturating_add(b.bytes_out),
                    round_trips: a.round_trips.saturating_add(b.round_trips),
                }),
                _ => None,
            };
        }
    }
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
            cpu: Duration::try_from_secs_f64(number("cpu")?).unwrap_or_default(),
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        cmd
    }

    /// A program that does not speak the protocol, ends early, stalls or answers
    /// nonsense is reported with what happened (and its stderr), never waited for
    /// past the limit.
    #[test]
    fn burst_programs_that_misbehave_are_reported_not_waited_for() {
        let limit = Duration::from_secs(2);
        let err = BurstProgram::start(sh("echo oops >&2; echo hello"), limit).err().unwrap();
        assert!(err.contains("expected \"ready\", got \"hello\"") && err.contains("oops"), "{err}");

        let mut p = BurstProgram::start(sh("echo ready; read line; exit 3"), limit).unwrap();
        let err = p.burst(Length::Frames(1)).unwrap_err();
        assert!(err.contains("it ended") && err.contains('3'), "{err}");

        let mut p = BurstProgram::start(sh("echo ready; read line; echo burst frames=x"), limit).unwrap();
        assert!(p.burst(Length::Frames(1)).unwrap_err().contains("a bad burst answer"));

        let started = Instant::now();
        let mut p = BurstProgram::start(sh("echo ready; read line; sleep 30"), limit).unwrap();
        let err = p.burst(Length::Seconds(0.1)).unwrap_err();
        assert!(err.contains("no answer within 2 s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "waited {:?}", started.elapsed());

        // One that serves a burst and ends properly hands back its last words.
        let script = "echo ready; read line; echo burst frames=3 seconds=0.5 fps=6; read line; echo done";
        let mut p = BurstProgram::start(sh(script), limit).unwrap();
        assert_eq!(p.burst(Length::Frames(3)).unwrap(), (3, 0.5));
        assert_eq!(p.finish().unwrap().stdout, "done\n");
    }
}
