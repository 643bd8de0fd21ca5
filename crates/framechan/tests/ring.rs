//! The frame ring end to end: a producer and a consumer on separate mappings of one
//! memfd (threads, and real child processes for dead peers), forged headers and words
//! written into the memfd with `pwrite`, as a hostile or broken peer would.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::mem::offset_of;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use framechan::{
    FrameChanError, FrameConsumer, FrameError, FrameProducer, FrameSpec, Liveness, PixelFormat, RingStatus,
};
use wire::frame::{
    publish_token, slot_state_offset, FrameRingHeader, LATEST_TOKEN_OFFSET, SLOT_OWNER_OFFSET, SLOT_SEQ_OFFSET,
};
use zerocopy::IntoBytes;

const SECOND: Duration = Duration::from_secs(1);

fn spec(width: u32, height: u32, slots: u32) -> FrameSpec {
    FrameSpec { width, height, format: PixelFormat::Bgra8888, slots }
}

fn pair(spec: FrameSpec, generation: u64) -> (FrameProducer, FrameConsumer) {
    let producer = FrameProducer::create(spec, generation, Liveness::new()).unwrap();
    let consumer = FrameConsumer::attach(producer.share_fd().unwrap(), Liveness::new()).unwrap();
    (producer, consumer)
}

fn fill(buf: &mut [u8], value: u32) {
    for word in buf.chunks_exact_mut(4) {
        word.copy_from_slice(&value.to_le_bytes());
    }
}

/// Every 4-byte word of `buf` is `value`; otherwise the first differing word.
fn uniform(buf: &[u8], value: u32) -> Result<(), (usize, u32)> {
    let want = value.to_le_bytes();
    match buf.chunks_exact(4).position(|w| w != want) {
        None => Ok(()),
        Some(i) => Err((i, u32::from_le_bytes(buf[i * 4..i * 4 + 4].try_into().unwrap()))),
    }
}

fn pattern(generation: u64, seq: u64) -> u32 {
    ((generation as u32) << 24) | (seq as u32 & 0x00ff_ffff)
}

fn publish(producer: &mut FrameProducer) -> u64 {
    let mut guard = producer.acquire(SECOND).unwrap();
    let value = pattern(guard.geometry().generation, guard.seq());
    fill(guard.pixels_mut(), value);
    guard.publish().unwrap()
}

/// The ring's memfd as a file, to forge bytes with `pwrite` (what a peer with the fd
/// can always do).
fn forge(fd: OwnedFd) -> File {
    File::from(fd)
}

fn write_u32(file: &File, offset: usize, value: u32) {
    file.write_all_at(&value.to_le_bytes(), offset as u64).unwrap();
}

fn write_u64(file: &File, offset: usize, value: u64) {
    file.write_all_at(&value.to_le_bytes(), offset as u64).unwrap();
}

#[test]
fn a_frame_travels_and_the_header_is_the_producers() {
    let (mut producer, mut consumer) = pair(spec(320, 200, 3), 7);
    assert_eq!(consumer.geometry(), producer.geometry());
    assert_eq!(consumer.generation(), 7);
    assert_eq!(consumer.geometry().stride, 1280);
    assert!(consumer.try_frame().unwrap().is_none(), "nothing published yet");

    let token = publish(&mut producer);
    assert_eq!(wire::frame::split_token(token).0, 7);
    let mut out = Vec::new();
    let info = consumer.read_into(&mut out, SECOND).unwrap();
    assert_eq!((info.generation, info.seq), (7, 1));
    assert_eq!(out.len(), 1280 * 200);
    uniform(&out, pattern(7, 1)).unwrap();
    // Not fresh any more, but it can be shown again.
    assert!(consumer.try_frame().unwrap().is_none());
    let again = consumer.repeat_last().unwrap().expect("last frame still in the ring");
    assert_eq!(again.seq(), 1);
    uniform(again.pixels(), pattern(7, 1)).unwrap();
    again.release().unwrap();
}

#[test]
fn an_unpublished_frame_is_never_seen() {
    let (mut producer, mut consumer) = pair(spec(16, 16, 2), 1);
    publish(&mut producer);
    {
        let mut guard = producer.acquire(SECOND).unwrap();
        fill(guard.pixels_mut(), 0xdead_beef);
        // Dropped without publish: the slot goes back Free.
    }
    let guard = consumer.wait_frame(SECOND).unwrap();
    assert_eq!(guard.seq(), 1);
    uniform(guard.pixels(), pattern(1, 1)).unwrap();
    guard.release().unwrap();
    assert!(consumer.try_frame().unwrap().is_none());
    assert_eq!(producer.next_seq(), 2, "the dropped frame used no sequence number");
}

