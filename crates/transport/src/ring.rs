//! The single-producer, single-consumer byte ring in shared memory that carries a
//! context's command stream (client → server) and reply stream (server → client).
//!
//! Layout of one ring region (`RingSpec`): a 256-byte header — `head` (bytes ever
//! written), `tail` (bytes ever read), and one "asleep" word per side, each on its own
//! cache line — then the data area, a power of two of at least 4 KiB. The data holds
//! records `[len u32][kind u32][bytes, padded to 8]` that never wrap: a `SKIP` record
//! fills the end when the next one does not fit. Messages longer than a quarter of the
//! ring travel as `FIRST`/`MIDDLE` fragments of exactly that size and a `LAST` one,
//! which the consumer appends straight into its buffer, so a payload of any size
//! crosses with one copy in and one copy out.
//!
//! Everything read from the header or a record is peer input: positions are checked
//! against the capacity, record lengths against what was published, fragment sizes and
//! order against the state machine; a violation is `TransportError::BadRing`, which ends
//! the session. Bytes are copied out of shared memory once before anyone looks at them.
//! Both rings start empty: attaching refuses a region whose positions are not zero.
//!
//! Waiting spins briefly, then sleeps on the side's "asleep" word (a futex, see
//! `doorbell`); the other side wakes it only when it sees that word raised, so a busy
//! stream makes no system calls.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wire::buf::Sink;
use wire::codec::EncodeError;
use wire::CommandBuf;

use crate::doorbell;
use crate::liveness::{Liveness, LIVENESS_TICK};
use crate::shm::SharedMemory;
use crate::TransportError;

/// Bytes of the ring header.
pub const RING_HEADER_BYTES: u64 = 256;
/// The smallest data area.
pub const MIN_RING_DATA: u64 = 4096;

const HEAD_OFFSET: usize = 0;
const TAIL_OFFSET: usize = 64;
const CONSUMER_ASLEEP_OFFSET: usize = 128;
const PRODUCER_ASLEEP_OFFSET: usize = 192;

const RECORD_HEADER: usize = 8;
const WHOLE: u32 = 1;
const FIRST: u32 = 2;
const MIDDLE: u32 = 3;
const LAST: u32 = 4;
const SKIP: u32 = 5;

/// How long a waiting side spins before it yields, and yields before it sleeps.
const SPIN_FOR: Duration = Duration::from_micros(20);
const YIELD_FOR: Duration = Duration::from_micros(200);

/// Where a ring lives inside its shared region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSpec {
    pub offset: u64,
    pub len: u64,
}

impl RingSpec {
    /// A spec whose data area holds `data` bytes (a power of two ≥ 4 KiB).
    pub fn with_data(offset: u64, data: u64) -> Self {
        RingSpec { offset, len: RING_HEADER_BYTES + data }
    }
}

/// The largest record payload of a ring: longer messages are fragmented into records
/// of exactly this size (and a shorter or equal last one), which the consumer checks.
fn fragment_len(capacity: u64) -> usize {
    (capacity / 4) as usize - RECORD_HEADER
}

/// The mapped ring, its bounds checked once.
#[derive(Debug, Clone)]
struct Shared {
    _shm: Arc<SharedMemory>,
    header: NonNull<u8>,
    data: NonNull<u8>,
    capacity: u64,
}

