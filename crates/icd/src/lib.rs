//! libEGL_glwire: the libglvnd EGL vendor library. `extern "C"` shims only, each one
//! panic-free; the logic behind them lives in `client`. The shims and their name table
//! are generated (`generated.rs`); pointer handling is in `ptr`, the panic barrier and
//! error reporting in `entry`.
//!
//! It exports exactly one symbol, `__egl_Main` (`vendor`), through which libglvnd finds
//! everything else. Status: libglvnd loads it and it hands out displays; EGL calls that
//! need the server fail with EGL_NOT_INITIALIZED until the client side of EGL (connect,
//! configs, contexts, surfaces) lands with the ICD issue.

// libglvnd finds vendors by file name: the library must be called libEGL_glwire.
#![allow(non_snake_case)]

mod egl_dispatch;
mod egl_hand;
mod entry;
mod generated;
mod gl_hand;
mod ptr;
mod types;

pub mod procs;
pub mod vendor;
