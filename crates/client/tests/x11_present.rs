//! The X11 presenter against a real X server: each test starts its own Xvfb, creates a
//! window from a second connection (standing in for the program), presents through
//! `X11Presenter`, and reads the window back with GetImage. Xvfb is a Debian package
//! (`xvfb`) that `scripts/setup.sh` installs; without it these tests fail and say so.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use client::sys::x11::{Options, PresentError, X11Presenter};
use rustix::fs::{MemfdFlags, SealFlags};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

#[path = "../../../tests/support/xvfb.rs"]
mod xvfb;
use xvfb::Xvfb;

/// The program's side: its own connection and a mapped window.
struct Program {
    conn: RustConnection,
    screen: usize,
}

impl Program {
    fn connect(xvfb: &Xvfb) -> Program {
        let (conn, screen) = RustConnection::connect(Some(&xvfb.display)).expect("program connects to Xvfb");
        Program { conn, screen }
    }

    fn root(&self) -> &xproto::Screen {
        &self.conn.setup().roots[self.screen]
    }

    /// A mapped InputOutput window of `depth` (24: the root visual; 32: a 32-bit TrueColor
    /// visual), returned once the server has shown it.
    fn window(&self, width: u16, height: u16, depth: u8) -> u32 {
        let root = self.root();
        let window = self.conn.generate_id().unwrap();
        let mut aux = xproto::CreateWindowAux::new().event_mask(xproto::EventMask::EXPOSURE).border_pixel(0);
        let visual = if depth == root.root_depth {
            root.root_visual
        } else {
            let visual = root
                .allowed_depths
                .iter()
                .filter(|d| d.depth == depth)
                .flat_map(|d| &d.visuals)
                .find(|v| v.class == xproto::VisualClass::TRUE_COLOR)
                .unwrap_or_else(|| panic!("Xvfb has no depth-{depth} TrueColor visual"))
                .visual_id;
            // A visual other than the parent's needs its own colormap (else BadMatch).
            let colormap = self.conn.generate_id().unwrap();
            self.conn.create_colormap(xproto::ColormapAlloc::NONE, colormap, root.root, visual).unwrap();
            aux = aux.colormap(colormap);
            visual
        };
        self.conn
            .create_window(
                depth,
                window,
                root.root,
                0,
                0,
                width,
                height,
                0,
                xproto::WindowClass::INPUT_OUTPUT,
                visual,
                &aux,
            )
            .unwrap()
            .check()
            .expect("create the program's window");
        self.conn.map_window(window).unwrap();
        self.conn.flush().unwrap();
        self.wait_for(|e| matches!(e, Event::Expose(x) if x.window == window), "the window's first Expose");
        window
    }

