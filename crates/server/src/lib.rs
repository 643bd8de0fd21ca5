//! The render server: device host, sessions, the control dispatch table, decoding and
//! validation of client command streams, name maps and quotas. It never calls host GL
//! directly; `backend-gles` executes what this crate has validated.
//!
//! The control plane: `config` (what to serve), `endpoint` (the socket's private
//! directory, stale sockets, the TCP token), `host` (accepting, peer credentials, one
//! thread per session), `handshake`, `session` (the control loop and everything a
//! session owns) and `dispatch` (the one table of control handlers). The data plane:
//! `context` (one thread per GL context), `exec` (the executor seam), `validate` (what
//! every command must satisfy before host GL), `gles` (the host executor behind it),
//! `extensions` (what GL_EXTENSIONS offers), `images` (a session's EGLImages) and
//! `stats`; `metrics` serves the stats as Prometheus text.

mod config;
pub mod context;
mod dispatch;
mod endpoint;
pub mod error;
pub mod exec;
mod extensions;
mod fast;
pub mod gles;
mod handshake;
mod host;
mod images;
mod metrics;
pub mod names;
pub mod quota;
mod session;
pub mod stats;
pub mod surface;
pub mod validate;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub use config::{default_socket_path, ServeConfig, SessionLimits, DEFAULT_MAX_SESSIONS};
pub use error::ServerError;
pub use host::DeviceHost;

/// Runs `glwire serve`: installs SIGINT/SIGTERM handlers, binds the endpoints and
/// serves until a signal arrives; then closes every session and removes the socket.
/// A second SIGINT/SIGTERM while shutting down exits at once (status 1).
pub fn serve(config: ServeConfig) -> Result<(), ServerError> {
    // Before any thread exists: it sets environment variables libglvnd reads, so the
    // host EGL is Mesa's (or the configured driver's), never glwire's own vendor.
    backend_gles::prepare_process_env();
    let shutdown = Arc::new(AtomicBool::new(false));
    let mut handlers = Vec::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let io = |source| ServerError::Io { what: "install a signal handler", source };
        // Registered first, so it sees the flag as it was before this signal set it.
        handlers.push(signal_hook::flag::register_conditional_shutdown(signal, 1, shutdown.clone()).map_err(io)?);
        handlers.push(signal_hook::flag::register(signal, shutdown.clone()).map_err(io)?);
    }
    let result = DeviceHost::bind(config).and_then(|host| host.run(shutdown));
    for id in handlers {
        signal_hook::low_level::unregister(id);
    }
    result
}
