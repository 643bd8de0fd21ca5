//! Moves bytes between a glwire client and the render server: shared-memory rings,
//! doorbells, Unix and TCP channels, fd passing, peer credentials and liveness.
//! It does not know opcodes or GL; what the bytes mean is `wire`'s business.
//!
//! Status: the transport lands with the device-host issue; nothing is here yet.
