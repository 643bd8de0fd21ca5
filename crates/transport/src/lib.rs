//! Moves bytes between a glwire client and the render server: shared-memory rings with
//! doorbells for the command and reply streams, Unix and TCP channels (with fd passing
//! and peer credentials) for control requests, and peer liveness. It does not know
//! opcodes or GL; what the bytes mean is `wire`'s business. Platform calls live in
//! `sys`; everything read from shared memory or a socket is validated before use.

pub mod channel;
pub mod doorbell;
pub mod endpoint;
mod error;
pub mod liveness;
pub mod ring;
pub mod shm;
mod sys;

pub use error::TransportError;