/// A reader racing a writer on two threads never sees a frame mixing two frames: every
/// frame is filled with its own sequence number and checked whole.
fn race(slots: u32, width: u32, height: u32, frames: u64, borrow: bool) {
    let (mut producer, mut consumer) = pair(spec(width, height, slots), 3);
    let writer = std::thread::spawn(move || {
        for _ in 0..frames {
            publish(&mut producer);
        }
        producer
    });
    let mut seen = 0u64;
    let mut last = 0;
    let mut out = Vec::new();
    while last < frames {
        let guard = consumer.wait_frame(5 * SECOND).unwrap();
        let seq = guard.seq();
        assert!(seq > last, "sequence went from {last} to {seq}");
        if borrow {
            if let Err((word, found)) = uniform(guard.pixels(), pattern(3, seq)) {
                panic!("torn frame {seq}: word {word} is {found:#x}");
            }
            // Now and then a slow reader: the writer laps it several times, writing
            // every other slot, while this one must stay untouched.
            if seen % 8 == 0 {
                std::thread::sleep(Duration::from_micros(200));
                if let Err((word, found)) = uniform(guard.pixels(), pattern(3, seq)) {
                    panic!("frame {seq} changed while held: word {word} is {found:#x}");
                }
            }
        } else {
            out.resize(guard.len(), 0);
            guard.copy_to(&mut out).unwrap();
        }
        guard.release().expect("a live reader's slot is never reclaimed");
        if !borrow {
            if let Err((word, found)) = uniform(&out, pattern(3, seq)) {
                panic!("torn frame {seq}: word {word} is {found:#x}");
            }
        }
        seen += 1;
        last = seq;
    }
    writer.join().unwrap();
    assert!(seen > 0);
    eprintln!("{slots} slots, {width}x{height}: {seen} of {frames} frames seen whole");
}

#[test]
fn torn_frames_are_impossible_two_slots() {
    race(2, 64, 64, 20_000, true);
}

#[test]
fn torn_frames_are_impossible_three_slots_copied() {
    race(3, 256, 128, 5_000, false);
}

#[test]
fn torn_frames_are_impossible_eight_slots_tiny_frames() {
    race(8, 1, 1, 50_000, true);
}

#[test]
fn stale_generation_tokens_are_rejected() {
    let (mut producer, mut consumer) = pair(spec(8, 8, 3), 5);
    publish(&mut producer);
    let forger = forge(producer.share_fd().unwrap());
    // A token of generation 4 in a generation-5 ring.
    write_u64(&forger, LATEST_TOKEN_OFFSET, publish_token(4, 99, 0).unwrap());
    match consumer.wait_frame(SECOND) {
        Err(FrameChanError::Frame(FrameError::StaleGeneration { token: 4, ring: 5 })) => {}
        other => panic!("expected a stale-generation rejection, got {other:?}"),
    }
    // A newer generation is just as foreign.
    write_u64(&forger, LATEST_TOKEN_OFFSET, publish_token(6, 99, 0).unwrap());
    assert!(matches!(consumer.try_frame(), Err(FrameChanError::Frame(FrameError::StaleGeneration { .. }))));
    // Right generation, slot beyond the ring.
    write_u64(&forger, LATEST_TOKEN_OFFSET, publish_token(5, 99, 3).unwrap());
    assert!(matches!(consumer.try_frame(), Err(FrameChanError::Frame(FrameError::SlotOutOfRange { slot: 3, .. }))));
    // The producer's next real publish is taken.
    publish(&mut producer);
    let guard = consumer.wait_frame(SECOND).unwrap();
    assert_eq!(guard.seq(), 2);
    uniform(guard.pixels(), pattern(5, 2)).unwrap();
}

#[test]
fn a_token_naming_an_older_frame_than_its_slot_holds_is_corrupt() {
    let (mut producer, mut consumer) = pair(spec(8, 8, 2), 1);
    let token = publish(&mut producer);
    let (_, _, slot) = wire::frame::split_token(token);
    let forger = forge(producer.share_fd().unwrap());
    write_u64(&forger, LATEST_TOKEN_OFFSET, publish_token(1, 50, slot).unwrap());
    assert!(matches!(consumer.try_frame(), Err(FrameChanError::Corrupt(_))));
}

