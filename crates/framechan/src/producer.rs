//! The producer (server) side: creates a ring, fills slots and publishes them.
//!
//! Owns: choosing a slot to write, the Free/Ready → Writing → Ready transitions,
//! sequence numbers, the publish token and the doorbell ring, retiring a ring when a
//! resize or format change makes a new generation, and reclaiming abandoned slots.
//! Does not own: where the pixels come from (the GL backend reads into
//! [`WriteGuard::as_mut_ptr`]), sending the fd to the peer (the session's socket), or
//! deciding that the peer is dead (its [`Liveness`] does).
//!
//! Slot choice: a Free slot first, otherwise the Ready slot holding the oldest frame
//! (an unread frame is simply superseded: the consumer wants the latest). A Reading
//! slot is never written, so a reader never sees a torn frame. With two or more slots
//! and a consumer that holds at most one, a slot is always available.
//!
//! Abandoned-slot rule:
//! - *Writing* slots: a ring has one producer, and `acquire` takes `&mut self`, so when
//!   this producer scans for a slot it holds none. Any slot found Writing was left by an
//!   earlier producer of the ring (a thread that died mid-frame, a process whose ring
//!   was [`FrameProducer::resume`]d) and is reclaimed to Free at once.
//! - *Reading* slots are reclaimed only when the producer has no other slot, and then
//!   only if the consumer's [`Liveness`] says it is gone, or the slot has stayed
//!   Reading, with the same frame and owner pid, for longer than the reader patience
//!   ([`DEFAULT_READER_PATIENCE`]). A reader that was merely slow learns it at release
//!   ([`FrameChanError::Reclaimed`]) and discards what it read, so a torn frame is never
//!   accepted. The recorded pid is only part of that identity (and a diagnostic): the
//!   consumer may live in another pid namespace, so the producer never signals or
//!   probes it.
//! - Owner words with values the protocol never writes (a corrupt or hostile peer)
//!   are reset to Free.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use transport::liveness::Liveness;
use wire::frame::{
    publish_token, split_token, FrameGeometry, FrameRingHeader, PixelFormat, RingStatus, SlotOwner, MAX_GENERATION,
    MAX_SEQ, MAX_SLOTS,
};

use crate::error::{FrameChanError, Result};
use crate::memory::RingMemory;

/// How long a slot may stay Reading, while the producer has no other slot, before it
/// is taken from a reader that is still said to be alive.
pub const DEFAULT_READER_PATIENCE: Duration = Duration::from_secs(1);

/// Size and format of a ring to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    /// Ring length, `1..=MAX_SLOTS`; 3 lets the producer write while the consumer reads
    /// one frame and another waits.
    pub slots: u32,
}

impl FrameSpec {
    pub const fn bgra(width: u32, height: u32) -> Self {
        FrameSpec { width, height, format: PixelFormat::Bgra8888, slots: 3 }
    }
}

/// The producer end of one ring (one generation of one surface).
#[derive(Debug)]
pub struct FrameProducer {
    mem: RingMemory,
    geometry: FrameGeometry,
    next_seq: u64,
    peer: Liveness,
    pid: u32,
    reader_patience: Duration,
    /// Per slot: the (seq, pid) seen Reading and since when, for the patience rule.
    reading_since: [Option<(u64, u32, Instant)>; MAX_SLOTS],
}

impl FrameProducer {
    /// Creates a ring of generation `generation` in a new sealed memfd. `peer` is the
    /// consumer's liveness (reclaiming its slots if it dies).
    pub fn create(spec: FrameSpec, generation: u64, peer: Liveness) -> Result<Self> {
        let (header, geometry) = FrameRingHeader::new(spec.width, spec.height, spec.format, spec.slots, generation)?;
        let mem = RingMemory::create(&header, &geometry)?;
        Ok(Self::with(mem, geometry, 1, peer))
    }

