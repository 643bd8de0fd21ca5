//! libEGL_glwire: the libglvnd EGL vendor library. `extern "C"` shims only, each one
//! panic-free; the logic behind them lives in `client`. The shims and their name table
//! are generated (`generated.rs`); pointer handling is in `ptr`, the panic barrier and
//! error reporting in `entry`.
//!
//! Status: the entry points and the table exist; `__egl_Main`, which makes libglvnd load
//! this library, comes with the ICD issue. Nothing is exported yet.

// libglvnd finds vendors by file name: the library must be called libEGL_glwire.
#![allow(non_snake_case)]

mod entry;
mod generated;
mod ptr;
mod types;

pub mod procs;