    fn wait_for(&self, want: impl Fn(&Event) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            while let Some(event) = self.conn.poll_for_event().unwrap() {
                if want(&event) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("no {what} within 5 s");
    }

    /// The window's pixels as ZPixmap rows, 4 bytes each, no padding.
    fn read(&self, window: u32, width: u16, height: u16) -> Vec<u8> {
        let image = self
            .conn
            .get_image(xproto::ImageFormat::Z_PIXMAP, window, 0, 0, width, height, !0)
            .unwrap()
            .reply()
            .expect("GetImage of the program's window");
        assert_eq!(image.data.len(), usize::from(width) * usize::from(height) * 4, "GetImage returned 32-bpp rows");
        image.data
    }
}

/// A BGRA frame with a different colour per quadrant and a per-pixel ramp in the other
/// channels (a shifted row or column shows), and junk in each row's padding (a misread
/// stride shows).
fn pattern(width: usize, height: usize, stride: usize, alpha: u8) -> Vec<u8> {
    let mut bytes = vec![0xab; stride * height];
    for y in 0..height {
        for x in 0..width {
            let quadrant = usize::from(x >= width / 2) + 2 * usize::from(y >= height / 2);
            let (b, g, r) = match quadrant {
                0 => ((x * 7 + y) as u8, (y * 3) as u8, 0xe0),
                1 => ((x * 5) as u8, 0xd0, (y * 11 + x) as u8),
                2 => (0xc0, (x * 13) as u8, (y * 2 + x) as u8),
                _ => ((x + y) as u8, (x * 3 + 1) as u8, (y * 9 + 5) as u8),
            };
            bytes[y * stride + x * 4..][..4].copy_from_slice(&[b, g, r, alpha]);
        }
    }
    bytes
}

/// Compares what the window shows with the frame: blue, green and red exactly, and alpha
/// too for a depth-32 window (a depth-24 window stores no fourth byte).
fn assert_shows(shown: &[u8], frame: &[u8], width: usize, height: usize, stride: usize, depth: u8) {
    let bytes = if depth == 32 { 4 } else { 3 };
    for y in 0..height {
        for x in 0..width {
            let got = &shown[(y * width + x) * 4..][..bytes];
            let want = &frame[y * stride + x * 4..][..bytes];
            assert_eq!(got, want, "pixel ({x}, {y}) of {width}x{height}");
        }
    }
}

/// A memfd holding `bytes` at `offset`, sealed against shrinking and growing when `seal`.
fn memfd_with(bytes: &[u8], offset: usize, seal: bool) -> OwnedFd {
    let fd = rustix::fs::memfd_create("glwire-test-frame", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    let file = File::from(fd);
    file.set_len((offset + bytes.len()) as u64).unwrap();
    file.write_all_at(bytes, offset as u64).unwrap();
    let fd = OwnedFd::from(file);
    if seal {
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL).unwrap();
    }
    fd
}

fn no_shm() -> Options {
    Options { shm: false, ..Options::default() }
}

/// Presents the pattern at `width`x`height` (stride `stride`) into a fresh window of
/// `depth`, through the memfd when `through_memfd`, and checks every pixel.
fn round_trip(xvfb: &Xvfb, options: Options, width: u16, height: u16, stride: usize, depth: u8, through_memfd: bool) {
    let program = Program::connect(xvfb);
    let window = program.window(width, height, depth);
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), options).expect("presenter connects");
    assert_eq!(presenter.track(window).expect("track"), (u32::from(width), u32::from(height)));

    let (w, h) = (usize::from(width), usize::from(height));
    let frame = pattern(w, h, stride, 0x80);
    let offset = 4096 + 64;
    let memfd = through_memfd.then(|| memfd_with(&frame, offset, true));
    let shm = memfd.as_ref().map(|fd| (fd.as_fd(), offset));
    presenter.present(window, w as u32, h as u32, stride, &frame, shm).expect("present");
    presenter.wait_done().expect("wait_done");
    assert_shows(&program.read(window, width, height), &frame, w, h, stride, depth);
}

#[test]
fn shm_frame_arrives_exactly() {
    let xvfb = Xvfb::start();
    let presenter = X11Presenter::connect_with(Some(&xvfb.display), Options::default()).unwrap();
    assert!(presenter.uses_shm(), "Xvfb has MIT-SHM 1.2: {:?}", presenter.shm_unavailable_reason());
    drop(presenter);

    // Odd sizes, a stride with 20 bytes of padding per row, a memfd offset off a page.
    let program = Program::connect(&xvfb);
    let (width, height, stride) = (97u16, 61u16, 97 * 4 + 20);
    let window = program.window(width, height, 24);
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), Options::default()).unwrap();
    presenter.track(window).unwrap();
    let frame = pattern(97, 61, stride, 0xff);
    let offset = 4096 + 64;
    let memfd = memfd_with(&frame, offset, true);
    // The bytes in our memory are not what MIT-SHM reads: zeros here prove it.
    let zeros = vec![0u8; frame.len()];
    presenter.present(window, 97, 61, stride, &zeros, Some((memfd.as_fd(), offset))).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &frame, 97, 61, stride, 24);
    assert_eq!(presenter.stats().shm_frames, 1);
    assert_eq!(presenter.stats().put_frames, 0);

    // The same memfd again: the cached segment, a second frame at another offset.
    let second = pattern(97, 61, stride, 0xff).iter().map(|b| b ^ 0x5a).collect::<Vec<_>>();
    let memfd2 = memfd_with(&[frame.clone(), second.clone()].concat(), offset, true);
    presenter.present(window, 97, 61, stride, &zeros, Some((memfd2.as_fd(), offset + frame.len()))).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &second, 97, 61, stride, 24);
    presenter.present(window, 97, 61, stride, &zeros, Some((memfd.as_fd(), offset))).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &frame, 97, 61, stride, 24);
    assert_eq!(presenter.stats().shm_frames, 3);

    // Detached memfds attach again on their next frame.
    presenter.detach(memfd.as_fd());
    presenter.detach(memfd2.as_fd());
    presenter.present(window, 97, 61, stride, &zeros, Some((memfd2.as_fd(), offset + frame.len()))).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &second, 97, 61, stride, 24);
}

