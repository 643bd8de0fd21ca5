//! `glwire replay FILE`: plays a trace `glwire run --record` wrote against a render
//! server (the one at `--socket`, `$GLWIRE_SOCKET` or the default socket, else a
//! private one started for the replay), with a progress line on stderr, the frame rate
//! at the end, and with `--frames DIR` each frame as a PNG. It owns the command line,
//! the progress line and the PNG writer; reading, checking and replaying the trace is
//! `client::replay`'s.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use client::replay::Frame;

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The trace to play (`glwire run --record FILE -- PROGRAM` writes one).
    trace: PathBuf,
    /// Use the server at this socket (default: $GLWIRE_SOCKET, the default socket, or
    /// a private server started for the replay).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Write each frame into DIR as a PNG file (frame-000001.png, … in replay order).
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// Play the trace N times, each in fresh sessions (frames are numbered on across
    /// rounds).
    #[arg(long = "loop", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    loops: u64,
}

pub fn run(args: ReplayArgs) -> ExitCode {
    match replay(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glwire replay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn replay(args: ReplayArgs) -> Result<(), String> {
    // The whole trace is checked before anything reaches the server.
    let (header, summary) = client::replay::scan(&args.trace).map_err(|e| e.to_string())?;
    eprintln!(
        "glwire replay: {}: {} frames, {} contexts, {:.1} MB of commands (recorded by glwire {}, protocol {})",
        args.trace.display(),
        summary.frames,
        summary.contexts,
        summary.stream_bytes as f64 / 1e6,
        header.glwire_version,
        header.protocol_version
    );
    if let Some(dir) = &args.frames {
        std::fs::create_dir_all(dir).map_err(|e| format!("--frames {}: {e}", dir.display()))?;
    }
    // A private server, if one is started, stops when this is dropped (on every path).
    let (socket, _private) = crate::run::resolve_server(args.socket.clone())?;
    let mut writer = args.frames.as_deref().map(PngWriter::start);
    let pixels = writer.is_some();
    let mut progress = Progress::new(summary.frames * args.loops);
    let start = Instant::now();
    let mut done = 0u64;
    for _ in 0..args.loops {
        let mut connect = || {
            client::Connection::unix(&socket, "glwire-replay")
                .map_err(|e| format!("cannot reach the render server at {}: {e}", socket.display()))
        };
        let mut on_frame = |frame: Frame| {
            done += 1;
            if let Some(w) = &mut writer {
                w.write(done, frame)?;
            }
            progress.show(done, start.elapsed(), false);
            Ok(())
        };
        let played = client::replay::play(&args.trace, &mut connect, pixels, &mut on_frame);
        if let Err(e) = played {
            progress.end();
            return Err(e.to_string());
        }
    }
    let elapsed = start.elapsed();
    progress.show(done, elapsed, true);
    progress.end();
    let written = writer.map(PngWriter::finish).transpose()?;
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!("glwire replay: {done} frames in {secs:.2} s ({:.1} fps)", done as f64 / secs);
    if let (Some(n), Some(dir)) = (written, &args.frames) {
        println!("glwire replay: wrote {n} frames to {}", dir.display());
    }
    Ok(())
}

/// One line on stderr, redrawn in place (`\r`) at most ten times a second.
struct Progress {
    total: u64,
    shown: Option<Instant>,
    drawn: bool,
    tty: bool,
}

impl Progress {
    fn new(total: u64) -> Self {
        Progress { total, shown: None, drawn: false, tty: std::io::stderr().is_terminal() }
    }

    fn show(&mut self, done: u64, elapsed: Duration, last: bool) {
        if self.total == 0 {
            return;
        }
        let due = self.shown.is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        // Not a terminal (a log): the final line only, without the redraws.
        if !(last || due && self.tty) {
            return;
        }
        self.shown = Some(Instant::now());
        const WIDTH: u64 = 30;
        let filled = (done.min(self.total) * WIDTH / self.total) as usize;
        let fps = done as f64 / elapsed.as_secs_f64().max(1e-9);
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH as usize - filled));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\rreplay [{bar}] {done}/{} frames {fps:7.1} fps", self.total);
        let _ = err.flush();
        self.drawn = true;
    }

    /// Ends the line, so later messages start on their own.
    fn end(&mut self) {
        if std::mem::take(&mut self.drawn) {
            eprintln!();
        }
    }
}

/// Writes frames as PNG files on a thread of its own (a replay waits for it only when
/// four frames are queued: frames are never skipped).
struct PngWriter {
    queue: Option<SyncSender<(u64, Frame)>>,
    thread: Option<JoinHandle<Result<u64, String>>>,
}

impl PngWriter {
    fn start(dir: &Path) -> Self {
        let (queue, frames) = sync_channel(4);
        let dir = dir.to_path_buf();
        let thread = std::thread::spawn(move || write_pngs(&dir, frames));
        PngWriter { queue: Some(queue), thread: Some(thread) }
    }

    fn write(&mut self, number: u64, frame: Frame) -> Result<(), String> {
        let sent = self.queue.as_ref().is_some_and(|q| q.send((number, frame)).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped: it says why.
        self.queue = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => Err(e),
            _ => Err("the PNG writer stopped".into()),
        }
    }

    /// Waits for every queued frame; how many were written.
    fn finish(mut self) -> Result<u64, String> {
        self.queue = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err("the PNG writer stopped".into()),
        }
    }
}

fn write_pngs(dir: &Path, frames: Receiver<(u64, Frame)>) -> Result<u64, String> {
    let mut written = 0;
    for (number, frame) in frames {
        let Some(rgba) = &frame.rgba else { continue };
        let path = dir.join(format!("frame-{number:06}.png"));
        write_png(&path, frame.width, frame.height, rgba).map_err(|e| format!("{}: {e}", path.display()))?;
        written += 1;
    }
    Ok(written)
}

fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgba).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}
