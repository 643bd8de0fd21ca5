//! libEGL_glwire: the libglvnd EGL vendor library. `extern "C"` entry points only, each
//! one panic-free; the logic behind them lives in `client`. Most GL entry points and
//! their name table are generated (`generated.rs`); the hand-written ones are in
//! `gl_hand` (GL) and `egl_hand` (EGL), the dispatch stubs for EGL extension functions
//! in `egl_dispatch`; pointer handling is in `ptr`, the panic barrier and error
//! reporting in `entry`.
//!
//! It exports exactly one symbol, `__egl_Main` (`vendor`), through which libglvnd finds
//! everything else.

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
