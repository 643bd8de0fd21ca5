//! Why a forwarded call did not complete: a GL error the client can name itself, or a
//! failure of the link to the server.

/// The outcome of a call that did not reach, or did not come back from, the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// A GL error the client detected without asking the server (GL_INVALID_VALUE for
    /// a NULL array with a positive count, for example); recorded for `glGetError`.
    #[error("GL error {0:#06x}")]
    Gl(u32),
    /// An EGL error the client detected itself (EGL_BAD_ATTRIBUTE for an attribute
    /// list with no end, for example).
    #[error("EGL error {0:#06x}")]
    Egl(u32),
    /// No server connection (none yet): nothing can be forwarded.
    #[error("not connected to a glwire server")]
    NotConnected,
    /// The connection broke (the server died or corrupted the channel): the context
    /// is lost, as EGL_CONTEXT_LOST says.
    #[error("connection to the glwire server lost: {0}")]
    Lost(String),
    /// The server's answer did not decode, or answered another command.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A call whose arguments cannot be encoded (a payload over the wire's limit).
    #[error("cannot encode: {0}")]
    Encode(#[from] wire::codec::EncodeError),
}

impl From<wire::DecodeError> for CallError {
    fn from(e: wire::DecodeError) -> Self {
        CallError::Protocol(e.to_string())
    }
}

pub(crate) const GL_INVALID_ENUM: u32 = 0x0500;
pub(crate) const GL_INVALID_VALUE: u32 = 0x0501;
pub(crate) const GL_OUT_OF_MEMORY: u32 = 0x0505;

impl CallError {
    pub const INVALID_VALUE: CallError = CallError::Gl(GL_INVALID_VALUE);
    pub const INVALID_ENUM: CallError = CallError::Gl(GL_INVALID_ENUM);
    pub const OUT_OF_MEMORY: CallError = CallError::Gl(GL_OUT_OF_MEMORY);
}
