//! `glwire run -- PROGRAM ARGS…`: runs a program with glwire as its EGL vendor. It
//! points libglvnd at glwire's vendor JSON (written beside nothing the user owns: a
//! private directory), connects the program to a running server or starts a private
//! one for this run, and passes the program's exit status through. With `--capture` or
//! `--record` it passes the request to the ICD through the environment.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::private_server::PrivateServer;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Use the server at this socket instead of starting a private one.
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Write the frames the program's windows present into DIR as PNG files
    /// (frame-000001.png, … numbered by presented frame).
    #[arg(long, value_name = "DIR")]
    capture: Option<PathBuf>,
    /// With --capture: keep one frame in N.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..), requires = "capture")]
    every: u64,
    /// Record everything the program sends to the server (and the answers replay
    /// needs) into FILE, for `glwire replay FILE`. FILE is overwritten.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    program: Vec<String>,
}

/// The vendor library: built beside the `glwire` binary (`cargo build` puts both in
/// `target/<profile>/`; an install puts them together too).
fn vendor_library() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the glwire binary: {e}"))?;
    let lib = exe.with_file_name("libEGL_glwire.so");
    if lib.exists() {
        Ok(lib)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build --release -p icd` (scripts/main.sh builds everything)",
            lib.display()
        ))
    }
}

/// The folder of a `glwire run` for its vendor JSON: `glwire-run-<pid>` in `temp`.
fn run_dir(temp: &Path, pid: u32) -> PathBuf {
    temp.join(format!("glwire-run-{pid}"))
}

/// Removes the folders of earlier `glwire run`s that were killed before they could
/// (their process is gone). A folder whose pid now names another process stays until
/// that one ends too.
fn sweep_stale_run_dirs(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("glwire-run-")).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if entry.path() == run_dir(temp, pid) && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes the vendor JSON libglvnd reads (`__EGL_VENDOR_LIBRARY_FILENAMES`).
fn write_vendor_json(dir: &Path, lib: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = dir.join("10_glwire.json");
    let text = format!("{{\"file_format_version\":\"1.0.0\",\"ICD\":{{\"library_path\":\"{}\"}}}}\n", lib.display());
    std::fs::write(&json, text).map_err(|e| format!("{}: {e}", json.display()))?;
    Ok(json)
}

/// True when a glwire server answers at `socket`.
fn server_answers(socket: &Path) -> bool {
    client::Session::connect_unix(socket, "glwire-run-probe").is_ok()
}

pub fn run(args: RunArgs) -> ExitCode {
    match try_run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("glwire run: {e}");
            ExitCode::from(127)
        }
    }
}

fn try_run(args: RunArgs) -> Result<ExitCode, String> {
    let mut env: Vec<(&str, String)> = Vec::new();
    if let Some(dir) = &args.capture {
        std::fs::create_dir_all(dir).map_err(|e| format!("--capture {}: {e}", dir.display()))?;
        let dir = dir.canonicalize().map_err(|e| format!("--capture {}: {e}", dir.display()))?;
        env.push((client::capture::DIR_ENV, dir.to_string_lossy().into_owned()));
        env.push((client::capture::EVERY_ENV, args.every.to_string()));
    }
    let trace = args.record.as_deref().map(start_trace).transpose()?;
    if let Some(trace) = &trace {
        env.push((client::record::RECORD_ENV, trace.to_string_lossy().into_owned()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let code = run_program(args.socket, &args.program, &env)?;
    if let Some(trace) = &trace {
        report_trace(trace);
    }
    Ok(code)
}

/// Empties (or makes) the trace file, so the program's first process to use EGL
/// records into it (the ICD never overwrites a trace), and returns its absolute path
/// (the program may change directory).
fn start_trace(file: &Path) -> Result<PathBuf, String> {
    std::fs::File::create(file).map_err(|e| format!("--record {}: {e}", file.display()))?;
    file.canonicalize().map_err(|e| format!("--record {}: {e}", file.display()))
}

/// Says what the program's trace holds, or why it cannot be replayed.
fn report_trace(trace: &Path) {
    match std::fs::metadata(trace).map(|m| m.len()) {
        Ok(0) | Err(_) => {
            eprintln!(
                "glwire run: nothing recorded in {}: the program did not use EGL through glwire",
                trace.display()
            );
            return;
        }
        Ok(_) => {}
    }
    match client::replay::scan(trace) {
        Ok((_, s)) => eprintln!(
            "glwire run: recorded {} frames ({} contexts, {:.1} MB of commands) into {}",
            s.frames,
            s.contexts,
            s.stream_bytes as f64 / 1e6,
            trace.display()
        ),
        Err(e) => eprintln!("glwire run: the trace cannot be replayed: {e}"),
    }
}

/// The server to use: the one at `socket` or `$GLWIRE_SOCKET` (which must answer), else
/// the default socket's when one answers there, else a private `glwire serve` started
/// for the caller (stopped when the returned handle is dropped).
pub fn resolve_server(socket: Option<PathBuf>) -> Result<(PathBuf, Option<PrivateServer>), String> {
    let chosen = socket.or_else(|| std::env::var_os(transport::endpoint::SOCKET_ENV).map(PathBuf::from));
    Ok(match chosen {
        Some(s) if server_answers(&s) => (s, None),
        Some(s) => return Err(format!("no glwire server answers at {}", s.display())),
        None => {
            let default = transport::endpoint::default_socket_path();
            if server_answers(&default) {
                (default, None)
            } else {
                let server = PrivateServer::start(&[], "warn")?;
                (server.socket().to_path_buf(), Some(server))
            }
        }
    })
}

/// Runs `argv` with glwire as its EGL vendor (see the module doc), with `env` added.
pub fn run_program(socket: Option<PathBuf>, argv: &[String], env: &[(&str, &str)]) -> Result<ExitCode, String> {
    run_program_with_stdout(socket, argv, env, None)
}

/// [`run_program`], with the program's standard output sent to `stdout` instead of
/// ours (`glwire capture --y4m -` keeps its own standard output for the video).
pub fn run_program_with_stdout(
    socket: Option<PathBuf>,
    argv: &[String],
    env: &[(&str, &str)],
    stdout: Option<std::process::Stdio>,
) -> Result<ExitCode, String> {
    let lib = vendor_library()?;
    let temp = std::env::temp_dir();
    sweep_stale_run_dirs(&temp);
    let dir = run_dir(&temp, std::process::id());
    let json = write_vendor_json(&dir, &lib)?;
    let (socket, private) = resolve_server(socket)?;
    let (program, rest) = argv.split_first().ok_or("no program to run")?;
    let mut command = Command::new(program);
    if let Some(stdout) = stdout {
        command.stdout(stdout);
    }
    let status = command
        .args(rest)
        .envs(env.iter().copied())
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", &json)
        .env(transport::endpoint::SOCKET_ENV, &socket)
        .env_remove("GLWIRE_RENDER_SERVER")
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"));
    if let Some(server) = private {
        let _ = server.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let status = status?;
    // The program's exit status, or 128 + the signal that ended it, as shells report.
    let code = status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_run_dirs_of_dead_processes_are_swept() {
        let temp = tempfile::tempdir().unwrap();
        // No process has this pid (above any pid_max).
        let dead = run_dir(temp.path(), 4_000_000_000);
        let alive = run_dir(temp.path(), std::process::id());
        let other = temp.path().join("glwire-run-notes");
        for dir in [&dead, &alive, &other] {
            write_vendor_json(dir, Path::new("/nowhere/libEGL_glwire.so")).unwrap();
        }
        sweep_stale_run_dirs(temp.path());
        assert!(!dead.exists(), "a killed run's folder is removed");
        assert!(alive.join("10_glwire.json").exists(), "a live run's folder stays");
        assert!(other.exists(), "a folder that only looks alike stays");
    }
}
