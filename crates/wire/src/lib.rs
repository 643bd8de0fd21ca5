//! The wire contract between glwire's client (the ICD) and its render server: opcode
//! numbers, the command and reply layouts, the control requests, the handshake, and the
//! frame-ring layout. Both sides `use` this crate, so layout drift is a compile error.
//!
//! It owns bytes and their meaning; it does not know sockets, shared memory or GL
//! execution. Everything that reads peer bytes here is bounded and never panics.
//!
//! All multi-byte values are little-endian in the platform's native layout; glwire
//! refuses to build for big-endian targets rather than mis-read a peer.
#![forbid(unsafe_code)]

#[cfg(target_endian = "big")]
compile_error!("glwire's wire format is little-endian; big-endian targets are not supported");

pub mod buf;
pub mod codec;
pub mod commands;
pub mod control;
pub mod ctypes;
pub mod frame;
pub mod names;
pub mod pnames;
pub mod protocol;
pub mod sizes;

pub use buf::CommandBuf;
pub use codec::{CommandHeader, DecodeError, ReplyHeader};
