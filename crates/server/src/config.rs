//! What `glwire serve` is told: where to listen, the TCP token file, where to serve
//! metrics, and the per-session limits, with finite defaults. It owns the defaults and the conversion of limits into
//! the handshake's `Limits`; it does not read files or open sockets (`host` does).

use std::net::SocketAddr;
use std::path::PathBuf;

use wire::protocol::Limits;

/// Per-session quotas. Every one is finite by default; exceeding one gives the client
/// a `LimitExceeded` reply, never a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub max_contexts: u32,
    /// Shared memory (rings, frame rings, buffer maps) mapped for one session.
    pub max_shm_bytes: u64,
    /// GL object names of every namespace together (buffers, textures, programs, …).
    pub max_objects: u32,
    /// Requests awaiting a reply at once.
    pub max_in_flight: u32,
    /// Estimated bytes of GL buffers, textures, renderbuffers and surfaces.
    pub max_gl_bytes: u64,
    /// The server-wide guard behind the per-session counts: past this many resident
    /// bytes of the whole server, no session's allocation is made.
    pub max_server_bytes: u64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_contexts: 16,
            max_shm_bytes: 256 << 20,
            max_objects: 1 << 20,
            max_in_flight: 64,
            max_gl_bytes: 1 << 30,
            max_server_bytes: crate::quota::default_max_server_bytes(),
        }
    }
}

impl SessionLimits {
    /// The limits as announced in the handshake's `Welcome`.
    pub fn to_wire(&self) -> Limits {
        Limits {
            max_shm_bytes: self.max_shm_bytes,
            max_contexts: self.max_contexts,
            max_objects: self.max_objects,
            max_in_flight: self.max_in_flight,
            max_command_bytes: wire::codec::MAX_COMMAND_BYTES,
        }
    }
}

/// Most sessions at once; further clients are refused with `Busy` so a flood of
/// connections cannot make the server spawn threads without bound.
pub const DEFAULT_MAX_SESSIONS: usize = 64;

/// Everything `DeviceHost::bind` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// The local endpoint: a Unix socket inside a directory only this user can enter.
    pub socket: PathBuf,
    /// The optional remote endpoint (TCP, token required, no shared memory).
    pub listen: Option<SocketAddr>,
    /// Holds the token TCP clients must present; required when `listen` is set.
    pub token_file: Option<PathBuf>,
    pub limits: SessionLimits,
    pub max_sessions: usize,
    /// Answer commands without GL (the loopback executor): for measuring the channel
    /// alone, or a machine without a host driver.
    pub loopback: bool,
    /// Where to serve Prometheus metrics over HTTP (`metrics`). Unauthenticated: bind
    /// it to localhost, or a network only the monitoring can reach.
    pub metrics: Option<SocketAddr>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            socket: default_socket_path(),
            listen: None,
            token_file: None,
            limits: SessionLimits::default(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            loopback: false,
            metrics: None,
        }
    }
}

/// `$XDG_RUNTIME_DIR/glwire/gpu0`, or `/tmp/glwire-$UID/gpu0` when there is no runtime
/// directory (the host then checks that directory's owner and mode before use, since
/// anyone can create names in /tmp).
pub fn default_socket_path() -> PathBuf {
    // One definition for the server and its clients (`transport::endpoint`).
    transport::endpoint::default_socket_path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_finite() {
        let l = SessionLimits::default();
        assert_eq!(l.max_contexts, 16);
        assert_eq!(l.max_shm_bytes, 256 << 20);
        assert_eq!(l.max_objects, 1 << 20);
        assert_eq!(l.max_in_flight, 64);
        let w = l.to_wire();
        assert_eq!(w.max_contexts, 16);
        assert_eq!(w.max_command_bytes, wire::codec::MAX_COMMAND_BYTES);
    }
}
