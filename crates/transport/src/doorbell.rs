//! The doorbell of a ring: a futex on the ring's shared "asleep" word. The side that
//! waits raises the word and sleeps on it (with a timeout, so liveness is checked);
//! the side that publishes lowers the word and wakes it only when it was raised, so a
//! busy stream makes no system call.
//!
//! Why a futex and not an eventfd: a futex wake never blocks and needs no descriptor
//! from the peer. An eventfd's blocking mode belongs to a file description the client
//! shares, so a client could make the server's wake-up block forever, or pass some
//! other descriptor entirely.

use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::Duration;

use rustix::thread::futex;

/// Raises `word` ("I am about to sleep"). The caller re-checks its condition before
/// [`sleep`], so a publish that happened before the raise is not missed. `want` is 1
/// for a consumer; for a producer, the room (in 8-byte units) it waits for: the
/// consumer wakes it only once that much is free ([`ring_when`]), so a producer ahead
/// of its consumer sleeps through many records instead of waking for each one.
pub(crate) fn raise_until(word: &AtomicU32, want: u32) {
    word.store(want.max(1), Ordering::SeqCst);
    // The store must be visible before the caller's re-check loads the ring position
    // (a store-then-load pair needs a full fence on weakly ordered CPUs).
    fence(Ordering::SeqCst);
}

/// Sleeps while `word` still holds `raised` (what [`raise_until`] stored), at most
/// `timeout`.
pub(crate) fn sleep(word: &AtomicU32, raised: u32, timeout: Duration) {
    let ts = rustix::time::Timespec { tv_sec: timeout.as_secs() as i64, tv_nsec: i64::from(timeout.subsec_nanos()) };
    // Shared (not private) futex: the word lives in memory mapped by two processes.
    // Any error (EAGAIN when already lowered, EINTR, ETIMEDOUT) just ends the sleep.
    let _ = futex::wait(word, futex::Flags::empty(), raised.max(1), Some(&ts));
}

/// Lowers `word` and wakes its sleeper, if it had raised it.
pub(crate) fn ring(word: &AtomicU32) {
    ring_when(word, u32::MAX);
}

/// Lowers `word` and wakes its sleeper if it had raised it for at most `room` units
/// (see [`raise_until`]). The word is peer memory: any value only decides whether
/// this wakes the peer.
pub(crate) fn ring_when(word: &AtomicU32, room: u32) {
    fence(Ordering::SeqCst);
    let want = word.load(Ordering::SeqCst);
    if want != 0 && want <= room && word.swap(0, Ordering::SeqCst) != 0 {
        let _ = futex::wake(word, futex::Flags::empty(), 1);
    }
}

/// Lowers `word` after a sleep.
pub(crate) fn lower(word: &AtomicU32) {
    word.store(0, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_ring_wakes_a_sleeper_across_threads() {
        let word = Arc::new(AtomicU32::new(0));
        let w = word.clone();
        let start = Instant::now();
        let sleeper = std::thread::spawn(move || {
            raise_until(&w, 1);
            sleep(&w, 1, Duration::from_secs(5));
        });
        while word.load(Ordering::SeqCst) == 0 {
            std::hint::spin_loop();
        }
        ring(&word);
        sleeper.join().unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(word.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_producer_is_woken_only_once_its_room_is_free() {
        let word = AtomicU32::new(0);
        raise_until(&word, 100);
        ring_when(&word, 99);
        assert_eq!(word.load(Ordering::SeqCst), 100, "too little room: still asleep");
        ring_when(&word, 100);
        assert_eq!(word.load(Ordering::SeqCst), 0, "enough room: lowered (and woken)");
        raise_until(&word, 0);
        assert_eq!(word.load(Ordering::SeqCst), 1, "a raised word is never 0");
        ring(&word);
        assert_eq!(word.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_lowered_word_does_not_sleep() {
        let word = AtomicU32::new(0);
        let start = Instant::now();
        sleep(&word, 1, Duration::from_secs(5));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn sleeping_ends_at_the_timeout() {
        let word = AtomicU32::new(0);
        raise_until(&word, 1);
        let start = Instant::now();
        sleep(&word, 1, Duration::from_millis(20));
        assert!(start.elapsed() >= Duration::from_millis(15));
    }
}
