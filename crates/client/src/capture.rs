//! Recording presented frames, as `glwire run --capture` and `glwire capture` ask
//! through the environment: every Nth frame a window surface presents is copied (the
//! only cost the program pays) and handed to a writer thread, which writes it as a PNG
//! file into a directory (`GLWIRE_CAPTURE_DIR`) and/or as a raw frame record into an
//! inherited pipe (`GLWIRE_CAPTURE_FD`, read by `glwire capture`). When the writer
//! falls behind, frames are skipped and counted rather than slowing the program; the
//! count is reported when the capture is drained (eglDestroySurface, eglTerminate).
//!
//! Raw frame record (little-endian): `b"GWF1"`, width u32, height u32, frame index
//! u64, then `width * height * 4` bytes of BGRA, rows top-down, no padding.
//!
//! It does not take frames from the ring (`window` does) nor convert to video formats
//! (`glwire capture` does).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where PNG files go.
pub const DIR_ENV: &str = "GLWIRE_CAPTURE_DIR";
/// An inherited descriptor raw frame records are written to.
pub const FD_ENV: &str = "GLWIRE_CAPTURE_FD";
/// Capture one frame in this many (1: every frame).
pub const EVERY_ENV: &str = "GLWIRE_CAPTURE_EVERY";
/// First bytes of a raw frame record.
pub const RECORD_MAGIC: [u8; 4] = *b"GWF1";

/// Frames waiting for the writer; past this, frames are skipped.
const QUEUE: usize = 8;

/// One copied frame.
struct Frame {
    index: u64,
    width: u32,
    height: u32,
    /// BGRA rows, top-down, `width * 4` bytes each.
    pixels: Vec<u8>,
}

/// What the writer did, for the report at the end.
#[derive(Debug, Default)]
struct Tally {
    written: u64,
    skipped: u64,
    failed: Option<String>,
}

/// The process's capture, configured from the environment on first use.
pub struct Capture {
    every: u64,
    presented: u64,
    /// Frames handed to the writer.
    sent: u64,
    /// Frames written or skipped as of the last report.
    reported: u64,
    queue: Option<SyncSender<Frame>>,
    writer: Option<JoinHandle<()>>,
    tally: Arc<Mutex<Tally>>,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("every", &self.every).field("presented", &self.presented).finish()
    }
}

static CAPTURE: OnceLock<Option<Mutex<Capture>>> = OnceLock::new();

/// Finishes what is queued and reports (eglDestroySurface, eglTerminate): a program
/// may exit right after.
pub fn drain() {
    if let Some(c) = get() {
        lock(c).drain(Duration::from_secs(10));
    }
}

/// The capture the environment asks for, if any.
pub fn get() -> Option<&'static Mutex<Capture>> {
    CAPTURE.get_or_init(|| Capture::from_env().map(Mutex::new)).as_ref()
}

