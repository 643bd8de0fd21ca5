//! The frame ring as the client sees it from the server: a memfd whose header and
//! slots the peer wrote, and whose live words the peer keeps changing.
//!
//! Part 1, pure (`wire::frame`): the header bytes copied out and validated against a
//! memfd length; every slot range of an accepted geometry inside the ring; tokens
//! checked against it; `split_token`/`publish_token` inverse of each other.
//!
//! Part 2, shared memory (`framechan`): the same bytes written into a memfd (sealed
//! as the producer seals it, or not), `FrameConsumer::attach`, then a script of
//! operations — the peer scribbling on the token, status, slot words, geometry or
//! pixels (`pwrite` into the memfd, which every mapping sees at once), and the
//! consumer's `try_frame`/`repeat_last`/`wait_frame(0)` with the frame read and
//! released (or dropped) — and, on the same memfd, a `FrameProducer::resume`d
//! producer acquiring and publishing slots. Nothing may panic, read outside the
//! mapping, or wait.
//!
//! Input: `[memfd_len u32][flags u8][header: 256 bytes][ops…]`.
#![no_main]

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use framechan::{FrameConsumer, FrameProducer, Liveness};
use glwire_fuzz::{memfd_with, pwrite_all, Input};
use libfuzzer_sys::fuzz_target;
use wire::frame::{
    publish_token, slot_state_offset, split_token, FrameRingHeader, SlotOwner, FRAME_RING_HEADER_SIZE,
    LATEST_TOKEN_OFFSET, MAX_SLOTS, SLOT_OWNER_OFFSET, SLOT_SEQ_OFFSET, STATUS_OFFSET,
};

/// Largest memfd made: frames up to this size are copied whole, so it bounds the
/// cost of one input.
const MAX_MEMFD: u64 = 1 << 20;
/// Most operations run per input.
const MAX_OPS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let memfd_len = u64::from(input.u32()) % (MAX_MEMFD + 1);
    let flags = input.u8();
    let header_bytes = input.bytes(FRAME_RING_HEADER_SIZE);
    pure(header_bytes, memfd_len, &mut input.clone());
    shared(header_bytes, memfd_len, flags, &mut input);
});

fn pure(header_bytes: &[u8], memfd_len: u64, input: &mut Input<'_>) {
    let Ok(header) = FrameRingHeader::read_from(header_bytes) else {
        assert!(header_bytes.len() < FRAME_RING_HEADER_SIZE);
        return;
    };
    let token = input.u64();
    let (generation, seq, slot) = split_token(token);
    assert_eq!(publish_token(generation, seq, slot), Some(token), "split_token and publish_token disagree");
    // Validate against the fuzzer's memfd length and against "any length".
    for len in [memfd_len, u64::MAX] {
        let Ok(g) = header.validate(len) else { continue };
        assert!(g.ring_bytes <= len);
        assert!(g.slot_count >= 1 && g.slot_count as usize <= MAX_SLOTS);
        assert!(g.frame_bytes() <= g.slot_bytes);
        assert!(g.slot_offset >= FRAME_RING_HEADER_SIZE as u64);
        for s in 0..=u8::MAX {
            match (g.slot_range(s), g.frame_range(s)) {
                (Some(slot), Some(frame)) => {
                    assert!(u32::from(s) < g.slot_count);
                    assert!(slot.start >= g.slot_offset && slot.end <= g.ring_bytes, "slot {s} leaves the ring");
                    assert!(frame.start == slot.start && frame.end <= slot.end);
                    assert_eq!(frame.end - frame.start, g.frame_bytes());
                }
                (None, None) => assert!(u32::from(s) >= g.slot_count),
                _ => panic!("slot_range and frame_range disagree on slot {s}"),
            }
        }
        if let Ok((seq_ok, slot_ok)) = g.check_token(token) {
            assert_eq!((g.generation, seq_ok, slot_ok), split_token(token));
            assert!(u32::from(slot_ok) < g.slot_count);
        }
    }
}

