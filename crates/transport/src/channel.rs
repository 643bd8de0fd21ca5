//! A framed, bounded message channel over a Unix stream socket or a TCP stream: raw
//! sends with descriptors attached (SCM_RIGHTS, Unix only), exact reads with a
//! deadline, and the control-message framing (`ControlHeader` + payload + descriptors,
//! and the reply counterpart). Peer credentials come from SO_PEERCRED.
//!
//! It owns moving whole messages and bounding what a peer can make us wait for or
//! hold: every read has a deadline, every payload a size limit, every message at most
//! `MAX_CONTROL_FDS` descriptors. It does not own what a message means (the handshake
//! and dispatch live in `server` and `client`) nor the shared-memory rings.
//!
//! The socket is non-blocking; waiting is `poll` with the time left to the deadline, so
//! a peer that stops mid-message costs at most the deadline, never a hung thread.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::PollFlags;
use wire::control::{
    ControlError, ControlHeader, ControlKind, ControlReplyHeader, ControlStatus, CONTROL_HEADER_SIZE,
    CONTROL_REPLY_HEADER_SIZE, MAX_CONTROL_FDS, MAX_CONTROL_PAYLOAD,
};

use crate::sys::socket as sys;
use crate::TransportError;

/// How long a send may wait for the peer to make room before the channel gives up.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `connect_tcp` waits for the connection to be established.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest single sleep while waiting, so the abort flag is seen promptly.
const ABORT_TICK: Duration = Duration::from_millis(20);

const MAX_FDS: usize = MAX_CONTROL_FDS as usize;

/// A received control request: header, payload, and the descriptors that came with it.
pub type ControlMessage = (ControlHeader, Vec<u8>, Vec<OwnedFd>);

/// A received control reply: header, payload, and the descriptors that came with it.
pub type ControlReplyMessage = (ControlReplyHeader, Vec<u8>, Vec<OwnedFd>);

#[derive(Debug)]
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

/// One connection between a client and the server.
#[derive(Debug)]
pub struct Channel {
    stream: Stream,
    send_timeout: Duration,
    /// When set, every wait ends with [`TransportError::Aborted`].
    abort: Option<Arc<AtomicBool>>,
}

impl Channel {
    /// Wraps a connected Unix stream socket (made non-blocking).
    pub fn unix(stream: UnixStream) -> Result<Self, TransportError> {
        stream.set_nonblocking(true).map_err(TransportError::io("set the Unix socket non-blocking"))?;
        Ok(Self { stream: Stream::Unix(stream), send_timeout: DEFAULT_SEND_TIMEOUT, abort: None })
    }

    /// Wraps a connected TCP stream (made non-blocking, with Nagle off: control
    /// messages are small and each waits for its answer).
    pub fn tcp(stream: TcpStream) -> Result<Self, TransportError> {
        stream.set_nonblocking(true).map_err(TransportError::io("set the TCP socket non-blocking"))?;
        sys::set_nodelay(&stream).map_err(TransportError::io("set TCP_NODELAY"))?;
        Ok(Self { stream: Stream::Tcp(stream), send_timeout: DEFAULT_SEND_TIMEOUT, abort: None })
    }

    pub fn connect_unix(path: impl AsRef<Path>) -> Result<Self, TransportError> {
        let stream = UnixStream::connect(path.as_ref()).map_err(TransportError::io("connect to the Unix socket"))?;
        Self::unix(stream)
    }

    pub fn connect_tcp(addr: SocketAddr) -> Result<Self, TransportError> {
        let stream =
            TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(TransportError::io("connect over TCP"))?;
        Self::tcp(stream)
    }

    /// Whether descriptors can travel on this channel (Unix sockets only).
    pub fn passes_fds(&self) -> bool {
        matches!(self.stream, Stream::Unix(_))
    }

    pub fn is_tcp(&self) -> bool {
        matches!(self.stream, Stream::Tcp(_))
    }

    /// How long [`send`](Self::send) may wait for buffer space.
    pub fn set_send_timeout(&mut self, timeout: Duration) {
        self.send_timeout = timeout;
    }

    /// Once `flag` is set, any wait on this channel (for input, for buffer space) ends
    /// within a few milliseconds with [`TransportError::Aborted`], whatever its
    /// deadline: a server shutting down does not wait out a slow peer's deadlines.
    pub fn set_abort_flag(&mut self, flag: Arc<AtomicBool>) {
        self.abort = Some(flag);
    }

