//! The C types of the GL and EGL entry points, as the Khronos headers define them on
//! Linux (LP64): one place for the ICD's shims and the host executor to take their C
//! signatures from. Type aliases only; nothing here is used on the wire itself.
#![allow(non_camel_case_types, clippy::upper_case_acronyms)]

use core::ffi::{c_char, c_ulong, c_void};

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
/// A function pointer; passed and stored as a pointer-sized value.
pub type GLDEBUGPROC = *const c_void;
pub type GLDEBUGPROCKHR = *const c_void;
/// An EGLImage handed to GL (OES_EGL_image).
pub type GLeglImageOES = *mut c_void;

pub type EGLint = i32;
pub type EGLBoolean = u32;
pub type EGLenum = u32;
pub type EGLAttrib = isize;
pub type EGLAttribKHR = isize;
pub type EGLTime = u64;
pub type EGLTimeKHR = u64;
pub type EGLuint64KHR = u64;
pub type EGLDisplay = *mut c_void;
pub type EGLConfig = *mut c_void;
pub type EGLContext = *mut c_void;
pub type EGLSurface = *mut c_void;
pub type EGLSync = *mut c_void;
pub type EGLSyncKHR = *mut c_void;
pub type EGLImage = *mut c_void;
pub type EGLImageKHR = *mut c_void;
pub type EGLClientBuffer = *mut c_void;
/// X11 `Window` (an XID).
pub type EGLNativeWindowType = c_ulong;
/// X11 `Pixmap` (an XID).
pub type EGLNativePixmapType = c_ulong;
/// X11 `Display *`.
pub type EGLNativeDisplayType = *mut c_void;
