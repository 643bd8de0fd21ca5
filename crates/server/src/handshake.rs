//! The server's half of the handshake: read the client's `Hello` within a deadline,
//! check magic, version and (over TCP) the token, and answer with a `Welcome` or a
//! `Refusal` that says why. It owns the order of those checks and the refusal texts;
//! the byte layouts are `wire::protocol`'s, and what a session does afterwards is
//! `session`'s.

use std::time::{Duration, Instant};

use transport::channel::Channel;
use transport::TransportError;
use wire::protocol::{
    check_version, peek_version, HandshakeError, Hello, Refusal, RefusalReason, HELLO_SIZE, PROTOCOL_VERSION,
};

use crate::endpoint::tokens_match;

/// How long a client has to send its whole hello.
pub(crate) const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes of magic plus version: frozen across versions, so they are read first.
const PREFIX_LEN: usize = 12;

/// Why no session starts.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// The client should be told, then the connection closed.
    Refuse(Refusal),
    /// Nothing useful to say (the client left); just close.
    Gone(TransportError),
}

/// Reads and checks the hello. `token` is the expected token on TCP, `None` on the
/// Unix socket (peer credentials stand in for it there).
pub(crate) fn read_hello(channel: &mut Channel, token: Option<&[u8]>) -> Result<Hello, Rejected> {
    let deadline = Instant::now() + HELLO_TIMEOUT;
    let mut fixed = [0u8; HELLO_SIZE];
    channel.recv_exact(&mut fixed[..PREFIX_LEN], "hello", deadline).map_err(unreadable)?;
    let version = peek_version(&fixed[..PREFIX_LEN]).map_err(|e| match e {
        HandshakeError::BadMagic { found } => Rejected::Refuse(Refusal::new(
            RefusalReason::BadMagic,
            format!("bad magic {found:02x?}: this is a glwire server; connect with a glwire client"),
        )),
        other => malformed(other),
    })?;
    // The version decides how the rest reads, so it is checked before reading more.
    if let Err(e) = check_version(version, PROTOCOL_VERSION) {
        tracing::warn!("refusing a client: {e}");
        return Err(Rejected::Refuse(Refusal::new(
            RefusalReason::VersionMismatch { server: PROTOCOL_VERSION, client: version },
            format!("glwire serve speaks protocol {PROTOCOL_VERSION}; this client speaks {version}"),
        )));
    }
    channel.recv_exact(&mut fixed[PREFIX_LEN..], "hello", deadline).map_err(unreadable)?;
    // Bounds the token length (MAX_TOKEN_LEN) before anything is allocated for it.
    let total = Hello::needed_len(&fixed).map_err(malformed)?;
    let mut message = fixed.to_vec();
    message.resize(total, 0);
    channel.recv_exact(&mut message[HELLO_SIZE..], "hello token", deadline).map_err(unreadable)?;
    let (hello, presented) = Hello::parse(&message).map_err(malformed)?;
    if let Some(expected) = token {
        if !tokens_match(expected, presented) {
            return Err(Rejected::Refuse(Refusal::new(
                RefusalReason::BadToken,
                if presented.is_empty() {
                    "this endpoint requires an auth token; pass the server's token"
                } else {
                    "the auth token does not match the server's --token-file"
                },
            )));
        }
    }
    Ok(hello)
}

/// Sends `refusal` as the server's last word on `channel`, then lets the peer read it:
/// our side is shut for writing and the peer's remaining input drained briefly, since
/// closing a TCP socket with unread input resets it and can destroy the refusal.
pub(crate) fn refuse(channel: &mut Channel, refusal: &Refusal) {
    channel.set_send_timeout(Duration::from_millis(500));
    if let Err(e) = channel.send(&refusal.to_bytes(), &[]) {
        tracing::debug!("could not deliver a refusal: {e}");
        return;
    }
    let _ = channel.shutdown_write();
    if channel.is_tcp() {
        channel.discard_input(64 << 10, Instant::now() + Duration::from_millis(200));
    }
}

fn unreadable(e: TransportError) -> Rejected {
    match e {
        TransportError::PeerGone => Rejected::Gone(e),
        TransportError::TimedOut(_) | TransportError::Truncated { .. } => {
            Rejected::Refuse(Refusal::new(RefusalReason::MalformedHello, format!("incomplete hello: {e}")))
        }
        other => Rejected::Gone(other),
    }
}

fn malformed(e: HandshakeError) -> Rejected {
    Rejected::Refuse(Refusal::new(RefusalReason::MalformedHello, e.to_string()))
}
