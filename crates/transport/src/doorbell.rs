//! `Doorbell`: an eventfd one side rings to wake the other when it sleeps on a ring.
//! The ring decides when to ring it (only when the other side said it is asleep), so
//! the hot path makes no system call.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use crate::sys::memory;
use crate::TransportError;

#[derive(Debug)]
pub struct Doorbell {
    fd: OwnedFd,
}

impl Doorbell {
    pub fn new() -> Result<Self, TransportError> {
        Ok(Doorbell { fd: memory::new_eventfd()? })
    }

    /// A doorbell from a peer's descriptor, checked to be something we can poll.
    pub fn from_fd(fd: OwnedFd) -> Result<Self, TransportError> {
        memory::check_pollable(&fd)?;
        Ok(Doorbell { fd })
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Another handle on the same eventfd (to wake a sleeper from another thread).
    pub fn try_clone(&self) -> Result<Self, TransportError> {
        let fd = self.fd.try_clone().map_err(TransportError::io("dup doorbell"))?;
        Ok(Doorbell { fd })
    }

    pub fn ring(&self) {
        memory::eventfd_signal(self.fd.as_fd());
    }

    /// Sleeps until rung or `timeout` passes; true when rung. Clears the bell.
    pub fn wait(&self, timeout: Duration) -> bool {
        let rung = memory::wait_readable(self.fd.as_fd(), timeout);
        if rung {
            memory::eventfd_drain(self.fd.as_fd());
        }
        rung
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_across_threads() {
        let bell = Doorbell::new().unwrap();
        let other = bell.try_clone().unwrap();
        assert!(!bell.wait(Duration::from_millis(1)));
        std::thread::spawn(move || other.ring()).join().unwrap();
        assert!(bell.wait(Duration::from_secs(1)));
        assert!(!bell.wait(Duration::from_millis(1)), "waiting clears it");
    }
}
