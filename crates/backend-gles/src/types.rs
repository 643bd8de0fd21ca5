//! The C types of the GLES entry points (from `wire::ctypes`, shared with the ICD),
//! which give each host function its C signature; EGL types come from `khronos-egl`.

// The executor passes 64-bit wire values (GLsync handles, `void **` outputs, buffer
// offsets) as pointers in place; that is only right where pointers are 64 bits.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("the glwire host executor supports 64-bit targets only");

pub use wire::ctypes::*;