#[test]
fn put_image_frame_arrives_exactly() {
    let xvfb = Xvfb::start();
    round_trip(&xvfb, no_shm(), 97, 61, 97 * 4 + 20, 24, false);
    // Given a memfd but told not to use MIT-SHM: PutImage all the same.
    round_trip(&xvfb, no_shm(), 97, 61, 97 * 4 + 20, 24, true);
}

#[test]
fn depth_32_windows_keep_alpha() {
    let xvfb = Xvfb::start();
    round_trip(&xvfb, Options::default(), 97, 61, 97 * 4 + 20, 32, true);
    round_trip(&xvfb, no_shm(), 97, 61, 97 * 4 + 20, 32, false);
}

#[test]
fn frames_mit_shm_cannot_take_go_through_put_image() {
    let xvfb = Xvfb::start();
    let program = Program::connect(&xvfb);
    let window = program.window(97, 61, 24);
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), Options::default()).unwrap();
    presenter.track(window).unwrap();

    // A stride that is not whole pixels: ShmPutImage cannot describe it.
    let stride = 97 * 4 + 6;
    let frame = pattern(97, 61, stride, 0xff);
    let memfd = memfd_with(&frame, 0, true);
    presenter.present(window, 97, 61, stride, &frame, Some((memfd.as_fd(), 0))).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, 97, 61), &frame, 97, 61, stride, 24);

    // A memfd that could shrink under the X server is never attached.
    let stride = 97 * 4;
    let frame = pattern(97, 61, stride, 0xff);
    let unsealed = memfd_with(&frame, 0, false);
    presenter.present(window, 97, 61, stride, &frame, Some((unsealed.as_fd(), 0))).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, 97, 61), &frame, 97, 61, stride, 24);
    assert_eq!(presenter.stats().shm_frames, 0);
    assert_eq!(presenter.stats().put_frames, 2);
    assert!(presenter.uses_shm(), "a frame MIT-SHM cannot take does not turn MIT-SHM off");

    // Rows past the end of the memfd are refused here, not by the X server later.
    let err = presenter.present(window, 97, 61, stride, &frame, Some((memfd_with(&frame[..1000], 0, true).as_fd(), 0)));
    assert!(matches!(err, Err(PresentError::BadFrame(_))), "{err:?}");
    // So are pixels shorter than the frame.
    let err = presenter.present(window, 97, 61, stride, &frame[..stride * 60], None);
    assert!(matches!(err, Err(PresentError::BadFrame(_))), "{err:?}");
    // Neither broke the connection.
    presenter.present(window, 97, 61, stride, &frame, None).unwrap();
    presenter.wait_done().unwrap();
}

#[test]
fn many_memfds_stay_bounded_and_correct() {
    let xvfb = Xvfb::start();
    let program = Program::connect(&xvfb);
    let window = program.window(33, 17, 24);
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), Options::default()).unwrap();
    // More memfds than the presenter keeps attached, none detached by the caller.
    for round in 0..20u8 {
        let frame = pattern(33, 17, 33 * 4, 0xff).iter().map(|b| b.wrapping_add(round)).collect::<Vec<_>>();
        let memfd = memfd_with(&frame, 0, true);
        presenter.present(window, 33, 17, 33 * 4, &frame, Some((memfd.as_fd(), 0))).unwrap();
        presenter.wait_done().unwrap();
        assert_shows(&program.read(window, 33, 17), &frame, 33, 17, 33 * 4, 24);
    }
    assert_eq!(presenter.stats().shm_frames, 20);
}

