//! The frame ring's shared-memory layout: the header at the start of each window
//! surface's memfd, the per-slot ownership words, the publish token, and the checks a
//! side runs on a header it did not write.
//!
//! This module owns the byte layout, the field offsets that atomic accesses use, and
//! pure validation of a header *copy*. It does not own the memfd, the mapping, the
//! atomic operations on the live words, the doorbell, or the slot hand-over protocol
//! (all in `framechan`), nor presenting frames (`icd`).
//!
//! Memory picture (all offsets from the start of the memfd, never pointers):
//!
//! ```text
//! 0      FrameRingHeader (256 bytes: geometry line, live words line, 2 lines of slots)
//! slot_offset + i * slot_bytes   slot i: height rows of `stride` bytes, then slack
//! ```

use core::mem::{offset_of, size_of};
use core::ops::Range;

use thiserror::Error;
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `b"GLWFRAME"` read as a little-endian u64.
pub const FRAME_RING_MAGIC: u64 = u64::from_le_bytes(*b"GLWFRAME");

/// Layout version of [`FrameRingHeader`]; bumped on any change to it.
pub const FRAME_RING_VERSION: u32 = 1;

/// Most slots in one ring. Fixed so the header has a fixed size.
pub const MAX_SLOTS: usize = 8;

/// Largest width or height accepted, matching common GL `MAX_RENDERBUFFER_SIZE`s; it
/// also keeps `stride * height` far from overflow.
pub const MAX_DIMENSION: u32 = 16384;

/// Generations must fit the token's 24 generation bits.
pub const MAX_GENERATION: u64 = (1 << 24) - 1;

/// Sequence numbers must fit the token's 32 sequence bits. A producer about to pass
/// this recreates the ring under a new generation rather than wrapping.
pub const MAX_SEQ: u64 = u32::MAX as u64;

/// The latest-token value of a ring nothing has been published to. Real publishes
/// start at sequence 1, so no real token is ever 0.
pub const NO_FRAME: u64 = 0;

/// Alignment [`FrameRingHeader::validate`] demands of `slot_offset` and `slot_bytes`:
/// slots start on cache lines, so no two slots and no slot and the header share one.
pub const SLOT_ALIGN: u64 = 64;

/// Alignment [`FrameRingHeader::new`] gives slots: page boundaries, so a side can map
/// or advise a single slot.
pub const BUILD_SLOT_ALIGN: u64 = 4096;

/// Pixel layout of every slot. All formats are 4 bytes per pixel.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// B, G, R, A bytes in memory (X11's usual 32-bit visual with alpha).
    Bgra8888 = 1,
    /// R, G, B, A bytes in memory (what `glReadPixels(GL_RGBA)` produces).
    Rgba8888 = 2,
    /// B, G, R, unused bytes in memory (X11 depth-24 visuals).
    Xrgb8888 = 3,
}

impl PixelFormat {
    pub const ALL: [PixelFormat; 3] = [PixelFormat::Bgra8888, PixelFormat::Rgba8888, PixelFormat::Xrgb8888];

    pub const fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::Bgra8888),
            2 => Some(Self::Rgba8888),
            3 => Some(Self::Xrgb8888),
            _ => None,
        }
    }

    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    pub const fn bytes_per_pixel(self) -> u32 {
        4
    }
}

/// Who holds a slot; the value of [`SlotState::owner`].
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotOwner {
    Free = 0,
    /// The producer is filling it; a reader must not touch it.
    Writing = 1,
    /// Holds a complete frame nobody is reading.
    Ready = 2,
    /// The consumer is copying it out; the producer must not overwrite it.
    Reading = 3,
}

impl SlotOwner {
    pub const fn from_u32(value: u32) -> Option<Self> {
        match value {
            0 => Some(Self::Free),
            1 => Some(Self::Writing),
            2 => Some(Self::Ready),
            3 => Some(Self::Reading),
            _ => None,
        }
    }

    pub const fn as_u32(self) -> u32 {
        self as u32
    }
}

