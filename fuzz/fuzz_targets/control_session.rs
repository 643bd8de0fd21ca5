//! The control plane end to end: a real device host (`server::DeviceHost`, loopback
//! executor: no host GL) on a thread of this process, and each input a client's
//! transcript sent over its Unix socket — the hello, then control requests, each with
//! as many sealed memfds attached as its header announces. This reaches what the
//! byte-format target (`control`) cannot: the server's handshake (`read_hello`), the
//! session loop, the dispatch table and every handler, with their limits and quotas.
//!
//! The client side sends only what a reply can follow: a hello that does not parse is
//! sent and the connection closed (the server must refuse or hang up, promptly); a
//! header the server must refuse ends the session; a truncated last request is not
//! sent. Checked besides "no panic" (anywhere in the server): a welcome or refusal that
//! parses, then exactly one reply per request, with its request id, within 5 s.
//!
//! Input: the client → server bytes of a session (what `fuzz/record` captures).
#![no_main]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use glwire_fuzz::memfd_with;
use libfuzzer_sys::fuzz_target;
use server::{DeviceHost, ServeConfig};
use transport::channel::Channel;
use wire::control::{ControlHeader, ControlKind, ControlStatus, CONTROL_HEADER_SIZE};
use wire::protocol::{Hello, ServerReply, HELLO_SIZE, REFUSAL_HEADER_SIZE};

/// How long the server has to answer one message.
const ANSWER: Duration = Duration::from_secs(5);
/// Most requests sent per input.
const MAX_REQUESTS: usize = 64;
/// Size of the memfds sent with requests that carry descriptors (a ring region fits).
const MEMFD_BYTES: u64 = 16384;

/// The socket of this process's device host, started on first use.
fn server() -> &'static Path {
    static SOCKET: OnceLock<PathBuf> = OnceLock::new();
    SOCKET.get_or_init(|| {
        remove_stale_dirs();
        let dir = std::env::temp_dir().join(format!("glwire-fuzz-{}", std::process::id()));
        let socket = dir.join("run").join("gpu0");
        let config = ServeConfig { socket: socket.clone(), loopback: true, ..ServeConfig::default() };
        let host = DeviceHost::bind(config).expect("bind the fuzzing device host");
        std::thread::spawn(move || host.run(Arc::new(AtomicBool::new(false))));
        socket
    })
}

/// Socket directories of earlier fuzzing processes that are gone.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("glwire-fuzz-")) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut channel) = Channel::connect_unix(server()) else {
        panic!("the device host does not accept connections");
    };
    channel.set_send_timeout(ANSWER);

    // The hello: when it does not parse whole, the server must end the connection
    // by itself (a refusal, or hanging up on a short one) once we stop writing.
    let hello_len = data.get(..HELLO_SIZE).and_then(|fixed| Hello::needed_len(fixed).ok());
    let hello_len = match hello_len {
        Some(n) if data.len() >= n && Hello::parse(&data[..n]).is_ok() => n,
        _ => {
            let n = hello_len.unwrap_or(data.len()).min(data.len()).min(HELLO_SIZE + 512);
            if channel.send(&data[..n], &[]).is_ok() {
                let _ = channel.shutdown_write();
                drain_until_closed(&mut channel);
            }
            return;
        }
    };
    if channel.send(&data[..hello_len], &[]).is_err() {
        return;
    }
    let deadline = Instant::now() + ANSWER;
    let mut reply = vec![0u8; REFUSAL_HEADER_SIZE];
    channel.recv_exact(&mut reply, "server reply", deadline).expect("the server answers a hello");
    let total = ServerReply::needed_len(&reply).expect("the server's answer has a valid prefix");
    reply.resize(total, 0);
    channel.recv_exact(&mut reply[REFUSAL_HEADER_SIZE..], "server reply", deadline).expect("a whole answer");
    match ServerReply::parse(&reply).expect("the server's answer parses") {
        ServerReply::Welcome(_) => {}
        // Busy (earlier sessions still closing), or this hello refused: nothing more.
        ServerReply::Refused(_) => return,
    }

    let mut rest = &data[hello_len..];
    for _ in 0..MAX_REQUESTS {
        if rest.len() < CONTROL_HEADER_SIZE {
            return;
        }
        let header = match ControlHeader::parse_prefix(rest) {
            Ok(h) => h,
            Err(_) => {
                // A header the server must refuse (payload or descriptors over the
                // limit): it ends the session.
                let _ = channel.send(&rest[..CONTROL_HEADER_SIZE], &[]);
                drain_until_closed(&mut channel);
                return;
            }
        };
        let len = CONTROL_HEADER_SIZE + header.payload_len as usize;
        let Some(message) = rest.get(..len) else { return };
        rest = &rest[len..];
        // Descriptors as the header announces them: sealed, zeroed memfds (an empty
        // ring region, a frame ring's size, whatever the request wants).
        let memfds: Vec<OwnedFd> = (0..header.num_fds).map(|_| memfd_with(&[], MEMFD_BYTES, true)).collect();
        let fds: Vec<BorrowedFd<'_>> = memfds.iter().map(|fd| fd.as_fd()).collect();
        if channel.send(message, &fds).is_err() {
            return;
        }
        let (answer, _payload, _fds) = match channel.recv_control_reply(Instant::now() + ANSWER) {
            Ok(r) => r,
            // The session ended (the server hung up after a protocol error): fine,
            // as long as it said so or simply closed.
            Err(transport::TransportError::PeerGone) => return,
            Err(e) => panic!("no reply to {:?} within {ANSWER:?}: {e}", header.kind()),
        };
        assert_eq!(answer.request_id, header.request_id, "a reply to another request");
        match (answer.status(), header.kind()) {
            (Ok(ControlStatus::ProtocolError), _) | (Ok(ControlStatus::Ok), Ok(ControlKind::Close)) => {
                drain_until_closed(&mut channel);
                return;
            }
            (Err(status), _) => panic!("a reply with unknown status {status}"),
            _ => {}
        }
    }
});

/// Reads until the server closes the connection; it must do so within the deadline.
fn drain_until_closed(channel: &mut Channel) {
    let deadline = Instant::now() + ANSWER;
    let mut byte = [0u8; 1];
    loop {
        match channel.recv_exact(&mut byte, "until closed", deadline) {
            Ok(()) => continue,
            Err(transport::TransportError::TimedOut(_)) => panic!("the server kept the connection open"),
            Err(_) => return,
        }
    }
}