#[test]
fn old_rings_are_refused_and_retirement_is_reported() {
    let (mut old, mut consumer) = pair(spec(64, 32, 3), 9);
    publish(&mut old);
    let next = old.recreate(spec(128, 64, 3)).unwrap();
    assert_eq!(next.generation(), 10);
    // The last frame of the old ring is still delivered, then the retirement.
    assert_eq!(consumer.wait_frame(SECOND).unwrap().seq(), 1);
    let start = Instant::now();
    assert!(matches!(consumer.wait_frame(SECOND), Err(FrameChanError::Retired { generation: 9 })));
    assert!(start.elapsed() < Duration::from_millis(500));
    // The old ring handed over again is refused; the new one is accepted.
    let stale = FrameConsumer::attach_newer(old.share_fd().unwrap(), Liveness::new(), 9);
    assert!(matches!(stale, Err(FrameChanError::StaleRing { generation: 9, newer_than: 9 })));
    let fresh = FrameConsumer::attach_newer(next.share_fd().unwrap(), Liveness::new(), 9).unwrap();
    assert_eq!(fresh.geometry().width, 128);
    assert_eq!(fresh.status().unwrap(), RingStatus::Active);
}

/// Resizes (new generations) while frames flow: the consumer follows each new ring,
/// every frame it sees has its ring's size and is whole, and nothing of an old
/// generation is taken from a newer ring.
#[test]
fn resize_while_frames_flow() {
    const GENERATIONS: u64 = 5;
    const PER_RING: u64 = 400;
    let sizes = [(64, 48), (100, 30), (33, 77), (256, 16), (8, 8)];
    let (tx, rx) = mpsc::channel::<OwnedFd>();
    let first = FrameProducer::create(spec(sizes[0].0, sizes[0].1, 3), 1, Liveness::new()).unwrap();
    tx.send(first.share_fd().unwrap()).unwrap();
    let writer = std::thread::spawn(move || {
        let mut producer = first;
        for generation in 1..=GENERATIONS {
            for _ in 0..PER_RING {
                publish(&mut producer);
            }
            if generation < GENERATIONS {
                let (w, h) = sizes[generation as usize];
                producer = producer.recreate(spec(w, h, 3)).unwrap();
                // The session's socket in real life.
                tx.send(producer.share_fd().unwrap()).unwrap();
            }
        }
        producer
    });
    let mut consumer = FrameConsumer::attach(rx.recv().unwrap(), Liveness::new()).unwrap();
    let mut frames = 0;
    loop {
        let retired = match consumer.wait_frame(5 * SECOND) {
            Ok(guard) => {
                let g = *guard.geometry();
                let (w, h) = sizes[(g.generation - 1) as usize];
                assert_eq!((g.width, g.height), (w, h));
                assert_eq!(guard.len() as u64, g.frame_bytes());
                if let Err((word, found)) = uniform(guard.pixels(), pattern(g.generation, guard.seq())) {
                    panic!("generation {} frame {}: word {word} is {found:#x}", g.generation, guard.seq());
                }
                let done = g.generation == GENERATIONS && guard.seq() == PER_RING;
                guard.release().unwrap();
                frames += 1;
                if done {
                    break;
                }
                None
            }
            Err(FrameChanError::Retired { generation }) => Some(generation),
            Err(e) => panic!("{e}"),
        };
        if let Some(generation) = retired {
            let fd = rx.recv_timeout(5 * SECOND).unwrap();
            consumer = FrameConsumer::attach_newer(fd, Liveness::new(), generation).unwrap();
            assert_eq!(consumer.generation(), generation + 1);
        }
    }
    writer.join().unwrap();
    assert_eq!(consumer.generation(), GENERATIONS);
    eprintln!("{frames} frames over {GENERATIONS} generations");
}

