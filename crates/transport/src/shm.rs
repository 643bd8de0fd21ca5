//! `SharedMemory`: one sealed memfd mapped read-write, the region that holds a
//! context's command and reply rings. It owns the mapping's lifetime (RAII) and bounds
//! every access to it; what the bytes mean belongs to `ring`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use crate::sys::memory;
use crate::TransportError;

/// The largest region accepted from a peer; the session's quota is usually smaller.
pub const MAX_SHARED_BYTES: u64 = 1 << 32;

/// A mapped, sealed memfd.
#[derive(Debug)]
pub struct SharedMemory {
    fd: OwnedFd,
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; all access goes
// through raw-pointer copies and atomics in `ring`, which synchronise explicitly.
unsafe impl Send for SharedMemory {}
// SAFETY: as above; `&SharedMemory` only hands out the base pointer and length.
unsafe impl Sync for SharedMemory {}

impl SharedMemory {
    /// Creates and maps a new zeroed region of `len` bytes, sealed against resizing.
    pub fn create(name: &str, len: usize) -> Result<Self, TransportError> {
        if len as u64 > MAX_SHARED_BYTES {
            return Err(TransportError::TooLarge { len, max: MAX_SHARED_BYTES as usize });
        }
        let fd = memory::sealed_memfd(name, len as u64)?;
        let base = memory::map_shared(fd.as_fd(), len)?;
        Ok(SharedMemory { fd, base, len })
    }

    /// Maps a region a peer sent: it must be a memfd sealed against resizing, of a
    /// size this side accepts.
    pub fn from_fd(fd: OwnedFd) -> Result<Self, TransportError> {
        let len = memory::checked_memfd_len(fd.as_fd())?;
        if len == 0 || len > MAX_SHARED_BYTES {
            return Err(TransportError::BadSharedMemory(format!("size {len} outside 1..={MAX_SHARED_BYTES}")));
        }
        let len = len as usize;
        let base = memory::map_shared(fd.as_fd(), len)?;
        Ok(SharedMemory { fd, base, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The address of `offset..offset + len` inside the mapping, or `None` when that
    /// range is not entirely inside it.
    pub(crate) fn range(&self, offset: u64, len: u64) -> Option<NonNull<u8>> {
        let end = offset.checked_add(len)?;
        if end > self.len as u64 {
            return None;
        }
        // SAFETY: `offset <= end <= self.len`, so the result stays inside the mapping.
        Some(unsafe { self.base.add(offset as usize) })
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` come from `map_shared` in a constructor; users of the
        // region hold an `Arc<SharedMemory>`, so none is left once this runs.
        unsafe { memory::unmap(self.base, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_maps_the_same_bytes() {
        let a = SharedMemory::create("test", 4096).unwrap();
        let b = SharedMemory::from_fd(a.as_fd().try_clone_to_owned().unwrap()).unwrap();
        assert_eq!(b.len(), 4096);
        let pa = a.range(100, 1).unwrap();
        let pb = b.range(100, 1).unwrap();
        // SAFETY: both point at byte 100 of live 4096-byte mappings of one memfd.
        unsafe {
            pa.as_ptr().write_volatile(42);
            assert_eq!(pb.as_ptr().read_volatile(), 42);
        }
    }

    #[test]
    fn unsealed_memory_is_refused() {
        let fd = rustix::fs::memfd_create("plain", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&fd, 4096).unwrap();
        let err = SharedMemory::from_fd(fd).unwrap_err();
        assert!(err.to_string().contains("seal"), "{err}");
    }

    #[test]
    fn a_regular_file_is_refused() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        assert!(SharedMemory::from_fd(file.into()).is_err());
    }

    #[test]
    fn ranges_stay_inside() {
        let a = SharedMemory::create("test", 4096).unwrap();
        assert!(a.range(0, 4096).is_some());
        assert!(a.range(1, 4096).is_none());
        assert!(a.range(u64::MAX, 2).is_none());
    }
}
