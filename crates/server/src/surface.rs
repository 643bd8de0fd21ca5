//! A session's EGL surfaces on the server: a host pbuffer each (the default framebuffer
//! of the contexts it is bound to), and for a window surface the frame ring its swaps
//! publish into. A window surface follows its window: a swap that carries a new size
//! publishes the frame, then gives the surface a pbuffer of the new size and a new
//! ring generation (the old ring is retired, so the client asks for the new one).
//!
//! A surface is charged to its session's quotas: its pixels (colour, depth and
//! stencil) as GL memory, its frame ring as shared memory; a resize the quotas cannot
//! take leaves the surface at its old size.
//!
//! It does not read pixels (the backend does) nor present them (the client does).

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use backend_gles::{GlesContext, HostSurface};
use framechan::{FrameProducer, FrameSpec};

use crate::error::ServerError;
use crate::quota::SessionQuota;

/// Largest side of a surface (pbuffer or window) a client may ask for: what llvmpipe
/// offers, and a bound on what one surface can make the host allocate (16384² × 8).
pub const MAX_SURFACE_SIDE: u32 = 16384;

/// How long a swap waits for a ring slot: the client reads one frame at a time, so a
/// slot frees as soon as it has presented; past this the frame is dropped (a stuck or
/// dead reader must not stall the context thread).
const SLOT_WAIT: Duration = Duration::from_millis(250);

/// Bytes a surface's pixels are charged as GL memory: colour, depth and stencil, 8
/// bytes a pixel.
pub fn pixel_bytes(width: u32, height: u32) -> u64 {
    u64::from(width.max(1)) * u64::from(height.max(1)) * 8
}

/// Bytes of the frame ring a window surface of this size publishes into.
pub fn ring_bytes(width: u32, height: u32) -> u64 {
    let spec = FrameSpec::bgra(width.max(1), height.max(1));
    wire::frame::FrameRingHeader::new(spec.width, spec.height, spec.format, spec.slots, 1)
        .map_or(u64::MAX, |(_, g)| g.ring_bytes)
}

/// What a surface holds against its session's quotas.
#[derive(Debug, Clone, Copy, Default)]
struct Charge {
    gl: u64,
    shm: u64,
}

/// One EGL surface of a session.
#[derive(Debug)]
pub struct Surface {
    /// The host pbuffer (none under the loopback executor); replaced on resize.
    host: Mutex<Option<Arc<HostSurface>>>,
    /// A window surface's frame ring; none for a pbuffer.
    frames: Option<Mutex<FrameProducer>>,
    config_id: u32,
    quota: Arc<SessionQuota>,
    charge: Mutex<Charge>,
}

impl Surface {
    /// Charges a surface of `width` x `height` (and its frame ring, for a window) to
    /// `quota`; `None` when a quota cannot take it (nothing is then charged).
    pub fn reserve(quota: &SessionQuota, width: u32, height: u32, window: bool) -> Option<(u64, u64)> {
        let gl = pixel_bytes(width, height);
        let shm = if window { ring_bytes(width, height) } else { 0 };
        if !quota.recharge(0, gl) {
            return None;
        }
        if !quota.add_shm(shm) {
            quota.recharge(gl, 0);
            return None;
        }
        Some((gl, shm))
    }

    /// Gives back a reservation whose surface was never made.
    pub fn unreserve(quota: &SessionQuota, (gl, shm): (u64, u64)) {
        quota.recharge(gl, 0);
        quota.remove_shm(shm);
    }

    /// A pbuffer surface, `reserved` with [`Surface::reserve`].
    pub fn pbuffer(
        host: Option<Arc<HostSurface>>,
        config_id: u32,
        quota: Arc<SessionQuota>,
        reserved: (u64, u64),
    ) -> Self {
        let charge = Mutex::new(Charge { gl: reserved.0, shm: reserved.1 });
        Surface { host: Mutex::new(host), frames: None, config_id, quota, charge }
    }

    /// A window surface, `reserved` with [`Surface::reserve`].
    pub fn window(
        host: Option<Arc<HostSurface>>,
        frames: FrameProducer,
        config_id: u32,
        quota: Arc<SessionQuota>,
        reserved: (u64, u64),
    ) -> Self {
        let charge = Mutex::new(Charge { gl: reserved.0, shm: reserved.1 });
        Surface { host: Mutex::new(host), frames: Some(Mutex::new(frames)), config_id, quota, charge }
    }

    /// The host pbuffer the surface renders into now.
    pub fn host(&self) -> Option<Arc<HostSurface>> {
        lock(&self.host).clone()
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
    /// `width` x `height` when that differs. Returns the new pbuffer when it resized,
    /// for `cx` to bind.
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
        let old = *lock(&self.charge);
        let Some(new) = Self::reserve(&self.quota, width, height, true) else {
            tracing::debug!("a {width}x{height} window surface is past the session's quotas: it keeps its size");
            return Ok(None);
        };
        let resized = backend
            .display()
            .create_pbuffer(width as i32, height as i32, self.config_id)
            .map_err(ServerError::from)
            .and_then(|pbuffer| Ok((pbuffer, producer.recreate(FrameSpec::bgra(width, height))?)));
        let (pbuffer, next) = match resized {
            Ok(r) => r,
            Err(e) => {
                Self::unreserve(&self.quota, new);
                return Err(e);
            }
        };
        Self::unreserve(&self.quota, (old.gl, old.shm));
        *lock(&self.charge) = Charge { gl: new.0, shm: new.1 };
        *producer = next;
        let pbuffer = Arc::new(pbuffer);
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
        let charge = *lock(&self.charge);
        Self::unreserve(&self.quota, (charge.gl, charge.shm));
    }
}

/// A poisoned lock only means a context thread panicked while holding it; the state
/// inside is whole (each update is one assignment).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
