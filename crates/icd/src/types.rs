//! The C types of the entry points (from `wire::ctypes`), and the one platform rule the
//! shims rely on.

// The shims copy pointer-sized values (EGLConfig, EGLAttrib, `void *` results) as
// 64-bit wire values in place; that is only right where pointers are 64 bits.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("the glwire ICD supports 64-bit targets only");

pub(crate) use wire::ctypes::*;
