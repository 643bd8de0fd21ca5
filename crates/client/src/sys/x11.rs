//! The X11 presenter: glwire's own connection to the X server that a program's window lives
//! on, and the code that puts frames (BGRA8, rows top-down) into that window.
//!
//! The program talks to X through its own Xlib/xcb connection; we open a second one to the
//! same display with `x11rb` (the X protocol in Rust: no libX11, no libxcb). On it we follow
//! the window's size (StructureNotify is selected per client, so our selection does not
//! disturb the program's), keep one GC per window, and put frames into the window:
//!
//! * with MIT-SHM 1.2 (ShmAttachFd) when the frame's bytes sit in a memfd sealed against
//!   shrinking (the frame ring's): the memfd is attached once, read-only, and each frame is
//!   one ShmPutImage from its offset — no copy on our side;
//! * otherwise with core PutImage, split into bands of rows that fit the largest request
//!   the server takes (BIG-REQUESTS when it offers it).
//!
//! Every wait on the X server is bounded ([`Options::timeout`], 1 s by default): the socket
//! is polled against a deadline that only progress moves, so a dead X server fails the call
//! at once and a stuck one after the timeout, instead of hanging the program. A failed or
//! timed-out connection stays failed ([`PresentError::is_fatal`]). Writes never raise
//! SIGPIPE.
//!
//! Environment: `GLWIRE_X11_NO_SHM=1` makes [`X11Presenter::connect`] present with plain
//! PutImage even when MIT-SHM is there (for debugging, and to compare the two paths).
//!
//! Not here: which window belongs to which surface, when to present, and reading the frame
//! ring (the ICD's surface code and `framechan` do that). This module owns only its own X
//! connection and what it creates on it (GCs, shm segments), all freed by the server when
//! the connection closes.

use std::collections::HashMap;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::SealFlags;
use rustix::io::Errno;
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage};
use rustix::net::{RecvMsg, SendFlags};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::protocol::Event;
use x11rb::reexports::x11rb_protocol::parse_display::{self, ConnectAddress};
use x11rb::reexports::x11rb_protocol::xauth;
use x11rb::rust_connection::{DefaultStream, PollMode, RustConnection, Stream};
use x11rb::utils::RawFdContainer;
use x11rb::x11_utils::X11Error;

/// How a presenter uses the X server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Use MIT-SHM when the server has it with fd passing (otherwise: plain PutImage).
    pub shm: bool,
    /// How long the X server may make no progress (take none of our bytes, send none
    /// back) before a call gives up with [`PresentError::Timeout`]; also the longest
    /// [`X11Presenter::wait_done`] waits in all. A slow link that keeps moving is not cut.
    pub timeout: Duration,
    /// A cap on the size of one PutImage request, below the server's own maximum (`None`:
    /// the server's). For tests of the banding, and to keep one frame from holding up a
    /// shared X server's other clients for long.
    pub max_request_bytes: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options { shm: true, timeout: Duration::from_secs(1), max_request_bytes: None }
    }
}

impl Options {
    /// The defaults, with MIT-SHM off when `GLWIRE_X11_NO_SHM` is set to anything but
    /// empty or `0`.
    pub fn from_env() -> Self {
        let no_shm = std::env::var_os("GLWIRE_X11_NO_SHM").is_some_and(|v| !v.is_empty() && v != "0");
        Options { shm: !no_shm, ..Options::default() }
    }
}

/// Why a presenter call failed. [`PresentError::is_fatal`] says whether the connection is
/// gone (every later call fails the same way) or only this call was refused.
#[derive(Debug, thiserror::Error)]
pub enum PresentError {
    #[error("cannot connect to X display {display:?}: {reason} (is the X server running, and does DISPLAY name it?)")]
    Connect { display: String, reason: String },
    #[error(
        "lost the connection to the X server: {0} (the X server died or closed it; nothing more can be presented)"
    )]
    Lost(String),
    #[error(
        "the X server did not answer within {0:?}: it is stuck or overloaded; giving up rather than hang the program"
    )]
    Timeout(Duration),
    #[error("X window {0:#x} does not exist (never created, already destroyed, or on another display): pass the program's own window id")]
    NoSuchWindow(u32),
    #[error("X window {window:#x} cannot show 32-bit BGRA pixels: it has {has}; glwire needs a depth-24 or depth-32 TrueColor window (32 bits per pixel, LSBFirst, red/green/blue masks 0xff0000/0xff00/0xff)")]
    UnsupportedWindow { window: u32, has: String },
    #[error("X window {0:#x} was destroyed: there is nothing to present into any more")]
    WindowGone(u32),
    #[error("X window {0:#x} is not being followed: call track() first")]
    NotTracked(u32),
    #[error("frame rejected before sending: {0}")]
    BadFrame(String),
    #[error("the X server refused {request}: {error}")]
    Refused { request: String, error: String },
}