#[test]
fn no_fresh_frame_within_the_recovery_window_is_an_error() {
    let (mut producer, mut consumer) = pair(spec(8, 8, 2), 1);
    publish(&mut producer);
    consumer.wait_frame(SECOND).unwrap().release().unwrap();
    let start = Instant::now();
    match consumer.wait_frame(Duration::from_millis(60)) {
        Err(FrameChanError::NoFreshFrame(waited)) => assert!(waited >= Duration::from_millis(60)),
        other => panic!("expected NoFreshFrame, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_millis(500));
    producer.fail();
    assert!(matches!(consumer.wait_frame(SECOND), Err(FrameChanError::ProducerFailed)));
}

#[test]
fn a_sleeping_consumer_is_woken_by_a_publish() {
    let (mut producer, mut consumer) = pair(spec(8, 8, 2), 1);
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let published = Instant::now();
        publish(&mut producer);
        published
    });
    let guard = consumer.wait_frame(5 * SECOND).unwrap();
    let woke = Instant::now();
    assert_eq!(guard.seq(), 1);
    let published = writer.join().unwrap();
    // Well under a liveness tick: the doorbell woke it, not the timeout.
    // Woken by the publish, not by the 5 s timeout (how fast is the benchmark's concern).
    assert!(woke.duration_since(published) < SECOND, "{:?}", woke.duration_since(published));
}

#[test]
fn a_gone_producer_is_noticed_while_waiting() {
    let producer = FrameProducer::create(spec(8, 8, 2), 1, Liveness::new()).unwrap();
    let peer = Liveness::new();
    let mut consumer = FrameConsumer::attach(producer.share_fd().unwrap(), peer.clone()).unwrap();
    let marker = peer.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        marker.mark_gone();
    });
    let start = Instant::now();
    assert!(matches!(consumer.wait_frame(10 * SECOND), Err(FrameChanError::PeerGone)));
    // Liveness ticks every 20 ms; the bound leaves room for a loaded machine.
    assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
}

/// A reader that stopped (the guard is never released) on a one-slot ring: with the
/// consumer alive, the producer waits its patience and then reclaims; with the consumer
/// known gone, it reclaims at once.
#[test]
fn abandoned_reading_slots_are_reclaimed_in_process() {
    let peer = Liveness::new();
    let mut producer = FrameProducer::create(spec(32, 32, 1), 1, peer.clone()).unwrap();
    producer.set_reader_patience(Duration::from_millis(80));
    let mut consumer = FrameConsumer::attach(producer.share_fd().unwrap(), Liveness::new()).unwrap();
    publish(&mut producer);

    // A stuck but live reader: bounded wait first, then reclaimed after the patience,
    // and the reader learns at release that its frame may be torn.
    let stuck = consumer.wait_frame(SECOND).unwrap();
    assert!(matches!(producer.acquire(Duration::from_millis(20)), Err(FrameChanError::NoFreeSlot { reading: 1, .. })));
    let start = Instant::now();
    let mut guard = producer.acquire(SECOND).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(50), "{:?}", start.elapsed());
    fill(guard.pixels_mut(), 2);
    guard.publish().unwrap();
    assert!(matches!(stuck.release(), Err(FrameChanError::Reclaimed { slot: 0 })));

    // A dead reader: the guard is leaked (no unwinding in a dead process) and the peer
    // marked gone, so the slot comes back at once.
    let dead = consumer.wait_frame(SECOND).unwrap();
    assert_eq!(dead.seq(), 2);
    std::mem::forget(dead);
    peer.mark_gone();
    let start = Instant::now();
    drop(producer.acquire(SECOND).unwrap());
    // At once: not after the 1 s reader patience.
    assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
}

/// A producer that died mid-frame (its guard leaked): the next producer of the ring
/// reclaims the slot, keeps the sequence going, and the consumer never saw the half
/// frame.
#[test]
fn abandoned_writing_slots_are_reclaimed_in_process() {
    let (mut producer, mut consumer) = pair(spec(16, 16, 2), 4);
    publish(&mut producer);
    let fd = producer.share_fd().unwrap();
    let mut guard = producer.acquire(SECOND).unwrap();
    let half = guard.len() / 2;
    fill(&mut guard.pixels_mut()[..half], 0xbad0_bad0);
    std::mem::forget(guard);
    drop(producer);

    let frame = consumer.wait_frame(SECOND).unwrap();
    assert_eq!(frame.seq(), 1);
    uniform(frame.pixels(), pattern(4, 1)).unwrap();
    frame.release().unwrap();

    let mut resumed = FrameProducer::resume(fd, Liveness::new()).unwrap();
    assert_eq!(resumed.next_seq(), 2);
    // Both slots usable again: two acquisitions in a row on a two-slot ring while the
    // reader holds nothing.
    publish(&mut resumed);
    publish(&mut resumed);
    let frame = consumer.wait_frame(SECOND).unwrap();
    assert_eq!(frame.seq(), 3);
    uniform(frame.pixels(), pattern(4, 3)).unwrap();
}

