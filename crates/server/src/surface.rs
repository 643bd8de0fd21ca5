//! A session's EGL surfaces on the server: a host pbuffer each (the default framebuffer
//! of the contexts it is bound to), and for a window surface the frame ring its swaps
//! publish into. A window surface follows its window: a swap that carries a new size
//! publishes the frame, then gives the surface a pbuffer of the new size and a new
//! ring generation (the old ring is retired, so the client asks for the new one).
//!
//! It does not read pixels (the backend does) nor present them (the client does).

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use backend_gles::{GlesContext, HostSurface};
use framechan::{FrameProducer, FrameSpec};

use crate::error::ServerError;

/// Largest side of a surface (pbuffer or window) a client may ask for.
pub const MAX_SURFACE_SIDE: u32 = 16384;

/// How long a swap waits for a ring slot: the client reads one frame at a time, so a
/// slot frees as soon as it has presented; past this the frame is dropped (a stuck or
/// dead reader must not stall the context thread).
const SLOT_WAIT: Duration = Duration::from_millis(250);

/// One EGL surface of a session.
#[derive(Debug)]
pub struct Surface {
    /// The host pbuffer (none under the loopback executor); replaced on resize.
    host: Mutex<Option<Arc<HostSurface>>>,
    /// A window surface's frame ring; none for a pbuffer.
    frames: Option<Mutex<FrameProducer>>,
    config_id: u32,
}

impl Surface {
    pub fn pbuffer(host: Option<Arc<HostSurface>>, config_id: u32) -> Self {
        Surface { host: Mutex::new(host), frames: None, config_id }
    }

    pub fn window(host: Option<Arc<HostSurface>>, frames: FrameProducer, config_id: u32) -> Self {
        Surface { host: Mutex::new(host), frames: Some(Mutex::new(frames)), config_id }
    }

    /// The host pbuffer the surface renders into now.
    pub fn host(&self) -> Option<Arc<HostSurface>> {
        lock(&self.host).clone()
    }

    pub fn is_window(&self) -> bool {
        self.frames.is_some()
    }

    /// A descriptor of the frame ring the surface publishes into now (for the client:
    /// the consumer's end). Waits for a swap in progress, so after a resize it is the
    /// new generation's.
    pub fn frames_fd(&self) -> Option<Result<OwnedFd, ServerError>> {
        let frames = self.frames.as_ref()?;
        Some(lock(frames).share_fd().map_err(ServerError::from))
    }

    /// eglSwapBuffers: publishes the frame `cx` rendered into this surface (a window
    /// surface; a pbuffer has nowhere to send it), then resizes the surface to
    /// `width` x `height` when that differs. Returns whether `cx` needs the new pbuffer
    /// bound (it did a resize).
    pub fn swap(&self, cx: &mut GlesContext, width: u32, height: u32) -> Result<Option<Arc<HostSurface>>, ServerError> {
        let Some(frames) = &self.frames else { return Ok(None) };
        let mut producer = lock(frames);
        let geometry = *producer.geometry();
        match producer.acquire(SLOT_WAIT) {
            Ok(mut slot) => {
                let stride = geometry.stride as usize;
                cx.read_frame(geometry.width, geometry.height, stride, slot.pixels_mut())?;
                slot.publish()?;
            }
            // The reader kept every slot: this frame is dropped, the next one goes.
            Err(framechan::FrameChanError::NoFreeSlot { .. }) => {
                tracing::debug!("frame dropped: the client holds every slot");
            }
            Err(e) => return Err(e.into()),
        }
        let (width, height) = (width.clamp(1, MAX_SURFACE_SIDE), height.clamp(1, MAX_SURFACE_SIDE));
        if (width, height) == (geometry.width, geometry.height) {
            return Ok(None);
        }
        let Some(backend) = crate::gles::host_backend() else { return Ok(None) };
        let pbuffer = Arc::new(backend.display().create_pbuffer(width as i32, height as i32, self.config_id)?);
        let next = producer.recreate(FrameSpec::bgra(width, height))?;
        *producer = next;
        *lock(&self.host) = Some(pbuffer.clone());
        Ok(Some(pbuffer))
    }
}

impl Drop for Surface {
    /// The client learns at once that no frame will come (rather than after its
    /// recovery window).
    fn drop(&mut self) {
        if let Some(frames) = &self.frames {
            lock(frames).retire();
        }
    }
}

/// A poisoned lock only means a context thread panicked while holding it; the state
/// inside is whole (each update is one assignment).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
