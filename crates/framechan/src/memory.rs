//! The ring's memory: the unnamed sealed memfd, its two mappings, bounded access to
//! the live words and slots, and the frame-ready doorbell.
//!
//! Owns: creating the memfd (producer), checking a peer's memfd (seals, size), the
//! RAII mappings, turning `wire::frame` *offsets* into atomics or byte ranges after a
//! bounds check (offsets, never pointers, cross the process boundary), and the futex.
//! Does not own: what the words mean or who may change them (`producer`, `consumer`),
//! nor the layout itself (`wire::frame`).
//!
//! Each side maps the memfd twice: the 256-byte header read-write (both sides change
//! ownership words), and the ring from offset 0 to `ring_bytes` read-write for the
//! producer, read-only for the consumer, so the consumer cannot scribble over pixels
//! through a bug of its own. (The fd itself is read-write: a hostile consumer could
//! map it writable; the producer therefore trusts no word of the header but its own
//! geometry, and validates every live word it reads.)
//!
//! The doorbell: the consumer sleeps on a futex at the low 32 bits of
//! `latest_token` (`(seq << 8) | slot` in its low bits, so it changes with every
//! publish); the producer stores a new token and then wakes it. The futex compares
//! the word in the kernel, so a publish between the consumer's check and its sleep is
//! never lost. `wire::frame` has no spare word for a dedicated doorbell (its reserved
//! bytes must stay zero), hence this; see the crate's report for the layout change that
//! would let the producer skip the wake system call when nobody sleeps.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use rustix::fs::{fcntl_add_seals, fcntl_get_seals, fstat, ftruncate, memfd_create, MemfdFlags, SealFlags};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use rustix::thread::futex;
use wire::frame::{
    slot_state_offset, FrameError, FrameGeometry, FrameRingHeader, FRAME_RING_HEADER_SIZE, LATEST_TOKEN_OFFSET,
    SLOT_OWNER_OFFSET, SLOT_OWNER_PID_OFFSET, SLOT_SEQ_OFFSET, STATUS_OFFSET,
};
use zerocopy::IntoBytes;

use crate::error::{FrameChanError, Result};

/// Largest ring either side creates or maps: 8 slots of 16384×16384×4 bytes would be
/// 8 GiB; a surface of that size is refused rather than mapped.
pub const MAX_RING_BYTES: u64 = 1 << 32;

/// Neither side may change the memfd's size (a shrink under the other's mapping would
/// make its reads fault), nor unseal it.
const REQUIRED_SEALS: SealFlags = SealFlags::SHRINK.union(SealFlags::GROW).union(SealFlags::SEAL);

/// Offset of the futex doorbell: the low half of `latest_token`.
const DOORBELL_OFFSET: usize = LATEST_TOKEN_OFFSET + if cfg!(target_endian = "big") { 4 } else { 0 };