impl PresentError {
    /// True when the connection to the X server is unusable: the presenter must be
    /// dropped (and a new one connected if the display comes back).
    pub fn is_fatal(&self) -> bool {
        matches!(self, PresentError::Lost(_) | PresentError::Timeout(_))
    }
}

/// Counts of frames presented, by path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PresentStats {
    /// Frames that went out as one ShmPutImage from an attached memfd.
    pub shm_frames: u64,
    /// Frames that went out as core PutImage requests.
    pub put_frames: u64,
    /// PutImage requests sent (more than `put_frames` when frames were split into bands).
    pub put_requests: u64,
}

/// At most this many memfds stay attached; the least recently used one is detached when a
/// new one comes. Each attachment pins its memfd's pages in the X server, so a caller that
/// forgets [`X11Presenter::detach`] must not grow it without bound.
const MAX_SEGMENTS: usize = 8;

/// PutImage's fixed part plus the BIG-REQUESTS length word.
const PUT_IMAGE_HEADER: usize = 28;

/// Our own connection to the X server the program's window lives on. Dropping it closes
/// the connection, and the X server then frees the GCs and detaches the shm segments.
#[derive(Debug)]
pub struct X11Presenter {
    conn: RustConnection<DeadlineStream>,
    display: String,
    /// The display name's screen (`:0.1` → 1), where the program's windows usually are.
    screen: usize,
    timeout: Duration,
    /// `Err(reason)` when frames go through PutImage only.
    shm: Result<(), String>,
    big_requests: bool,
    max_request_bytes: usize,
    windows: HashMap<u32, Tracked>,
    /// Keyed by the memfd's (st_dev, st_ino).
    segments: HashMap<(u64, u64), Segment>,
    use_clock: u64,
    /// What [`X11Presenter::wait_done`] still has to wait for.
    in_flight: InFlight,
    /// The highest sequence number a ShmCompletion event has reported.
    completed: u64,
    /// An X error for one of our requests sent without waiting (a put, a GC): reported by
    /// the next present or wait.
    pending_error: Option<PresentError>,
    /// The sequence number of the latest request an X error was reported for.
    error_seq: u64,
    /// Set once the connection failed; every later call returns it.
    broken: Option<String>,
    scratch: Vec<u8>,
    stats: PresentStats,
}

#[derive(Debug)]
struct Tracked {
    gc: u32,
    /// What the GC was made for: a GC works only on drawables of its root and depth.
    root: u32,
    depth: u8,
    size: (u32, u32),
    /// The sequence number of the GetGeometry that gave `size`: ConfigureNotify events from
    /// before it are older than `size` and are not applied.
    size_seq: u64,
    gone: bool,
}

#[derive(Debug)]
struct Segment {
    seg: u32,
    /// A duplicate of the memfd kept open so that its inode cannot be freed and its number
    /// reused by another memfd while this entry exists: the key stays unambiguous.
    _keep: OwnedFd,
    size: u64,
    last_used: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    Nothing,
    Shm(u64),
    Put,
}

impl X11Presenter {
    /// Connects to `display` (an X display name like ":99"; `None` = `$DISPLAY`), with
    /// [`Options::from_env`]. Detects MIT-SHM (1.2 or later, for ShmAttachFd) and
    /// BIG-REQUESTS.
    pub fn connect(display: Option<&str>) -> Result<Self, PresentError> {
        Self::connect_with(display, Options::from_env())
    }

    /// [`X11Presenter::connect`] with explicit options (the environment is not read).
    pub fn connect_with(display: Option<&str>, options: Options) -> Result<Self, PresentError> {
        let name = match display {
            Some(d) => d.to_owned(),
            None => std::env::var("DISPLAY").unwrap_or_default(),
        };
        let connect_err = |reason: String| PresentError::Connect { display: name.clone(), reason };
        let parsed = parse_display::parse_display(display).map_err(|e| connect_err(e.to_string()))?;
        let connect_deadline = Instant::now() + options.timeout;

        let mut last_failure = String::from("no address to try");
        let mut opened = None;
        for addr in parsed.connect_instruction() {
            let attempt = match &addr {
                ConnectAddress::Socket(_) => DefaultStream::connect(&addr).map(|s| (s, true)),
                ConnectAddress::Hostname(host, port) => tcp_connect(host, *port, connect_deadline)
                    .and_then(DefaultStream::from_tcp_stream)
                    .map(|s| (s, false)),
                _ => continue,
            };
            match attempt {
                Ok(((stream, (family, address)), local)) => {
                    opened = Some((stream, family, address, local));
                    break;
                }
                Err(e) => last_failure = format!("{addr:?}: {e}"),
            }
        }
        let Some((stream, family, address, local)) = opened else {
            return Err(connect_err(last_failure));
        };
        // As Xlib does: a missing or unreadable Xauthority means "try without".
        let (auth_name, auth_data) =
            xauth::get_auth(family, &address, parsed.display).ok().flatten().unwrap_or_default();
        let idle = options.timeout;
        let stream = DeadlineStream {
            fd: OwnedFd::from(stream),
            deadline: Mutex::new(Deadline { at: Instant::now() + idle, idle, expired: false }),
        };
        let conn =
            RustConnection::connect_to_stream_with_auth_info(stream, usize::from(parsed.screen), auth_name, auth_data)
                .map_err(|e| match e {
                    ConnectError::IoError(e) if e.kind() == io::ErrorKind::TimedOut => {
                        PresentError::Timeout(options.timeout)
                    }
                    e => connect_err(e.to_string()),
                })?;

        let mut presenter = X11Presenter {
            conn,
            display: name,
            screen: usize::from(parsed.screen),
            timeout: options.timeout,
            shm: Err(String::new()),
            big_requests: false,
            max_request_bytes: 0,
            windows: HashMap::new(),
            segments: HashMap::new(),
            use_clock: 0,
            in_flight: InFlight::Nothing,
            completed: 0,
            pending_error: None,
            error_seq: 0,
            broken: None,
            scratch: Vec::new(),
            stats: PresentStats::default(),
        };
        presenter.arm();
        let probed = presenter.probe(&options, local);
        presenter.end(probed)?;
        Ok(presenter)
    }

