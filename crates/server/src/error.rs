//! The server's one error type. An error in a session ends that session (or, for GL
//! errors, becomes data for `glGetError`); it never takes the server down. Errors at
//! startup (`Setup`) say which path is wrong and what to do about it.

use transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("malformed command stream: {0}")]
    Decode(#[from] wire::DecodeError),
    #[error("cannot encode a reply: {0}")]
    Encode(#[from] wire::codec::EncodeError),
    #[error("limit reached: {0}")]
    Limit(&'static str),
    #[error("{what}: {source}")]
    Io { what: &'static str, source: std::io::Error },
    #[error("context {0} is stopped")]
    ContextStopped(u64),
    /// The server cannot start as configured; the message names the path and the fix.
    #[error("{0}")]
    Setup(String),
    #[error("handshake: {0}")]
    Handshake(#[from] wire::protocol::HandshakeError),
    #[error("host GL: {0}")]
    Backend(#[from] backend_gles::BackendError),
    #[error("control request: {0}")]
    Control(#[from] wire::control::ControlError),
    #[error("frame ring: {0}")]
    Frames(#[from] framechan::FrameChanError),
}