#[test]
fn large_frames_arrive_whole() {
    let (width, height) = (1280u16, 720u16);
    let (w, h) = (usize::from(width), usize::from(height));
    let stride = w * 4;
    let frame = pattern(w, h, stride, 0xff);
    let xvfb = Xvfb::start();
    let program = Program::connect(&xvfb);
    let window = program.window(width, height, 24);

    // PutImage within the core protocol's largest request (256 KiB): bands of 51 rows.
    let core = Options { shm: false, max_request_bytes: Some(65535 * 4), ..Options::default() };
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), core).unwrap();
    presenter.present(window, w as u32, h as u32, stride, &frame, None).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &frame, w, h, stride, 24);
    assert_eq!(presenter.stats().put_requests, 720usize.div_ceil((65535 * 4 - 28) / (1280 * 4)) as u64);

    // Bands that need repacking (stride wider than a row).
    let wide = w * 4 + 64;
    let frame2 = pattern(w, h, wide, 0xff).iter().map(|b| b ^ 0x33).collect::<Vec<_>>();
    presenter.present(window, w as u32, h as u32, wide, &frame2, None).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &frame2, w, h, wide, 24);
    drop(presenter);

    // With BIG-REQUESTS (16 MiB on Xvfb): one request. MIT-SHM: one ShmPutImage.
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), no_shm()).unwrap();
    assert!(presenter.uses_big_requests());
    presenter.present(window, w as u32, h as u32, stride, &frame, None).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &frame, w, h, stride, 24);
    assert_eq!(presenter.stats().put_requests, 1);
    round_trip(&xvfb, Options::default(), width, height, stride, 24, true);
}

#[test]
fn frames_larger_than_the_servers_largest_request_are_split() {
    // Xvfb's smallest BIG-REQUESTS limit is 4 MiB; a full-screen 1600x1000 frame is 6.4 MB.
    let xvfb = Xvfb::start_with(&["-maxbigreqsize", "1"]);
    let (width, height) = (1600u16, 1000u16);
    let (w, h) = (usize::from(width), usize::from(height));
    let frame = pattern(w, h, w * 4, 0xff);
    let program = Program::connect(&xvfb);
    let window = program.window(width, height, 24);
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), no_shm()).unwrap();
    assert!(presenter.max_request_bytes() < frame.len(), "max request {}", presenter.max_request_bytes());
    presenter.present(window, w as u32, h as u32, w * 4, &frame, None).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, width, height), &frame, w, h, w * 4, 24);
    assert_eq!(presenter.stats().put_requests, 2);
}

#[test]
fn servers_without_mit_shm_get_put_image() {
    let xvfb = Xvfb::start_with(&["-extension", "MIT-SHM"]);
    let presenter = X11Presenter::connect_with(Some(&xvfb.display), Options::default()).unwrap();
    assert!(!presenter.uses_shm());
    assert!(presenter.shm_unavailable_reason().is_some_and(|r| r.contains("no MIT-SHM")));
    drop(presenter);
    round_trip(&xvfb, Options::default(), 97, 61, 97 * 4 + 20, 24, true);
}

#[test]
fn resizes_show_in_size() {
    let xvfb = Xvfb::start();
    let program = Program::connect(&xvfb);
    let window = program.window(97, 61, 24);
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), Options::default()).unwrap();
    assert_eq!(presenter.track(window).unwrap(), (97, 61));
    assert_eq!(presenter.size(window).unwrap(), (97, 61));

    program.conn.configure_window(window, &xproto::ConfigureWindowAux::new().width(300).height(200)).unwrap();
    program.conn.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let size = presenter.size(window).unwrap();
        if size == (300, 200) {
            break;
        }
        assert!(Instant::now() < deadline, "size() still says {size:?} 1 s after the resize");
        std::thread::sleep(Duration::from_millis(1));
    }

    // A frame at the new size fills it.
    let frame = pattern(300, 200, 1200, 0xff);
    presenter.present(window, 300, 200, 1200, &frame, None).unwrap();
    presenter.wait_done().unwrap();
    assert_shows(&program.read(window, 300, 200), &frame, 300, 200, 1200, 24);

    // The program destroys its window: size() and present() say so.
    program.conn.destroy_window(window).unwrap();
    program.conn.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match presenter.size(window) {
            Err(PresentError::WindowGone(w)) if w == window => break,
            other => assert!(Instant::now() < deadline, "size() says {other:?} 1 s after DestroyWindow"),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let err = presenter.present(window, 300, 200, 1200, &frame, None).unwrap_err();
    assert!(matches!(err, PresentError::WindowGone(_)), "{err}");
    assert!(!err.is_fatal());

    presenter.forget(window);
    assert!(matches!(presenter.size(window), Err(PresentError::NotTracked(_))));
}