    fn probe(&mut self, options: &Options, local: bool) -> Result<(), PresentError> {
        self.shm = if !options.shm {
            Err("turned off (Options::shm false, or GLWIRE_X11_NO_SHM set)".into())
        } else if !local {
            Err("the X server is reached over TCP: shared memory cannot cross it".into())
        } else {
            self.probe_shm()?
        };
        // x11rb enables BIG-REQUESTS here when the server has it (and quietly falls back to
        // the core limit when that fails: a timeout is caught below).
        self.max_request_bytes = self.conn.maximum_request_bytes();
        let core_max = usize::from(self.conn.setup().maximum_request_length) * 4;
        self.big_requests = self.max_request_bytes > core_max;
        if let Some(cap) = options.max_request_bytes {
            self.max_request_bytes = self.max_request_bytes.min(cap);
        }
        if self.conn.stream().expired() {
            return Err(PresentError::Timeout(options.timeout));
        }
        Ok(())
    }

    fn probe_shm(&mut self) -> Result<Result<(), String>, PresentError> {
        if self.conn.extension_information(shm::X11_EXTENSION_NAME).or_lost()?.is_none() {
            return Ok(Err("the X server has no MIT-SHM extension".into()));
        }
        let version = self.conn.shm_query_version().or_lost()?.reply().or_refused("ShmQueryVersion")?;
        if (version.major_version, version.minor_version) < (1, 2) {
            return Ok(Err(format!(
                "the X server's MIT-SHM is version {}.{}; passing a memfd needs 1.2",
                version.major_version, version.minor_version
            )));
        }
        Ok(Ok(()))
    }

    /// Starts following `window`'s size and returns its current size. Fails when the window
    /// does not exist or cannot take 32-bit BGRX/BGRA pixels (the error says what it has).
    pub fn track(&mut self, window: u32) -> Result<(u32, u32), PresentError> {
        self.begin()?;
        let result = self.track_inner(window);
        self.end(result)
    }

    fn track_inner(&mut self, window: u32) -> Result<(u32, u32), PresentError> {
        let select = xproto::ChangeWindowAttributesAux::new().event_mask(xproto::EventMask::STRUCTURE_NOTIFY);
        let conn = &self.conn;
        let selected = conn.change_window_attributes(window, &select).or_lost()?;
        let geometry = conn.get_geometry(window).or_lost()?;
        let size_seq = geometry.sequence_number();
        let attributes = conn.get_window_attributes(window).or_lost()?;
        // Each answer is collected, so that no error of these is left to surface later as an
        // event; the check costs no round trip, the replies having come after its error.
        let (geometry, attributes, selected) = (geometry.reply(), attributes.reply(), selected.check());
        let geometry = geometry.map_err(|e| no_window(window, e))?;
        let attributes = attributes.map_err(|e| no_window(window, e))?;
        selected.map_err(|e| no_window(window, e))?;
        self.check_pixels(window, &geometry, &attributes)?;

        let size = (u32::from(geometry.width), u32::from(geometry.height));
        let (root, depth) = (geometry.root, geometry.depth);
        if let Some(t) = self.windows.get_mut(&window) {
            // Tracked again (the same id, perhaps a new window that reuses it).
            (t.size, t.size_seq, t.gone) = (size, size_seq, false);
            if (t.root, t.depth) == (root, depth) {
                return Ok(size);
            }
            let old = t.gc;
            self.windows.remove(&window);
            self.conn.free_gc(old).or_lost()?;
        }
        let gc = self.conn.generate_id().or_lost()?;
        // No GraphicsExpose/NoExpose events: nothing here would read them.
        let gc_values = xproto::CreateGCAux::new().graphics_exposures(0);
        // Unchecked, like every request below without a reply: an error comes as an event.
        self.conn.create_gc(gc, window, &gc_values).or_lost()?;
        self.windows.insert(window, Tracked { gc, root, depth, size, size_seq, gone: false });
        Ok(size)
    }