#[test]
fn garbage_owner_words_are_reset_not_trusted() {
    let (mut producer, mut consumer) = pair(spec(8, 8, 2), 1);
    let forger = forge(producer.share_fd().unwrap());
    for slot in 0..2u8 {
        write_u32(&forger, slot_state_offset(slot).unwrap() + SLOT_OWNER_OFFSET, 0xffff_ffff);
    }
    publish(&mut producer);
    assert_eq!(consumer.wait_frame(SECOND).unwrap().seq(), 1);
    // A consumer facing a published slot whose word is garbage waits, bounded.
    let token = publish(&mut producer);
    let (_, _, slot) = wire::frame::split_token(token);
    write_u32(&forger, slot_state_offset(slot).unwrap() + SLOT_OWNER_OFFSET, 77);
    assert!(matches!(consumer.wait_frame(Duration::from_millis(30)), Err(FrameChanError::NoFreshFrame(_))));
    // A slot seq beyond the token's 32 bits is refused.
    write_u32(&forger, slot_state_offset(slot).unwrap() + SLOT_OWNER_OFFSET, 2);
    write_u64(&forger, slot_state_offset(slot).unwrap() + SLOT_SEQ_OFFSET, u64::MAX);
    assert!(matches!(consumer.try_frame(), Err(FrameChanError::Corrupt(_))));
}

// ---- bad headers -------------------------------------------------------------------

/// A header field to corrupt, and the refusal it must cause.
type Case = (&'static str, Box<dyn Fn(&File)>, fn(&FrameChanError) -> bool);

fn attach_err(fd: OwnedFd) -> FrameChanError {
    FrameConsumer::attach(fd, Liveness::new()).unwrap_err()
}

/// A memfd holding `header`'s bytes, `len` long, sealed like a real ring.
fn memfd_with(header: &FrameRingHeader, len: u64, seal: bool) -> OwnedFd {
    use rustix::fs::{fcntl_add_seals, ftruncate, memfd_create, MemfdFlags, SealFlags};
    let fd = memfd_create("forged", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    ftruncate(&fd, len).unwrap();
    let file = File::from(fd);
    let bytes = header.as_bytes();
    let n = bytes.len().min(len as usize);
    file.write_all_at(&bytes[..n], 0).unwrap();
    let fd = OwnedFd::from(file);
    if seal {
        fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL).unwrap();
    }
    fd
}

#[test]
fn bad_headers_are_refused() {
    let producer = FrameProducer::create(spec(64, 64, 2), 1, Liveness::new()).unwrap();
    let forger = forge(producer.share_fd().unwrap());
    let (good, geometry) = FrameRingHeader::new(64, 64, PixelFormat::Bgra8888, 2, 1).unwrap();
    let restore = |f: &File| f.write_all_at(good.as_bytes(), 0).unwrap();

    let cases: Vec<Case> = vec![
        ("magic", Box::new(|f| write_u64(f, offset_of!(FrameRingHeader, magic), 0x1234)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::BadMagic { found: 0x1234 }))
        }),
        ("version", Box::new(|f| write_u32(f, offset_of!(FrameRingHeader, version), 2)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::VersionMismatch { found: 2, expected: 1 }))
        }),
        ("slot count", Box::new(|f| write_u32(f, offset_of!(FrameRingHeader, slot_count), 0)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::SlotCount { .. }))
        }),
        ("too many slots", Box::new(|f| write_u32(f, offset_of!(FrameRingHeader, slot_count), 9)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::SlotCount { .. }))
        }),
        ("width", Box::new(|f| write_u32(f, offset_of!(FrameRingHeader, width), 0)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::Dimensions { .. }))
        }),
        ("format", Box::new(|f| write_u32(f, offset_of!(FrameRingHeader, pixel_format), 9)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::UnknownPixelFormat(9)))
        }),
        ("ring past the memfd", Box::new(|f| write_u32(f, offset_of!(FrameRingHeader, slot_count), 8)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::OutOfBounds { .. }))
        }),
        ("overflow", Box::new(|f| write_u64(f, offset_of!(FrameRingHeader, slot_bytes), u64::MAX - 63)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::Overflow { .. }))
        }),
        ("padding", Box::new(|f| write_u32(f, offset_of!(FrameRingHeader, _pad1), 1)), |e| {
            matches!(e, FrameChanError::Frame(FrameError::NonzeroPadding { .. }))
        }),
    ];
    for (name, edit, expected) in cases {
        edit(&forger);
        let err = attach_err(producer.share_fd().unwrap());
        assert!(expected(&err), "{name}: unexpected {err:?}");
        assert!(!err.to_string().is_empty());
        restore(&forger);
    }
    // Restored, it attaches.
    FrameConsumer::attach(producer.share_fd().unwrap(), Liveness::new()).unwrap();

    // A valid header in a memfd one byte too small for its ring.
    let err = attach_err(memfd_with(&good, geometry.ring_bytes - 1, true));
    assert!(matches!(err, FrameChanError::Frame(FrameError::OutOfBounds { .. })), "{err:?}");
    // Shorter than the header itself, and empty.
    let err = attach_err(memfd_with(&good, 100, true));
    assert!(matches!(err, FrameChanError::Frame(FrameError::Truncated { needed: 256, got: 100 })), "{err:?}");
    let err = attach_err(memfd_with(&good, 0, true));
    assert!(matches!(err, FrameChanError::Frame(FrameError::Truncated { .. })), "{err:?}");
    // Right size, but not sealed: the producer could shrink it under us.
    let err = attach_err(memfd_with(&good, geometry.ring_bytes, false));
    assert!(matches!(err, FrameChanError::BadMemfd(_)) && err.to_string().contains("seal"), "{err:?}");
    // Not a memfd at all.
    let file = tempfile::tempfile().unwrap();
    file.set_len(geometry.ring_bytes).unwrap();
    assert!(matches!(attach_err(file.into()), FrameChanError::BadMemfd(_)));
    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    assert!(matches!(attach_err(reader), FrameChanError::BadMemfd(_)));
    // And the sealed, right-sized forgery works, so the refusals above were for cause.
    FrameConsumer::attach(memfd_with(&good, geometry.ring_bytes, true), Liveness::new()).unwrap();
}

