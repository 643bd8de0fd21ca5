//! The crate's one error type: why the host EGL/GLES could not be set up, or why a
//! command could not be executed. GL errors are not here: they stay in the host
//! context, where `glGetError` reads them like any other command.

use std::path::PathBuf;

/// What to run when the host has no usable EGL/GLES driver.
pub const SETUP_HINT: &str = "install Mesa's EGL and GLES (Debian: libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri) \
     with `bash scripts/setup.sh`, or set GLWIRE_HOST_EGL_VENDOR to your GPU driver's glvnd vendor JSON";

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "the render server's environment is not prepared: call backend_gles::prepare_process_env() at \
         start-up, before any thread exists (otherwise libglvnd may load glwire's own vendor)"
    )]
    EnvNotPrepared,

    #[error("cannot load the host EGL library (libEGL.so.1): {detail}; {SETUP_HINT}")]
    EglLoad { detail: String },

    #[error("host EGL vendor file {} not found; {SETUP_HINT}", path.display())]
    VendorFileMissing { path: PathBuf },

    #[error("no host EGL driver offers a surfaceless display ({call}: {detail}); {SETUP_HINT}")]
    NoHostDisplay { call: &'static str, detail: String },

    #[error("the host EGL lacks {name}, which the render server needs ({why})")]
    MissingExtension { name: &'static str, why: &'static str },

    #[error("host {call} failed: {detail}")]
    Egl { call: &'static str, detail: String },

    #[error("the host GLES lacks functions glwire requires (ES 3.0 or newer is needed): {}", names.join(", "))]
    MissingFunctions { names: Vec<&'static str> },

    #[error("the host GLES lacks {0}")]
    MissingFunction(&'static str),

    #[error(
        "{function}.{param}: a NULL output whose size only the validator knows reached the executor \
         (the validator must send the real size)"
    )]
    UnsizedOutput { function: &'static str, param: &'static str },

    #[error("{function}.{param}: the decoded command breaks a guarantee of the wire decoder")]
    BrokenInput { function: &'static str, param: &'static str },

    #[error("{0} carries the client's object names: the server makes host names with GlesContext::gen_names")]
    ClientNames(&'static str),

    #[error("{0} is an EGL command: the GLES executor does not run it")]
    NotGles(&'static str),

    #[error("a scratch buffer of {elems} elements does not fit in memory")]
    ScratchTooLarge { elems: usize },

    /// The command is well formed but GL would refuse it: the GL error to report (the
    /// session goes on).
    #[error("refused with GL error {0:#06x}")]
    GlError(u32),

    #[error("encoding a reply: {0}")]
    Encode(#[from] wire::codec::EncodeError),

    /// `execute_encoded`'s decoder refused the body: the error `decode_command` gives.
    #[error(transparent)]
    Decode(#[from] wire::codec::DecodeError),

    #[error("{0} is not a plain asynchronous call: execute_encoded does not run it (decode it and use execute)")]
    NotEncoded(&'static str),
}