    fn check_pixels(
        &self,
        window: u32,
        geometry: &xproto::GetGeometryReply,
        attributes: &xproto::GetWindowAttributesReply,
    ) -> Result<(), PresentError> {
        let setup = self.conn.setup();
        let depth = geometry.depth;
        let format = setup.pixmap_formats.iter().find(|f| f.depth == depth);
        let visual = setup
            .roots
            .iter()
            .flat_map(|screen| &screen.allowed_depths)
            .flat_map(|d| &d.visuals)
            .find(|v| v.visual_id == attributes.visual);
        let lsb = setup.image_byte_order == xproto::ImageOrder::LSB_FIRST;
        let ok = attributes.class == xproto::WindowClass::INPUT_OUTPUT
            && (depth == 24 || depth == 32)
            && format.is_some_and(|f| f.bits_per_pixel == 32 && f.scanline_pad == 32)
            && lsb
            && visual.is_some_and(|v| {
                (v.class == xproto::VisualClass::TRUE_COLOR || v.class == xproto::VisualClass::DIRECT_COLOR)
                    && (v.red_mask, v.green_mask, v.blue_mask) == (0xff_0000, 0xff00, 0xff)
            });
        if ok {
            return Ok(());
        }
        let class = if attributes.class == xproto::WindowClass::INPUT_ONLY { "InputOnly" } else { "InputOutput" };
        let bpp = match format {
            Some(f) => format!("{} bits per pixel, scanline pad {}", f.bits_per_pixel, f.scanline_pad),
            None => "no pixmap format for that depth".into(),
        };
        let visual = match visual {
            Some(v) => format!(
                "visual {:#x} ({:?}, masks red {:#x} green {:#x} blue {:#x})",
                v.visual_id, v.class, v.red_mask, v.green_mask, v.blue_mask
            ),
            None => format!("visual {:#x} (not in the server's list)", attributes.visual),
        };
        let order = if lsb { "LSBFirst" } else { "MSBFirst" };
        Err(PresentError::UnsupportedWindow {
            window,
            has: format!("class {class}, depth {depth}, {bpp}, {visual}, image byte order {order}"),
        })
    }

    /// The window's size as of the latest ConfigureNotify received: reads what has already
    /// arrived, without waiting and without a round trip.
    pub fn size(&mut self, window: u32) -> Result<(u32, u32), PresentError> {
        self.begin()?;
        let result = self.pump().and_then(|()| match self.windows.get(&window) {
            None => Err(PresentError::NotTracked(window)),
            Some(t) if t.gone => Err(PresentError::WindowGone(window)),
            Some(t) => Ok(t.size),
        });
        self.end(result)
    }

