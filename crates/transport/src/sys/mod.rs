//! Linux system calls behind the transport: memory (memfd, seals, mmap, eventfd) and
//! sockets (SCM_RIGHTS, SO_PEERCRED, pidfd). Each function wraps one concern so the
//! modules above hold no platform detail.

pub(crate) mod memory;
pub(crate) mod socket;
