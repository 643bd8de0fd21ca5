//! The consumer (client) side: attaches to a ring from its fd and takes frames.
//!
//! Owns: validating the peer's memfd and a copy of its header (once, at attach: the
//! geometry line never changes, and this side never re-reads it), the Ready → Reading
//! → Ready transitions, rejecting tokens of another generation, waiting for a frame on
//! the doorbell with bounded sleeps (liveness checked every [`LIVENESS_TICK`]), and
//! the recovery window (no fresh frame in time is an error, not a silent freeze).
//! Does not own: presenting frames (`icd`), receiving the fd of the next generation
//! (the session's socket; on [`FrameChanError::Retired`] the caller fetches it and
//! [`FrameConsumer::attach_newer`]s), or the pixels' meaning.
//!
//! One consumer per ring. A frame is read under a [`FrameGuard`]; the slot goes back to
//! Ready on release (not Free), so the same frame can be shown again
//! ([`FrameConsumer::repeat_last`]) until the producer needs the slot.

use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use transport::liveness::{Liveness, LIVENESS_TICK};
use wire::frame::{FrameGeometry, RingStatus, SlotOwner, MAX_SEQ, NO_FRAME};

use crate::error::{FrameChanError, Result};
use crate::memory::RingMemory;

/// What one look at the ring found.
enum Take {
    Frame {
        slot: u8,
        seq: u64,
    },
    /// Nothing new; the token seen (the doorbell's expected value).
    Nothing {
        token: u64,
    },
}

/// Identity of a frame read from the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    pub generation: u64,
    pub seq: u64,
    pub slot: u8,
}

/// The consumer end of one ring.
#[derive(Debug)]
pub struct FrameConsumer {
    mem: RingMemory,
    geometry: FrameGeometry,
    /// Newest sequence number taken; frames at or below it are not "fresh".
    last_seq: u64,
    peer: Liveness,
    pid: u32,
}

impl FrameConsumer {
    /// Attaches to a ring the producer sent: the memfd must be sealed and its header
    /// must pass `wire::frame`'s validation against the memfd's real size.
    pub fn attach(fd: OwnedFd, peer: Liveness) -> Result<Self> {
        let (mem, geometry, _) = RingMemory::attach(fd, false)?;
        Ok(FrameConsumer { mem, geometry, last_seq: 0, peer, pid: std::process::id() })
    }

    /// Attaches to the ring replacing one of generation `newer_than`; an older or equal
    /// generation is refused ([`FrameChanError::StaleRing`]).
    pub fn attach_newer(fd: OwnedFd, peer: Liveness, newer_than: u64) -> Result<Self> {
        let consumer = Self::attach(fd, peer)?;
        let generation = consumer.geometry.generation;
        if generation <= newer_than {
            return Err(FrameChanError::StaleRing { generation, newer_than });
        }
        Ok(consumer)
    }

    pub fn geometry(&self) -> &FrameGeometry {
        &self.geometry
    }

    pub fn generation(&self) -> u64 {
        self.geometry.generation
    }

    /// Sequence number of the newest frame taken (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The ring's status word, validated.
    pub fn status(&self) -> Result<RingStatus> {
        let word = self.mem.status().load(Ordering::Acquire);
        RingStatus::from_u32(word).ok_or_else(|| FrameChanError::Corrupt(format!("ring status {word}")))
    }