    /// Takes over an existing ring as its producer, for instance after the previous
    /// producer died. The previous producer must be gone: a ring has one producer.
    /// Slots it left Writing are reclaimed, and sequence numbers continue after the
    /// newest frame in the ring.
    pub fn resume(fd: OwnedFd, peer: Liveness) -> Result<Self> {
        let (mem, geometry, _) = RingMemory::attach(fd, true)?;
        if RingStatus::from_u32(mem.status().load(Ordering::Acquire)) != Some(RingStatus::Active) {
            return Err(FrameChanError::Retired { generation: geometry.generation });
        }
        let token = mem.latest_token().load(Ordering::Acquire);
        let mut newest = match geometry.check_token(token) {
            Ok((seq, _)) => seq,
            Err(wire::frame::FrameError::NoFrame) => 0,
            Err(e) => return Err(e.into()),
        };
        for slot in 0..geometry.slot_count as u8 {
            let seq = mem.slot_seq(slot).load(Ordering::Acquire);
            if seq <= MAX_SEQ {
                newest = newest.max(seq);
            }
        }
        let mut producer = Self::with(mem, geometry, newest + 1, peer);
        producer.reclaim_writing();
        Ok(producer)
    }

    fn with(mem: RingMemory, geometry: FrameGeometry, next_seq: u64, peer: Liveness) -> Self {
        FrameProducer {
            mem,
            geometry,
            next_seq,
            peer,
            pid: std::process::id(),
            reader_patience: DEFAULT_READER_PATIENCE,
            reading_since: [None; MAX_SLOTS],
        }
    }

    /// Sets how long a slot may stay Reading before it is reclaimed from a live reader
    /// (when the producer has no other slot).
    pub fn set_reader_patience(&mut self, patience: Duration) {
        self.reader_patience = patience;
    }

