//! The client side of glwire behind the ICD: the per-thread current context, the command
//! stream it encodes into, the state it shadows (pixel store, bound buffers, client
//! arrays) to size what the ICD copies from the program, the program's copies of mapped
//! buffer ranges (`mapping`), EGL (`egl`), and the link to the server. It never calls
//! host GL and holds no `unsafe`: raw pointers stay in the ICD.

pub mod capture;
mod client_arrays;
mod connect;
mod context;
pub mod egl;
mod error;
mod link;
mod mapping;
pub mod names;
pub mod record;
pub mod replay;
mod ring_link;
pub mod session;
mod shadow;
mod sizing;
pub mod sys;
mod typed;
mod window;

pub use client_arrays::{set_client_memory, ClientMemory};
pub use connect::{Connection, Path, RING_DATA};
pub use context::{make_current, with_current, BufferSlot, Context, FrameCounters};
pub use error::CallError;
pub use link::{with_display_link, Forward, Link, ReplyBuf};
pub use ring_link::RingLink;
pub use session::{Session, SessionError};
