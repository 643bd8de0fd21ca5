//! Window surfaces on the client: an X11 window the program made, rendered offscreen on
//! the server into a surface whose swaps publish frames into a frame ring (see
//! `server::surface`); this module takes each frame from the ring and presents it into
//! the window through glwire's own X connection (`sys::x11`), follows the window's size,
//! and paces swaps by the swap interval.
//!
//! The swap is one round trip: glwire's swap command goes in order after the frame's
//! commands, and the client waits for that frame on the ring's doorbell.
//!
//! It does not own EGL's bookkeeping (`egl` does) nor X details (`sys::x11` does).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use framechan::FrameConsumer;
use wire::control::{ControlKind, CreateSurfaceRequest, HandlePayload};

use crate::connect::Connection;
use crate::sys::x11::X11Presenter;
use crate::Context;

/// How long a swap waits for its frame before the surface is reported stalled: far
/// longer than any frame takes on a software rasterizer, short enough that a stuck
/// server is named rather than hanging the program.
const RECOVERY: Duration = Duration::from_secs(10);

/// Why a window surface call failed, as the EGL error it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowError {
    /// The window is not a usable X window (EGL_BAD_NATIVE_WINDOW).
    BadWindow,
    /// The server could not make or feed the surface (EGL_BAD_ALLOC).
    Alloc,
    /// The server is gone or stalled (EGL_CONTEXT_LOST).
    Lost,
}

/// The process's X connection, made for the first window surface.
static PRESENTER: Mutex<Option<X11Presenter>> = Mutex::new(None);

fn presenter() -> Result<MutexGuard<'static, Option<X11Presenter>>, WindowError> {
    let mut guard = PRESENTER.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        match X11Presenter::connect(None) {
            Ok(p) => *guard = Some(p),
            Err(e) => {
                eprintln!("glwire: cannot open the X display for a window surface: {e}");
                return Err(WindowError::BadWindow);
            }
        }
    }
    Ok(guard)
}

/// The visual id windows of 8-bit RGB configs use: the X screen's 24-bit TrueColor
/// visual (what `EGL_NATIVE_VISUAL_ID` reports, so a program can make its window).
pub fn default_visual() -> Result<u32, WindowError> {
    let mut guard = presenter()?;
    let p = guard.as_mut().ok_or(WindowError::BadWindow)?;
    p.true_color_visual(24).ok_or_else(|| {
        eprintln!("glwire: the X screen has no 24-bit TrueColor visual for window surfaces");
        WindowError::BadWindow
    })
}

/// One window surface.
#[derive(Debug)]
pub struct WindowSurface {
    window: u32,
    server_id: u64,
    frames: FrameConsumer,
    /// Our descriptor of the ring's memfd: MIT-SHM presents straight out of it.
    ring: OwnedFd,
    width: u32,
    height: u32,
    interval: i32,
}

impl WindowSurface {
    /// A surface for X window `window` in host config `config_id`, the window's size.
    pub fn create(connection: &Connection, config_id: u32, window: u32) -> Result<Self, WindowError> {
        let (width, height) = {
            let mut guard = presenter()?;
            let p = guard.as_mut().ok_or(WindowError::BadWindow)?;
            p.track(window).map_err(|e| {
                eprintln!("glwire: window {window:#x}: {e}");
                WindowError::BadWindow
            })?
        };
        let request = CreateSurfaceRequest::new(width, height, config_id);
        let (payload, mut fds) = connection
            .call_for_fds(ControlKind::CreateWindowSurface, zerocopy::IntoBytes::as_bytes(&request))
            .map_err(|e| {
                eprintln!("glwire: the render server made no window surface: {e}");
                WindowError::Alloc
            })?;
        let server_id = HandlePayload::parse(&payload).map_err(|_| WindowError::Alloc)?.handle;
        let fd = fds.pop().ok_or(WindowError::Alloc)?;
        let (frames, ring) = attach(connection, fd, None)?;
        Ok(WindowSurface { window, server_id, frames, ring, width, height, interval: 1 })
    }

    /// The X window it shows in.
    pub fn window(&self) -> u32 {
        self.window
    }