#[test]
fn bad_specs_are_refused_by_the_producer() {
    let create = |w, h, n, generation| FrameProducer::create(spec(w, h, n), generation, Liveness::new());
    assert!(matches!(create(0, 10, 2, 1), Err(FrameChanError::Frame(FrameError::Dimensions { .. }))));
    assert!(matches!(create(10, 10, 0, 1), Err(FrameChanError::Frame(FrameError::SlotCount { .. }))));
    assert!(matches!(create(10, 10, 2, 1 << 24), Err(FrameChanError::Frame(FrameError::GenerationTooLarge { .. }))));
    assert!(matches!(create(16384, 16384, 8, 1), Err(FrameChanError::TooLarge { .. })));
    let last = create(4, 4, 2, wire::frame::MAX_GENERATION).unwrap();
    assert!(matches!(last.recreate(spec(4, 4, 2)), Err(FrameChanError::GenerationExhausted(_))));
    let mut p = create(4, 4, 2, 1).unwrap();
    assert!(matches!(p.publish_copy(&[0; 3], SECOND), Err(FrameChanError::FrameSize { got: 3, expected: 64 })));
}

// ---- dead peers as real processes --------------------------------------------------

/// Runs this test binary's `child_role` with the ring's memfd as its stdin.
fn spawn_child(role: &str, fd: OwnedFd) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_role", "--ignored", "--nocapture", "--test-threads=1"])
        .env("FRAMECHAN_CHILD_ROLE", role)
        .stdin(Stdio::from(fd))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

fn wait_for_line(stdout: &mut BufReader<std::process::ChildStdout>, want: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "child ended before saying {want}");
        if line.trim_end().ends_with(want) {
            return;
        }
    }
}

