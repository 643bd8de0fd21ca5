//! Producer and consumer of the frame ring: rendered frames in an unnamed sealed memfd,
//! handed from the server to its client. The ring's byte layout is `wire::frame`'s; this
//! crate owns mapping it and the slot-ownership protocol. It does not know GL.
//!
//! Status: the frame ring lands with the frames issue; only the layout exists (in `wire`).