/// Whole-ring state; the value of [`FrameRingHeader::status`].
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RingStatus {
    Active = 0,
    /// Replaced by a ring of a newer generation (resize, format change, sequence
    /// exhaustion); the consumer should switch to the new one.
    Retired = 1,
    /// The producer gave up on this surface; the consumer reports an error instead of
    /// repeating the last frame forever.
    Failed = 2,
}

impl RingStatus {
    pub const fn from_u32(value: u32) -> Option<Self> {
        match value {
            0 => Some(Self::Active),
            1 => Some(Self::Retired),
            2 => Some(Self::Failed),
            _ => None,
        }
    }

    pub const fn as_u32(self) -> u32 {
        self as u32
    }
}

/// Ownership word of one slot.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SlotState {
    /// A [`SlotOwner`] value; changed only with atomic compare-exchange.
    pub owner: u32,
    /// Pid of the process that set `owner` to Writing or Reading, so a slot held by a
    /// peer that died can be recognised and reclaimed instead of staying wedged.
    pub owner_pid: u32,
    /// Sequence number of the frame the slot holds (0 if none).
    pub seq: u64,
}
const _: () = assert!(size_of::<SlotState>() == 16);

/// The header at offset 0 of a frame ring memfd.
///
/// The first cache line is written once by the producer before the memfd is shared
/// and never changes; the second holds the live status words; the slot states follow.
/// Splitting them keeps the consumer's geometry copy free of the producer's frequent
/// writes (no false sharing, and a copy of line 0 is never torn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct FrameRingHeader {
    // Cache line 0: geometry, immutable once shared.
    pub magic: u64,
    pub version: u32,
    /// `size_of::<FrameRingHeader>()` as the producer built it.
    pub header_bytes: u32,
    /// Ring identity; a new ring for the same surface gets a larger one.
    pub generation: u64,
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next inside a slot.
    pub stride: u32,
    /// A [`PixelFormat`] value.
    pub pixel_format: u32,
    /// Ring length: slots in use, `1..=MAX_SLOTS`.
    pub slot_count: u32,
    pub _pad0: u32,
    /// Offset of slot 0 from the start of the memfd.
    pub slot_offset: u64,
    /// Distance between slots; at least `stride * height`.
    pub slot_bytes: u64,

    // Cache line 1: live words, accessed atomically at STATUS_OFFSET and
    // LATEST_TOKEN_OFFSET.
    /// A [`RingStatus`] value.
    pub status: u32,
    pub _pad1: u32,
    /// Token of the newest ready frame, [`NO_FRAME`] before the first publish.
    pub latest_token: u64,
    pub _reserved: [u8; 48],

    // Cache lines 2–3.
    pub slots: [SlotState; MAX_SLOTS],
}
const _: () = assert!(size_of::<FrameRingHeader>() == 256);
const _: () = assert!(size_of::<FrameRingHeader>() % 64 == 0);
const _: () = assert!(offset_of!(FrameRingHeader, status) == 64);
const _: () = assert!(offset_of!(FrameRingHeader, slots) == 128);

/// Size of [`FrameRingHeader`].
pub const FRAME_RING_HEADER_SIZE: usize = size_of::<FrameRingHeader>();

/// Byte offset of [`FrameRingHeader::status`] (a 4-aligned u32) for atomic access.
pub const STATUS_OFFSET: usize = offset_of!(FrameRingHeader, status);
/// Byte offset of [`FrameRingHeader::latest_token`] (an 8-aligned u64) for atomic access.
pub const LATEST_TOKEN_OFFSET: usize = offset_of!(FrameRingHeader, latest_token);
/// Byte offset of slot 0's [`SlotState`].
pub const SLOTS_OFFSET: usize = offset_of!(FrameRingHeader, slots);
/// Offsets inside a [`SlotState`].
pub const SLOT_OWNER_OFFSET: usize = offset_of!(SlotState, owner);
pub const SLOT_OWNER_PID_OFFSET: usize = offset_of!(SlotState, owner_pid);
pub const SLOT_SEQ_OFFSET: usize = offset_of!(SlotState, seq);

