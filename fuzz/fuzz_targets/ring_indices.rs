//! The transport's SPSC command/reply ring (`transport::ring`) over a memfd the peer
//! shares: both ends in this process on one region, with the peer's writes — head and
//! tail positions, record headers and bytes — landing in shared memory between calls
//! (`pwrite` into the memfd). The consumer only ever `try_recv`s and the producer's
//! waits are cut short (its stop flag is set), so nothing blocks.
//!
//! Checked besides "no panic / no read outside the mapping": while no one has
//! scribbled on the ring (and no send failed part-way), the consumer returns exactly
//! the messages sent, in order, and never an error.
//!
//! Input: `[layout u8][spec or initial words…][ops…]`.
#![no_main]

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use glwire_fuzz::{memfd_with, pwrite_all, Input};
use libfuzzer_sys::fuzz_target;
use transport::liveness::Liveness;
use transport::ring::{consumer, producer, RingSpec, RING_HEADER_BYTES};
use transport::shm::SharedMemory;
use wire::buf::Sink;
use wire::CommandBuf;

const REGION: u64 = 16384;
const HEAD: u64 = 0;
const TAIL: u64 = 64;
const MAX_OPS: usize = 128;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let layout = input.u8();
    let spec = if layout & 0x80 != 0 {
        // Any region the peer might name.
        RingSpec { offset: u64::from(input.u16()), len: u64::from(input.u16()) }
    } else {
        let data = if layout & 1 == 0 { 4096 } else { 8192 };
        RingSpec::with_data(u64::from(layout >> 1 & 3) * 64, data)
    };
    // Initial contents: empty, or positions the peer left in it.
    let mut initial = Vec::new();
    if layout & 0x40 != 0 && spec.offset + 128 <= REGION {
        let at = spec.offset as usize;
        initial.resize(at + 128, 0);
        initial[at..at + 8].copy_from_slice(&input.u64().to_le_bytes());
        initial[at + 64..at + 72].copy_from_slice(&input.u64().to_le_bytes());
    }
    let sealed = layout & 0x20 == 0;
    let fd = memfd_with(&initial, REGION, sealed);
    let Ok(shm) = SharedMemory::from_fd(dup(&fd)) else {
        assert!(!sealed, "a sealed memfd of a valid size is refused");
        return;
    };
    let shm = Arc::new(shm);
    let Ok(mut rx) = consumer(shm.clone(), spec, Liveness::new()) else {
        assert!(producer(shm, spec, Liveness::new()).is_err(), "the producer accepts what the consumer refused");
        return;
    };
    let mut tx = producer(shm.clone(), spec, Liveness::new()).expect("the producer accepts what the consumer did");
    // Never wait for room: the stop flag ends any wait at once.
    tx.set_limits(Duration::ZERO, Arc::new(AtomicBool::new(true)));
    let capacity = spec.len - RING_HEADER_BYTES;

    let mut sent: VecDeque<Vec<u8>> = VecDeque::new();
    let mut clean = true;
    let mut out = CommandBuf::new();
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        match input.u8() % 8 {
            0 => {
                pwrite_all(&fd, &input.u64().to_le_bytes(), spec.offset + HEAD);
                clean = false;
            }
            1 => {
                pwrite_all(&fd, &input.u64().to_le_bytes(), spec.offset + TAIL);
                clean = false;
            }
            2 => {
                let at = u64::from(input.u16()) % capacity;
                let n = input.u8() as usize;
                pwrite_all(&fd, input.bytes(n), spec.offset + RING_HEADER_BYTES + at);
                clean = false;
            }
            3 | 4 => {
                out.clear();
                let got = rx.try_recv(&mut out);
                if clean {
                    match got {
                        Ok(true) => {
                            let want = sent.pop_front().expect("a message arrived that was never sent");
                            assert!(out.as_bytes() == want.as_slice(), "a message arrived changed");
                        }
                        Ok(false) => assert!(sent.is_empty(), "a sent message did not arrive"),
                        Err(e) => panic!("an untouched ring failed: {e}"),
                    }
                }
            }
            5 => {
                let len = usize::from(input.u16()) % (3 * capacity as usize);
                let seed = input.u8();
                let msg: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
                match tx.send(&msg) {
                    Ok(()) => sent.push_back(msg),
                    Err(_) => clean = false,
                }
            }
            6 => {
                // A message abandoned part-way (an encoder that failed mid-command).
                let size = usize::from(input.u16()) % (2 * capacity as usize);
                let part = usize::from(input.u16()) % (size + 1);
                if tx.open(size).is_ok() {
                    let _ = tx.put(&vec![0xA5; part]);
                    tx.close(false);
                }
                clean = false;
            }
            _ => {
                rx.set_max_message(usize::from(input.u16()));
                clean = false;
            }
        }
    }
});

fn dup(fd: &OwnedFd) -> OwnedFd {
    fd.as_fd().try_clone_to_owned().expect("dup")
}