    /// The peer's (pid, uid, gid) from SO_PEERCRED, as the kernel recorded them when it
    /// connected. `None` over TCP, or if the kernel would not say (callers that check
    /// credentials must then refuse).
    pub fn peer_credentials(&self) -> Option<(u32, u32, u32)> {
        match &self.stream {
            Stream::Unix(s) => sys::peer_credentials(s).ok(),
            Stream::Tcp(_) => None,
        }
    }

    /// The peer's address over TCP.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match &self.stream {
            Stream::Unix(_) => None,
            Stream::Tcp(s) => s.peer_addr().ok(),
        }
    }

    /// Sends all of `bytes` with `fds` attached to the first byte, waiting at most the
    /// send timeout for the peer to make room.
    pub fn send(&mut self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), TransportError> {
        if !fds.is_empty() && !self.passes_fds() {
            return Err(TransportError::NoFdPassing);
        }
        if !fds.is_empty() && bytes.is_empty() {
            // Descriptors ride on data; with no byte to carry them they would be lost.
            return Err(TransportError::BadChannel("file descriptors need at least one byte to travel with".into()));
        }
        let start = Instant::now();
        let deadline = start + self.send_timeout;
        let mut sent = 0;
        let mut fds = fds;
        while sent < bytes.len() {
            match sys::send_with_fds(self.as_fd(), &bytes[sent..], fds) {
                Ok(n) => {
                    sent += n;
                    // The descriptors went with the first byte that left.
                    fds = &[];
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_until(PollFlags::OUT, start, deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_hangup(&e) => return Err(TransportError::PeerGone),
                Err(e) => return Err(TransportError::Io { what: "sendmsg", source: e }),
            }
        }
        Ok(())
    }

    /// Fills `buf` completely by `deadline`. End of stream before that is
    /// [`TransportError::Truncated`] (or [`TransportError::PeerGone`] if nothing at all
    /// arrived); descriptors are not expected here, so any that arrive are closed and
    /// make the read fail.
    pub fn recv_exact(&mut self, buf: &mut [u8], what: &'static str, deadline: Instant) -> Result<(), TransportError> {
        let mut fds = Vec::new();
        let got = self.recv_with_fds(buf, &mut fds, deadline)?;
        if !fds.is_empty() {
            return Err(TransportError::BadChannel(format!(
                "{} unexpected file descriptors arrived with {what}",
                fds.len()
            )));
        }
        match got {
            0 if !buf.is_empty() => Err(TransportError::PeerGone),
            n if n < buf.len() => Err(TransportError::Truncated { what, got: n, needed: buf.len() }),
            _ => Ok(()),
        }
    }

    /// Reads until `buf` is full or the peer closes, collecting descriptors into `fds`
    /// (at most [`MAX_CONTROL_FDS`] in all; more is an error, and the extras are closed).
    /// Returns how many bytes arrived: fewer than `buf.len()` only at end of stream.
    /// Waiting past `deadline` is [`TransportError::TimedOut`].
    pub fn recv_with_fds(
        &mut self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
        deadline: Instant,
    ) -> Result<usize, TransportError> {
        let start = Instant::now();
        let mut got = 0;
        while got < buf.len() {
            match sys::recv_with_fds(self.as_fd(), &mut buf[got..], fds, MAX_FDS) {
                Ok(r) if r.fds_dropped => {
                    return Err(TransportError::BadChannel(format!(
                        "peer sent more than {MAX_FDS} file descriptors with one message"
                    )))
                }
                Ok(r) if r.bytes == 0 => break,
                Ok(r) => got += r.bytes,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_until(PollFlags::IN, start, deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_hangup(&e) => return Err(TransportError::PeerGone),
                Err(e) => return Err(TransportError::Io { what: "recvmsg", source: e }),
            }
        }
        Ok(got)
    }

    /// Waits up to `timeout` for something to read (or for hang-up, which the next read
    /// reports). Lets a caller idle between messages while still noticing shutdown.
    pub fn wait_readable(&self, timeout: Duration) -> Result<bool, TransportError> {
        sys::wait(self.as_fd(), PollFlags::IN, timeout).map_err(TransportError::io("poll"))
    }

    /// Reads one control request, all of it by `deadline`. `Ok(None)` is a clean close:
    /// the peer hung up between messages. A close or stall mid-message, a payload over
    /// [`MAX_CONTROL_PAYLOAD`], or a descriptor count other than the header's is an error.
    pub fn recv_control(&mut self, deadline: Instant) -> Result<Option<ControlMessage>, TransportError> {
        let mut head = [0u8; CONTROL_HEADER_SIZE];
        let mut fds = Vec::new();
        match self.recv_with_fds(&mut head, &mut fds, deadline) {
            Ok(0) if fds.is_empty() => return Ok(None),
            Ok(n) if n == CONTROL_HEADER_SIZE => {}
            Ok(n) => {
                return Err(TransportError::Truncated {
                    what: "control request header",
                    got: n,
                    needed: CONTROL_HEADER_SIZE,
                })
            }
            // A reset between messages is the peer leaving, not a broken message.
            Err(TransportError::PeerGone) => return Ok(None),
            Err(e) => return Err(e),
        }
        let header = ControlHeader::parse_prefix(&head).map_err(TransportError::Control)?;
        let payload =
            self.recv_payload("control request payload", header.payload_len, header.num_fds, fds, deadline)?;
        Ok(Some((header, payload.0, payload.1)))
    }

    /// Reads one control reply, all of it by `deadline`. The peer closing is
    /// [`TransportError::PeerGone`]: a client waiting for a reply has no clean close.
    pub fn recv_control_reply(&mut self, deadline: Instant) -> Result<ControlReplyMessage, TransportError> {
        let mut head = [0u8; CONTROL_REPLY_HEADER_SIZE];
        let mut fds = Vec::new();
        match self.recv_with_fds(&mut head, &mut fds, deadline)? {
            0 => return Err(TransportError::PeerGone),
            n if n < CONTROL_REPLY_HEADER_SIZE => {
                return Err(TransportError::Truncated {
                    what: "control reply header",
                    got: n,
                    needed: CONTROL_REPLY_HEADER_SIZE,
                })
            }
            _ => {}
        }
        let header = ControlReplyHeader::parse_prefix(&head).map_err(TransportError::Control)?;
        let (payload, fds) =
            self.recv_payload("control reply payload", header.payload_len, header.num_fds, fds, deadline)?;
        Ok((header, payload, fds))
    }

    /// Sends one control request with `fds` attached.
    pub fn send_control(
        &mut self,
        kind: ControlKind,
        request_id: u64,
        payload: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), TransportError> {
        let num_fds = check_outgoing(payload, fds)?;
        let bytes = ControlHeader::encode(kind, request_id, payload, num_fds).map_err(TransportError::Control)?;
        self.send(&bytes, fds)
    }

    /// Sends one control reply with `fds` attached.
    pub fn send_control_reply(
        &mut self,
        request_id: u64,
        status: ControlStatus,
        payload: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), TransportError> {
        let num_fds = check_outgoing(payload, fds)?;
        let bytes =
            ControlReplyHeader::encode(request_id, status, payload, num_fds).map_err(TransportError::Control)?;
        self.send(&bytes, fds)
    }

    /// Ends our sending side: the peer reads EOF after what was sent. Used after a
    /// refusal so the peer gets the refusal and then a clean end.
    pub fn shutdown_write(&self) -> Result<(), TransportError> {
        sys::shutdown_write(self.as_fd()).map_err(TransportError::io("shutdown"))
    }

    /// Reads and discards input until the peer closes, `max` bytes have gone, or
    /// `deadline` passes. Closing a TCP socket with unread input sends a reset that can
    /// destroy the refusal we just sent, so a refusing side drains first.
    pub fn discard_input(&mut self, max: usize, deadline: Instant) -> usize {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        while total < max {
            let want = buf.len().min(max - total);
            let mut fds = Vec::new();
            match self.recv_with_fds(&mut buf[..want], &mut fds, deadline) {
                Ok(n) if n < want => return total + n,
                Ok(n) => total += n,
                Err(_) => return total,
            }
        }
        total
    }

    fn recv_payload(
        &mut self,
        what: &'static str,
        payload_len: u32,
        num_fds: u32,
        mut fds: Vec<OwnedFd>,
        deadline: Instant,
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), TransportError> {
        // Bounded by MAX_CONTROL_PAYLOAD: the header parser checked it.
        let len = payload_len as usize;
        let mut payload = vec![0u8; len];
        let got = self.recv_with_fds(&mut payload, &mut fds, deadline)?;
        if got < len {
            return Err(TransportError::Truncated { what, got, needed: len });
        }
        // Descriptors travel with a message's first byte, so all of them are here.
        if fds.len() != num_fds as usize {
            return Err(TransportError::BadChannel(format!(
                "control message announces {num_fds} file descriptors but {} arrived",
                fds.len()
            )));
        }
        Ok((payload, fds))
    }

    /// Sleeps until the socket may be ready for `events`, the deadline passes
    /// (`TimedOut`), or the abort flag is set (`Aborted`). Returning `Ok` only means
    /// "try again": the caller's next non-blocking call finds out.
    fn wait_until(&self, events: PollFlags, start: Instant, deadline: Instant) -> Result<(), TransportError> {
        if self.abort.as_ref().is_some_and(|f| f.load(Ordering::Acquire)) {
            return Err(TransportError::Aborted);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TransportError::TimedOut(deadline.saturating_duration_since(start)));
        }
        let nap = if self.abort.is_some() { left.min(ABORT_TICK) } else { left };
        sys::wait(self.as_fd(), events, nap).map_err(TransportError::io("poll"))?;
        Ok(())
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.stream {
            Stream::Unix(s) => s.as_fd(),
            Stream::Tcp(s) => s.as_fd(),
        }
    }
}

/// Waits up to `timeout` until any of `fds` is readable (for a listener: a connection
/// is waiting); returns which are, in order. Lets an accept loop watch several
/// listeners and still look at its shutdown flag between waits.
pub fn wait_any_readable(fds: &[BorrowedFd<'_>], timeout: Duration) -> Result<Vec<bool>, TransportError> {
    sys::wait_any(fds, timeout).map_err(TransportError::io("poll"))
}

fn is_hangup(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted)
}

// The wire encoders check these too; checking here first gives the transport's own
// error for an oversized payload and refuses before anything is sent.
fn check_outgoing(payload: &[u8], fds: &[BorrowedFd<'_>]) -> Result<u32, TransportError> {
    if payload.len() > MAX_CONTROL_PAYLOAD as usize {
        return Err(TransportError::TooLarge { len: payload.len(), max: MAX_CONTROL_PAYLOAD as usize });
    }
    match u32::try_from(fds.len()) {
        Ok(n) if n <= MAX_CONTROL_FDS => Ok(n),
        _ => Err(TransportError::Control(ControlError::TooManyFds {
            count: u32::try_from(fds.len()).unwrap_or(u32::MAX),
            max: MAX_CONTROL_FDS,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::os::fd::AsFd;

    /// A request header as raw bytes, for headers the encoder would refuse.
    fn raw_header(kind: u32, request_id: u64, payload_len: u32, num_fds: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(CONTROL_HEADER_SIZE);
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&request_id.to_le_bytes());
        out.extend_from_slice(&payload_len.to_le_bytes());
        out.extend_from_slice(&num_fds.to_le_bytes());
        out
    }

    fn pair() -> (Channel, Channel) {
        let (a, b) = UnixStream::pair().unwrap();
        (Channel::unix(a).unwrap(), Channel::unix(b).unwrap())
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn framing_round_trip_and_clean_close() {
        let (mut a, mut b) = pair();
        a.send_control(ControlKind::Ping, 1, b"first", &[]).unwrap();
        a.send_control(ControlKind::Close, 2, &[], &[]).unwrap();
        a.send(&raw_header(999, 3, 1000, 0), &[]).unwrap();
        a.send(&[7; 1000], &[]).unwrap();
        let (h, p, f) = b.recv_control(soon()).unwrap().unwrap();
        assert_eq!((h.kind(), h.request_id, &p[..]), (Ok(ControlKind::Ping), 1, &b"first"[..]));
        assert!(f.is_empty());
        let (h, p, _) = b.recv_control(soon()).unwrap().unwrap();
        assert_eq!((h.kind(), h.request_id, p.len()), (Ok(ControlKind::Close), 2, 0));
        let (h, p, _) = b.recv_control(soon()).unwrap().unwrap();
        assert_eq!((h.kind(), p.len()), (Err(999), 1000));
        drop(a);
        assert!(b.recv_control(soon()).unwrap().is_none());
    }

    #[test]
    fn reply_round_trip() {
        let (mut a, mut b) = pair();
        a.send_control_reply(9, ControlStatus::NotSupported, b"no", &[]).unwrap();
        let (h, p, f) = b.recv_control_reply(soon()).unwrap();
        assert_eq!(h.request_id, 9);
        assert_eq!(h.status(), Ok(ControlStatus::NotSupported));
        assert_eq!(p, b"no");
        assert!(f.is_empty());
        drop(a);
        assert!(matches!(b.recv_control_reply(soon()), Err(TransportError::PeerGone)));
    }

    #[test]
    fn fds_arrive_usable_and_cloexec() {
        let (mut a, mut b) = pair();
        let memfd = rustix::fs::memfd_create("channel-test", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        rustix::io::write(&memfd, b"shared bytes").unwrap();
        let (pipe_r, pipe_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        a.send_control(ControlKind::AttachRing, 5, b"payload", &[memfd.as_fd(), pipe_r.as_fd()]).unwrap();
        // Two messages back to back: each keeps its own descriptors.
        a.send_control(ControlKind::Ping, 6, &[], &[]).unwrap();
        let (h, p, fds) = b.recv_control(soon()).unwrap().unwrap();
        assert_eq!((h.request_id, h.num_fds, &p[..]), (5, 2, &b"payload"[..]));
        assert_eq!(fds.len(), 2);
        for fd in &fds {
            let flags = rustix::io::fcntl_getfd(fd).unwrap();
            assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        }
        let mut buf = [0u8; 12];
        rustix::io::pread(&fds[0], &mut buf, 0).unwrap();
        assert_eq!(&buf, b"shared bytes");
        rustix::io::write(&pipe_w, b"ping").unwrap();
        let mut buf = [0u8; 4];
        rustix::io::read(&fds[1], &mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        let (h, _, fds) = b.recv_control(soon()).unwrap().unwrap();
        assert_eq!((h.request_id, fds.len()), (6, 0));
    }

    #[test]
    fn fd_count_must_match_header() {
        let (mut a, mut b) = pair();
        let (r, _w) = rustix::pipe::pipe().unwrap();
        a.send(&raw_header(14, 1, 0, 0), &[r.as_fd()]).unwrap();
        let err = b.recv_control(soon()).unwrap_err();
        assert!(err.to_string().contains("announces 0 file descriptors but 1"), "{err}");
    }

    #[test]
    fn too_many_fds_are_refused_and_closed() {
        let (mut a, _b) = pair();
        let (r, _w) = rustix::pipe::pipe().unwrap();
        let many = vec![r.as_fd(); MAX_FDS + 1];
        assert!(matches!(
            a.send_control(ControlKind::Ping, 1, &[], &many),
            Err(TransportError::Control(ControlError::TooManyFds { .. }))
        ));
        // One over the limit is counted and closed by us; far over it, the kernel
        // truncates (MSG_CTRUNC). Both refuse the message.
        for count in [MAX_FDS + 1, MAX_FDS + 10] {
            let (mut a, mut b) = pair();
            let many = vec![r.as_fd(); count];
            a.send(&raw_header(14, 1, 0, MAX_CONTROL_FDS), &many).unwrap();
            let err = b.recv_control(soon()).unwrap_err();
            assert!(matches!(err, TransportError::BadChannel(_)), "{err}");
        }
    }

    #[test]
    fn raw_header_matches_the_wire_layout() {
        let bytes = raw_header(14, 77, 5, 2);
        let parsed = ControlHeader::parse_prefix(&bytes).unwrap();
        assert_eq!(parsed, ControlHeader::new(ControlKind::Ping, 77, 5, 2));
    }

    #[test]
    fn too_large_payload_refused_both_ways() {
        let (mut a, mut b) = pair();
        let big = vec![0u8; MAX_CONTROL_PAYLOAD as usize + 1];
        assert!(matches!(
            a.send_control(ControlKind::SubmitCommands, 1, &big, &[]),
            Err(TransportError::TooLarge { .. })
        ));
        a.send(&raw_header(9, 1, MAX_CONTROL_PAYLOAD + 1, 0), &[]).unwrap();
        assert!(matches!(b.recv_control(soon()), Err(TransportError::Control(ControlError::TooLarge { .. }))));
    }

    #[test]
    fn truncated_header_then_eof_is_an_error() {
        let (mut a, mut b) = pair();
        a.send(&raw_header(14, 1, 4, 0)[..10], &[]).unwrap();
        drop(a);
        assert!(matches!(b.recv_control(soon()), Err(TransportError::Truncated { got: 10, needed: 24, .. })));
    }

    #[test]
    fn truncated_payload_then_eof_is_an_error() {
        let (mut a, mut b) = pair();
        a.send(&raw_header(14, 1, 100, 0), &[]).unwrap();
        a.send(&[1; 40], &[]).unwrap();
        drop(a);
        assert!(matches!(b.recv_control(soon()), Err(TransportError::Truncated { got: 40, needed: 100, .. })));
    }

    #[test]
    fn stall_mid_message_times_out() {
        let (mut a, mut b) = pair();
        a.send(&raw_header(14, 1, 0, 0)[..5], &[]).unwrap();
        let start = Instant::now();
        let err = b.recv_control(Instant::now() + Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, TransportError::TimedOut(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(a);
    }

    #[test]
    fn abort_flag_cuts_waits_short() {
        let (mut a, mut b) = pair();
        let flag = Arc::new(AtomicBool::new(false));
        b.set_abort_flag(flag.clone());
        a.send(&raw_header(14, 1, 0, 0)[..5], &[]).unwrap();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            flag.store(true, Ordering::Release);
        });
        let start = Instant::now();
        let err = b.recv_control(soon()).unwrap_err();
        assert!(matches!(err, TransportError::Aborted), "{err}");
        assert!(start.elapsed() < Duration::from_secs(1));
        setter.join().unwrap();
    }

    #[test]
    fn wait_readable_reports_data_and_hangup() {
        let (mut a, b) = pair();
        assert!(!b.wait_readable(Duration::from_millis(10)).unwrap());
        a.send(b"x", &[]).unwrap();
        assert!(b.wait_readable(Duration::from_millis(1000)).unwrap());
        let (c, d) = pair();
        drop(c);
        assert!(d.wait_readable(Duration::from_millis(1000)).unwrap());
    }

    #[test]
    fn send_to_a_peer_that_never_reads_times_out() {
        let (mut a, _b) = pair();
        a.set_send_timeout(Duration::from_millis(100));
        let chunk = vec![0u8; 1 << 20];
        let start = Instant::now();
        let err = loop {
            if let Err(e) = a.send(&chunk, &[]) {
                break e;
            }
            assert!(start.elapsed() < Duration::from_secs(10));
        };
        assert!(matches!(err, TransportError::TimedOut(_)), "{err}");
    }

    #[test]
    fn send_after_peer_left_is_peer_gone() {
        let (mut a, b) = pair();
        drop(b);
        assert!(matches!(a.send(b"x", &[]), Err(TransportError::PeerGone)));
    }

    #[test]
    fn credentials_over_unix_none_over_tcp() {
        let (a, _b) = pair();
        let (pid, uid, gid) = a.peer_credentials().unwrap();
        assert_eq!(pid, std::process::id());
        assert_eq!(uid, rustix::process::geteuid().as_raw());
        assert_eq!(gid, rustix::process::getegid().as_raw());
        let (tcp, _server) = tcp_pair();
        assert!(tcp.peer_credentials().is_none());
    }

    fn tcp_pair() -> (Channel, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = Channel::connect_tcp(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn tcp_refuses_fds_but_carries_messages() {
        let (mut client, server) = tcp_pair();
        assert!(!client.passes_fds());
        assert!(client.is_tcp());
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert!(matches!(client.send(b"x", &[r.as_fd()]), Err(TransportError::NoFdPassing)));
        assert!(matches!(
            client.send_control(ControlKind::Ping, 1, &[], &[r.as_fd()]),
            Err(TransportError::NoFdPassing)
        ));
        let mut server = Channel::tcp(server).unwrap();
        client.send_control(ControlKind::Ping, 7, b"tcp", &[]).unwrap();
        let (h, p, f) = server.recv_control(soon()).unwrap().unwrap();
        assert_eq!((h.request_id, &p[..], f.len()), (7, &b"tcp"[..], 0));
        server.send_control_reply(7, ControlStatus::Ok, b"back", &[]).unwrap();
        let (h, p, _) = client.recv_control_reply(soon()).unwrap();
        assert_eq!((h.request_id, &p[..]), (7, &b"back"[..]));
    }

    #[test]
    fn recv_exact_and_discard() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut b = Channel::unix(b).unwrap();
        let mut a_raw = a;
        a_raw.write_all(b"0123456789").unwrap();
        let mut buf = [0u8; 4];
        b.recv_exact(&mut buf, "test", soon()).unwrap();
        assert_eq!(&buf, b"0123");
        assert_eq!(b.discard_input(3, soon()), 3);
        drop(a_raw);
        assert_eq!(b.discard_input(100, soon()), 3);
        let mut buf = [0u8; 1];
        assert!(matches!(b.recv_exact(&mut buf, "test", soon()), Err(TransportError::PeerGone)));
    }

    #[test]
    fn shutdown_write_gives_peer_eof() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Channel::unix(a).unwrap();
        a.shutdown_write().unwrap();
        b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(b.read(&mut buf).unwrap(), 0);
    }
}
