//! Producer and consumer of the frame ring: rendered frames in an unnamed sealed memfd,
//! handed from the server to its client. The ring's byte layout is `wire::frame`'s; this
//! crate owns mapping it and the slot-ownership protocol. It does not know GL, windows
//! or X11, and it does not send the memfd anywhere (the session's socket does).
//!
//! - [`memory`]: the memfd, its mappings, bounded access to live words, the doorbell.
//! - [`producer`]: the server side ([`FrameProducer`]): slots Free/Ready → Writing →
//!   Ready, publish tokens, generations, reclaiming abandoned slots.
//! - [`consumer`]: the client side ([`FrameConsumer`]): header validation, Ready →
//!   Reading → Ready, stale-generation rejection, bounded waits.
//!
//! Why a reader never sees a torn frame: each slot's owner word is changed only by
//! compare-exchange. The producer writes pixels only in a slot it moved to Writing
//! (from Free or Ready, never from Reading) and publishes with a release Writing →
//! Ready; the consumer reads only a slot it moved Ready → Reading with acquire, and
//! gives it back with a release Reading → Ready. The one exception, reclaiming a slot
//! from a reader deemed dead or stuck (see [`producer`]), is reported to that reader at
//! release, so a frame it accepts was never written under it.

pub mod consumer;
mod error;
pub mod memory;
pub mod producer;

pub use consumer::{FrameConsumer, FrameGuard, FrameInfo};
pub use error::{FrameChanError, Result};
pub use producer::{FrameProducer, FrameSpec, WriteGuard, DEFAULT_READER_PATIENCE};
pub use transport::liveness::Liveness;
pub use wire::frame::{FrameError, FrameGeometry, PixelFormat, RingStatus};
