//! The render server in the test process, shared by this crate's integration tests: a
//! `DeviceHost` on a thread with its socket in a temporary directory, stopped (bounded)
//! when dropped.
#![allow(dead_code)] // each test binary uses its own part

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use client::Session;
use server::{DeviceHost, ServeConfig, ServerError};

pub const SECOND: Duration = Duration::from_secs(1);

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub tcp: Option<SocketAddr>,
    shutdown: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), ServerError>>>,
}

/// The socket goes in a directory the server creates (mode 0700) inside `dir`.
pub fn config(dir: &Path) -> ServeConfig {
    ServeConfig { socket: dir.join("run").join("gpu0"), ..ServeConfig::default() }
}

pub fn start_with(configure: impl FnOnce(&mut ServeConfig, &Path)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    configure(&mut config, dir.path());
    let path = config.socket.clone();
    let host = DeviceHost::bind(config).unwrap();
    let tcp = host.tcp_addr();
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = shutdown.clone();
    let thread = std::thread::spawn(move || host.run(flag));
    TestServer { dir, path, tcp, shutdown, thread: Some(thread) }
}

pub fn start() -> TestServer {
    start_with(|_, _| {})
}

impl TestServer {
    pub fn connect(&self) -> Session {
        Session::connect_unix(&self.path, "control-plane-test").unwrap()
    }

    /// Stops the host and returns how long that took.
    pub fn stop(mut self) -> Duration {
        let start = Instant::now();
        self.shutdown.store(true, Ordering::Release);
        let thread = self.thread.take().unwrap();
        while !thread.is_finished() {
            assert!(start.elapsed() < 10 * SECOND, "the host did not stop");
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join().unwrap().unwrap();
        start.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let start = Instant::now();
            // Bounded: a stuck host is leaked rather than hanging the test run.
            while !thread.is_finished() && start.elapsed() < 10 * SECOND {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}