    /// The surface's handle on the server.
    pub fn server_id(&self) -> u64 {
        self.server_id
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// eglSwapInterval: 0 presents without waiting; more waits, at each swap, until the
    /// X server has shown the frame (there is no vertical blank to count here).
    pub fn set_interval(&mut self, interval: i32) {
        self.interval = interval.max(0);
    }

    /// eglSwapBuffers with `cx` (the context drawing into this surface) current.
    pub fn swap(&mut self, connection: &Connection, cx: &mut Context) -> Result<(), WindowError> {
        let (width, height) = {
            let mut guard = presenter()?;
            let p = guard.as_mut().ok_or(WindowError::BadWindow)?;
            p.size(self.window).unwrap_or((self.width, self.height))
        };
        cx.end_frame(width as i32, height as i32).map_err(|_| WindowError::Lost)?;
        self.present()?;
        if (width, height) != (self.width, self.height) {
            // The server resized the surface after publishing this frame: its frames
            // now come in a new ring generation.
            let payload = HandlePayload { handle: self.server_id };
            let (_, mut fds) = connection
                .call_for_fds(ControlKind::SurfaceFrames, zerocopy::IntoBytes::as_bytes(&payload))
                .map_err(|_| WindowError::Lost)?;
            let fd = fds.pop().ok_or(WindowError::Lost)?;
            let (frames, ring) = attach(connection, fd, Some(self.frames.generation()))?;
            if let Ok(mut guard) = presenter() {
                if let Some(p) = guard.as_mut() {
                    p.detach(self.ring.as_fd());
                }
            }
            self.frames = frames;
            self.ring = ring;
            (self.width, self.height) = (width, height);
        }
        Ok(())
    }

    /// Waits for the frame just swapped and puts it in the window.
    fn present(&mut self) -> Result<(), WindowError> {
        let frame = self.frames.wait_frame(RECOVERY).map_err(|e| {
            eprintln!("glwire: window surface: no frame from the render server: {e}");
            WindowError::Lost
        })?;
        let geometry = *frame.geometry();
        if let Some(capture) = crate::capture::get() {
            let mut capture = capture.lock().unwrap_or_else(|e| e.into_inner());
            capture.presented(geometry.width, geometry.height, geometry.stride as usize, frame.pixels());
        }
        let offset = geometry.slot_range(frame.slot()).map(|r| r.start as usize);
        let mut guard = presenter()?;
        let p = guard.as_mut().ok_or(WindowError::BadWindow)?;
        let shm = offset.map(|o| (self.ring.as_fd(), o));
        let shown =
            p.present(self.window, geometry.width, geometry.height, geometry.stride as usize, frame.pixels(), shm);
        // The X server reads a MIT-SHM image out of the slot itself: the slot goes back
        // to the server only once it has; a plain PutImage was copied on the way out.
        let waited = if shown.is_ok() && (p.uses_shm() || self.interval > 0) { p.wait_done() } else { Ok(()) };
        drop(guard);
        let _ = frame.release();
        shown.and(waited).map_err(|e| {
            eprintln!("glwire: presenting into window {:#x}: {e}", self.window);
            WindowError::BadWindow
        })
    }

    /// eglDestroySurface: stops following the window.
    pub fn destroy(self, connection: &Connection) {
        crate::capture::drain();
        if let Ok(mut guard) = presenter() {
            if let Some(p) = guard.as_mut() {
                p.detach(self.ring.as_fd());
                p.forget(self.window);
            }
        }
        let payload = HandlePayload { handle: self.server_id };
        let _ = connection.call(ControlKind::DestroySurface, zerocopy::IntoBytes::as_bytes(&payload));
    }
}

/// A consumer of the ring in `fd` (newer than generation `after`, when given), and a
/// descriptor of it for MIT-SHM.
fn attach(connection: &Connection, fd: OwnedFd, after: Option<u64>) -> Result<(FrameConsumer, OwnedFd), WindowError> {
    let ring = fd.try_clone().map_err(|_| WindowError::Alloc)?;
    let peer = connection.server_liveness();
    let frames = match after {
        Some(generation) => FrameConsumer::attach_newer(fd, peer, generation),
        None => FrameConsumer::attach(fd, peer),
    };
    let frames = frames.map_err(|e| {
        eprintln!("glwire: the render server's frame ring is unusable: {e}");
        WindowError::Alloc
    })?;
    Ok((frames, ring))
}
