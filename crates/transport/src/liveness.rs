//! Knowing that the peer is gone: a shared "gone" flag that whoever notices first sets
//! (the server's socket reader on hang-up, for example), optionally backed by a probe
//! this side polls itself — the peer's socket (hang-up) or its process (pidfd) — so a
//! blocked side gives up within the liveness deadline instead of hanging.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::TransportError;

/// How long any wait may sleep before it looks at liveness again. Four of these fit in
/// the 100 ms within which a peer's death must be noticed.
pub const LIVENESS_TICK: Duration = Duration::from_millis(20);

#[derive(Debug)]
enum Probe {
    /// The peer's end of a stream socket: hang-up means gone.
    Socket(OwnedFd),
    /// A pidfd: readable once the process has exited.
    Process(OwnedFd),
}

impl Probe {
    fn says_gone(&self) -> bool {
        let (fd, events) = match self {
            Probe::Socket(fd) => (fd, PollFlags::RDHUP | PollFlags::HUP),
            Probe::Process(fd) => (fd, PollFlags::IN),
        };
        let mut fds = [PollFd::new(fd, events)];
        let zero = Timespec { tv_sec: 0, tv_nsec: 0 };
        match poll(&mut fds, Some(&zero)) {
            Ok(0) => false,
            Ok(_) => !(fds[0].revents() & (events | PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL)).is_empty(),
            Err(_) => false,
        }
    }
}

/// Shared "the peer is gone" state.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    gone: Arc<AtomicBool>,
    probe: Option<Arc<Probe>>,
}

impl Liveness {
    /// A flag nobody probes; someone must call [`Liveness::mark_gone`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Gone once the peer hangs up `socket` (a duplicate is kept).
    pub fn watching_socket(socket: BorrowedFd<'_>) -> Result<Self, TransportError> {
        let fd = socket.try_clone_to_owned().map_err(TransportError::io("dup socket for liveness"))?;
        Ok(Liveness { gone: Arc::default(), probe: Some(Arc::new(Probe::Socket(fd))) })
    }

    /// Gone once process `pid` exits.
    pub fn watching_process(pid: u32) -> Result<Self, TransportError> {
        let pid = rustix::process::Pid::from_raw(pid as i32)
            .ok_or_else(|| TransportError::BadChannel(format!("no process {pid}")))?;
        let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .map_err(|e| TransportError::Io { what: "pidfd_open", source: e.into() })?;
        Ok(Liveness { gone: Arc::default(), probe: Some(Arc::new(Probe::Process(fd))) })
    }

    pub fn is_alive(&self) -> bool {
        if self.gone.load(Ordering::Acquire) {
            return false;
        }
        if self.probe.as_ref().is_some_and(|p| p.says_gone()) {
            self.mark_gone();
            return false;
        }
        true
    }

    pub fn mark_gone(&self) {
        self.gone.store(true, Ordering::Release);
    }

    /// The probed descriptor, if any (to poll it together with other work).
    pub fn probe_fd(&self) -> Option<BorrowedFd<'_>> {
        self.probe.as_deref().map(|p| match p {
            Probe::Socket(fd) | Probe::Process(fd) => fd.as_fd(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_hung_up_socket_means_gone() {
        let (a, b) = UnixStream::pair().unwrap();
        let live = Liveness::watching_socket(a.as_fd()).unwrap();
        assert!(live.is_alive());
        drop(b);
        assert!(!live.is_alive());
        assert!(!live.clone().is_alive(), "clones share the verdict");
    }

    #[test]
    fn an_exited_process_means_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let live = Liveness::watching_process(child.id()).unwrap();
        child.wait().unwrap();
        assert!(!live.is_alive());
    }

    #[test]
    fn a_flag_can_be_set_by_anyone() {
        let live = Liveness::new();
        let other = live.clone();
        assert!(live.is_alive());
        other.mark_gone();
        assert!(!live.is_alive());
    }
}
