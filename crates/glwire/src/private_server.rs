//! A private `glwire serve` for one command (`glwire run`, `glwire bench`): this same
//! binary as a child process, listening on a socket in a fresh private directory, and
//! stopped (SIGTERM) when the command ends, whatever way it ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct PrivateServer {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
}

impl PrivateServer {
    /// Starts `glwire serve` with `extra` arguments; its log goes to stderr at `log`
    /// level unless `RUST_LOG` says otherwise.
    pub fn start(extra: &[&str], log: &str) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the glwire binary: {e}"))?;
        let dir = std::env::temp_dir().join(format!("glwire-{}", std::process::id()));
        let socket = dir.join("gpu0");
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--socket"]).arg(&socket).args(extra).stdout(Stdio::null()).stderr(Stdio::inherit());
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", log);
        }
        let child = cmd.spawn().map_err(|e| format!("cannot start glwire serve: {e}"))?;
        let mut server = PrivateServer { child, dir, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.socket.exists() {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("glwire serve exited early ({status})"));
            }
            if Instant::now() > deadline {
                return Err("glwire serve did not create its socket within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(server)
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Asks the server to stop and waits for it.
    pub fn stop(mut self) -> Result<(), String> {
        self.terminate();
        Ok(())
    }

    fn terminate(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate();
        }
    }
}