    /// Presents one frame into `window` at (0, 0): `width`×`height` BGRA8 pixels, rows
    /// top-down, `stride` bytes apart, at `pixels`. When `shm` gives the memfd that holds
    /// these same bytes (at the given offset) and MIT-SHM is usable, the X server reads them
    /// from there and `pixels` is not touched; otherwise they go out as PutImage requests.
    /// Returns once the request is written; [`X11Presenter::wait_done`] waits for the
    /// server to have read the pixels. A window not yet tracked is tracked first.
    pub fn present(
        &mut self,
        window: u32,
        width: u32,
        height: u32,
        stride: usize,
        pixels: &[u8],
        shm: Option<(BorrowedFd<'_>, usize)>,
    ) -> Result<(), PresentError> {
        self.begin()?;
        let result = self.present_inner(window, width, height, stride, pixels, shm);
        self.end(result)
    }

    fn present_inner(
        &mut self,
        window: u32,
        width: u32,
        height: u32,
        stride: usize,
        pixels: &[u8],
        shm: Option<(BorrowedFd<'_>, usize)>,
    ) -> Result<(), PresentError> {
        self.pump()?;
        self.take_pending_error()?;
        let frame = Frame::check(width, height, stride, pixels.len())?;
        if !self.windows.contains_key(&window) {
            self.track_inner(window)?;
        }
        let (gc, depth) = match self.windows.get(&window) {
            Some(t) if t.gone => return Err(PresentError::WindowGone(window)),
            Some(t) => (t.gc, t.depth),
            None => return Err(PresentError::NotTracked(window)),
        };
        let segment = match shm {
            Some((fd, offset)) if self.shm.is_ok() => self.segment_for(fd, offset, &frame)?,
            _ => None,
        };
        match segment {
            Some((seg, offset, total_width)) => {
                let cookie = self
                    .conn
                    .shm_put_image(
                        window,
                        gc,
                        total_width,
                        frame.height,
                        0,
                        0,
                        frame.width,
                        frame.height,
                        0,
                        0,
                        depth,
                        xproto::ImageFormat::Z_PIXMAP.into(),
                        true,
                        seg,
                        offset,
                    )
                    .or_lost()?;
                self.in_flight = InFlight::Shm(cookie.sequence_number());
                self.stats.shm_frames += 1;
            }
            None => {
                self.put_bands(window, gc, depth, &frame, pixels)?;
                self.in_flight = InFlight::Put;
                self.stats.put_frames += 1;
            }
        }
        self.conn.flush().or_lost()
    }

    /// The attached segment for `fd` (attaching it on first use) with the frame's offset and
    /// row length in pixels, or `None` when this frame has to go through PutImage.
    fn segment_for(
        &mut self,
        fd: BorrowedFd<'_>,
        offset: usize,
        frame: &Frame,
    ) -> Result<Option<(u32, u32, u16)>, PresentError> {
        // ShmPutImage reads whole rows of `total_width` pixels, so the stride must be one.
        let (Ok(offset32), true, Ok(total_width)) =
            (u32::try_from(offset), frame.stride % 4 == 0, u16::try_from(frame.stride / 4))
        else {
            return Ok(None);
        };
        let stat = rustix::fs::fstat(fd)
            .map_err(|e| PresentError::BadFrame(format!("cannot fstat the frame's memfd: {e}")))?;
        let key = (stat.st_dev, stat.st_ino);
        self.use_clock += 1;
        let clock = self.use_clock;
        let segment = match self.segments.get_mut(&key) {
            Some(s) => {
                s.last_used = clock;
                (s.seg, s.size)
            }
            None => match self.attach(fd, key, u64::try_from(stat.st_size).unwrap_or(0))? {
                Some(s) => s,
                None => return Ok(None),
            },
        };
        // The server checks this too, with an error that would arrive only later.
        let needed = (offset as u64).checked_add((frame.stride as u64).saturating_mul(u64::from(frame.height)));
        if needed.is_none_or(|n| n > segment.1) {
            return Err(PresentError::BadFrame(format!(
                "{} rows of {} bytes at offset {offset} run past the end of the {}-byte memfd",
                frame.height, frame.stride, segment.1
            )));
        }
        Ok(Some((segment.0, offset32, total_width)))
    }

    fn attach(&mut self, fd: BorrowedFd<'_>, key: (u64, u64), size: u64) -> Result<Option<(u32, u64)>, PresentError> {
        // The X server maps the memfd and reads it while drawing; one that could shrink
        // under it would fault the server.
        let sealed = rustix::fs::fcntl_get_seals(fd).is_ok_and(|s| s.contains(SealFlags::SHRINK));
        if !sealed {
            return Ok(None);
        }
        let dup = |fd: BorrowedFd<'_>| {
            fd.try_clone_to_owned().map_err(|e| PresentError::BadFrame(format!("cannot duplicate the memfd: {e}")))
        };
        let (sent, kept) = (dup(fd)?, dup(fd)?);
        if self.segments.len() >= MAX_SEGMENTS {
            if let Some(&oldest) = self.segments.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| k) {
                self.detach_key(oldest)?;
            }
        }
        let seg = self.conn.generate_id().or_lost()?;
        match self.conn.shm_attach_fd(seg, RawFdContainer::from(sent), true).or_lost()?.check() {
            Ok(()) => {}
            Err(ReplyError::ConnectionError(e)) => return Err(lost(e)),
            Err(ReplyError::X11Error(e)) => {
                // A server that takes MIT-SHM 1.2 but refuses our memfd will refuse the next
                // one too: present through PutImage from now on.
                self.shm = Err(format!("the X server refused ShmAttachFd: {}", describe(&e)));
                return Ok(None);
            }
        }
        self.segments.insert(key, Segment { seg, _keep: kept, size, last_used: self.use_clock });
        Ok(Some((seg, size)))
    }

    fn put_bands(&mut self, window: u32, gc: u32, depth: u8, frame: &Frame, pixels: &[u8]) -> Result<(), PresentError> {
        let row = usize::from(frame.width) * 4;
        let rows_per_band = self.max_request_bytes.saturating_sub(PUT_IMAGE_HEADER) / row;
        if rows_per_band == 0 {
            return Err(PresentError::BadFrame(format!(
                "one row of {} pixels is larger than the X server's largest request ({} bytes)",
                frame.width, self.max_request_bytes
            )));
        }
        let rows_per_band = rows_per_band.min(usize::from(u16::MAX));
        let mut y = 0usize;
        let height = usize::from(frame.height);
        while y < height {
            let rows = rows_per_band.min(height - y);
            let start = y * frame.stride;
            let data: &[u8] = if frame.stride == row {
                &pixels[start..start + rows * row]
            } else {
                self.scratch.clear();
                for r in 0..rows {
                    let at = start + r * frame.stride;
                    self.scratch.extend_from_slice(&pixels[at..at + row]);
                }
                &self.scratch
            };
            let (Ok(rows16), Ok(y16)) = (u16::try_from(rows), i16::try_from(y)) else {
                // Rows below y = 32767 lie outside any X window: nothing more to draw.
                break;
            };
            self.conn
                .put_image(xproto::ImageFormat::Z_PIXMAP, window, gc, frame.width, rows16, 0, y16, 0, depth, data)
                .or_lost()?;
            self.stats.put_requests += 1;
            y += rows;
        }
        Ok(())
    }