const _: () = assert!(LATEST_TOKEN_OFFSET % 8 == 0);
const _: () = assert!(SLOTS_OFFSET % 8 == 0);

/// Byte offset of slot `slot`'s [`SlotState`] from the start of the memfd.
pub const fn slot_state_offset(slot: u8) -> Option<usize> {
    if (slot as usize) < MAX_SLOTS {
        Some(SLOTS_OFFSET + slot as usize * size_of::<SlotState>())
    } else {
        None
    }
}

/// Packs a publish token `(generation << 40) | (seq << 8) | slot`, or `None` if the
/// generation or sequence number does not fit its bits.
pub const fn publish_token(generation: u64, seq: u64, slot: u8) -> Option<u64> {
    if generation > MAX_GENERATION || seq > MAX_SEQ {
        return None;
    }
    Some((generation << 40) | (seq << 8) | slot as u64)
}

/// Unpacks a publish token into `(generation, seq, slot)`. Every u64 is a valid
/// packing; whether it fits a ring is [`FrameGeometry::check_token`]'s question.
pub const fn split_token(token: u64) -> (u64, u64, u8) {
    (token >> 40, (token >> 8) & MAX_SEQ, token as u8)
}

/// Errors in a frame-ring header or token a peer wrote.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("truncated frame ring header: need {needed} bytes, got {got}")]
    Truncated { needed: usize, got: usize },
    #[error("bad frame ring magic {found:#018x}, expected {FRAME_RING_MAGIC:#018x}")]
    BadMagic { found: u64 },
    #[error(
        "frame ring layout version {found}, this build reads version {expected}; \
         client and server must come from the same glwire release"
    )]
    VersionMismatch { found: u32, expected: u32 },
    #[error("frame ring header_bytes is {found}, expected {expected}")]
    HeaderSize { found: u32, expected: u32 },
    #[error("frame ring header padding {field} is nonzero, expected 0")]
    NonzeroPadding { field: &'static str },
    #[error("frame ring has {count} slots, expected 1..={max}")]
    SlotCount { count: u32, max: usize },
    #[error("unknown pixel format {0}, expected 1 (BGRA8888), 2 (RGBA8888) or 3 (XRGB8888)")]
    UnknownPixelFormat(u32),
    #[error("generation {generation} exceeds the token's limit {max}")]
    GenerationTooLarge { generation: u64, max: u64 },
    #[error("frame size {width}x{height} invalid, expected each side in 1..={max}")]
    Dimensions { width: u32, height: u32, max: u32 },
    #[error("stride {stride} invalid for width {width}: expected a multiple of 4 and at least {min}")]
    Stride { stride: u32, width: u32, min: u64 },
    #[error("slot_bytes {slot_bytes} invalid: expected a multiple of {align} and at least {needed} (stride * height)")]
    SlotBytes { slot_bytes: u64, needed: u64, align: u64 },
    #[error("slot_offset {offset} invalid: expected a multiple of {align} and at least {min} (the header)")]
    SlotOffset { offset: u64, min: u64, align: u64 },
    #[error("frame ring size overflows: slot_offset {slot_offset} + {slot_count} slots of {slot_bytes} bytes")]
    Overflow { slot_offset: u64, slot_count: u32, slot_bytes: u64 },
    #[error("frame ring needs {needed} bytes but its memfd has {memfd_len}")]
    OutOfBounds { needed: u64, memfd_len: u64 },
    #[error("no frame has been published yet")]
    NoFrame,
    #[error("token of generation {token} but the ring is generation {ring}; stale publish rejected")]
    StaleGeneration { token: u64, ring: u64 },
    #[error("token names slot {slot}, but the ring has {slot_count} slots")]
    SlotOutOfRange { slot: u8, slot_count: u32 },
}

