//! A session's EGLImages: client handles on one side, host images on the other, so a
//! client value never reaches the host as a pointer. Shared by the session (which
//! creates and destroys them) and its contexts' validators (which turn a handle in
//! `glEGLImageTargetTexture2DOES` into the host image). It does not call EGL or GL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use backend_gles::HostImage;

/// Most live images one session may hold.
pub const MAX_IMAGES: usize = 1024;

#[derive(Debug)]
pub struct ImageTable {
    by_id: BTreeMap<u64, Arc<HostImage>>,
    /// Never reused within a session, so a stale handle misses.
    next: u64,
}

impl Default for ImageTable {
    fn default() -> Self {
        Self { by_id: BTreeMap::new(), next: 1 }
    }
}

/// The session's table, shared with its context threads.
pub type SharedImages = Arc<Mutex<ImageTable>>;

/// The table behind `images`; a panic elsewhere cannot leave it half-changed.
pub fn lock(images: &SharedImages) -> MutexGuard<'_, ImageTable> {
    images.lock().unwrap_or_else(|e| e.into_inner())
}

impl ImageTable {
    /// A new handle for `image`, or `None` when the session holds `MAX_IMAGES`.
    pub fn insert(&mut self, image: Arc<HostImage>) -> Option<u64> {
        if self.by_id.len() >= MAX_IMAGES {
            return None;
        }
        let id = self.next;
        self.next += 1;
        self.by_id.insert(id, image);
        Some(id)
    }

    pub fn get(&self, id: u64) -> Option<Arc<HostImage>> {
        self.by_id.get(&id).cloned()
    }

    pub fn remove(&mut self, id: u64) -> Option<Arc<HostImage>> {
        self.by_id.remove(&id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