/// Kills and reaps the child if the test fails before it does (the child sleeps 30
/// s). `Child::kill` sends nothing once the child was reaped, so no reused pid is hit.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Not a test: the body of the child processes above.
#[test]
#[ignore = "run by the dead-peer tests as a child process"]
fn child_role() {
    let Ok(role) = std::env::var("FRAMECHAN_CHILD_ROLE") else { return };
    let fd = std::io::stdin().as_fd().try_clone_to_owned().unwrap();
    match role.as_str() {
        "reader" => {
            let mut consumer = FrameConsumer::attach(fd, Liveness::new()).unwrap();
            let guard = consumer.wait_frame(5 * SECOND).unwrap();
            assert_eq!(guard.seq(), 1);
            std::mem::forget(guard);
        }
        "writer" => {
            let mut producer = FrameProducer::resume(fd, Liveness::new()).unwrap();
            let mut guard = producer.acquire(SECOND).unwrap();
            let half = guard.len() / 2;
            fill(&mut guard.pixels_mut()[..half], 0xbad0_bad0);
            std::mem::forget(guard);
        }
        other => panic!("unknown role {other}"),
    }
    println!("HELD");
    std::thread::sleep(Duration::from_secs(30));
}

/// A consumer process killed while reading the only slot: the producer notices its
/// death (pidfd) and reclaims the slot at once.
#[test]
fn a_killed_reader_process_loses_its_slot() {
    let mut producer = FrameProducer::create(spec(64, 64, 1), 1, Liveness::new()).unwrap();
    publish(&mut producer);
    let (child, mut stdout) = spawn_child("reader", producer.share_fd().unwrap());
    wait_for_line(&mut stdout, "HELD");
    let mut child = Reaper(child);
    let fd = producer.share_fd().unwrap();
    drop(producer); // one producer per ring: this one watches the reader process
    let mut producer = FrameProducer::resume(fd, Liveness::watching_process(child.0.id()).unwrap()).unwrap();
    producer.set_reader_patience(Duration::from_secs(60));
    // Alive: the slot stays the reader's.
    assert!(matches!(producer.acquire(Duration::from_millis(30)), Err(FrameChanError::NoFreeSlot { reading: 1, .. })));
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let start = Instant::now();
    let mut guard = producer.acquire(SECOND).unwrap();
    // Liveness ticks every 20 ms; the bound leaves room for a loaded machine.
    assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
    fill(guard.pixels_mut(), pattern(1, 2));
    guard.publish().unwrap();
    let mut consumer = FrameConsumer::attach(producer.share_fd().unwrap(), Liveness::new()).unwrap();
    uniform(consumer.wait_frame(SECOND).unwrap().pixels(), pattern(1, 2)).unwrap();
}

/// A producer process killed mid-frame: the waiting consumer notices within 100 ms,
/// still has the last whole frame, and a new producer reclaims the half-written slot.
#[test]
fn a_killed_writer_process_wedges_nothing() {
    let producer = {
        let mut p = FrameProducer::create(spec(64, 64, 3), 2, Liveness::new()).unwrap();
        publish(&mut p);
        p
    };
    let ring = producer.share_fd().unwrap();
    let child_fd = producer.share_fd().unwrap();
    let consumer_fd = producer.share_fd().unwrap();
    drop(producer); // the ring's one producer is now the child
    let (child, mut stdout) = spawn_child("writer", child_fd);
    wait_for_line(&mut stdout, "HELD");
    let mut child = Reaper(child);
    let mut consumer = FrameConsumer::attach(consumer_fd, Liveness::watching_process(child.0.id()).unwrap()).unwrap();
    assert_eq!(consumer.wait_frame(SECOND).unwrap().seq(), 1);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let start = Instant::now();
    assert!(matches!(consumer.wait_frame(10 * SECOND), Err(FrameChanError::PeerGone)));
    // Liveness ticks every 20 ms; the bound leaves room for a loaded machine.
    assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
    // The last whole frame can still be shown; the half frame never could.
    let last = consumer.repeat_last().unwrap().expect("frame 1 is still Ready");
    uniform(last.pixels(), pattern(2, 1)).unwrap();
    last.release().unwrap();
    // A new producer takes the ring over: the Writing slot is reclaimed, all three
    // slots serve again.
    let mut producer = FrameProducer::resume(ring, Liveness::new()).unwrap();
    for _ in 0..3 {
        publish(&mut producer);
    }
    let mut consumer = FrameConsumer::attach(producer.share_fd().unwrap(), Liveness::new()).unwrap();
    let frame = consumer.wait_frame(SECOND).unwrap();
    assert_eq!(frame.seq(), 4);
    uniform(frame.pixels(), pattern(2, 4)).unwrap();
}