/// A validated copy of a ring's geometry. Everything here was checked against the
/// memfd's real length, so the ranges it hands out are in bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameGeometry {
    pub generation: u64,
    pub width: u32,
    pub height: u32,
    pub stride: u32,
    pub format: PixelFormat,
    pub slot_count: u32,
    pub slot_offset: u64,
    pub slot_bytes: u64,
    /// Bytes of memfd the ring uses: `slot_offset + slot_count * slot_bytes`.
    pub ring_bytes: u64,
}

impl FrameGeometry {
    /// Bytes of pixel data in one frame: `stride * height`.
    pub const fn frame_bytes(&self) -> u64 {
        self.stride as u64 * self.height as u64
    }

    /// The whole of slot `slot`, as memfd offsets.
    pub fn slot_range(&self, slot: u8) -> Option<Range<u64>> {
        if u32::from(slot) >= self.slot_count {
            return None;
        }
        // Within ring_bytes, which validation computed without overflow.
        let start = self.slot_offset + u64::from(slot) * self.slot_bytes;
        Some(start..start + self.slot_bytes)
    }

    /// The pixel rows of slot `slot` (the slot without its slack), as memfd offsets.
    pub fn frame_range(&self, slot: u8) -> Option<Range<u64>> {
        let slot = self.slot_range(slot)?;
        Some(slot.start..slot.start + self.frame_bytes())
    }

    /// Checks a token read from the ring belongs to it and returns `(seq, slot)`.
    pub fn check_token(&self, token: u64) -> Result<(u64, u8), FrameError> {
        if token == NO_FRAME {
            return Err(FrameError::NoFrame);
        }
        let (generation, seq, slot) = split_token(token);
        if generation != self.generation {
            return Err(FrameError::StaleGeneration { token: generation, ring: self.generation });
        }
        if u32::from(slot) >= self.slot_count {
            return Err(FrameError::SlotOutOfRange { slot, slot_count: self.slot_count });
        }
        Ok((seq, slot))
    }
}

fn round_up(value: u64, align: u64) -> Option<u64> {
    Some(value.checked_add(align - 1)? / align * align)
}