fn shared(header_bytes: &[u8], memfd_len: u64, flags: u8, input: &mut Input<'_>) {
    let sealed = flags & 1 == 0;
    let fd = memfd_with(header_bytes, memfd_len, sealed);
    let consumer = FrameConsumer::attach(dup(&fd), Liveness::new());
    let Ok(mut consumer) = consumer else {
        // A producer must refuse the same memfd, without touching it.
        if !sealed || memfd_len < FRAME_RING_HEADER_SIZE as u64 {
            assert!(FrameProducer::resume(dup(&fd), Liveness::new()).is_err());
        }
        return;
    };
    let geometry = *consumer.geometry();
    assert!(geometry.ring_bytes <= memfd_len);
    let reader = Liveness::new();
    let mut producer: Option<FrameProducer> = None;
    // Whether the peer rewrote the geometry line after the consumer copied it: a
    // producer resumed afterwards then reads the new one (each side validates its own
    // copy; neither re-reads it).
    let mut geometry_rewritten = false;

    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        match input.u8() % 14 {
            // The peer writes the live words.
            0 => pwrite_all(&fd, &input.u64().to_le_bytes(), LATEST_TOKEN_OFFSET as u64),
            1 => pwrite_all(&fd, &input.u32().to_le_bytes(), STATUS_OFFSET as u64),
            2 => {
                let slot = input.u8() % MAX_SLOTS as u8;
                let base = slot_state_offset(slot).expect("slot below MAX_SLOTS") as u64;
                pwrite_all(&fd, &input.u32().to_le_bytes(), base + SLOT_OWNER_OFFSET as u64);
                pwrite_all(&fd, &input.u64().to_le_bytes(), base + SLOT_SEQ_OFFSET as u64);
            }
            // The peer writes anywhere: geometry (already copied), pixels, slack.
            3 => {
                let offset = u64::from(input.u32()) % memfd_len.max(1);
                let n = input.u8() as usize;
                let bytes = input.bytes(n);
                geometry_rewritten |= offset < STATUS_OFFSET as u64 && !bytes.is_empty();
                pwrite_all(&fd, bytes, offset);
            }
            // A publish as a well-behaved producer writes it: slot Ready, its seq, token.
            4 => {
                let slot = input.u8() % geometry.slot_count as u8;
                let seq = u64::from(input.u16());
                let base = slot_state_offset(slot).expect("slot below MAX_SLOTS") as u64;
                pwrite_all(&fd, &SlotOwner::Ready.as_u32().to_le_bytes(), base + SLOT_OWNER_OFFSET as u64);
                pwrite_all(&fd, &seq.to_le_bytes(), base + SLOT_SEQ_OFFSET as u64);
                if let Some(token) = publish_token(geometry.generation, seq, slot) {
                    pwrite_all(&fd, &token.to_le_bytes(), LATEST_TOKEN_OFFSET as u64);
                }
            }
            5 => {
                let release = input.u8() & 1 == 0;
                let before = consumer.last_seq();
                if let Ok(Some(frame)) = consumer.try_frame() {
                    assert!(frame.seq() > before, "try_frame took a frame that is not newer");
                    read(frame, release, &geometry);
                }
            }
            6 => {
                let release = input.u8() & 1 == 0;
                if let Ok(Some(frame)) = consumer.repeat_last() {
                    read(frame, release, &geometry);
                }
            }
            7 => {
                let release = input.u8() & 1 == 0;
                if let Ok(frame) = consumer.wait_frame(Duration::ZERO) {
                    read(frame, release, &geometry);
                }
            }
            8 => {
                let _ = consumer.status();
            }
            // The server side on the same memory: resume, acquire, publish.
            9 => {
                if let Ok(mut p) = FrameProducer::resume(dup(&fd), reader.clone()) {
                    if !geometry_rewritten {
                        assert_eq!(*p.geometry(), geometry, "producer and consumer read different geometries");
                    }
                    p.set_reader_patience(Duration::ZERO);
                    producer = Some(p);
                }
            }
            10 => {
                let publish = input.u8() & 1 == 0;
                let fill = input.u8();
                if let Some(p) = producer.as_mut() {
                    if let Ok(mut slot) = p.acquire(Duration::ZERO) {
                        assert_eq!(slot.len() as u64, geometry.frame_bytes());
                        slot.pixels_mut().fill(fill);
                        if publish {
                            let _ = slot.publish();
                        }
                    }
                }
            }
            11 => reader.mark_gone(),
            12 => {
                let newer_than = input.u64();
                if let Ok(c) = FrameConsumer::attach_newer(dup(&fd), Liveness::new(), newer_than) {
                    assert!(c.generation() > newer_than);
                }
            }
            _ => {
                let retire = input.u8() & 1 == 0;
                if let Some(p) = &producer {
                    if retire {
                        p.retire();
                    } else {
                        p.fail();
                    }
                }
            }
        }
    }
}

/// Reads a frame the consumer holds, then releases or drops it.
fn read(frame: framechan::FrameGuard<'_>, release: bool, geometry: &framechan::FrameGeometry) {
    assert_eq!(frame.len() as u64, geometry.frame_bytes());
    assert_eq!(frame.pixels().len(), frame.len());
    assert!(u32::from(frame.slot()) < geometry.slot_count);
    assert_eq!(frame.info().generation, geometry.generation);
    let mut out = vec![0u8; frame.len()];
    frame.copy_to(&mut out).expect("a buffer of the frame's size takes it");
    if release {
        let _ = frame.release();
    }
}

fn dup(fd: &OwnedFd) -> OwnedFd {
    fd.as_fd().try_clone_to_owned().expect("dup")
}