    /// Waits until the X server has finished reading the last presented frame: its
    /// ShmCompletion event for a ShmPutImage, else a round trip. Bounded by
    /// [`Options::timeout`]. Reports an X error caused by an earlier present.
    pub fn wait_done(&mut self) -> Result<(), PresentError> {
        self.begin()?;
        let result = self.wait_done_inner();
        self.end(result)
    }

    fn wait_done_inner(&mut self) -> Result<(), PresentError> {
        match self.in_flight {
            InFlight::Nothing => self.pump()?,
            InFlight::Put => {
                // Requests are handled in order: once this answer is here, the puts before it
                // are done and any error they caused has arrived.
                self.conn.get_input_focus().or_lost()?.reply().or_refused("GetInputFocus")?;
                self.pump()?;
            }
            InFlight::Shm(seq) => {
                // Other events (a resize) count as progress for the stream's deadline, so
                // this wait has its own.
                let give_up = Instant::now() + self.timeout;
                loop {
                    self.pump()?;
                    if self.completed >= seq || self.error_seq >= seq {
                        break;
                    }
                    if Instant::now() >= give_up {
                        return Err(PresentError::Timeout(self.timeout));
                    }
                    self.conn.stream().poll(PollMode::Readable).map_err(|e| lost(ConnectionError::IoError(e)))?;
                }
            }
        }
        self.in_flight = InFlight::Nothing;
        self.take_pending_error()
    }

    /// Stops following `window` and frees its GC. Its StructureNotify selection stays until
    /// the window or this connection goes (undoing it could race with the program destroying
    /// the window); its events are ignored.
    pub fn forget(&mut self, window: u32) {
        if let Some(tracked) = self.windows.remove(&window) {
            if self.begin().is_ok() {
                let result = self.conn.free_gc(tracked.gc).or_lost().map(drop);
                let result = result.and_then(|()| self.conn.flush().or_lost());
                let _ = self.end(result);
            }
        }
    }

    /// Detaches the shm segment of a memfd that is going away (nothing if it was never
    /// attached). The X server keeps the memory mapped until it is detached.
    pub fn detach(&mut self, fd: BorrowedFd<'_>) {
        let Ok(stat) = rustix::fs::fstat(fd) else { return };
        let key = (stat.st_dev, stat.st_ino);
        if self.segments.contains_key(&key) && self.begin().is_ok() {
            let result = self.detach_key(key).and_then(|()| self.conn.flush().or_lost());
            let _ = self.end(result);
        }
    }

    fn detach_key(&mut self, key: (u64, u64)) -> Result<(), PresentError> {
        if let Some(segment) = self.segments.remove(&key) {
            // The server finishes earlier puts from the segment before it handles this.
            self.conn.shm_detach(segment.seg).or_lost()?;
        }
        Ok(())
    }

    /// True when frames (given with their memfd) go through MIT-SHM.
    pub fn uses_shm(&self) -> bool {
        self.shm.is_ok()
    }

    /// Why frames go through PutImage instead of MIT-SHM, when they do.
    pub fn shm_unavailable_reason(&self) -> Option<&str> {
        self.shm.as_ref().err().map(String::as_str)
    }

    /// True when the server took BIG-REQUESTS (PutImage bands can be larger than 256 KiB).
    pub fn uses_big_requests(&self) -> bool {
        self.big_requests
    }

    /// The largest request the X server takes, in bytes.
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    /// Frames presented so far, by path.
    pub fn stats(&self) -> PresentStats {
        self.stats
    }

    /// The id of a visual of the display's screen whose windows this presenter can show:
    /// TrueColor at `depth` (24 or 32) with BGRX/BGRA's channel masks, the screen's root
    /// visual when it is one. What `EGL_NATIVE_VISUAL_ID` reports, so that a program can
    /// create its window with it.
    pub fn true_color_visual(&self, depth: u8) -> Option<u32> {
        let setup = self.conn.setup();
        let screen = setup.roots.get(self.screen)?;
        let format_ok = setup.image_byte_order == xproto::ImageOrder::LSB_FIRST
            && setup.pixmap_formats.iter().any(|f| f.depth == depth && f.bits_per_pixel == 32 && f.scanline_pad == 32);
        if !format_ok {
            return None;
        }
        let mut candidates = screen
            .allowed_depths
            .iter()
            .filter(|d| d.depth == depth)
            .flat_map(|d| &d.visuals)
            .filter(|v| {
                v.class == xproto::VisualClass::TRUE_COLOR
                    && (v.red_mask, v.green_mask, v.blue_mask) == (0xff_0000, 0xff00, 0xff)
            })
            .map(|v| v.visual_id);
        let first = candidates.next()?;
        Some(std::iter::once(first).chain(candidates).find(|&v| v == screen.root_visual).unwrap_or(first))
    }

