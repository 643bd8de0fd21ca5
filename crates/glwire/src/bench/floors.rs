//! The floors every transport figure is compared with, measured in the same run: a
//! two-thread cache-line ping-pong (the best a shared-memory round trip can do), a raw
//! socketpair ping-pong (the best a socket round trip can do), and memcpy of the same
//! bytes (the best any copy can do).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stats::Latencies;

/// One atomic on its own cache line.
#[repr(align(128))]
#[derive(Default)]
struct Line(AtomicU64);

/// Round trips of a value between two threads through two cache lines.
pub fn cache_line_ping_pong(rounds: u32) -> Latencies {
    let ping = Arc::new(Line::default());
    let pong = Arc::new(Line::default());
    let (p, q) = (ping.clone(), pong.clone());
    let echo = std::thread::spawn(move || {
        for i in 1..=u64::from(rounds) {
            while p.0.load(Ordering::Acquire) != i {
                std::hint::spin_loop();
            }
            q.0.store(i, Ordering::Release);
        }
    });
    let mut lat = Latencies::with_capacity(rounds as usize);
    for i in 1..=u64::from(rounds) {
        let t = Instant::now();
        ping.0.store(i, Ordering::Release);
        while pong.0.load(Ordering::Acquire) != i {
            std::hint::spin_loop();
        }
        lat.push(t.elapsed());
    }
    let _ = echo.join();
    lat
}

/// Round trips of one byte over a Unix socketpair, echoed by another thread.
pub fn socketpair_ping_pong(rounds: u32) -> std::io::Result<Latencies> {
    let (mut a, mut b) = UnixStream::pair()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let mut byte = [0u8; 1];
        for _ in 0..rounds {
            b.read_exact(&mut byte)?;
            b.write_all(&byte)?;
        }
        Ok(())
    });
    let mut lat = Latencies::with_capacity(rounds as usize);
    let mut byte = [7u8; 1];
    for _ in 0..rounds {
        let t = Instant::now();
        a.write_all(&byte)?;
        a.read_exact(&mut byte)?;
        lat.push(t.elapsed());
    }
    echo.join().map_err(|_| std::io::Error::other("echo thread panicked"))??;
    Ok(lat)
}

/// Bytes per second of copying `size`-byte blocks for about `time`.
pub fn memcpy_rate(size: usize, time: Duration) -> f64 {
    let src: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut dst = vec![0u8; size];
    let start = Instant::now();
    let mut bytes = 0u64;
    while start.elapsed() < time {
        for _ in 0..16 {
            dst.copy_from_slice(std::hint::black_box(&src));
            std::hint::black_box(&mut dst);
            bytes += size as u64;
        }
    }
    bytes as f64 / start.elapsed().as_secs_f64()
}