impl Capture {
    fn from_env() -> Option<Self> {
        let dir = std::env::var_os(DIR_ENV).map(PathBuf::from);
        // The descriptor is ours because `glwire capture` put its number here.
        let fd = std::env::var(FD_ENV).ok().and_then(|s| s.parse::<i32>().ok()).filter(|&fd| fd > 2);
        if dir.is_none() && fd.is_none() {
            return None;
        }
        let every = std::env::var(EVERY_ENV).ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(1).max(1);
        let pipe = fd.and_then(adopt_fd);
        if let Some(dir) = &dir {
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("glwire: capture: cannot create {}: {e}", dir.display());
                return None;
            }
        }
        let tally = Arc::new(Mutex::new(Tally::default()));
        let (queue, frames) = sync_channel(QUEUE);
        let writer = {
            let (dir, tally) = (dir.clone(), tally.clone());
            std::thread::Builder::new()
                .name("glwire-capture".into())
                .spawn(move || write_frames(frames, dir, pipe, &tally))
                .ok()?
        };
        Some(Capture {
            every,
            presented: 0,
            sent: 0,
            reported: 0,
            queue: Some(queue),
            writer: Some(writer),
            tally,
            dir,
        })
    }

    /// A frame was presented: copies it for the writer when it is one to keep.
    /// `pixels` holds `height` rows of `stride` bytes, BGRA, top-down.
    pub fn presented(&mut self, width: u32, height: u32, stride: usize, pixels: &[u8]) {
        self.presented += 1;
        if self.presented % self.every != 0 {
            return;
        }
        let Some(queue) = &self.queue else { return };
        let row = width as usize * 4;
        let mut copy = Vec::with_capacity(row * height as usize);
        for r in pixels.chunks(stride.max(1)).take(height as usize) {
            copy.extend_from_slice(&r[..row.min(r.len())]);
        }
        let frame = Frame { index: self.presented, width, height, pixels: copy };
        match queue.try_send(frame) {
            Ok(()) => self.sent += 1,
            Err(TrySendError::Full(_)) => lock(&self.tally).skipped += 1,
            Err(TrySendError::Disconnected(_)) => self.queue = None,
        }
    }

    /// Waits (at most `limit`) for the writer to finish what is queued, and reports.
    pub fn drain(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let t = lock(&self.tally);
            if t.written >= self.sent || t.failed.is_some() {
                break;
            }
            drop(t);
            std::thread::sleep(Duration::from_millis(5));
        }
        let t = lock(&self.tally);
        if t.written + t.skipped == self.reported {
            return;
        }
        self.reported = t.written + t.skipped;
        let place = self.dir.as_ref().map_or_else(|| "the capture stream".to_owned(), |d| d.display().to_string());
        let skipped = if t.skipped > 0 {
            format!(", {} skipped (the writer fell behind; try --every)", t.skipped)
        } else {
            String::new()
        };
        let failed = t.failed.as_ref().map_or(String::new(), |e| format!("; stopped: {e}"));
        eprintln!("glwire: capture: {} frames written to {place}{skipped}{failed}", t.written);
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// Takes ownership of descriptor `fd` if it is open.
fn adopt_fd(fd: i32) -> Option<File> {
    // SAFETY: `glwire capture` passes this descriptor for us alone to write to; we
    // check it is open before owning it, and nothing else in the process uses it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    match rustix::fs::fstat(&owned) {
        Ok(_) => Some(File::from(owned)),
        Err(_) => {
            std::mem::forget(owned);
            None
        }
    }
}

fn write_frames(frames: Receiver<Frame>, dir: Option<PathBuf>, pipe: Option<File>, tally: &Mutex<Tally>) {
    let mut pipe = pipe.map(|p| BufWriter::with_capacity(1 << 20, p));
    for frame in frames {
        let result = (|| -> Result<(), String> {
            if let Some(dir) = &dir {
                let path = dir.join(format!("frame-{:06}.png", frame.index));
                write_png(&path, &frame).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if let Some(p) = &mut pipe {
                write_record(p, &frame).and_then(|()| p.flush()).map_err(|e| format!("the capture stream: {e}"))?;
            }
            Ok(())
        })();
        let mut t = lock(tally);
        match result {
            Ok(()) => t.written += 1,
            Err(e) => {
                t.failed = Some(e);
                return;
            }
        }
    }
}

fn write_record(out: &mut impl Write, frame: &Frame) -> std::io::Result<()> {
    out.write_all(&RECORD_MAGIC)?;
    out.write_all(&frame.width.to_le_bytes())?;
    out.write_all(&frame.height.to_le_bytes())?;
    out.write_all(&frame.index.to_le_bytes())?;
    out.write_all(&frame.pixels)
}

fn write_png(path: &std::path::Path, frame: &Frame) -> Result<(), String> {
    let file = BufWriter::new(File::create(path).map_err(|e| e.to_string())?);
    let mut encoder = png::Encoder::new(file, frame.width, frame.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    let mut rgba = frame.pixels.clone();
    rgba.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
    writer.write_image_data(&rgba).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_size_index_and_tight_rows() {
        let frame = Frame { index: 7, width: 2, height: 1, pixels: vec![1, 2, 3, 4, 5, 6, 7, 8] };
        let mut out = Vec::new();
        write_record(&mut out, &frame).unwrap();
        assert_eq!(&out[..4], b"GWF1");
        assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(out[8..12].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(out[12..20].try_into().unwrap()), 7);
        assert_eq!(&out[20..], &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn pngs_hold_the_frame_in_rgba() {
        let dir = std::env::temp_dir().join(format!("glwire-capture-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.png");
        // One BGRA pixel: blue 10, green 20, red 30, alpha 255.
        write_png(&path, &Frame { index: 1, width: 1, height: 1, pixels: vec![10, 20, 30, 255] }).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[..4], &[30, 20, 10, 255]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