    /// The display name this presenter was opened with.
    pub fn display(&self) -> &str {
        &self.display
    }

    fn begin(&mut self) -> Result<(), PresentError> {
        if let Some(reason) = &self.broken {
            return Err(PresentError::Lost(format!("an earlier call failed: {reason}")));
        }
        self.arm();
        Ok(())
    }

    fn arm(&self) {
        self.conn.stream().arm(self.timeout);
    }

    /// Marks the connection broken after a fatal error: after a timeout in the middle of a
    /// request the byte stream is out of step and cannot be trusted any more.
    fn end<T>(&mut self, result: Result<T, PresentError>) -> Result<T, PresentError> {
        let result = match result {
            Err(PresentError::Lost(_)) if self.conn.stream().expired() => Err(PresentError::Timeout(self.timeout)),
            other => other,
        };
        if let Err(e) = &result {
            if e.is_fatal() {
                self.broken = Some(e.to_string());
            }
        }
        result
    }

    /// Handles every event that has already arrived, without waiting.
    fn pump(&mut self) -> Result<(), PresentError> {
        while let Some((event, seq)) = self.conn.poll_for_event_with_sequence().or_lost()? {
            match event {
                Event::ConfigureNotify(e) => {
                    if let Some(t) = self.windows.get_mut(&e.window).filter(|t| seq >= t.size_seq) {
                        t.size = (u32::from(e.width), u32::from(e.height));
                    }
                }
                Event::DestroyNotify(e) => {
                    if let Some(t) = self.windows.get_mut(&e.window) {
                        t.gone = true;
                    }
                }
                Event::ShmCompletion(_) => self.completed = self.completed.max(seq),
                Event::Error(e) => {
                    let gone_window = matches!(
                        e.error_kind,
                        x11rb::protocol::ErrorKind::Window | x11rb::protocol::ErrorKind::Drawable
                    )
                    .then(|| self.windows.get_mut(&e.bad_value))
                    .flatten();
                    if let Some(t) = gone_window {
                        t.gone = true;
                    }
                    self.error_seq = self.error_seq.max(seq);
                    if self.pending_error.is_none() {
                        let request = e.request_name.unwrap_or("a request").to_owned();
                        self.pending_error = Some(PresentError::Refused { request, error: describe(&e) });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn take_pending_error(&mut self) -> Result<(), PresentError> {
        match self.pending_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A frame's geometry, checked against the X protocol's limits and the bytes given.
struct Frame {
    width: u16,
    height: u16,
    stride: usize,
}

impl Frame {
    fn check(width: u32, height: u32, stride: usize, len: usize) -> Result<Frame, PresentError> {
        let bad = |why: String| Err(PresentError::BadFrame(why));
        let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
            return bad(format!("{width}x{height} is larger than X allows (65535x65535)"));
        };
        if w == 0 || h == 0 {
            return bad(format!("{width}x{height} is empty"));
        }
        let row = usize::from(w) * 4;
        if stride < row {
            return bad(format!("stride {stride} is shorter than a row of {width} BGRA pixels ({row} bytes)"));
        }
        let needed = (usize::from(h) - 1).checked_mul(stride).and_then(|n| n.checked_add(row));
        if needed.is_none_or(|n| n > len) {
            return bad(format!("{width}x{height} with stride {stride} needs more than the {len} bytes given"));
        }
        Ok(Frame { width: w, height: h, stride })
    }
}

fn describe(e: &X11Error) -> String {
    format!(
        "{:?} error (bad value {:#x}) for {}",
        e.error_kind,
        e.bad_value,
        e.request_name.map_or_else(|| format!("request {}.{}", e.major_opcode, e.minor_opcode), str::to_owned)
    )
}

fn lost(e: ConnectionError) -> PresentError {
    PresentError::Lost(e.to_string())
}

fn no_window(window: u32, e: ReplyError) -> PresentError {
    match e {
        ReplyError::ConnectionError(e) => lost(e),
        ReplyError::X11Error(x)
            if matches!(x.error_kind, x11rb::protocol::ErrorKind::Window | x11rb::protocol::ErrorKind::Drawable) =>
        {
            PresentError::NoSuchWindow(window)
        }
        ReplyError::X11Error(x) => {
            PresentError::Refused { request: x.request_name.unwrap_or("a request").to_owned(), error: describe(&x) }
        }
    }
}

/// x11rb's errors turned into ours: connection failures are fatal, X errors refusals.
trait OrLost<T> {
    fn or_lost(self) -> Result<T, PresentError>;
}

impl<T> OrLost<T> for Result<T, ConnectionError> {
    fn or_lost(self) -> Result<T, PresentError> {
        self.map_err(lost)
    }
}

impl<T> OrLost<T> for Result<T, ReplyOrIdError> {
    fn or_lost(self) -> Result<T, PresentError> {
        self.map_err(|e| match e {
            ReplyOrIdError::ConnectionError(e) => lost(e),
            ReplyOrIdError::IdsExhausted => PresentError::Lost("the X server gave us no more resource ids".into()),
            ReplyOrIdError::X11Error(x) => {
                PresentError::Refused { request: x.request_name.unwrap_or("a request").to_owned(), error: describe(&x) }
            }
        })
    }
}

trait OrRefused<T> {
    fn or_refused(self, request: &str) -> Result<T, PresentError>;
}

impl<T> OrRefused<T> for Result<T, ReplyError> {
    fn or_refused(self, request: &str) -> Result<T, PresentError> {
        self.map_err(|e| match e {
            ReplyError::ConnectionError(e) => lost(e),
            ReplyError::X11Error(x) => PresentError::Refused { request: request.to_owned(), error: describe(&x) },
        })
    }
}

fn tcp_connect(host: &str, port: u16, deadline: Instant) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    for addr in (host, port).to_socket_addrs()? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("connecting to {host}:{port} timed out")));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The socket to the X server, as x11rb's [`Stream`]: like x11rb's own `DefaultStream`
/// (non-blocking socket, fds passed with SCM_RIGHTS) but every wait is bounded by a
/// deadline the presenter sets per call, and writes to a closed socket return EPIPE instead
/// of raising SIGPIPE (which would kill a program that did not ignore it).
#[derive(Debug)]
struct DeadlineStream {
    fd: OwnedFd,
    deadline: Mutex<Deadline>,
}

#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    idle: Duration,
    /// A poll gave up since the last `arm`: x11rb reports that as an I/O error (or, in
    /// places, swallows it), and this is how the presenter tells a timeout from a hang-up.
    expired: bool,
}

impl DeadlineStream {
    /// Starts a call: the X server has `idle` from now, and again after each bit of progress.
    fn arm(&self, idle: Duration) {
        let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        *deadline = Deadline { at: Instant::now() + idle, idle, expired: false };
    }

    fn expired(&self) -> bool {
        self.deadline.lock().unwrap_or_else(PoisonError::into_inner).expired
    }

    fn send(&self, bufs: &[IoSlice<'_>], fds: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
        let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(|fd| fd.as_fd()).collect();
        let rights = SendAncillaryMessage::ScmRights(&borrowed);
        let mut space = vec![MaybeUninit::uninit(); if fds.is_empty() { 0 } else { rights.size() }];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !control.push(rights) {
            return Err(io::Error::other("cannot fit the file descriptors into one message"));
        }
        let sent = loop {
            match rustix::net::sendmsg(&self.fd, bufs, &mut control, flags) {
                Err(Errno::INTR) => continue,
                other => break other?,
            }
        };
        // The descriptors went with the first byte of this message.
        fds.clear();
        Ok(sent)
    }
}

impl Stream for DeadlineStream {
    fn poll(&self, mode: PollMode) -> io::Result<()> {
        let mut flags = PollFlags::empty();
        if mode.readable() {
            flags |= PollFlags::IN;
        }
        if mode.writable() {
            flags |= PollFlags::OUT;
        }
        loop {
            let left = {
                let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
                let left = deadline.at.saturating_duration_since(Instant::now());
                deadline.expired |= left.is_zero();
                left
            };
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the X server did not respond in time"));
            }
            let timeout = Timespec::try_from(left).map_err(|_| io::Error::other("timeout out of range"))?;
            let mut fds = [PollFd::new(&self.fd, flags)];
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                // Either the deadline passed (checked at the top) or a spurious wake-up.
                Ok(0) | Err(Errno::INTR) => continue,
                // Readiness or POLLERR/POLLHUP: the read or write that follows reports which.
                Ok(_) => {
                    let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
                    deadline.at = Instant::now() + deadline.idle;
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn read(&self, buf: &mut [u8], fd_storage: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        // Room for a few descriptors; the X server sends them only with replies that carry
        // some (DRI3, MIT-SHM's CreateSegment), which this module does not ask for.
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(16))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut iov = [IoSliceMut::new(buf)];
        let flags = RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT;
        let msg: RecvMsg = loop {
            match rustix::net::recvmsg(&self.fd, &mut iov, &mut control, flags) {
                Err(Errno::INTR) => continue,
                other => break other?,
            }
        };
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = message {
                fd_storage.extend(fds);
            }
        }
        Ok(msg.bytes)
    }

    fn write(&self, buf: &[u8], fds: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        self.send(&[IoSlice::new(buf)], fds)
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>], fds: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        self.send(bufs, fds)
    }
}
