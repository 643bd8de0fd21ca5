//! The C types of the GLES entry points as the Khronos headers define them on Linux
//! (LP64), mirroring the ICD's `types.rs`. Only the generated function table and the
//! executor use them, to give each host function its C signature; EGL types come from
//! `khronos-egl`.
#![allow(non_camel_case_types, dead_code, clippy::upper_case_acronyms)]

use core::ffi::{c_char, c_void};

// The executor passes 64-bit wire values (GLsync handles, `void **` outputs, buffer
// offsets) as pointers in place; that is only right where pointers are 64 bits.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("the glwire host executor supports 64-bit targets only");

pub type GLenum = u32;
pub type GLboolean = u8;
pub type GLbitfield = u32;
pub type GLbyte = i8;
pub type GLubyte = u8;
pub type GLshort = i16;
pub type GLushort = u16;
pub type GLint = i32;
pub type GLuint = u32;
pub type GLsizei = i32;
pub type GLfloat = f32;
pub type GLfixed = i32;
pub type GLhalf = u16;
pub type GLintptr = isize;
pub type GLsizeiptr = isize;
pub type GLint64 = i64;
pub type GLuint64 = u64;
pub type GLchar = c_char;
/// `struct __GLsync *`.
pub type GLsync = *mut c_void;
/// A function pointer; the executor only ever passes NULL for it.
pub type GLDEBUGPROC = *const c_void;