#[test]
fn unusable_windows_are_clear_errors() {
    let xvfb = Xvfb::start();
    let program = Program::connect(&xvfb);
    let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), Options::default()).unwrap();

    let err = presenter.track(0x7fff_0001).unwrap_err();
    assert!(matches!(err, PresentError::NoSuchWindow(0x7fff_0001)), "{err:?}");
    assert!(err.to_string().contains("0x7fff0001") && err.to_string().contains("does not exist"), "{err}");

    // An InputOnly window holds no pixels.
    let root = program.root().root;
    let input_only = program.conn.generate_id().unwrap();
    program
        .conn
        .create_window(0, input_only, root, 0, 0, 10, 10, 0, xproto::WindowClass::INPUT_ONLY, 0, &Default::default())
        .unwrap()
        .check()
        .unwrap();
    let err = presenter.track(input_only).unwrap_err();
    assert!(matches!(err, PresentError::UnsupportedWindow { .. }), "{err:?}");
    assert!(err.to_string().contains("InputOnly"), "{err}");

    // None of that broke the connection.
    let window = program.window(8, 8, 24);
    assert_eq!(presenter.track(window).unwrap(), (8, 8));
    let frame = pattern(8, 8, 32, 0xff);
    presenter.present(window, 8, 8, 32, &frame, None).unwrap();
    presenter.wait_done().unwrap();

    let visual = presenter.true_color_visual(24).expect("Xvfb has a 24-bit TrueColor visual");
    assert_eq!(visual, program.root().root_visual);
    assert!(presenter.true_color_visual(32).is_some());
    assert!(presenter.true_color_visual(16).is_none());

    // No server on a display: a connect error that names it.
    drop(presenter);
    let err = X11Presenter::connect_with(Some(":4242"), Options::default()).unwrap_err();
    assert!(matches!(err, PresentError::Connect { .. }) && err.to_string().contains(":4242"), "{err}");
}

#[test]
fn a_killed_x_server_fails_calls_quickly() {
    for options in [Options::default(), no_shm()] {
        let xvfb = Xvfb::start();
        let program = Program::connect(&xvfb);
        let window = program.window(640, 480, 24);
        let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), options.clone()).unwrap();
        let frame = pattern(640, 480, 2560, 0xff);
        let memfd = memfd_with(&frame, 0, true);
        presenter.present(window, 640, 480, 2560, &frame, Some((memfd.as_fd(), 0))).unwrap();
        presenter.wait_done().unwrap();
        drop(program);
        drop(xvfb);

        let start = Instant::now();
        let presented = presenter.present(window, 640, 480, 2560, &frame, Some((memfd.as_fd(), 0)));
        let waited = presenter.wait_done();
        let elapsed = start.elapsed();
        let err = presented.err().or(waited.err()).expect("a call fails once Xvfb is dead");
        assert!(err.is_fatal(), "{err:?}");
        assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?} to notice a dead X server");
        // And stays failed.
        assert!(presenter.size(window).unwrap_err().is_fatal());
    }
}

#[test]
fn a_stuck_x_server_times_out() {
    for options in [Options::default(), no_shm()] {
        let xvfb = Xvfb::start();
        let program = Program::connect(&xvfb);
        let window = program.window(1280, 720, 24);
        let mut presenter = X11Presenter::connect_with(Some(&xvfb.display), options.clone()).unwrap();
        presenter.track(window).unwrap();
        let frame = pattern(1280, 720, 5120, 0xff);
        let memfd = memfd_with(&frame, 0, true);
        xvfb.signal(rustix::process::Signal::STOP);

        let start = Instant::now();
        // Several frames: more than the socket buffers, so PutImage's writes block too.
        let mut failure = None;
        for _ in 0..4 {
            let presented = presenter.present(window, 1280, 720, 5120, &frame, Some((memfd.as_fd(), 0)));
            if let Err(e) = presented.and_then(|()| presenter.wait_done()) {
                failure = Some(e);
                break;
            }
        }
        let elapsed = start.elapsed();
        let err = failure.expect("a stopped X server fails a call");
        assert!(matches!(err, PresentError::Timeout(_)), "{err:?}");
        assert!(elapsed < Duration::from_millis(2500), "took {elapsed:?} to give up on a stopped X server");
        xvfb.signal(rustix::process::Signal::CONT);
        drop(program);
    }
}
