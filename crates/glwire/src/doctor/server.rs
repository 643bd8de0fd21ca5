//! Doctor check on the render server: is one answering at the socket clients would use
//! (`--socket`, else `$GLWIRE_SOCKET`, else the default), and does it speak this build's
//! protocol. It opens a session (the handshake `glwire run` uses to probe) and closes
//! it; it sends no GL.

use std::io;
use std::path::{Path, PathBuf};

use client::{Session, SessionError};
use transport::TransportError;
use wire::protocol::{HandshakeError, RefusalReason, PROTOCOL_VERSION};

use super::Row;

const CHECK: &str = "server";

/// The socket to check and where that choice came from.
fn endpoint(socket: Option<&Path>) -> (PathBuf, &'static str) {
    if let Some(socket) = socket {
        return (socket.to_path_buf(), "--socket");
    }
    match std::env::var_os(transport::endpoint::SOCKET_ENV).filter(|v| !v.is_empty()) {
        Some(path) => (PathBuf::from(path), "$GLWIRE_SOCKET"),
        None => (transport::endpoint::default_socket_path(), "the default socket"),
    }
}

pub fn row(socket: Option<&Path>) -> Row {
    let (path, from) = endpoint(socket);
    let at = format!("{} ({from})", path.display());
    match Session::connect_unix(&path, "glwire-doctor") {
        Ok(session) => {
            let welcome = *session.welcome();
            let _ = session.close();
            Row::ok(
                CHECK,
                vec![
                    format!("reachable at {at}"),
                    format!(
                        "protocol {} (this glwire speaks {PROTOCOL_VERSION}); session {}, up to {} contexts",
                        welcome.version, welcome.session_id, welcome.limits.max_contexts
                    ),
                ],
            )
        }
        Err(e) => unreachable_row(&at, e),
    }
}

fn unreachable_row(at: &str, e: SessionError) -> Row {
    match e {
        SessionError::Transport(TransportError::Io { source, .. })
            if matches!(source.kind(), io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused) =>
        {
            let why = if source.kind() == io::ErrorKind::NotFound {
                "no socket there"
            } else {
                "a socket file nothing listens on"
            };
            Row::warn(
                CHECK,
                vec![format!("no server at {at}: {why}")],
                "start one with `glwire serve &` (or its systemd user socket, see packaging/); `glwire run` starts a \
                 private one when none answers",
            )
        }
        SessionError::Transport(TransportError::Io { source, .. })
            if source.kind() == io::ErrorKind::PermissionDenied =>
        {
            Row::fail(
                CHECK,
                vec![format!("cannot reach {at}: permission denied (another user's server?)")],
                "start your own server with `glwire serve &`, or pass --socket / set GLWIRE_SOCKET to yours",
            )
        }
        SessionError::Handshake(
            HandshakeError::VersionMismatch { client, server }
            | HandshakeError::Refused { reason: RefusalReason::VersionMismatch { client, server }, .. },
        ) => Row::fail(
            CHECK,
            vec![format!("a server answers at {at} but speaks protocol {server}; this glwire speaks {client}")],
            "run the glwire server and clients of one build: restart `glwire serve` from this glwire",
        ),
        SessionError::Handshake(HandshakeError::Refused { reason, message }) => Row::fail(
            CHECK,
            vec![format!("the server at {at} refused the session ({reason}): {message}")],
            "do what the server's message says (a busy server frees a session when a client leaves)",
        ),
        SessionError::Handshake(HandshakeError::BadMagic { .. }) => Row::fail(
            CHECK,
            vec![format!("something answers at {at}, but it is not a glwire server")],
            "stop what listens there, or point --socket / GLWIRE_SOCKET at glwire's socket",
        ),
        SessionError::Transport(TransportError::TimedOut(after)) => Row::fail(
            CHECK,
            vec![format!("something listens at {at} but did not answer the handshake within {after:?}")],
            "the server may be hung: restart it (`glwire serve`), and check its log",
        ),
        other => Row::fail(
            CHECK,
            vec![format!("cannot open a session at {at}: {other}")],
            "restart the server (`glwire serve`) and check its log",
        ),
    }
}
