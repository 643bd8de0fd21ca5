//! `glwire top --once` against a real `glwire serve` while a real program renders
//! through it (`glwire run -- glwire demo-client`, which ends every frame with
//! eglSwapBuffers): the program is listed with its name and pid and its rates, top's
//! own session is not, and once the program is killed it leaves the list. Needs host
//! GL (llvmpipe will do). Every wait has a deadline; every child is killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

mod support;
use support::{ensure_icd_built, serve_quiet};

// The JSON reader `glwire doctor` uses (numbers kept as text), to read top's output as
// a script would. Its own unit tests come along and run here too.
#[allow(dead_code)]
#[path = "../src/doctor/json.rs"]
mod json;
use json::Value;

/// A child killed (and reaped) when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn glwire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_glwire"))
}

fn top_once(socket: &Path, json: bool) -> Output {
    let mut cmd = glwire();
    cmd.args(["top", "--once", "--interval", "0.5", "--socket"]).arg(socket);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "glwire top failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn snapshot(socket: &Path) -> Value {
    let out = top_once(socket, true);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object on one line: {text}");
    json::parse(&text).unwrap_or_else(|e| panic!("top's JSON does not parse ({e}): {text}"))
}

fn sessions(v: &Value) -> Vec<Value> {
    match v.get("sessions") {
        Some(Value::Array(items)) => items.clone(),
        other => panic!("no sessions array: {other:?}"),
    }
}

fn number(v: &Value, key: &str) -> f64 {
    match v.get(key) {
        Some(Value::Number(n)) => n.parse().unwrap(),
        other => panic!("{key} is not a number: {other:?}"),
    }
}

/// The parent of process `pid`, from /proc.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn top_lists_a_rendering_program_and_forgets_it_when_it_dies() {
    ensure_icd_built();
    let dir = tempfile::tempdir().unwrap();
    let (server, socket) = serve_quiet(dir.path());
    let _server = Reaped(server);

    // Nothing renders yet: the list is empty (top's own session is left out).
    let idle = snapshot(&socket);
    assert!(sessions(&idle).is_empty(), "{idle:?}");
    assert_eq!(idle.get("server").map(|s| number(s, "sessions")), Some(0.0));

    let out: PathBuf = dir.path().join("frame.png");
    let program = glwire()
        .args(["run", "--socket"])
        .arg(&socket)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_glwire"))
        // Its frames wait for nothing, so they go as fast as the server runs them
        // (100 000 took under 2 s here): ask for more than it can render before the
        // test kills it.
        .args(["demo-client", "--frames", "1000000000", "--size", "64", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run_pid = program.id();
    let mut program = Reaped(program);

    // Until the program's session renders frames, and is older than top's interval
    // (so its rates are over the interval, not over its start-up).
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        assert!(program.0.try_wait().unwrap().is_none(), "the program ended before top saw it render");
        let snap = snapshot(&socket);
        let rendering = sessions(&snap).into_iter().find(|s| number(s, "fps") > 0.0 && number(s, "age_ms") > 1000.0);
        if let Some(s) = rendering {
            break (snap, s);
        }
        assert!(Instant::now() < deadline, "no rendering session within 60 s: {snap:?}");
    };
    let (snap, s) = listed;
    let program_name = s.get("program").and_then(Value::as_str).unwrap_or_default().to_owned();
    assert!(program_name.contains("glwire"), "program {program_name:?}");
    assert_eq!(sessions(&snap).len(), 1, "only the program, not top itself: {snap:?}");
    let pid = number(&s, "pid") as u32;
    // The pid is the demo client's own (from the socket's credentials): a child of
    // `glwire run`, running demo-client.
    assert_eq!(parent_of(pid), Some(run_pid), "pid {pid} is not the program glwire run started");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(String::from_utf8_lossy(&cmdline).contains("demo-client"));
    assert!(number(&s, "calls_per_second") > 0.0, "{s:?}");
    assert!(number(&s, "bytes_in_per_second") > 0.0, "{s:?}");
    assert!(number(&s, "contexts") >= 1.0, "{s:?}");
    assert!(number(&s, "gl_bytes") > 0.0, "its surface counts as GL memory: {s:?}");
    // The demo's frames wait for nothing: well under one round trip a frame.
    assert!(number(&s, "round_trips_per_frame") < 1.0, "{s:?}");
    let totals = snap.get("totals").unwrap();
    assert_eq!(number(totals, "fps"), number(&s, "fps"));
    assert_eq!(snap.get("server").map(|v| number(v, "sessions")), Some(1.0));
    assert!(snap.get("server").map(|v| number(v, "rss_bytes")).unwrap() > 0.0);

    // The table says the same for people.
    let table = String::from_utf8(top_once(&socket, false).stdout).unwrap();
    assert!(table.starts_with("glwire top · "), "{table}");
    assert!(table.contains("1 sessions") && table.contains("server RSS"), "{table}");
    let line = table.lines().find(|l| l.split_whitespace().nth(1) == Some(&pid.to_string())).unwrap_or_else(|| {
        panic!("no line for pid {pid}:\n{table}");
    });
    assert!(line.contains("glwire"), "{line}");

    // Killed, it leaves the list as soon as the server has freed what it held.
    kill_process(Pid::from_raw(pid as i32).unwrap(), Signal::KILL).unwrap();
    let _ = program.0.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let snap = snapshot(&socket);
        if sessions(&snap).is_empty() {
            assert_eq!(snap.get("server").map(|v| number(v, "sessions")), Some(0.0));
            break;
        }
        assert!(Instant::now() < deadline, "the killed program is still listed: {snap:?}");
    }
}

#[test]
fn top_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let out = glwire().args(["top", "--once", "--socket"]).arg(&missing).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach the render server at") && err.contains("glwire serve"), "{err}");
    let out = glwire().args(["top", "--once", "--interval", "0", "--socket"]).arg(&missing).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interval 0 is out of range"));
}