    /// The memfd, to duplicate and send to the consumer.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.mem.fd()
    }

    /// A duplicate of the memfd to hand to the consumer.
    pub fn share_fd(&self) -> Result<OwnedFd> {
        self.mem.fd().try_clone_to_owned().map_err(|source| FrameChanError::Io { what: "dup frame ring fd", source })
    }

    pub fn geometry(&self) -> &FrameGeometry {
        &self.geometry
    }

    pub fn generation(&self) -> u64 {
        self.geometry.generation
    }

    /// The sequence number the next publish gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Acquires a slot to write the next frame into, waiting at most `timeout` when the
    /// reader holds every slot. Dropping the guard without publishing frees the slot.
    pub fn acquire(&mut self, timeout: Duration) -> Result<WriteGuard<'_>> {
        if self.next_seq > MAX_SEQ {
            return Err(FrameChanError::SeqExhausted { generation: self.geometry.generation });
        }
        let start = Instant::now();
        let mut idle_rounds = 0u32;
        let slot = loop {
            if let Some(slot) = self.try_acquire() {
                break slot;
            }
            let reading = self.reclaim_reading();
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(FrameChanError::NoFreeSlot { waited, reading });
            }
            if reading == 0 {
                // A slot was reclaimed (or changed state): scan again at once.
                continue;
            }
            // The consumer rings no doorbell on release (it holds at most one slot, so
            // this wait happens only with a one-slot ring or a misbehaving reader):
            // back off, bounded by the timeout.
            idle_rounds += 1;
            if idle_rounds < 16 {
                std::thread::yield_now();
            } else {
                std::thread::sleep((timeout - waited).min(Duration::from_micros(200)));
            }
        };
        let (ptr, len) = self
            .mem
            .frame(&self.geometry, slot)
            .ok_or_else(|| FrameChanError::Corrupt(format!("slot {slot} outside the mapping")))?;
        Ok(WriteGuard { producer: self, slot, ptr, len, done: false })
    }

    /// One scan: reclaims abandoned Writing slots and garbage owner words, then tries
    /// to take the best Free or Ready slot.
    fn try_acquire(&mut self) -> Option<u8> {
        let mut best: Option<(u8, SlotOwner, u64)> = None;
        for slot in 0..self.geometry.slot_count as u8 {
            let owner_word = self.mem.slot_owner(slot);
            let owner = owner_word.load(Ordering::Acquire);
            if owner != SlotOwner::Reading.as_u32() {
                self.reading_since[slot as usize] = None;
            }
            match SlotOwner::from_u32(owner) {
                Some(SlotOwner::Free) => {
                    if !matches!(best, Some((_, SlotOwner::Free, _))) {
                        best = Some((slot, SlotOwner::Free, 0));
                    }
                }
                Some(SlotOwner::Ready) => {
                    let seq = self.mem.slot_seq(slot).load(Ordering::Relaxed);
                    let older = match best {
                        None => true,
                        Some((_, SlotOwner::Ready, best_seq)) => seq < best_seq,
                        Some(_) => false,
                    };
                    if older {
                        best = Some((slot, SlotOwner::Ready, seq));
                    }
                }
                Some(SlotOwner::Writing) => {
                    self.reclaim(slot, SlotOwner::Writing.as_u32(), "left Writing by an earlier producer")
                }
                Some(SlotOwner::Reading) => {}
                None => self.reclaim(slot, owner, "holding an unknown owner value"),
            }
        }
        let (slot, from, _) = best?;
        self.mem
            .slot_owner(slot)
            .compare_exchange(from.as_u32(), SlotOwner::Writing.as_u32(), Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        self.mem.slot_pid(slot).store(self.pid, Ordering::Relaxed);
        Some(slot)
    }

    /// Sets `slot` from `from` to Free if it still holds `from`.
    fn reclaim(&self, slot: u8, from: u32, why: &str) {
        let pid = self.mem.slot_pid(slot).load(Ordering::Relaxed);
        if self
            .mem
            .slot_owner(slot)
            .compare_exchange(from, SlotOwner::Free.as_u32(), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            tracing::warn!(
                slot,
                owner = from,
                owner_pid = pid,
                generation = self.geometry.generation,
                "frame ring: reclaimed a slot {why}"
            );
        }
    }

    fn reclaim_writing(&mut self) {
        for slot in 0..self.geometry.slot_count as u8 {
            let owner = self.mem.slot_owner(slot).load(Ordering::Acquire);
            match SlotOwner::from_u32(owner) {
                Some(SlotOwner::Writing) => self.reclaim(slot, owner, "left Writing by an earlier producer"),
                None => self.reclaim(slot, owner, "holding an unknown owner value"),
                _ => {}
            }
        }
    }

    /// Applies the Reading half of the abandoned-slot rule. Returns how many slots are
    /// still held Reading (0 means something changed and a rescan may succeed).
    fn reclaim_reading(&mut self) -> u32 {
        let gone = !self.peer.is_alive();
        let now = Instant::now();
        let mut held = 0;
        for slot in 0..self.geometry.slot_count as u8 {
            let owner = self.mem.slot_owner(slot).load(Ordering::Acquire);
            if owner != SlotOwner::Reading.as_u32() {
                self.reading_since[slot as usize] = None;
                // Not Free or Ready either, or the scan would have taken it: it changed
                // since; let the caller rescan.
                if owner != SlotOwner::Writing.as_u32() {
                    return 0;
                }
                continue;
            }
            let seq = self.mem.slot_seq(slot).load(Ordering::Relaxed);
            let pid = self.mem.slot_pid(slot).load(Ordering::Relaxed);
            let since = match self.reading_since[slot as usize] {
                Some((s, p, since)) if s == seq && p == pid => since,
                _ => {
                    self.reading_since[slot as usize] = Some((seq, pid, now));
                    now
                }
            };
            if gone {
                self.reclaim(slot, owner, "read by a consumer that is gone");
                self.reading_since[slot as usize] = None;
            } else if now.duration_since(since) >= self.reader_patience {
                self.reclaim(slot, owner, "read for longer than the reader patience");
                self.reading_since[slot as usize] = None;
            } else {
                held += 1;
            }
        }
        held
    }

    /// Copies one frame of exactly `frame_bytes` (rows `stride` apart) into a slot and
    /// publishes it. Returns the publish token.
    pub fn publish_copy(&mut self, frame: &[u8], timeout: Duration) -> Result<u64> {
        let expected = self.geometry.frame_bytes();
        if frame.len() as u64 != expected {
            return Err(FrameChanError::FrameSize { got: frame.len(), expected });
        }
        let mut guard = self.acquire(timeout)?;
        guard.pixels_mut().copy_from_slice(frame);
        guard.publish()
    }

    fn set_status(&self, status: RingStatus) {
        self.mem.status().store(status.as_u32(), Ordering::SeqCst);
        self.mem.ring_doorbell();
    }

    /// Marks the ring replaced by a newer generation and wakes the consumer.
    pub fn retire(&self) {
        self.set_status(RingStatus::Retired);
    }

    /// Marks the surface failed: the consumer reports an error instead of repeating the
    /// last frame forever.
    pub fn fail(&self) {
        self.set_status(RingStatus::Failed);
    }

    /// Creates the ring of the next generation (for a resize, a format change, or when
    /// sequence numbers run out) and retires this one. Send the new ring's fd to the
    /// consumer, then drop this producer.
    pub fn recreate(&self, spec: FrameSpec) -> Result<FrameProducer> {
        let generation = self.geometry.generation + 1;
        if generation > MAX_GENERATION {
            return Err(FrameChanError::GenerationExhausted(self.geometry.generation));
        }
        let next = FrameProducer::create(spec, generation, self.peer.clone())?;
        self.retire();
        Ok(next)
    }
}

