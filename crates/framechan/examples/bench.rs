//! Frame-ring throughput: 1280×720 BGRA frames from a producer thread to a consumer
//! thread through the ring (each on its own mapping of the memfd), against memcpy of
//! the same bytes in the same run as the floor.
//!
//! `cargo run -p framechan --example bench --release [-- SECONDS]`
//!
//! The ring path is the real one: the producer copies a rendered frame into a slot and
//! publishes it; the consumer waits on the doorbell, copies the frame out (as the ICD
//! copies into an X shared-memory image) and releases the slot. Frames the consumer
//! did not get to are superseded, not counted: the figure is frames *delivered*.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framechan::{FrameConsumer, FrameProducer, FrameSpec, Liveness};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn memcpy_floor(bytes: usize, run: Duration) -> (f64, u64) {
    let src: Vec<u8> = (0..bytes).map(|i| i as u8).collect();
    let mut dst = vec![0u8; bytes];
    dst.copy_from_slice(&src); // fault the pages in
    let start = Instant::now();
    let mut copies = 0u64;
    while start.elapsed() < run {
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
        copies += 1;
    }
    (copies as f64 * bytes as f64 / start.elapsed().as_secs_f64(), copies)
}

struct RingRun {
    delivered: u64,
    published: u64,
    elapsed: Duration,
}

fn ring_run(run: Duration) -> RingRun {
    let mut producer = FrameProducer::create(FrameSpec::bgra(WIDTH, HEIGHT), 1, Liveness::new()).unwrap();
    let mut consumer = FrameConsumer::attach(producer.share_fd().unwrap(), Liveness::new()).unwrap();
    let bytes = producer.geometry().frame_bytes() as usize;
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, published) = (stop.clone(), published.clone());
        std::thread::spawn(move || {
            let frame: Vec<u8> = (0..bytes).map(|i| (i * 7) as u8).collect();
            while !stop.load(Ordering::Relaxed) {
                let mut guard = producer.acquire(Duration::from_secs(1)).unwrap();
                guard.pixels_mut().copy_from_slice(&frame);
                guard.publish().unwrap();
                published.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut out = vec![0u8; bytes];
    // Warm up: first frames fault the slots in.
    for _ in 0..10 {
        consumer.read_into(&mut out, Duration::from_secs(1)).unwrap();
    }
    let published_before = published.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut delivered = 0u64;
    while start.elapsed() < run {
        let guard = consumer.wait_frame(Duration::from_secs(1)).unwrap();
        guard.copy_to(&mut out).unwrap();
        if guard.release().is_ok() {
            delivered += 1;
        }
    }
    let elapsed = start.elapsed();
    let published = published.load(Ordering::Relaxed) - published_before;
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    std::hint::black_box(&out);
    RingRun { delivered, published, elapsed }
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let run = Duration::from_secs_f64(seconds);
    let bytes = (WIDTH * HEIGHT * 4) as usize;
    let gb = |bps: f64| bps / 1e9;

    let (floor, copies) = memcpy_floor(bytes, run);
    let ring = ring_run(run);
    let (floor_after, _) = memcpy_floor(bytes, run / 2);

    let fps = ring.delivered as f64 / ring.elapsed.as_secs_f64();
    let ring_bps = fps * bytes as f64;
    let floor = floor.max(floor_after);
    println!(
        "frame ring, {WIDTH}x{HEIGHT} BGRA ({bytes} bytes a frame), 3 slots, {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  memcpy floor            {:8.2} GB/s  ({:.0} frames/s, {copies} copies)",
        gb(floor),
        floor / bytes as f64
    );
    println!(
        "  ring, copy in + out     {:8.2} GB/s  ({fps:.0} frames/s delivered, {:.0} published)",
        gb(ring_bps),
        ring.published as f64 / ring.elapsed.as_secs_f64()
    );
    println!("  ratio ring / memcpy     {:8.0} %   (target >= 50 %)", 100.0 * ring_bps / floor);
}