impl FrameRingHeader {
    /// Builds the header for a new ring: tight rows, page-aligned slots, every slot
    /// free, nothing published. Returns it with its geometry, whose `ring_bytes` is the
    /// size to give the memfd.
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        slot_count: u32,
        generation: u64,
    ) -> Result<(Self, FrameGeometry), FrameError> {
        let mut header = Self::new_zeroed();
        header.magic = FRAME_RING_MAGIC;
        header.version = FRAME_RING_VERSION;
        header.header_bytes = FRAME_RING_HEADER_SIZE as u32;
        header.generation = generation;
        header.width = width;
        header.height = height;
        header.pixel_format = format.as_u32();
        header.slot_count = slot_count;
        header.status = RingStatus::Active.as_u32();
        header.latest_token = NO_FRAME;
        // Out-of-range inputs yield nonsense here that validate() below reports
        // with the precise reason.
        header.stride = width.saturating_mul(format.bytes_per_pixel());
        let frame_bytes = u64::from(header.stride) * u64::from(height);
        header.slot_bytes = round_up(frame_bytes, BUILD_SLOT_ALIGN).unwrap_or(0);
        header.slot_offset =
            round_up(FRAME_RING_HEADER_SIZE as u64, BUILD_SLOT_ALIGN).unwrap_or(FRAME_RING_HEADER_SIZE as u64);
        let geometry = header.validate(u64::MAX)?;
        Ok((header, geometry))
    }

    /// Copies a header out of the start of `bytes` (the mapped memfd). Validate the
    /// copy, never re-read the shared bytes: the peer may change them meanwhile.
    pub fn read_from(bytes: &[u8]) -> Result<Self, FrameError> {
        let (header, _) = Self::read_from_prefix(bytes)
            .map_err(|_| FrameError::Truncated { needed: FRAME_RING_HEADER_SIZE, got: bytes.len() })?;
        Ok(header)
    }

    /// Checks the immutable geometry of this (copied) header against the memfd's real
    /// length (from `fstat`, never from the peer). The live words are not checked:
    /// they change under the reader and are validated at each use.
    pub fn validate(&self, memfd_len: u64) -> Result<FrameGeometry, FrameError> {
        if self.magic != FRAME_RING_MAGIC {
            return Err(FrameError::BadMagic { found: self.magic });
        }
        if self.version != FRAME_RING_VERSION {
            return Err(FrameError::VersionMismatch { found: self.version, expected: FRAME_RING_VERSION });
        }
        if self.header_bytes as usize != FRAME_RING_HEADER_SIZE {
            return Err(FrameError::HeaderSize { found: self.header_bytes, expected: FRAME_RING_HEADER_SIZE as u32 });
        }
        // Zero padding keeps room for a later version to use it.
        if self._pad0 != 0 {
            return Err(FrameError::NonzeroPadding { field: "_pad0" });
        }
        if self._pad1 != 0 {
            return Err(FrameError::NonzeroPadding { field: "_pad1" });
        }
        if self._reserved.iter().any(|&b| b != 0) {
            return Err(FrameError::NonzeroPadding { field: "_reserved" });
        }
        if self.slot_count == 0 || self.slot_count as usize > MAX_SLOTS {
            return Err(FrameError::SlotCount { count: self.slot_count, max: MAX_SLOTS });
        }
        let Some(format) = PixelFormat::from_u32(self.pixel_format) else {
            return Err(FrameError::UnknownPixelFormat(self.pixel_format));
        };
        if self.generation > MAX_GENERATION {
            return Err(FrameError::GenerationTooLarge { generation: self.generation, max: MAX_GENERATION });
        }
        let valid_side = |side: u32| (1..=MAX_DIMENSION).contains(&side);
        if !valid_side(self.width) || !valid_side(self.height) {
            return Err(FrameError::Dimensions { width: self.width, height: self.height, max: MAX_DIMENSION });
        }
        // u32 * u32 always fits u64.
        let min_stride = u64::from(self.width) * u64::from(format.bytes_per_pixel());
        if u64::from(self.stride) < min_stride || self.stride % 4 != 0 {
            return Err(FrameError::Stride { stride: self.stride, width: self.width, min: min_stride });
        }
        let frame_bytes = u64::from(self.stride) * u64::from(self.height);
        if self.slot_bytes < frame_bytes || self.slot_bytes % SLOT_ALIGN != 0 {
            return Err(FrameError::SlotBytes { slot_bytes: self.slot_bytes, needed: frame_bytes, align: SLOT_ALIGN });
        }
        let header_len = FRAME_RING_HEADER_SIZE as u64;
        if self.slot_offset < header_len || self.slot_offset % SLOT_ALIGN != 0 {
            return Err(FrameError::SlotOffset { offset: self.slot_offset, min: header_len, align: SLOT_ALIGN });
        }
        let ring_bytes = self
            .slot_bytes
            .checked_mul(u64::from(self.slot_count))
            .and_then(|slots| slots.checked_add(self.slot_offset))
            .ok_or(FrameError::Overflow {
                slot_offset: self.slot_offset,
                slot_count: self.slot_count,
                slot_bytes: self.slot_bytes,
            })?;
        if ring_bytes > memfd_len {
            return Err(FrameError::OutOfBounds { needed: ring_bytes, memfd_len });
        }
        Ok(FrameGeometry {
            generation: self.generation,
            width: self.width,
            height: self.height,
            stride: self.stride,
            format,
            slot_count: self.slot_count,
            slot_offset: self.slot_offset,
            slot_bytes: self.slot_bytes,
            ring_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn built() -> (FrameRingHeader, FrameGeometry) {
        FrameRingHeader::new(320, 240, PixelFormat::Bgra8888, 3, 5).unwrap()
    }

    fn reject(edit: impl FnOnce(&mut FrameRingHeader)) -> FrameError {
        let (mut header, geometry) = built();
        edit(&mut header);
        header.validate(geometry.ring_bytes).unwrap_err()
    }

    #[test]
    fn builder_geometry() {
        let (header, g) = built();
        assert_eq!(g.stride, 1280);
        assert_eq!(g.frame_bytes(), 1280 * 240);
        assert_eq!(g.slot_offset, 4096);
        assert_eq!(g.slot_bytes, 307_200); // already a multiple of 4096
        assert_eq!(g.ring_bytes, 4096 + 3 * 307_200);
        assert_eq!(g.format, PixelFormat::Bgra8888);
        assert_eq!(header.status, RingStatus::Active.as_u32());
        assert_eq!(header.latest_token, NO_FRAME);
        assert!(header.slots.iter().all(|s| s.owner == SlotOwner::Free.as_u32()));
    }

    #[test]
    fn builder_rounds_slots_to_pages() {
        let (_, g) = FrameRingHeader::new(3, 5, PixelFormat::Rgba8888, 1, 0).unwrap();
        assert_eq!(g.stride, 12);
        assert_eq!(g.slot_bytes, 4096);
        assert_eq!(g.ring_bytes, 8192);
    }

    #[test]
    fn builder_rejects_bad_input() {
        let new = |w, h, n, gen| FrameRingHeader::new(w, h, PixelFormat::Xrgb8888, n, gen);
        assert!(matches!(new(0, 1, 1, 0), Err(FrameError::Dimensions { .. })));
        assert!(matches!(new(16385, 1, 1, 0), Err(FrameError::Dimensions { .. })));
        assert!(matches!(new(u32::MAX, u32::MAX, 1, 0), Err(FrameError::Dimensions { .. })));
        assert!(matches!(new(1, 1, 0, 0), Err(FrameError::SlotCount { .. })));
        assert!(matches!(new(1, 1, 9, 0), Err(FrameError::SlotCount { .. })));
        assert!(matches!(new(1, 1, 1, MAX_GENERATION + 1), Err(FrameError::GenerationTooLarge { .. })));
        let (_, g) = new(16384, 16384, 8, MAX_GENERATION).unwrap();
        assert_eq!(g.ring_bytes, 4096 + 8 * 16384 * 16384 * 4);
    }

    #[test]
    fn round_trip_through_bytes() {
        let (header, g) = built();
        let mut memfd = header.as_bytes().to_vec();
        memfd.resize(g.ring_bytes as usize, 0);
        let copy = FrameRingHeader::read_from(&memfd).unwrap();
        assert_eq!(copy, header);
        assert_eq!(copy.validate(memfd.len() as u64), Ok(g));
    }

    #[test]
    fn truncated_header() {
        let (header, _) = built();
        let bytes = header.as_bytes();
        assert_eq!(FrameRingHeader::read_from(&bytes[..255]), Err(FrameError::Truncated { needed: 256, got: 255 }));
    }

    #[test]
    fn validate_rejections() {
        assert!(matches!(reject(|h| h.magic = 0), FrameError::BadMagic { found: 0 }));
        let err = reject(|h| h.version = 2);
        assert_eq!(err, FrameError::VersionMismatch { found: 2, expected: 1 });
        assert!(err.to_string().contains("version 2"), "{err}");
        assert!(err.to_string().contains("version 1"), "{err}");
        assert!(matches!(reject(|h| h.header_bytes = 128), FrameError::HeaderSize { .. }));
        assert!(matches!(reject(|h| h._pad0 = 1), FrameError::NonzeroPadding { .. }));
        assert!(matches!(reject(|h| h._pad1 = 1), FrameError::NonzeroPadding { .. }));
        assert!(matches!(reject(|h| h._reserved[47] = 1), FrameError::NonzeroPadding { .. }));
        assert!(matches!(reject(|h| h.slot_count = 0), FrameError::SlotCount { .. }));
        assert!(matches!(reject(|h| h.slot_count = MAX_SLOTS as u32 + 1), FrameError::SlotCount { .. }));
        assert_eq!(reject(|h| h.pixel_format = 0), FrameError::UnknownPixelFormat(0));
        assert!(matches!(reject(|h| h.generation = 1 << 24), FrameError::GenerationTooLarge { .. }));
        assert!(matches!(reject(|h| h.width = 0), FrameError::Dimensions { .. }));
        assert!(matches!(reject(|h| h.height = MAX_DIMENSION + 1), FrameError::Dimensions { .. }));
        assert!(matches!(reject(|h| h.stride = 1276), FrameError::Stride { .. }));
        assert!(matches!(reject(|h| h.stride = 1282), FrameError::Stride { .. }));
        assert!(matches!(reject(|h| h.slot_bytes -= 64), FrameError::SlotBytes { .. }));
        assert!(matches!(reject(|h| h.slot_bytes += 8), FrameError::SlotBytes { .. }));
        assert!(matches!(reject(|h| h.slot_offset = 192), FrameError::SlotOffset { .. }));
        assert!(matches!(reject(|h| h.slot_offset = 4097), FrameError::SlotOffset { .. }));
        // One byte short of the memfd.
        let (header, g) = built();
        assert_eq!(
            header.validate(g.ring_bytes - 1),
            Err(FrameError::OutOfBounds { needed: g.ring_bytes, memfd_len: g.ring_bytes - 1 })
        );
    }

    #[test]
    fn overflowing_geometry() {
        assert!(matches!(reject(|h| h.slot_bytes = u64::MAX - 63), FrameError::Overflow { .. }));
        assert!(matches!(
            reject(|h| {
                h.slot_count = 1;
                h.slot_offset = u64::MAX - 63;
            }),
            FrameError::Overflow { .. }
        ));
        // Large but representable: caught by the memfd bound, not by wrapping.
        let (mut header, _) = built();
        header.slot_bytes = u64::MAX / 8 / 64 * 64;
        assert!(header.validate(u64::MAX).is_ok());
        assert!(matches!(header.validate(1 << 40), Err(FrameError::OutOfBounds { .. })));
    }

    #[test]
    fn slot_ranges() {
        let (_, g) = built();
        assert_eq!(g.slot_range(0), Some(4096..4096 + 307_200));
        assert_eq!(g.slot_range(2).unwrap().end, g.ring_bytes);
        assert_eq!(g.slot_range(3), None);
        assert_eq!(g.slot_range(255), None);
        let frame = g.frame_range(1).unwrap();
        assert_eq!(frame.start, g.slot_range(1).unwrap().start);
        assert_eq!(frame.end - frame.start, g.frame_bytes());
        assert_eq!(g.frame_range(3), None);
    }

    #[test]
    fn live_word_offsets() {
        assert_eq!(STATUS_OFFSET, 64);
        assert_eq!(LATEST_TOKEN_OFFSET, 72);
        assert_eq!(SLOTS_OFFSET, 128);
        assert_eq!(slot_state_offset(0), Some(128));
        assert_eq!(slot_state_offset(7), Some(128 + 7 * 16));
        assert_eq!(slot_state_offset(8), None);
        assert_eq!((SLOT_OWNER_OFFSET, SLOT_OWNER_PID_OFFSET, SLOT_SEQ_OFFSET), (0, 4, 8));
        let (mut header, _) = built();
        header.latest_token = 0x0102_0304_0506_0708;
        header.slots[1].owner = 0xAABB_CCDD;
        let bytes = header.as_bytes();
        assert_eq!(bytes[LATEST_TOKEN_OFFSET..LATEST_TOKEN_OFFSET + 8], 0x0102_0304_0506_0708u64.to_le_bytes());
        let at = slot_state_offset(1).unwrap() + SLOT_OWNER_OFFSET;
        assert_eq!(bytes[at..at + 4], 0xAABB_CCDDu32.to_le_bytes());
    }

    #[test]
    fn enums_round_trip() {
        for f in PixelFormat::ALL {
            assert_eq!(PixelFormat::from_u32(f.as_u32()), Some(f));
            assert_eq!(f.bytes_per_pixel(), 4);
        }
        assert_eq!(PixelFormat::from_u32(0), None);
        for v in 0..4 {
            assert_eq!(SlotOwner::from_u32(v).unwrap().as_u32(), v);
        }
        assert_eq!(SlotOwner::from_u32(4), None);
        for v in 0..3 {
            assert_eq!(RingStatus::from_u32(v).unwrap().as_u32(), v);
        }
        assert_eq!(RingStatus::from_u32(3), None);
    }

    #[test]
    fn token_packing() {
        let t = publish_token(5, 42, 2).unwrap();
        assert_eq!(t, (5 << 40) | (42 << 8) | 2);
        assert_eq!(split_token(t), (5, 42, 2));
        let max = publish_token(MAX_GENERATION, MAX_SEQ, 255).unwrap();
        assert_eq!(max, u64::MAX);
        assert_eq!(split_token(max), (MAX_GENERATION, MAX_SEQ, 255));
        assert_eq!(publish_token(0, 0, 0), Some(NO_FRAME));
        assert_eq!(publish_token(MAX_GENERATION + 1, 0, 0), None);
        assert_eq!(publish_token(0, MAX_SEQ + 1, 0), None);
        assert_eq!(publish_token(u64::MAX, u64::MAX, 0), None);
    }

    #[test]
    fn token_checks_against_ring() {
        let (_, g) = built();
        assert_eq!(g.check_token(publish_token(5, 9, 2).unwrap()), Ok((9, 2)));
        assert_eq!(g.check_token(NO_FRAME), Err(FrameError::NoFrame));
        let err = g.check_token(publish_token(4, 9, 2).unwrap()).unwrap_err();
        assert_eq!(err, FrameError::StaleGeneration { token: 4, ring: 5 });
        assert!(err.to_string().contains("stale"), "{err}");
        assert_eq!(
            g.check_token(publish_token(5, 9, 3).unwrap()),
            Err(FrameError::SlotOutOfRange { slot: 3, slot_count: 3 })
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            memfd_len in any::<u64>(),
        ) {
            if let Ok(header) = FrameRingHeader::read_from(&bytes) {
                let _ = header.validate(memfd_len).map_err(|e| e.to_string());
            }
        }

        #[test]
        fn validated_geometry_stays_in_bounds(
            width in 0u32..20000, height in 0u32..20000,
            stride in any::<u32>(), slot_count in 0u32..10,
            slot_offset in prop_oneof![Just(4096u64), any::<u64>()],
            slot_bytes in any::<u64>(), memfd_len in any::<u64>(),
            slot in any::<u8>(), token in any::<u64>(),
        ) {
            let (mut header, _) = FrameRingHeader::new(1, 1, PixelFormat::Bgra8888, 1, 1).unwrap();
            header.width = width;
            header.height = height;
            header.stride = stride;
            header.slot_count = slot_count;
            header.slot_offset = slot_offset;
            header.slot_bytes = slot_bytes;
            if let Ok(g) = header.validate(memfd_len) {
                if let Some(range) = g.slot_range(slot) {
                    prop_assert!(range.end <= memfd_len);
                    prop_assert!(range.start >= FRAME_RING_HEADER_SIZE as u64);
                    let frame = g.frame_range(slot).unwrap();
                    prop_assert!(frame.end <= range.end);
                }
                if let Ok((_, s)) = g.check_token(token) {
                    prop_assert!(g.slot_range(s).is_some());
                }
            }
        }

        #[test]
        fn token_round_trip(generation in 0..=MAX_GENERATION, seq in 0..=MAX_SEQ, slot in any::<u8>()) {
            let token = publish_token(generation, seq, slot).unwrap();
            prop_assert_eq!(split_token(token), (generation, seq, slot));
        }
    }
}
