//! The host executor: the only crate that calls the host's EGL and GLES (Mesa, or a GPU
//! driver). It trusts its input; validation happens in `server` before anything gets here.
//!
//! Status: the executor lands with the ICD issue.
