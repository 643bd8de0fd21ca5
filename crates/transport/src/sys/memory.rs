//! Linux shared-memory primitives: sealed memfds and shared mappings. Thin wrappers
//! over rustix that turn errors into `TransportError`.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use rustix::fs::{fcntl_add_seals, fcntl_get_seals, fstat, ftruncate, memfd_create, MemfdFlags, SealFlags};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use crate::TransportError;

/// The seals a shared region must carry: neither side can change its size (a shrink
/// under the other's mapping would make its reads fault), nor unseal it.
const REQUIRED_SEALS: SealFlags = SealFlags::SHRINK.union(SealFlags::GROW).union(SealFlags::SEAL);

fn errno(what: &'static str) -> impl FnOnce(rustix::io::Errno) -> TransportError {
    move |e| TransportError::Io { what, source: e.into() }
}

/// An unnamed memfd of `len` zero bytes, sealed against resizing.
pub(crate) fn sealed_memfd(name: &str, len: u64) -> Result<OwnedFd, TransportError> {
    let fd = memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).map_err(errno("memfd_create"))?;
    ftruncate(&fd, len).map_err(errno("ftruncate"))?;
    fcntl_add_seals(&fd, REQUIRED_SEALS).map_err(errno("seal memfd"))?;
    Ok(fd)
}

/// The size of a memfd from a peer, refused unless it carries the required seals.
pub(crate) fn checked_memfd_len(fd: BorrowedFd<'_>) -> Result<u64, TransportError> {
    let seals =
        fcntl_get_seals(fd).map_err(|e| TransportError::BadSharedMemory(format!("not a sealable memfd ({e})")))?;
    if !seals.contains(REQUIRED_SEALS) {
        return Err(TransportError::BadSharedMemory(format!(
            "memfd lacks seals {:?} (has {seals:?}); seal it against shrink, grow and unsealing",
            REQUIRED_SEALS.difference(seals)
        )));
    }
    let st = fstat(fd).map_err(errno("fstat memfd"))?;
    u64::try_from(st.st_size).map_err(|_| TransportError::BadSharedMemory("negative size".into()))
}

/// Maps `len` bytes of `fd` shared and read-write.
pub(crate) fn map_shared(fd: BorrowedFd<'_>, len: usize) -> Result<NonNull<u8>, TransportError> {
    if len == 0 {
        return Err(TransportError::BadSharedMemory("empty region".into()));
    }
    // SAFETY: a fresh mapping at an address the kernel picks; it aliases no Rust
    // object. The caller unmaps it exactly once (`unmap`).
    let p = unsafe { mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, fd, 0) }
        .map_err(errno("mmap"))?;
    NonNull::new(p.cast()).ok_or_else(|| TransportError::BadSharedMemory("mmap returned NULL".into()))
}

/// Unmaps a region from [`map_shared`].
///
/// # Safety
/// `p` and `len` must come from one `map_shared` call, and nothing may use the region
/// afterwards.
pub(crate) unsafe fn unmap(p: NonNull<u8>, len: usize) {
    // SAFETY: the caller hands over a live mapping of exactly `len` bytes.
    let _ = unsafe { munmap(p.as_ptr().cast(), len) };
}