    /// Takes the newest frame if it is newer than the last one taken.
    pub fn try_frame(&mut self) -> Result<Option<FrameGuard<'_>>> {
        match self.try_take()? {
            Take::Frame { slot, seq } => self.guard(slot, seq).map(Some),
            Take::Nothing { .. } => Ok(None),
        }
    }

    /// Waits for a frame newer than the last one taken. `recovery` bounds the wait:
    /// past it the surface has stalled ([`FrameChanError::NoFreshFrame`]). Returns
    /// sooner with an error when the ring is retired or failed, or the peer is gone.
    pub fn wait_frame(&mut self, recovery: Duration) -> Result<FrameGuard<'_>> {
        let start = Instant::now();
        let (slot, seq) = loop {
            let token = match self.try_take()? {
                Take::Frame { slot, seq } => break (slot, seq),
                Take::Nothing { token } => token,
            };
            match self.status()? {
                RingStatus::Active => {}
                RingStatus::Retired => return Err(FrameChanError::Retired { generation: self.geometry.generation }),
                RingStatus::Failed => return Err(FrameChanError::ProducerFailed),
            }
            let waited = start.elapsed();
            if waited >= recovery {
                return Err(FrameChanError::NoFreshFrame(waited));
            }
            if !self.peer.is_alive() {
                return Err(FrameChanError::PeerGone);
            }
            self.mem.sleep_on_doorbell(token, (recovery - waited).min(LIVENESS_TICK));
        };
        self.guard(slot, seq)
    }

    /// Takes the last frame again (static content), if the producer has not reused its
    /// slot; a newer frame found in that slot is taken instead. `None` when neither.
    pub fn repeat_last(&mut self) -> Result<Option<FrameGuard<'_>>> {
        if self.last_seq == 0 {
            return Ok(None);
        }
        for slot in 0..self.geometry.slot_count as u8 {
            if self.mem.slot_seq(slot).load(Ordering::Relaxed) != self.last_seq {
                continue;
            }
            if let Some(seq) = self.take_slot(slot, self.last_seq)? {
                return self.guard(slot, seq).map(Some);
            }
        }
        Ok(None)
    }

    /// Waits for a frame (as [`FrameConsumer::wait_frame`]) and copies it into `out`
    /// (resized to `stride * height`). A frame reclaimed mid-copy is reported as
    /// [`FrameChanError::Reclaimed`]; `out` then holds nothing to show.
    pub fn read_into(&mut self, out: &mut Vec<u8>, recovery: Duration) -> Result<FrameInfo> {
        let guard = self.wait_frame(recovery)?;
        out.resize(guard.len(), 0);
        guard.copy_to(out)?;
        let info = guard.info();
        guard.release()?;
        Ok(info)
    }

    /// One look at the latest token; takes its slot when it names a newer frame.
    fn try_take(&mut self) -> Result<Take> {
        let token = self.mem.latest_token().load(Ordering::Acquire);
        if token == NO_FRAME {
            return Ok(Take::Nothing { token });
        }
        // Generation and slot index checked against this ring before any use.
        let (seq, slot) = self.geometry.check_token(token)?;
        if seq <= self.last_seq {
            return Ok(Take::Nothing { token });
        }
        Ok(match self.take_slot(slot, seq)? {
            Some(seq) => Take::Frame { slot, seq },
            // The producer is rewriting that slot; its publish will ring the doorbell.
            None => Take::Nothing { token },
        })
    }

    /// Ready → Reading on `slot`, expecting a frame of at least `seq`. Returns the
    /// sequence number the slot really holds, or `None` if it was not Ready.
    fn take_slot(&mut self, slot: u8, seq: u64) -> Result<Option<u64>> {
        let owner = self.mem.slot_owner(slot);
        // Acquire: pairs with the producer's Writing → Ready release, so its pixel
        // writes are visible before we read them.
        if owner
            .compare_exchange(
                SlotOwner::Ready.as_u32(),
                SlotOwner::Reading.as_u32(),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Ok(None);
        }
        self.mem.slot_pid(slot).store(self.pid, Ordering::Relaxed);
        let held = self.mem.slot_seq(slot).load(Ordering::Relaxed);
        // A slot is only ever refilled with newer frames, so it holds the token's frame
        // or a newer one; anything else is a corrupt word.
        if held < seq || held > MAX_SEQ {
            let _ = owner.compare_exchange(
                SlotOwner::Reading.as_u32(),
                SlotOwner::Ready.as_u32(),
                Ordering::Release,
                Ordering::Relaxed,
            );
            return Err(FrameChanError::Corrupt(format!("slot {slot} holds frame {held}, expected at least {seq}")));
        }
        self.last_seq = self.last_seq.max(held);
        Ok(Some(held))
    }

    fn guard(&mut self, slot: u8, seq: u64) -> Result<FrameGuard<'_>> {
        let Some((ptr, len)) = self.mem.frame(&self.geometry, slot) else {
            // Cannot happen with a validated geometry; give the slot back regardless.
            release(&self.mem, slot);
            return Err(FrameChanError::Corrupt(format!("slot {slot} outside the mapping")));
        };
        Ok(FrameGuard { consumer: self, slot, seq, ptr, len, released: false })
    }
}

/// Reading → Ready. `false` if the slot was no longer ours (reclaimed).
fn release(mem: &RingMemory, slot: u8) -> bool {
    // Release: our reads of the pixels happen-before the producer's acquiring
    // Ready → Writing, so it never overwrites bytes we are still reading.
    mem.slot_owner(slot)
        .compare_exchange(SlotOwner::Reading.as_u32(), SlotOwner::Ready.as_u32(), Ordering::Release, Ordering::Relaxed)
        .is_ok()
}

/// A frame held Reading: the producer does not write this slot while the guard lives
/// (unless it reclaims it under the abandoned-slot rule, which [`FrameGuard::release`]
/// reports). Dropping the guard releases it too, without the report.
#[derive(Debug)]
pub struct FrameGuard<'a> {
    consumer: &'a mut FrameConsumer,
    slot: u8,
    seq: u64,
    ptr: NonNull<u8>,
    len: usize,
    released: bool,
}

impl FrameGuard<'_> {
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn slot(&self) -> u8 {
        self.slot
    }

    pub fn geometry(&self) -> &FrameGeometry {
        &self.consumer.geometry
    }

    pub fn info(&self) -> FrameInfo {
        FrameInfo { generation: self.consumer.geometry.generation, seq: self.seq, slot: self.slot }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The frame's rows (`stride * height` bytes), borrowed from the ring. Call
    /// [`FrameGuard::release`] afterwards: if it fails, what was read may be torn.
    pub fn pixels(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is this slot's frame inside the read-only ring mapping
        // (bounds-checked when the guard was made), kept alive by the borrow of the
        // consumer. The owner word is Reading, set by our compare-exchange, so the
        // producer does not write these bytes until we release, except when it
        // reclaims the slot from a reader it deems dead or stuck; then the bytes
        // (plain u8, any value valid) may change under us and `release` reports it.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Copies the frame into `out[..len]`.
    pub fn copy_to(&self, out: &mut [u8]) -> Result<()> {
        let Some(dst) = out.get_mut(..self.len) else {
            return Err(FrameChanError::FrameSize { got: out.len(), expected: self.len as u64 });
        };
        dst.copy_from_slice(self.pixels());
        Ok(())
    }

    /// Gives the slot back (Reading → Ready). [`FrameChanError::Reclaimed`] if the
    /// producer took it meanwhile: discard what was read.
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        if release(&self.consumer.mem, self.slot) {
            Ok(())
        } else {
            Err(FrameChanError::Reclaimed { slot: self.slot })
        }
    }
}

impl Drop for FrameGuard<'_> {
    fn drop(&mut self) {
        if !self.released && !release(&self.consumer.mem, self.slot) {
            tracing::debug!(slot = self.slot, seq = self.seq, "frame ring: slot was reclaimed while being read");
        }
    }
}