/// One `mmap` of the memfd, unmapped on drop.
#[derive(Debug)]
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(fd: BorrowedFd<'_>, len: u64, writable: bool) -> Result<Self> {
        let len = usize::try_from(len).map_err(|_| FrameChanError::TooLarge { needed: len, max: MAX_RING_BYTES })?;
        if len == 0 {
            return Err(FrameChanError::BadMemfd("empty mapping".into()));
        }
        let prot = if writable { ProtFlags::READ | ProtFlags::WRITE } else { ProtFlags::READ };
        // SAFETY: a fresh shared mapping at an address the kernel picks; it aliases no
        // Rust object, and `Drop` unmaps it exactly once. The caller checked that the
        // memfd holds at least `len` bytes and is sealed against shrinking, so no access
        // inside the mapping can fault.
        let p = unsafe { mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, fd, 0) }
            .map_err(FrameChanError::io("mmap frame ring"))?;
        let base = NonNull::new(p.cast()).ok_or_else(|| FrameChanError::BadMemfd("mmap returned NULL".into()))?;
        Ok(Mapping { base, len })
    }

    /// The address of `offset..offset + len`, or `None` unless it is entirely inside.
    fn range(&self, offset: u64, len: u64) -> Option<NonNull<u8>> {
        let end = offset.checked_add(len)?;
        if end > self.len as u64 {
            return None;
        }
        // SAFETY: `offset <= end <= self.len`, so the result stays inside the mapping.
        Some(unsafe { self.base.add(offset as usize) })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` come from one `mmap`; every borrow handed out from this
        // mapping borrows the `RingMemory` that owns it, so none is alive now.
        let _ = unsafe { munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The mapped ring: the memfd, its header mapping and its ring mapping.
#[derive(Debug)]
pub(crate) struct RingMemory {
    fd: OwnedFd,
    header: Mapping,
    ring: Mapping,
}

// SAFETY: the mappings are plain shared memory owned by this value. All access to the
// live words goes through atomics, and pixel access is ordered by the slot-ownership
// protocol (acquire/release on the owner words), not by Rust's aliasing rules alone.
unsafe impl Send for RingMemory {}
// SAFETY: as above; `&RingMemory` hands out atomics and bounds-checked addresses only.
unsafe impl Sync for RingMemory {}

impl RingMemory {
    /// Creates the memfd for a ring whose header is `header` and size `geometry`'s
    /// `ring_bytes`, writes the header while nobody else can see the memfd, then seals
    /// it.
    pub(crate) fn create(header: &FrameRingHeader, geometry: &FrameGeometry) -> Result<Self> {
        if geometry.ring_bytes > MAX_RING_BYTES {
            return Err(FrameChanError::TooLarge { needed: geometry.ring_bytes, max: MAX_RING_BYTES });
        }
        let fd = memfd_create("glwire-frame-ring", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
            .map_err(FrameChanError::io("memfd_create"))?;
        ftruncate(&fd, geometry.ring_bytes).map_err(FrameChanError::io("ftruncate frame ring"))?;
        let header_map = Mapping::new(fd.as_fd(), FRAME_RING_HEADER_SIZE as u64, true)?;
        let ring = Mapping::new(fd.as_fd(), geometry.ring_bytes, true)?;
        let bytes = header.as_bytes();
        // SAFETY: the header mapping is FRAME_RING_HEADER_SIZE (== bytes.len()) bytes
        // long and writable, and the memfd has not been shared yet: no one else writes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), header_map.base.as_ptr(), bytes.len()) };
        fcntl_add_seals(&fd, REQUIRED_SEALS).map_err(FrameChanError::io("seal frame ring memfd"))?;
        Ok(RingMemory { fd, header: header_map, ring })
    }

    /// Maps a ring a peer handed over, after checking the memfd's seals and size, and
    /// returns it with its validated geometry and the header copy it came from.
    /// `ring_writable` is false for the consumer.
    pub(crate) fn attach(fd: OwnedFd, ring_writable: bool) -> Result<(Self, FrameGeometry, FrameRingHeader)> {
        let seals =
            fcntl_get_seals(&fd).map_err(|e| FrameChanError::BadMemfd(format!("not a sealable memfd ({e})")))?;
        if !seals.contains(REQUIRED_SEALS) {
            return Err(FrameChanError::BadMemfd(format!(
                "memfd lacks seals {:?} (has {seals:?}); seal it against shrink, grow and unsealing",
                REQUIRED_SEALS.difference(seals)
            )));
        }
        let st = fstat(&fd).map_err(FrameChanError::io("fstat frame ring"))?;
        let memfd_len = u64::try_from(st.st_size).map_err(|_| FrameChanError::BadMemfd("negative size".into()))?;
        // Mapping the header of a shorter memfd would fault on access past its end.
        if memfd_len < FRAME_RING_HEADER_SIZE as u64 {
            return Err(FrameError::Truncated { needed: FRAME_RING_HEADER_SIZE, got: memfd_len as usize }.into());
        }
        let header_map = Mapping::new(fd.as_fd(), FRAME_RING_HEADER_SIZE as u64, true)?;
        let mut copy = [0u8; FRAME_RING_HEADER_SIZE];
        // SAFETY: the header mapping holds FRAME_RING_HEADER_SIZE readable bytes (the
        // memfd is at least that long, sealed against shrinking). The peer may write
        // them meanwhile; a raw byte copy then yields some mix of values, which the
        // validation below judges: we never re-read the shared geometry.
        unsafe { std::ptr::copy_nonoverlapping(header_map.base.as_ptr(), copy.as_mut_ptr(), copy.len()) };
        let header = FrameRingHeader::read_from(&copy)?;
        let geometry = header.validate(memfd_len)?;
        if geometry.ring_bytes > MAX_RING_BYTES {
            return Err(FrameChanError::TooLarge { needed: geometry.ring_bytes, max: MAX_RING_BYTES });
        }
        let ring = Mapping::new(fd.as_fd(), geometry.ring_bytes, ring_writable)?;
        Ok((RingMemory { fd, header: header_map, ring }, geometry, header))
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn header_u32(&self, offset: usize) -> &AtomicU32 {
        // The offsets are `wire::frame` constants, not peer data: a failure is a bug here.
        assert!(offset % 4 == 0 && offset + 4 <= FRAME_RING_HEADER_SIZE, "bad u32 header offset {offset}");
        // SAFETY: in bounds of the header mapping (checked above), 4-aligned (the
        // mapping is page-aligned and the offset a multiple of 4), and shared memory is
        // only ever accessed atomically at these offsets. The reference borrows `self`,
        // which keeps the mapping alive.
        unsafe { &*self.header.base.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    fn header_u64(&self, offset: usize) -> &AtomicU64 {
        assert!(offset % 8 == 0 && offset + 8 <= FRAME_RING_HEADER_SIZE, "bad u64 header offset {offset}");
        // SAFETY: as in `header_u32`, with 8-byte alignment.
        unsafe { &*self.header.base.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    pub(crate) fn status(&self) -> &AtomicU32 {
        self.header_u32(STATUS_OFFSET)
    }

    pub(crate) fn latest_token(&self) -> &AtomicU64 {
        self.header_u64(LATEST_TOKEN_OFFSET)
    }

    fn slot_base(slot: u8) -> usize {
        // Callers pass slots below the validated slot_count (<= MAX_SLOTS).
        slot_state_offset(slot).unwrap_or_else(|| panic!("slot {slot} beyond MAX_SLOTS"))
    }

    pub(crate) fn slot_owner(&self, slot: u8) -> &AtomicU32 {
        self.header_u32(Self::slot_base(slot) + SLOT_OWNER_OFFSET)
    }

    pub(crate) fn slot_pid(&self, slot: u8) -> &AtomicU32 {
        self.header_u32(Self::slot_base(slot) + SLOT_OWNER_PID_OFFSET)
    }

    pub(crate) fn slot_seq(&self, slot: u8) -> &AtomicU64 {
        self.header_u64(Self::slot_base(slot) + SLOT_SEQ_OFFSET)
    }

    /// The pixel rows of `slot` as an address and length, bounds-checked against the
    /// ring mapping (`None` only if the geometry and the mapping disagree).
    pub(crate) fn frame(&self, geometry: &FrameGeometry, slot: u8) -> Option<(NonNull<u8>, usize)> {
        let range = geometry.frame_range(slot)?;
        let len = range.end - range.start;
        Some((self.ring.range(range.start, len)?, usize::try_from(len).ok()?))
    }

    fn doorbell(&self) -> &AtomicU32 {
        // Only the kernel reads the word through this reference (futex compare);
        // Rust code accesses those bytes solely through the AtomicU64 `latest_token`.
        self.header_u32(DOORBELL_OFFSET)
    }

    /// Wakes every consumer sleeping on the doorbell. Called after a new token or
    /// status is stored.
    pub(crate) fn ring_doorbell(&self) {
        let _ = futex::wake(self.doorbell(), futex::Flags::empty(), i32::MAX as u32);
    }

    /// Sleeps while the doorbell still holds the low half of `seen_token`, at most
    /// `timeout`. Any error (EAGAIN when it already changed, EINTR, ETIMEDOUT) just
    /// ends the sleep; the caller re-checks.
    pub(crate) fn sleep_on_doorbell(&self, seen_token: u64, timeout: Duration) {
        let ts =
            rustix::time::Timespec { tv_sec: timeout.as_secs() as i64, tv_nsec: i64::from(timeout.subsec_nanos()) };
        // Shared (not private) futex: two processes map this word.
        let _ = futex::wait(self.doorbell(), futex::Flags::empty(), seen_token as u32, Some(&ts));
    }
}
