//! The transport's one error type. A transport error ends the session it happened in;
//! it never takes the process down.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{what}: {source}")]
    Io { what: &'static str, source: io::Error },
    #[error("the peer is gone")]
    PeerGone,
    #[error("timed out after {0:?}")]
    TimedOut(std::time::Duration),
    #[error("shared memory: {0}")]
    BadSharedMemory(String),
    #[error("ring: {0}")]
    BadRing(String),
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("channel: {0}")]
    BadChannel(String),
    #[error("file descriptors cannot travel over TCP")]
    NoFdPassing,
    #[error("control message: {0}")]
    Control(wire::control::ControlError),
    #[error("connection closed mid-message: got {got} of {needed} bytes of {what}")]
    Truncated { what: &'static str, got: usize, needed: usize },
    /// A wait was cut short by the channel's abort flag (the server is shutting down).
    #[error("aborted: shutting down")]
    Aborted,
}

impl TransportError {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| TransportError::Io { what, source }
    }
}
