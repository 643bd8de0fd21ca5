//! A real X server for tests: an Xvfb of the test's own on a display number it picks
//! (`-displayfd`), stopped when dropped. Shared by the test crates that need one
//! (`#[path]`-included); Xvfb is the Debian package `xvfb`, which `scripts/setup.sh`
//! installs: without it a test fails and says so.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// An Xvfb of our own on a display number it picks; killed when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Xvfb {
        let spawned = Command::new("Xvfb")
            // -noreset: by default Xvfb resets when its last client leaves, and a test that
            // connects again at that moment is refused.
            .args(["-displayfd", "1", "-screen", "0", "1600x1000x24", "-nolisten", "tcp", "-noreset"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("Xvfb is not installed (Debian package xvfb): run scripts/setup.sh")
            }
            Err(e) => panic!("cannot start Xvfb: {e}"),
        };
        // Xvfb writes its display number to -displayfd once it accepts connections.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut xvfb = Xvfb { child, display: String::new() };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if !line.trim().is_empty() => xvfb.display = format!(":{}", line.trim()),
            other => {
                let status = xvfb.child.try_wait();
                panic!("Xvfb did not report a display within 20 s ({other:?}, exit status {status:?})");
            }
        }
        xvfb
    }

    pub fn signal(&self, signal: rustix::process::Signal) {
        rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), signal).expect("signal Xvfb");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM first: Xvfb then removes its socket and lock file. SIGCONT in case a test
        // stopped it; SIGKILL if it has not gone within 2 s.
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::CONT);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
