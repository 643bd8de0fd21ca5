//! Doctor checks on the resources glwire's transport is made of: file descriptors (every
//! session holds a socket, and each context rings, doorbells and frame rings) and sealed
//! shared memory (the command rings and frame rings are unnamed memfds with seals), with
//! the size of /dev/shm beside them. It makes one small memfd to try, and changes no
//! limit.

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::process::{getrlimit, Resource};

use super::Row;

/// Below this soft limit a busy server or a program with many contexts runs out of
/// descriptors; it is also the usual default, so only a lower one is a warning.
const LOW_NOFILE: u64 = 1024;

fn limit(v: Option<u64>) -> String {
    v.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.split_whitespace().next()?.parse().ok()
}

pub fn fd_row() -> Row {
    const CHECK: &str = "fd limits";
    let nofile = getrlimit(Resource::Nofile);
    let file_max = read_number("/proc/sys/fs/file-max");
    // file-nr: allocated, unused (always 0 now), maximum.
    let allocated = read_number("/proc/sys/fs/file-nr");
    let mut detail = vec![format!(
        "RLIMIT_NOFILE soft {} / hard {}; fs.file-max {} ({} in use system-wide)",
        limit(nofile.current),
        limit(nofile.maximum),
        file_max.map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
        allocated.map_or_else(|| "unknown".to_owned(), |n| n.to_string())
    )];
    if nofile.current.is_some_and(|soft| soft < LOW_NOFILE) {
        return Row::warn(
            CHECK,
            detail,
            format!(
                "raise the soft limit: `ulimit -n {}` before starting the server (LimitNOFILE= in a systemd unit)",
                limit(nofile.maximum.map(|h| h.min(65536)))
            ),
        );
    }
    if let (Some(max), Some(used)) = (file_max, allocated) {
        if used.saturating_mul(10) > max.saturating_mul(9) {
            detail.push("the system is near its file limit".to_owned());
            return Row::warn(CHECK, detail, "raise fs.file-max: `sudo sysctl fs.file-max=N` with N above the current");
        }
    }
    Row::ok(CHECK, detail)
}

/// Makes a sealable memfd, sizes it and seals it as the transport does.
fn try_sealed_memfd() -> Result<(), String> {
    let fd = rustix::fs::memfd_create("glwire-doctor", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        .map_err(|e| format!("memfd_create failed: {e}"))?;
    rustix::fs::ftruncate(&fd, 1 << 20).map_err(|e| format!("sizing a memfd failed: {e}"))?;
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
        .map_err(|e| format!("sealing a memfd failed: {e}"))
}

pub fn shm_row() -> Row {
    const CHECK: &str = "shared memory";
    let mut detail = Vec::new();
    let memfd = try_sealed_memfd();
    match &memfd {
        Ok(()) => detail.push("sealed memfds work (the command rings and frame rings)".to_owned()),
        Err(e) => detail.push(e.clone()),
    }
    // glwire's own shared memory is unnamed memfds (its X11 MIT-SHM segments too, passed
    // as descriptors), never in /dev/shm; the size is shown for the other programs and
    // drivers on the machine that do use it.
    match rustix::fs::statvfs("/dev/shm") {
        Ok(st) => {
            let mib = |blocks: u64| blocks.saturating_mul(st.f_frsize) >> 20;
            detail.push(format!("/dev/shm: {} MiB, {} MiB free", mib(st.f_blocks), mib(st.f_bavail)));
        }
        Err(e) => detail.push(format!("/dev/shm: {e}")),
    }
    match memfd {
        Ok(()) => Row::ok(CHECK, detail),
        Err(_) => Row::fail(
            CHECK,
            detail,
            "glwire needs memfd_create with sealing (Linux 3.17 or newer); a seccomp filter or container profile \
             that blocks memfd_create or F_ADD_SEALS must allow them",
        ),
    }
}
