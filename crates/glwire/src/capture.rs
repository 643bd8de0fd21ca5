//! `glwire capture --y4m OUT -- PROGRAM ARGS…`: runs a program like `glwire run` and
//! streams the frames its windows present as Y4M video (OUT `-` is stdout), for tools
//! such as ffmpeg (`glwire capture --y4m - -- prog | ffmpeg -i - out.mp4`).
//!
//! The program's ICD writes raw frame records (`client::capture`) into a pipe this
//! process reads; it converts them to 4:2:0 Y'CbCr (BT.601, limited range). Y4M has
//! one frame size per stream: frames of another size (the window was resized) are
//! left out and counted.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Write Y4M video to this file (`-`: standard output).
    #[arg(long, value_name = "OUT")]
    y4m: PathBuf,
    /// Keep one frame in N.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    every: u64,
    /// The frame rate written in the stream's header.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1000))]
    fps: u32,
    /// Use the server at this socket instead of starting a private one.
    #[arg(long)]
    socket: Option<PathBuf>,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    program: Vec<String>,
}

pub fn run(args: CaptureArgs) -> ExitCode {
    match try_run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("glwire capture: {e}");
            ExitCode::from(127)
        }
    }
}

fn try_run(args: CaptureArgs) -> Result<ExitCode, String> {
    let to_stdout = args.y4m.as_os_str() == "-";
    let out: Box<dyn Write + Send> = if to_stdout {
        Box::new(std::io::stdout())
    } else {
        Box::new(File::create(&args.y4m).map_err(|e| format!("{}: {e}", args.y4m.display()))?)
    };
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
    // The program inherits the write end (and only that end).
    rustix::io::fcntl_setfd(&write, rustix::io::FdFlags::empty()).map_err(|e| format!("pipe: {e}"))?;
    let fps = args.fps;
    let reader = std::thread::spawn(move || convert(File::from(read), BufWriter::with_capacity(1 << 20, out), fps));
    let fd = write.as_raw_fd().to_string();
    let every = args.every.to_string();
    let env = [(client::capture::FD_ENV, fd.as_str()), (client::capture::EVERY_ENV, every.as_str())];
    // The video owns standard output: the program's own output goes to standard error.
    let program_stdout = if to_stdout {
        let stderr = std::io::stderr().as_fd().try_clone_to_owned().map_err(|e| format!("stderr: {e}"))?;
        Some(std::process::Stdio::from(stderr))
    } else {
        None
    };
    let code = crate::run::run_program_with_stdout(args.socket, &args.program, &env, program_stdout);
    drop::<OwnedFd>(write);
    let tally = reader.join().map_err(|_| "the Y4M writer panicked".to_owned())?;
    match tally {
        Ok(t) => eprintln!(
            "glwire capture: {} frames of {}x{} written{}",
            t.frames,
            t.size.0,
            t.size.1,
            if t.other_size > 0 { format!(", {} of another size left out", t.other_size) } else { String::new() }
        ),
        Err(e) => eprintln!("glwire capture: {e}"),
    }
    code
}

/// What the stream got.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    frames: u64,
    size: (u32, u32),
    other_size: u64,
}

/// Reads raw frame records from `input` until it ends and writes them as Y4M.
fn convert(input: impl Read, mut out: impl Write, fps: u32) -> Result<Tally, String> {
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut tally = Tally::default();
    let mut pixels = Vec::new();
    let mut planes = Vec::new();
    loop {
        let mut head = [0u8; 20];
        match input.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(format!("reading frames: {e}")),
        }
        if head[..4] != client::capture::RECORD_MAGIC {
            return Err("the frame stream is corrupt (bad record magic)".into());
        }
        let width = u32::from_le_bytes(head[4..8].try_into().unwrap_or_default());
        let height = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default());
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(format!("the frame stream is corrupt (a {width}x{height} frame)"));
        }
        pixels.resize(width as usize * height as usize * 4, 0);
        input.read_exact(&mut pixels).map_err(|e| format!("reading a frame: {e}"))?;
        if tally.frames == 0 && tally.other_size == 0 {
            tally.size = (width, height);
            writeln!(out, "YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg XYSCSS=420JPEG")
                .map_err(|e| format!("writing: {e}"))?;
        }
        if (width, height) != tally.size {
            tally.other_size += 1;
            continue;
        }
        to_yuv420(&pixels, width as usize, height as usize, &mut planes);
        out.write_all(b"FRAME\n").and_then(|()| out.write_all(&planes)).map_err(|e| format!("writing: {e}"))?;
        tally.frames += 1;
    }
    out.flush().map_err(|e| format!("writing: {e}"))?;
    Ok(tally)
}