// SAFETY: `Shared` points into an `Arc<SharedMemory>` it keeps alive; access is through
// atomics and bounds-checked raw copies.
unsafe impl Send for Shared {}
// SAFETY: as above; shared references only reach atomics and bounds-checked copies.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(shm: Arc<SharedMemory>, spec: RingSpec) -> Result<Self, TransportError> {
        let bad = |why: String| TransportError::BadRing(why);
        if spec.offset % 64 != 0 {
            return Err(bad(format!("ring offset {} is not 64-byte aligned", spec.offset)));
        }
        let capacity =
            spec.len.checked_sub(RING_HEADER_BYTES).ok_or_else(|| bad("ring smaller than its header".into()))?;
        if capacity < MIN_RING_DATA || !capacity.is_power_of_two() {
            return Err(bad(format!("ring data of {capacity} bytes is not a power of two ≥ {MIN_RING_DATA}")));
        }
        let header = shm
            .range(spec.offset, spec.len)
            .ok_or_else(|| bad(format!("ring {}+{} outside the {}-byte region", spec.offset, spec.len, shm.len())))?;
        // SAFETY: the whole `spec.len` range is inside the mapping (checked above).
        let data = unsafe { header.add(RING_HEADER_BYTES as usize) };
        let ring = Shared { _shm: shm, header, data, capacity };
        // Positions only ever advance by whole records from zero; a region that does not
        // start empty could place a record header across the end of the data.
        let (head, tail) = (ring.head().load(Ordering::SeqCst), ring.tail().load(Ordering::SeqCst));
        if head != 0 || tail != 0 {
            return Err(bad(format!("ring must start empty (head {head}, tail {tail})")));
        }
        Ok(ring)
    }

    fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: `offset` is one of the header's 64-aligned slots inside the mapping
        // (the region is 64-aligned); atomics are the intended way to share these words
        // with the peer, and the mapping outlives `&self`.
        unsafe { &*self.header.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: as for `atomic_u64`.
        unsafe { &*self.header.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    fn head(&self) -> &AtomicU64 {
        self.atomic_u64(HEAD_OFFSET)
    }
    fn tail(&self) -> &AtomicU64 {
        self.atomic_u64(TAIL_OFFSET)
    }
    fn consumer_asleep(&self) -> &AtomicU32 {
        self.atomic_u32(CONSUMER_ASLEEP_OFFSET)
    }
    fn producer_asleep(&self) -> &AtomicU32 {
        self.atomic_u32(PRODUCER_ASLEEP_OFFSET)
    }

    fn index(&self, pos: u64) -> usize {
        (pos & (self.capacity - 1)) as usize
    }

    /// Copies `src` into the data area at `idx`.
    fn write_at(&self, idx: usize, src: &[u8]) -> Result<(), TransportError> {
        if idx.checked_add(src.len()).is_none_or(|end| end > self.capacity as usize) {
            return Err(TransportError::BadRing(format!("write of {} bytes at {idx} outside the ring", src.len())));
        }
        // SAFETY: `idx + src.len() <= capacity` (checked above), so the destination is
        // inside the data area; `src` is private memory.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.data.as_ptr().add(idx), src.len()) };
        Ok(())
    }

    /// Copies bytes out of the data area at `idx`.
    fn read_at(&self, idx: usize, dst: &mut [u8]) -> Result<(), TransportError> {
        if idx.checked_add(dst.len()).is_none_or(|end| end > self.capacity as usize) {
            return Err(TransportError::BadRing(format!("read of {} bytes at {idx} outside the ring", dst.len())));
        }
        // SAFETY: inside the data area (checked above). A hostile peer may write these
        // bytes while we copy them: a race on plain bytes that can only give us garbage,
        // never reach outside the mapping. We copy once and validate the copy, never
        // the shared original.
        unsafe { std::ptr::copy_nonoverlapping(self.data.as_ptr().add(idx), dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }
}

/// How a side waits.
#[derive(Debug, Clone, Copy)]
enum Waiting {
    /// For the peer's next record: spin, yield, then sleep until it publishes. An
    /// answer usually comes within microseconds, and a sleep would add a wake-up's
    /// latency to every round trip.
    ForData,
    /// For room in a full ring, `want` 8-byte units of it: sleep at once until the
    /// consumer has freed that much. A producer ahead of its consumer would otherwise
    /// burn a core the consumer (and the host driver's threads) need, and wake for
    /// every record read.
    ForRoom { want: u32 },
}

/// Waits until `ready` holds, as `how` says, sleeping on the `asleep` futex word so the
/// other side knows to wake it. Returns false when `stop` asked to give up, and an
/// error when the peer died or `patience` ran out.
fn wait_for(
    asleep: &AtomicU32,
    how: Waiting,
    peer: &Liveness,
    stop: &dyn Fn() -> bool,
    patience: Option<Duration>,
    mut ready: impl FnMut() -> Result<bool, TransportError>,
) -> Result<bool, TransportError> {
    let start = Instant::now();
    let mut turns = 0u32;
    let want = match how {
        Waiting::ForData => 1,
        Waiting::ForRoom { want } => want,
    };
    while let Waiting::ForData = how {
        if ready()? {
            return Ok(true);
        }
        turns = turns.wrapping_add(1);
        if turns % 64 == 0 {
            let waited = start.elapsed();
            if waited > YIELD_FOR {
                break;
            }
            if stop() {
                return Ok(false);
            }
            if waited > SPIN_FOR {
                std::thread::yield_now();
            }
        }
        std::hint::spin_loop();
    }
    loop {
        doorbell::raise_until(asleep, want);
        // Re-check after raising: the other side either sees the raised word and wakes
        // us, or published before it, and we see that here.
        if ready()? {
            doorbell::lower(asleep);
            return Ok(true);
        }
        let slept = Instant::now();
        doorbell::sleep(asleep, want, LIVENESS_TICK);
        doorbell::lower(asleep);
        if ready()? {
            return Ok(true);
        }
        if stop() {
            return Ok(false);
        }
        if !peer.is_alive() {
            return Err(TransportError::PeerGone);
        }
        if patience.is_some_and(|p| start.elapsed() > p) {
            return Err(TransportError::TimedOut(start.elapsed()));
        }
        // A peer that keeps lowering our word makes every sleep return at once: pace
        // the loop rather than spin on its behalf.
        if slept.elapsed() < Duration::from_micros(100) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// `bytes` of a ring as the 8-byte units a raised producer word counts.
fn units(bytes: u64) -> u32 {
    u32::try_from(bytes / 8).unwrap_or(u32::MAX)
}

/// Writes messages into a ring. It is also a `wire::buf::Sink`, so an encoder can write
/// a command straight into shared memory: a large payload then crosses from the
/// program's memory into the ring with one copy.
#[derive(Debug)]
pub struct Producer {
    ring: Shared,
    /// Bytes published so far.
    head: u64,
    peer: Liveness,
    /// How long to wait for room before giving up on the consumer (None: as long as it
    /// lives), and a flag that abandons the wait.
    patience: Option<Duration>,
    stop: Option<Arc<AtomicBool>>,
    /// The largest record payload: longer messages are fragmented.
    fragment: usize,
    /// The message being written, if one is open.
    open: Option<Streaming>,
    /// Why the last write failed (`Sink` errors carry no transport detail).
    error: Option<TransportError>,
}

/// The record being filled for an open message.
#[derive(Debug, Clone, Copy)]
struct Streaming {
    /// Message bytes not yet given a record.
    remaining: usize,
    /// True until the first record of the message is reserved.
    first: bool,
    /// Data index of the current record's payload, its length and bytes written.
    at: usize,
    len: usize,
    written: usize,
    /// Bytes the current record (with any skip before it) advances the head by.
    advance: u64,
    /// The current record's header index, to rewrite it if the message is abandoned.
    header: usize,
    /// Some record of this message is already visible to the consumer.
    published: bool,
}

/// The writing end of the (empty) ring at `spec` in `shm`.
pub fn producer(shm: Arc<SharedMemory>, spec: RingSpec, peer: Liveness) -> Result<Producer, TransportError> {
    let ring = Shared::new(shm, spec)?;
    let fragment = fragment_len(ring.capacity);
    Ok(Producer { ring, head: 0, peer, patience: None, stop: None, fragment, open: None, error: None })
}

impl Producer {
    /// Gives up waiting for room after `patience` (a consumer that stops reading is
    /// broken or hostile), or as soon as `stop` is set.
    pub fn set_limits(&mut self, patience: Duration, stop: Arc<AtomicBool>) {
        self.patience = Some(patience);
        self.stop = Some(stop);
    }

    /// Sends one message (of any length), waiting while the ring is full. Fails when the
    /// peer dies, stops reading, or corrupts the ring.
    pub fn send(&mut self, msg: &[u8]) -> Result<(), TransportError> {
        let result = self.open(msg.len()).and_then(|()| self.put(msg));
        self.close(result.is_ok());
        result.map_err(|_| self.take_error())
    }

    /// The transport error behind the last failed `Sink` call.
    pub fn take_error(&mut self) -> TransportError {
        self.error.take().unwrap_or_else(|| TransportError::BadRing("write failed".into()))
    }

    /// Free bytes, from the consumer's published tail (peer input: validated).
    fn free(&self) -> Result<u64, TransportError> {
        let tail = self.ring.tail().load(Ordering::SeqCst);
        let used = self.head.wrapping_sub(tail);
        if used > self.ring.capacity || tail % 8 != 0 {
            return Err(TransportError::BadRing(format!("tail {tail} is not within a ring of head {}", self.head)));
        }
        Ok(self.ring.capacity - used)
    }

    fn fail(&mut self, e: TransportError) -> EncodeError {
        self.error = Some(e);
        self.open = None;
        EncodeError::SinkFailed { kind: 0 }
    }

    /// Reserves the next record of the open message (waiting for room) and writes its
    /// header; it is published once filled.
    fn start_record(&mut self) -> Result<(), TransportError> {
        let Some(st) = self.open else { return Ok(()) };
        let len = st.remaining.min(self.fragment);
        let last = len == st.remaining;
        let kind = match (st.first, last) {
            (true, true) => WHOLE,
            (true, false) => FIRST,
            (false, true) => LAST,
            (false, false) => MIDDLE,
        };
        let padded = (RECORD_HEADER + len).next_multiple_of(8);
        let idx = self.ring.index(self.head);
        let to_end = self.ring.capacity as usize - idx;
        let skip = if padded > to_end { to_end } else { 0 };
        let need = (skip + padded) as u64;
        let ready = || Ok(self.free()? >= need);
        let stop_flag = self.stop.clone();
        let stop = move || stop_flag.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
        // Woken once half the ring is free (or what this record needs, if more), so a
        // full ring costs one wake-up per half ring rather than one per record.
        let how = Waiting::ForRoom { want: units(need.max(self.ring.capacity / 2)) };
        if !wait_for(self.ring.producer_asleep(), how, &self.peer, &stop, self.patience, ready)? {
            return Err(TransportError::PeerGone);
        }
        if skip > 0 {
            let header = [((skip - RECORD_HEADER) as u32).to_le_bytes(), SKIP.to_le_bytes()].concat();
            self.ring.write_at(idx, &header)?;
        }
        let header = self.ring.index(self.head + skip as u64);
        self.ring.write_at(header, &[(len as u32).to_le_bytes(), kind.to_le_bytes()].concat())?;
        self.open = Some(Streaming {
            remaining: st.remaining - len,
            first: false,
            at: header + RECORD_HEADER,
            len,
            written: 0,
            advance: need,
            header,
            published: st.published,
        });
        Ok(())
    }

    /// Publishes the current record and wakes the consumer if it sleeps.
    fn publish(&mut self, advance: u64) {
        self.head += advance;
        self.ring.head().store(self.head, Ordering::SeqCst);
        doorbell::ring(self.ring.consumer_asleep());
    }

    /// Fills the open message from `bytes` (or zeros), record by record.
    fn fill(&mut self, mut n: usize, bytes: Option<&[u8]>) -> Result<(), EncodeError> {
        const ZEROS: [u8; 64] = [0; 64];
        let mut from = 0usize;
        while n > 0 {
            let Some(mut st) = self.open else { return Err(EncodeError::SizeMismatch { kind: 0 }) };
            if st.written == st.len {
                // The message announced fewer bytes than it is given.
                return Err(EncodeError::SizeMismatch { kind: 0 });
            }
            let take = n.min(st.len - st.written);
            let take = if bytes.is_none() { take.min(ZEROS.len()) } else { take };
            let src = match bytes {
                Some(b) => &b[from..from + take],
                None => &ZEROS[..take],
            };
            if let Err(e) = self.ring.write_at(st.at + st.written, src) {
                return Err(self.fail(e));
            }
            st.written += take;
            from += take;
            n -= take;
            let full = st.written == st.len;
            st.published |= full;
            self.open = Some(st);
            if full {
                self.publish(st.advance);
                if st.remaining > 0 {
                    if let Err(e) = self.start_record() {
                        return Err(self.fail(e));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Sink for Producer {
    fn open(&mut self, size: usize) -> Result<(), EncodeError> {
        if let Some(e) = self.error.take() {
            return Err(self.fail(e));
        }
        self.open = Some(Streaming {
            remaining: size,
            first: true,
            at: 0,
            len: 0,
            written: 0,
            advance: 0,
            header: 0,
            published: false,
        });
        if let Err(e) = self.start_record() {
            return Err(self.fail(e));
        }
        if size == 0 {
            // Nothing will fill it, so nothing would publish it: an empty message goes out
            // as it is opened.
            let advance = self.open.map_or(0, |st| st.advance);
            self.publish(advance);
            if let Some(st) = self.open.as_mut() {
                st.published = true;
            }
        }
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.fill(bytes.len(), Some(bytes))
    }

    fn zeros(&mut self, n: usize) -> Result<(), EncodeError> {
        self.fill(n, None)
    }

    fn close(&mut self, complete: bool) {
        let Some(st) = self.open.take() else { return };
        let all_out = st.remaining == 0 && st.written == st.len;
        if complete || all_out || !st.published {
            // Complete: every record is out. Abandoned before anything went out: the
            // reservation is simply never published.
            return;
        }
        // Fragments went out already: end the message short, as a LAST record of what
        // was written, so the consumer sees a malformed message instead of waiting.
        let header = [(st.written as u32).to_le_bytes(), LAST.to_le_bytes()].concat();
        if self.ring.write_at(st.header, &header).is_err() {
            return;
        }
        let unused = (RECORD_HEADER + st.len).next_multiple_of(8) - (RECORD_HEADER + st.written).next_multiple_of(8);
        self.publish(st.advance - unused as u64);
    }
}

/// What a receive ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A whole message was appended to the buffer.
    Message,
    /// The caller's stop condition held before a message arrived.
    Stopped,
}

/// Reads messages from a ring.
#[derive(Debug)]
pub struct Consumer {
    ring: Shared,
    tail: u64,
    peer: Liveness,
    max_message: usize,
    /// Bytes of the message being assembled from fragments, if any.
    partial: Option<usize>,
}

/// The reading end of the (empty) ring at `spec` in `shm`; messages longer than
/// `wire::codec::MAX_COMMAND_BYTES` are refused (see [`Consumer::set_max_message`]).
pub fn consumer(shm: Arc<SharedMemory>, spec: RingSpec, peer: Liveness) -> Result<Consumer, TransportError> {
    let ring = Shared::new(shm, spec)?;
    Ok(Consumer { ring, tail: 0, peer, max_message: wire::codec::MAX_COMMAND_BYTES as usize, partial: None })
}

/// Interrupts a [`Consumer`] waiting in `recv` from another thread, so it looks at its
/// stop condition.
#[derive(Debug, Clone)]
pub struct Waker {
    ring: Shared,
}

impl Waker {
    pub fn wake(&self) {
        doorbell::ring(self.ring.consumer_asleep());
    }
}

impl Consumer {
    /// Lowers the largest message accepted (a session quota).
    pub fn set_max_message(&mut self, max: usize) {
        self.max_message = max;
    }

    /// A handle that interrupts a waiting `recv` from another thread (its `stop`
    /// condition is checked on every wake-up).
    pub fn waker(&self) -> Waker {
        Waker { ring: self.ring.clone() }
    }

    /// True while a fragmented message is half received.
    pub fn is_assembling(&self) -> bool {
        self.partial.is_some()
    }

    /// Bytes published and not yet read (peer input: validated).
    fn available(&self) -> Result<u64, TransportError> {
        let head = self.ring.head().load(Ordering::SeqCst);
        let avail = head.wrapping_sub(self.tail);
        if avail > self.ring.capacity || head % 8 != 0 {
            return Err(TransportError::BadRing(format!("head {head} is not within a ring of tail {}", self.tail)));
        }
        Ok(avail)
    }

    /// Appends the next whole message to `out`, waiting for it. Returns `Stopped` as soon
    /// as `stop` holds while waiting (a message half received stays pending, and its
    /// bytes stay in `out`: keep them for the next call).
    pub fn recv(&mut self, out: &mut CommandBuf, stop: &dyn Fn() -> bool) -> Result<Received, TransportError> {
        loop {
            if self.drain(out)? {
                return Ok(Received::Message);
            }
            // `drain` stops after a ring's worth of records, so a peer that keeps
            // publishing never keeps us from looking at `stop`.
            if stop() {
                return Ok(Received::Stopped);
            }
            let this = &*self;
            let ready = || Ok(this.available()? > 0);
            if !wait_for(this.ring.consumer_asleep(), Waiting::ForData, &this.peer, stop, None, ready)? {
                return Ok(Received::Stopped);
            }
        }
    }

    /// Appends the next whole message to `out` if one is there; never waits.
    pub fn try_recv(&mut self, out: &mut CommandBuf) -> Result<bool, TransportError> {
        self.drain(out)
    }

    /// Consumes records until a message completes, the ring is empty, or a ring's worth
    /// of bytes went by (so the caller gets to check its stop condition).
    fn drain(&mut self, out: &mut CommandBuf) -> Result<bool, TransportError> {
        let fragment = fragment_len(self.ring.capacity);
        let mut consumed = 0u64;
        while consumed < self.ring.capacity {
            let avail = self.available()?;
            if avail == 0 {
                return Ok(false);
            }
            let bad = |why: String| Err(TransportError::BadRing(why));
            let idx = self.ring.index(self.tail);
            let to_end = self.ring.capacity as usize - idx;
            if avail < RECORD_HEADER as u64 || to_end < RECORD_HEADER {
                return bad(format!("{avail} bytes published at {idx}: no room for a record header"));
            }
            let mut header = [0u8; RECORD_HEADER];
            self.ring.read_at(idx, &mut header)?;
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let kind = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let padded = (RECORD_HEADER + len).next_multiple_of(8);
            if padded > to_end || padded as u64 > avail {
                return bad(format!("record of {len} bytes overruns the published data"));
            }
            let complete = match (kind, self.partial) {
                (SKIP, _) => {
                    // A skip only ever fills the end behind a record that did not fit.
                    if padded != to_end || idx == 0 {
                        return bad("skip record not filling the end of the ring".into());
                    }
                    false
                }
                // Fragments before the last are exactly a fragment long, so a peer cannot
                // stream endless empty pieces.
                (FIRST, None) | (MIDDLE, Some(_)) if len != fragment => {
                    return bad(format!("fragment of {len} bytes where {fragment} are required"));
                }
                (WHOLE, None) | (FIRST, None) | (MIDDLE, Some(_)) | (LAST, Some(_)) => {
                    let so_far = self.partial.unwrap_or(0);
                    let total = so_far.checked_add(len).filter(|&t| t <= self.max_message);
                    let Some(total) = total else {
                        return Err(TransportError::TooLarge {
                            len: so_far.saturating_add(len),
                            max: self.max_message,
                        });
                    };
                    let dst = out
                        .try_extend_for_fill(len)
                        .ok_or(TransportError::TooLarge { len: total, max: self.max_message })?;
                    self.ring.read_at(idx + RECORD_HEADER, dst)?;
                    let done = matches!(kind, WHOLE | LAST);
                    self.partial = if done { None } else { Some(total) };
                    done
                }
                (k, p) => return bad(format!("record kind {k} out of order (assembling: {})", p.is_some())),
            };
            self.tail += padded as u64;
            consumed += padded as u64;
            self.ring.tail().store(self.tail, Ordering::SeqCst);
            // `avail` was read before this record: the room now is at least this much.
            doorbell::ring_when(self.ring.producer_asleep(), units(self.ring.capacity - (avail - padded as u64)));
            if complete {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A context's shared region: one sealed memfd holding its command ring and its reply
/// ring. The client creates it; the server maps the same memfd from the descriptor.
#[derive(Debug)]
pub struct RingRegion {
    pub shm: Arc<SharedMemory>,
    pub commands: RingSpec,
    pub replies: RingSpec,
}

impl RingRegion {
    /// A new region with a command ring and a reply ring of `data` bytes each.
    pub fn create(data: u64) -> Result<Self, TransportError> {
        let commands = RingSpec::with_data(0, data);
        let replies = RingSpec::with_data(commands.len.next_multiple_of(4096), data);
        let len = (replies.offset + replies.len) as usize;
        let shm = Arc::new(SharedMemory::create("glwire-rings", len)?);
        Ok(RingRegion { shm, commands, replies })
    }

    /// The `AttachRing` request that hands this region to the server for `context`.
    pub fn attach_request(&self, context: u64) -> wire::control::AttachRingRequest {
        wire::control::AttachRingRequest {
            context,
            ring_bytes: self.shm.len() as u64,
            cmd_offset: self.commands.offset,
            cmd_len: self.commands.len,
            reply_offset: self.replies.offset,
            reply_len: self.replies.len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(data: u64) -> (Producer, Consumer) {
        let region = RingRegion::create(data).unwrap();
        let peer = Liveness::new();
        let p = producer(region.shm.clone(), region.commands, peer.clone()).unwrap();
        let c = consumer(region.shm.clone(), region.commands, peer).unwrap();
        (p, c)
    }

    fn message(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn messages_arrive_whole_and_in_order_across_wraps() {
        let (mut p, mut c) = pair(4096);
        let mut out = CommandBuf::new();
        for i in 0..200 {
            let msg = message(1 + (i * 37) % 900, i as u8);
            p.send(&msg).unwrap();
            out.clear();
            assert_eq!(c.recv(&mut out, &|| false).unwrap(), Received::Message);
            assert_eq!(out.as_bytes(), &msg[..], "message {i}");
        }
    }

    #[test]
    fn large_messages_travel_in_fragments_between_threads() {
        let (mut p, mut c) = pair(64 << 10);
        let msgs: Vec<Vec<u8>> = (0..8).map(|i| message((1 << 20) + i * 13, i as u8)).collect();
        let sent = msgs.clone();
        let writer = std::thread::spawn(move || {
            for m in &sent {
                p.send(m).unwrap();
            }
        });
        let mut out = CommandBuf::new();
        for m in &msgs {
            out.clear();
            c.recv(&mut out, &|| false).unwrap();
            assert_eq!(out.as_bytes(), &m[..]);
        }
        writer.join().unwrap();
    }

    #[test]
    fn a_waiting_receiver_can_be_stopped() {
        let (_p, mut c) = pair(4096);
        let waker = c.waker();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            let mut out = CommandBuf::new();
            c.recv(&mut out, &|| flag.load(Ordering::SeqCst)).unwrap()
        });
        std::thread::sleep(Duration::from_millis(30));
        stop.store(true, Ordering::SeqCst);
        waker.wake();
        assert_eq!(t.join().unwrap(), Received::Stopped);
    }

    #[test]
    fn a_dead_peer_ends_the_wait_within_the_deadline() {
        let (_p, mut c) = pair(4096);
        let peer = c.peer.clone();
        let start = Instant::now();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            peer.mark_gone();
        });
        let mut out = CommandBuf::new();
        assert!(matches!(c.recv(&mut out, &|| false), Err(TransportError::PeerGone)));
        assert!(start.elapsed() < Duration::from_millis(100), "{:?}", start.elapsed());
    }

    #[test]
    fn corrupt_positions_are_refused() {
        let (mut p, mut c) = pair(4096);
        p.send(b"hello").unwrap();
        // A hostile producer claims more than the ring holds.
        c.ring.head().store(c.tail + 4096 * 2, Ordering::SeqCst);
        let mut out = CommandBuf::new();
        assert!(matches!(c.try_recv(&mut out), Err(TransportError::BadRing(_))));
        // A hostile consumer claims to have read what was never written.
        let (mut p, c) = pair(4096);
        c.ring.tail().store(1 << 40, Ordering::SeqCst);
        assert!(matches!(p.send(b"x"), Err(TransportError::BadRing(_))));
    }

    #[test]
    fn corrupt_records_are_refused() {
        let (mut p, mut c) = pair(4096);
        p.send(b"hello").unwrap();
        // Overwrite the record's length with one that runs past what was published.
        c.ring.write_at(0, &4000u32.to_le_bytes()).unwrap();
        let mut out = CommandBuf::new();
        assert!(matches!(c.try_recv(&mut out), Err(TransportError::BadRing(_))));
        // A fragment continuation without a start.
        let (mut p, mut c) = pair(4096);
        p.send(b"hello").unwrap();
        c.ring.write_at(4, &MIDDLE.to_le_bytes()).unwrap();
        assert!(matches!(c.try_recv(&mut out), Err(TransportError::BadRing(_))));
    }

    #[test]
    fn oversized_messages_are_refused() {
        let (mut p, mut c) = pair(4096);
        c.set_max_message(2000);
        p.send(&message(1500, 1)).unwrap();
        let mut out = CommandBuf::new();
        assert!(c.try_recv(&mut out).unwrap(), "1500 bytes are within the limit");
        let (mut p, mut c) = pair(4096);
        c.set_max_message(2000);
        let t = std::thread::spawn(move || p.send(&message(3000, 1)));
        let mut out = CommandBuf::new();
        let err = c.recv(&mut out, &|| false).unwrap_err();
        assert!(matches!(err, TransportError::TooLarge { .. }), "{err}");
        drop(c);
        let _ = t.join();
    }

    #[test]
    fn commands_encode_straight_into_the_ring() {
        use wire::commands::{decode_command, BufferSubData, Command};
        let (mut p, mut c) = pair(64 << 10);
        let data: Vec<u8> = message(100_000, 3);
        let writer = std::thread::spawn(move || {
            cmd_encode(&mut p, &data);
            p
        });
        let mut out = CommandBuf::new();
        c.recv(&mut out, &|| false).unwrap();
        let _p = writer.join().unwrap();
        let (decoded, rest) = decode_command(out.as_bytes()).unwrap();
        let expect = message(100_000, 3);
        assert_eq!(
            decoded,
            Command::BufferSubData(BufferSubData { target: 0x8892, offset: 0, size: 100_000, data: &expect })
        );
        assert!(rest.is_empty());
    }

    fn cmd_encode(p: &mut Producer, data: &[u8]) {
        use wire::commands::{BufferSubData, Command};
        Command::BufferSubData(BufferSubData { target: 0x8892, offset: 0, size: data.len() as i64, data })
            .encode(p)
            .unwrap();
    }

    #[test]
    fn an_abandoned_message_never_looks_whole() {
        let (mut p, mut c) = pair(4096);
        // Small: nothing was published, nothing arrives.
        p.open(64).unwrap();
        p.put(&[1; 10]).unwrap();
        p.close(false);
        let mut out = CommandBuf::new();
        assert!(!c.try_recv(&mut out).unwrap());
        // Large: fragments went out; the message ends short.
        p.open(3000).unwrap();
        p.put(&[2; 1500]).unwrap();
        p.close(false);
        assert!(c.try_recv(&mut out).unwrap());
        assert_eq!(out.len(), 1500, "a short message, which the decoder refuses");
        // The ring stays usable.
        out.clear();
        p.send(b"after").unwrap();
        assert!(c.try_recv(&mut out).unwrap());
        assert_eq!(out.as_bytes(), b"after");
    }

    #[test]
    fn bad_specs_are_refused() {
        let region = RingRegion::create(4096).unwrap();
        let peer = Liveness::new();
        let mut s = region.commands;
        s.offset = 8;
        assert!(consumer(region.shm.clone(), s, peer.clone()).is_err());
        assert!(consumer(region.shm.clone(), RingSpec::with_data(0, 3000), peer.clone()).is_err());
        assert!(consumer(region.shm.clone(), RingSpec::with_data(1 << 20, 4096), peer).is_err());
    }

    #[test]
    fn a_ring_that_does_not_start_empty_is_refused() {
        let region = RingRegion::create(4096).unwrap();
        let peer = Liveness::new();
        let p = producer(region.shm.clone(), region.commands, peer.clone()).unwrap();
        // A hostile client moves the positions before the server attaches.
        p.ring.head().store(4096 - 3, Ordering::SeqCst);
        p.ring.tail().store(4096 - 3, Ordering::SeqCst);
        let err = consumer(region.shm.clone(), region.commands, peer.clone()).unwrap_err();
        assert!(err.to_string().contains("start empty"), "{err}");
        assert!(producer(region.shm.clone(), region.commands, peer).is_err());
    }

    #[test]
    fn fragments_must_be_full_size() {
        let (mut p, mut c) = pair(4096);
        // A zero-length FIRST record: a peer trying to stream endless empty pieces.
        p.ring.write_at(0, &[0u32.to_le_bytes(), FIRST.to_le_bytes()].concat()).unwrap();
        p.publish(8);
        let mut out = CommandBuf::new();
        let err = c.try_recv(&mut out).unwrap_err();
        assert!(err.to_string().contains("fragment"), "{err}");
    }

    #[test]
    fn a_producer_that_keeps_publishing_cannot_hold_the_consumer() {
        // Well-formed fragments forever: `recv` must still see its stop condition.
        let (mut p, mut c) = pair(4096);
        let fragment = fragment_len(4096);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let writer = std::thread::spawn(move || {
            p.set_limits(Duration::from_secs(5), flag.clone());
            p.open(usize::MAX / 2).unwrap();
            while !flag.load(Ordering::SeqCst) {
                if p.put(&vec![0; fragment]).is_err() {
                    break;
                }
            }
        });
        let flag = stop.clone();
        let start = Instant::now();
        let mut out = CommandBuf::new();
        c.set_max_message(usize::MAX);
        let mut calls = 0;
        let result = loop {
            calls += 1;
            let r = c.recv(&mut out, &|| start.elapsed() > Duration::from_millis(50));
            out.clear();
            if !matches!(r, Ok(Received::Message)) || calls > 1000 {
                break r;
            }
        };
        flag.store(true, Ordering::SeqCst);
        assert_eq!(result.unwrap(), Received::Stopped);
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(c);
        let _ = writer.join();
    }

    #[test]
    fn a_full_ring_gives_up_after_its_patience() {
        let (mut p, _c) = pair(4096);
        p.set_limits(Duration::from_millis(50), Arc::new(AtomicBool::new(false)));
        let start = Instant::now();
        let err = loop {
            if let Err(e) = p.send(&[7; 512]) {
                break e;
            }
        };
        assert!(matches!(err, TransportError::TimedOut(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn empty_messages_arrive() {
        let (mut p, mut c) = pair(4096);
        p.send(&[]).unwrap();
        let mut out = CommandBuf::new();
        assert!(c.try_recv(&mut out).unwrap());
        assert!(out.is_empty());
    }
}
