//! The frame ring's one error type. Every way a peer's memfd, header or live word can
//! be wrong, and every bounded wait that ran out, has a variant here; none panics.

use std::time::Duration;

use thiserror::Error;
use wire::frame::FrameError;

#[derive(Debug, Error)]
pub enum FrameChanError {
    /// The header or a publish token failed `wire::frame`'s checks (bad magic,
    /// version, sizes, memfd too small, stale generation, slot out of range, ...).
    #[error("frame ring: {0}")]
    Frame(#[from] FrameError),
    #[error("{what}: {source}")]
    Io { what: &'static str, source: std::io::Error },
    /// The descriptor is not a memfd sealed the way the ring needs.
    #[error("frame ring memfd refused: {0}")]
    BadMemfd(String),
    #[error("frame ring of {needed} bytes exceeds the limit of {max}")]
    TooLarge { needed: u64, max: u64 },
    /// A ring handed over again, or one older than the ring already in use.
    #[error("frame ring generation {generation} is not newer than {newer_than}; an old ring is refused")]
    StaleRing { generation: u64, newer_than: u64 },
    #[error("generation {0} is the last the publish token can carry; no newer ring can be made")]
    GenerationExhausted(u64),
    #[error("sequence numbers of generation {generation} are exhausted; recreate the ring under a new generation")]
    SeqExhausted { generation: u64 },
    /// The producer replaced this ring (resize, format change, sequence exhaustion).
    #[error("frame ring generation {generation} was retired; attach the newer ring")]
    Retired { generation: u64 },
    #[error("the producer gave up on this surface")]
    ProducerFailed,
    #[error("the peer is gone")]
    PeerGone,
    /// The recovery window passed without a new frame: report it, do not freeze.
    #[error("no fresh frame within {0:?}")]
    NoFreshFrame(Duration),
    #[error("no free slot within {waited:?} ({reading} slot(s) held by the reader)")]
    NoFreeSlot { waited: Duration, reading: u32 },
    /// The producer reclaimed the slot while this side was reading it (the reader
    /// looked dead or overran the patience): what was read may be torn; discard it.
    #[error("slot {slot} was reclaimed while being read; discard what was read")]
    Reclaimed { slot: u8 },
    /// Someone changed the slot's owner word while this side was writing it.
    #[error("slot {slot} was taken away while being written (owner word {found})")]
    SlotStolen { slot: u8, found: u32 },
    /// A live word holds a value the protocol never writes.
    #[error("corrupt frame ring word: {0}")]
    Corrupt(String),
    #[error("frame of {got} bytes, but this ring's frames are {expected} bytes")]
    FrameSize { got: usize, expected: u64 },
}

impl FrameChanError {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(rustix::io::Errno) -> Self {
        move |e| FrameChanError::Io { what, source: e.into() }
    }
}

pub type Result<T, E = FrameChanError> = std::result::Result<T, E>;