/// BGRA rows (top-down, tight) to Y, Cb and Cr planes, 4:2:0 (each chroma sample the
/// average of up to 2x2 pixels), BT.601 limited range.
fn to_yuv420(bgra: &[u8], width: usize, height: usize, out: &mut Vec<u8>) {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    out.clear();
    out.resize(width * height + 2 * cw * ch, 0);
    let (y_plane, chroma) = out.split_at_mut(width * height);
    let (cb_plane, cr_plane) = chroma.split_at_mut(cw * ch);
    let rgb = |x: usize, y: usize| {
        let p = &bgra[(y * width + x) * 4..];
        (i32::from(p[2]), i32::from(p[1]), i32::from(p[0]))
    };
    for y in 0..height {
        for x in 0..width {
            let (r, g, b) = rgb(x, y);
            y_plane[y * width + x] = (16 + ((66 * r + 129 * g + 25 * b + 128) >> 8)) as u8;
        }
    }
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut r, mut g, mut b, mut n) = (0, 0, 0, 0);
            for (x, y) in [(2 * cx, 2 * cy), (2 * cx + 1, 2 * cy), (2 * cx, 2 * cy + 1), (2 * cx + 1, 2 * cy + 1)] {
                if x < width && y < height {
                    let p = rgb(x, y);
                    (r, g, b, n) = (r + p.0, g + p.1, b + p.2, n + 1);
                }
            }
            let (r, g, b) = (r / n, g / n, b / n);
            cb_plane[cy * cw + cx] = (128 + ((-38 * r - 74 * g + 112 * b + 128) >> 8)) as u8;
            cr_plane[cy * cw + cx] = (128 + ((112 * r - 94 * g - 18 * b + 128) >> 8)) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(width: u32, height: u32, index: u64, bgra: [u8; 4]) -> Vec<u8> {
        let mut r = b"GWF1".to_vec();
        r.extend_from_slice(&width.to_le_bytes());
        r.extend_from_slice(&height.to_le_bytes());
        r.extend_from_slice(&index.to_le_bytes());
        for _ in 0..width * height {
            r.extend_from_slice(&bgra);
        }
        r
    }

    #[test]
    fn frames_become_y4m_of_the_first_size() {
        let mut input = record(3, 3, 1, [0, 0, 255, 255]); // red, odd sizes
        input.extend(record(4, 2, 2, [0, 0, 0, 255])); // another size: left out
        input.extend(record(3, 3, 3, [255, 255, 255, 255])); // white
        let mut out = Vec::new();
        let tally = convert(&input[..], &mut out, 30).unwrap();
        assert_eq!(tally, Tally { frames: 2, size: (3, 3), other_size: 1 });
        let header = b"YUV4MPEG2 W3 H3 F30:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n";
        assert!(out.starts_with(header));
        let frame = 6 + 9 + 2 * 4;
        assert_eq!(out.len(), header.len() + 2 * frame);
        let first = &out[header.len() + 6..header.len() + frame];
        // BT.601 limited range: red is Y 82, Cb 90, Cr 240.
        assert_eq!((first[0], first[9], first[13]), (82, 90, 240));
        let second = &out[header.len() + frame + 6..];
        assert_eq!((second[0], second[9], second[13]), (235, 128, 128));
    }

    #[test]
    fn a_corrupt_stream_is_named() {
        let err = convert(&b"XXXX0000000000000000"[..], Vec::new(), 30).unwrap_err();
        assert!(err.contains("corrupt"), "{err}");
    }
}
