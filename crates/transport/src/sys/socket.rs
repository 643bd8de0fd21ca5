//! Socket system calls behind `channel`: one `sendmsg` carrying SCM_RIGHTS, one
//! `recvmsg` collecting a bounded number of descriptors (close-on-exec), `poll` for
//! readiness with a timeout, and SO_PEERCRED. Each call is non-blocking and makes one
//! attempt; looping, deadlines and framing belong to `channel`, not here.
//!
//! rustix parses the ancillary data, so this module needs no `unsafe`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};

/// Descriptors one `recvmsg` makes room for. More than a control message may carry,
/// so a peer that sends too many is detected (the count exceeds the limit) instead of
/// the kernel silently truncating to exactly the limit.
const RECV_FD_SLOTS: usize = wire::control::MAX_CONTROL_FDS as usize + 1;

/// Result of one `recvmsg`.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Bytes placed at the front of the buffer; 0 means end of stream.
    pub bytes: usize,
    /// Descriptors arrived beyond what the caller takes (over `max_fds`, or more than
    /// the ancillary buffer holds); every one of them is already closed.
    pub fds_dropped: bool,
}

/// Sends as much of `bytes` as the socket takes now, with `fds` attached to the first
/// byte. MSG_NOSIGNAL: a peer that hung up gives EPIPE, never a SIGPIPE that would kill
/// a host program the ICD lives in.
pub(crate) fn send_with_fds(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    let iov = [io::IoSlice::new(bytes)];
    let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
    if fds.is_empty() {
        return Ok(rustix::net::sendmsg(sock, &iov, &mut SendAncillaryBuffer::default(), flags)?);
    }
    let message = SendAncillaryMessage::ScmRights(fds);
    let mut space = vec![MaybeUninit::<u8>::uninit(); message.size()];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(message) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "descriptors do not fit the ancillary buffer"));
    }
    Ok(rustix::net::sendmsg(sock, &iov, &mut control, flags)?)
}

/// Receives what is available now into `buf`. Arriving descriptors are pushed to `fds`
/// while it holds fewer than `max_fds`; the rest are closed at once, so a peer can
/// never make us hold more. MSG_CMSG_CLOEXEC so a descriptor never leaks into a child
/// process between its arrival and its use.
pub(crate) fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    max_fds: usize,
) -> io::Result<Received> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(RECV_FD_SLOTS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = rustix::net::recvmsg(sock, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT)?;
    let mut fds_dropped = msg.flags.contains(ReturnFlags::CTRUNC);
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            for fd in received {
                if fds.len() < max_fds {
                    fds.push(fd);
                } else {
                    // Dropping closes it: over the limit, we never hold it.
                    fds_dropped = true;
                    drop(fd);
                }
            }
        }
    }
    Ok(Received { bytes: msg.bytes, fds_dropped })
}

/// Waits until `sock` is ready for `events` or `timeout` passes. Hang-up and error
/// count as ready, so the following read or write reports them.
pub(crate) fn wait(sock: BorrowedFd<'_>, events: PollFlags, timeout: Duration) -> io::Result<bool> {
    let timeout = Timespec::try_from(timeout).unwrap_or(Timespec { tv_sec: i64::MAX, tv_nsec: 0 });
    let mut pfd = [PollFd::from_borrowed_fd(sock, events)];
    match rustix::event::poll(&mut pfd, Some(&timeout)) {
        Ok(n) => Ok(n > 0),
        // A signal is not a timeout; the caller recomputes the remaining time.
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Waits on several descriptors at once; returns which are ready, in order.
pub(crate) fn wait_any(socks: &[BorrowedFd<'_>], timeout: Duration) -> io::Result<Vec<bool>> {
    let timeout = Timespec::try_from(timeout).unwrap_or(Timespec { tv_sec: i64::MAX, tv_nsec: 0 });
    let mut pfds: Vec<PollFd<'_>> = socks.iter().map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN)).collect();
    match rustix::event::poll(&mut pfds, Some(&timeout)) {
        Ok(_) => Ok(pfds.iter().map(|p| !p.revents().is_empty()).collect()),
        Err(rustix::io::Errno::INTR) => Ok(vec![false; socks.len()]),
        Err(e) => Err(e.into()),
    }
}

/// The connecting process's (pid, uid, gid) as the kernel recorded them at connect
/// time (SO_PEERCRED); unforgeable by the peer.
pub(crate) fn peer_credentials(sock: impl AsFd) -> io::Result<(u32, u32, u32)> {
    let cred = rustix::net::sockopt::socket_peercred(sock)?;
    // pid_t is positive for a live peer; the cast keeps the wire's u32 pid type.
    let pid = cred.pid.as_raw_nonzero().get() as u32;
    Ok((pid, cred.uid.as_raw(), cred.gid.as_raw()))
}

/// Stops sending on `sock` so the peer reads EOF after what was already sent.
pub(crate) fn shutdown_write(sock: impl AsFd) -> io::Result<()> {
    Ok(rustix::net::shutdown(sock, rustix::net::Shutdown::Write)?)
}

/// TCP_NODELAY: control messages are small and latency-bound.
pub(crate) fn set_nodelay(sock: impl AsFd) -> io::Result<()> {
    Ok(rustix::net::sockopt::set_tcp_nodelay(sock, true)?)
}