/// A slot held Writing. Publish it, or drop it to give the slot back unpublished.
#[derive(Debug)]
pub struct WriteGuard<'a> {
    producer: &'a mut FrameProducer,
    slot: u8,
    ptr: NonNull<u8>,
    len: usize,
    done: bool,
}

impl WriteGuard<'_> {
    pub fn slot(&self) -> u8 {
        self.slot
    }

    /// The sequence number this frame will be published under.
    pub fn seq(&self) -> u64 {
        self.producer.next_seq
    }

    pub fn geometry(&self) -> &FrameGeometry {
        &self.producer.geometry
    }

    /// The slot's pixel rows (`stride * height` bytes), for a raw writer such as
    /// `glReadPixels`. Valid while the guard lives.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot's pixel rows. The slot is Writing, so the protocol keeps the consumer
    /// out of it until [`WriteGuard::publish`].
    pub fn pixels_mut(&mut self) -> &mut [u8] {
        // SAFETY: `ptr..ptr+len` is this slot's frame inside the read-write ring
        // mapping (bounds-checked in `acquire`), alive while the guard borrows the
        // producer. The owner word is Writing, set by our compare-exchange, so a
        // consumer following the protocol neither reads nor writes these bytes until
        // we publish; the `&mut self` borrow keeps this the only Rust reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Publishes the frame: Writing → Ready, then the token `(generation, seq, slot)`,
    /// then the doorbell. Returns the token.
    pub fn publish(mut self) -> Result<u64> {
        let p = &mut *self.producer;
        let seq = p.next_seq;
        let token = publish_token(p.geometry.generation, seq, self.slot)
            .ok_or(FrameChanError::SeqExhausted { generation: p.geometry.generation })?;
        debug_assert_eq!(split_token(token), (p.geometry.generation, seq, self.slot));
        p.mem.slot_seq(self.slot).store(seq, Ordering::Relaxed);
        // Release: the pixel writes and the seq above happen-before a consumer's
        // acquiring Ready → Reading on this word.
        if let Err(found) = p.mem.slot_owner(self.slot).compare_exchange(
            SlotOwner::Writing.as_u32(),
            SlotOwner::Ready.as_u32(),
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            // Not ours any more: leave the word alone (`done`), report it.
            self.done = true;
            return Err(FrameChanError::SlotStolen { slot: self.slot, found });
        }
        self.done = true;
        p.next_seq += 1;
        // SeqCst: the store is visible before the wake below, so a consumer about to
        // sleep on the old value sees the change in the futex compare.
        p.mem.latest_token().store(token, Ordering::SeqCst);
        p.mem.ring_doorbell();
        Ok(token)
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            // An unpublished (possibly half-written) frame: give the slot back empty.
            let _ = self.producer.mem.slot_owner(self.slot).compare_exchange(
                SlotOwner::Writing.as_u32(),
                SlotOwner::Free.as_u32(),
                Ordering::Release,
                Ordering::Relaxed,
            );
        }
    }
}
