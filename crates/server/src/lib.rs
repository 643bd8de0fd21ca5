//! The render server: device host, sessions, the control dispatch table, decoding and
//! validation of client command streams, name maps and quotas. It never calls host GL
//! directly; `backend-gles` executes what this crate has validated.
//!
//! Status: the device host lands with the transport issue. The command decoder it uses
//! is generated into `wire`.
