//! The connection handshake: the client's [`Hello`], the server's [`Welcome`] or
//! [`Refusal`], the protocol version and the feature bits.
//!
//! This module owns the byte layout of those first messages and the rules for reading
//! them from an untrusted peer. It does not own how they travel (sockets, TCP framing,
//! TLS), how a token is checked against a secret, or what the server's limits should be;
//! those belong to `transport` and `server`.
//!
//! Compatibility rule: the first 12 bytes of every handshake message (magic, then
//! protocol version) and the `reason` word after them in server replies are frozen
//! forever. Everything after them may change with the version, so a peer always reads
//! the version before trusting anything else, and two mismatched builds can still tell
//! each other *why* they cannot talk.

use core::mem::size_of;

use thiserror::Error;
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// First bytes of every handshake message in both directions. Never changes across
/// protocol versions (the version has its own field), so that any glwire build can
/// recognise any other and report a version mismatch instead of "bad magic".
pub const MAGIC: [u8; 8] = *b"GLWIRE\0\x01";

/// The protocol this build speaks. Bumped on any incompatible change to the wire
/// crate's layouts or opcode meanings. 2: glGen* carry the client's names (no reply);
/// window surfaces and their frame rings. 3: the stats count frames, and every
/// eglSwapBuffers sends glwire's swap command.
pub const PROTOCOL_VERSION: u32 = 3;

/// Upper bound on the TCP auth token carried after a [`Hello`]. Local (Unix socket)
/// connections are authenticated by peer credentials and send an empty token.
pub const MAX_TOKEN_LEN: u32 = 256;

/// Size of the NUL-padded program name field in [`Hello`].
pub const PROGRAM_NAME_LEN: usize = 64;

/// Upper bound on a refusal's message text, so a hostile server cannot make a client
/// buffer without bound before it has even connected.
pub const MAX_REFUSAL_MESSAGE_LEN: u32 = 1024;

/// Command and reply bytes travel through shared-memory rings (local connections).
pub const FEATURE_SHM_RINGS: u64 = 1 << 0;
/// The socket passes file descriptors (SCM_RIGHTS); false over TCP.
pub const FEATURE_FD_PASSING: u64 = 1 << 1;
/// Window surfaces return frames through a shared-memory frame ring.
pub const FEATURE_FRAME_RING: u64 = 1 << 2;
/// Doorbells are eventfds passed over the socket.
pub const FEATURE_EVENTFD_DOORBELL: u64 = 1 << 3;
/// Doorbells are futex words inside the shared rings.
pub const FEATURE_FUTEX_DOORBELL: u64 = 1 << 4;
/// The peer's death is watched with a pidfd rather than only socket hang-up.
pub const FEATURE_PIDFD: u64 = 1 << 5;
/// Frames travel inline over the byte stream (remote connections, no shared memory).
pub const FEATURE_INLINE_FRAMES: u64 = 1 << 6;

/// Every feature bit this build knows. Bits outside it that a peer sets are ignored
/// rather than refused, so a newer peer can offer features an older one simply
/// does not take up.
pub const FEATURES_KNOWN: u64 = FEATURE_SHM_RINGS
    | FEATURE_FD_PASSING
    | FEATURE_FRAME_RING
    | FEATURE_EVENTFD_DOORBELL
    | FEATURE_FUTEX_DOORBELL
    | FEATURE_PIDFD
    | FEATURE_INLINE_FRAMES;

/// The features a session may use: those both sides offer and this build knows.
pub const fn negotiate_features(client: u64, server: u64) -> u64 {
    client & server & FEATURES_KNOWN
}

/// Errors reading or checking a handshake message. Any of them ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandshakeError {
    #[error("truncated {what}: need {needed} bytes, got {got}")]
    Truncated { what: &'static str, needed: usize, got: usize },
    #[error("{what} has {extra} unexpected bytes after its end")]
    TrailingBytes { what: &'static str, extra: usize },
    #[error("bad handshake magic {found:02x?}, expected {MAGIC:02x?}; the peer is not a glwire endpoint")]
    BadMagic { found: [u8; 8] },
    #[error("{}", version_mismatch_message(*client, *server))]
    VersionMismatch { client: u32, server: u32 },
    #[error("auth token is {len} bytes, at most {max} allowed")]
    TokenTooLong { len: usize, max: u32 },
    #[error("refusal message is {len} bytes, at most {max} allowed")]
    MessageTooLong { len: usize, max: u32 },
    #[error("{what}: padding field is {value:#x}, expected 0")]
    NonzeroPadding { what: &'static str, value: u64 },
    #[error("server refused the connection ({reason}): {message}")]
    Refused { reason: RefusalReason, message: String },
}

fn version_mismatch_message(client: u32, server: u32) -> String {
    let advice = if client > server {
        "upgrade the glwire server (glwire serve) to match the client"
    } else {
        "upgrade the glwire client (libEGL_glwire.so) to match the server"
    };
    format!("client speaks glwire protocol {client}, server speaks {server}; {advice}")
}

/// Protocol 1 has no compatibility window: both sides must speak the same version.
/// Keeping the check in one place means widening it later changes one function.
pub fn check_version(client: u32, server: u32) -> Result<(), HandshakeError> {
    if client == server {
        Ok(())
    } else {
        Err(HandshakeError::VersionMismatch { client, server })
    }
}

/// The frozen prefix shared by every handshake message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
struct Prefix {
    magic: [u8; 8],
    version: u32,
}
const _: () = assert!(size_of::<Prefix>() == 12);

/// Reads magic and version without trusting the rest, so a server can answer a peer of
/// another version with a precise refusal before trying to parse its layout.
pub fn peek_version(bytes: &[u8]) -> Result<u32, HandshakeError> {
    let (prefix, _) = Prefix::read_from_prefix(bytes).map_err(|_| HandshakeError::Truncated {
        what: "handshake prefix",
        needed: size_of::<Prefix>(),
        got: bytes.len(),
    })?;
    if prefix.magic != MAGIC {
        return Err(HandshakeError::BadMagic { found: prefix.magic });
    }
    Ok(prefix.version)
}

/// Client → server, the first message on a connection. Followed on the wire by
/// `token_len` bytes of auth token.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Hello {
    pub magic: [u8; 8],
    pub version: u32,
    pub token_len: u32,
    /// `FEATURE_*` bits the client can use.
    pub features: u64,
    /// The client's pid as it sees it. Informational only: the server trusts peer
    /// credentials, never this field.
    pub pid: u32,
    pub _pad0: u32,
    /// Program name for logs and `glwire top`, NUL-padded, not necessarily
    /// NUL-terminated, not necessarily UTF-8.
    pub program_name: [u8; PROGRAM_NAME_LEN],
}
const _: () = assert!(size_of::<Hello>() == 96);

/// Size of the fixed part of [`Hello`].
pub const HELLO_SIZE: usize = size_of::<Hello>();

impl Hello {
    /// A hello for this build's protocol version with an empty token. A name longer
    /// than the field is cut at a UTF-8 character boundary so the log shows no
    /// half characters.
    pub fn new(features: u64, pid: u32, program_name: &str) -> Self {
        let mut hello = Self::new_zeroed();
        hello.magic = MAGIC;
        hello.version = PROTOCOL_VERSION;
        hello.features = features;
        hello.pid = pid;
        let mut end = program_name.len().min(PROGRAM_NAME_LEN);
        while !program_name.is_char_boundary(end) {
            end -= 1;
        }
        hello.program_name[..end].copy_from_slice(&program_name.as_bytes()[..end]);
        hello
    }

    /// The program name up to its first NUL.
    pub fn program_name(&self) -> &[u8] {
        let end = self.program_name.iter().position(|&b| b == 0).unwrap_or(PROGRAM_NAME_LEN);
        &self.program_name[..end]
    }

    /// The hello followed by `token`, with `token_len` set to match.
    pub fn to_bytes(&self, token: &[u8]) -> Result<Vec<u8>, HandshakeError> {
        let token_len = check_token_len(token.len())?;
        let mut hello = *self;
        hello.token_len = token_len;
        let mut out = Vec::with_capacity(HELLO_SIZE + token.len());
        out.extend_from_slice(hello.as_bytes());
        out.extend_from_slice(token);
        Ok(out)
    }

    /// Reads the fixed part and returns the total message length (fixed part plus
    /// token), so a stream reader knows how much more to read. Checks magic, version
    /// and the token bound, in that order, before trusting any length.
    pub fn needed_len(prefix: &[u8]) -> Result<usize, HandshakeError> {
        let hello = Self::read_fixed(prefix)?;
        Ok(HELLO_SIZE + hello.token_len as usize)
    }

    /// Parses one complete hello message and returns it with its token. The version is
    /// checked before the rest because the rest only has this meaning in this version.
    pub fn parse(bytes: &[u8]) -> Result<(Hello, &[u8]), HandshakeError> {
        let hello = Self::read_fixed(bytes)?;
        let rest = &bytes[HELLO_SIZE..];
        let token_len = hello.token_len as usize;
        let Some(token) = rest.get(..token_len) else {
            return Err(HandshakeError::Truncated {
                what: "hello token",
                needed: HELLO_SIZE + token_len,
                got: bytes.len(),
            });
        };
        if rest.len() > token_len {
            return Err(HandshakeError::TrailingBytes { what: "hello", extra: rest.len() - token_len });
        }
        Ok((hello, token))
    }

    fn read_fixed(bytes: &[u8]) -> Result<Hello, HandshakeError> {
        let version = peek_version(bytes)?;
        check_version(version, PROTOCOL_VERSION)?;
        let (hello, _) = Hello::read_from_prefix(bytes).map_err(|_| HandshakeError::Truncated {
            what: "hello",
            needed: HELLO_SIZE,
            got: bytes.len(),
        })?;
        check_padding("hello", hello._pad0.into())?;
        check_token_len(hello.token_len as usize)?;
        Ok(hello)
    }
}

fn check_token_len(len: usize) -> Result<u32, HandshakeError> {
    match u32::try_from(len) {
        Ok(n) if n <= MAX_TOKEN_LEN => Ok(n),
        _ => Err(HandshakeError::TokenTooLong { len, max: MAX_TOKEN_LEN }),
    }
}

// Padding must be zero so a later version can give it a meaning without an older
// peer silently misreading it.
fn check_padding(what: &'static str, value: u64) -> Result<(), HandshakeError> {
    if value == 0 {
        Ok(())
    } else {
        Err(HandshakeError::NonzeroPadding { what, value })
    }
}

/// Limits the server enforces on a session, announced up front so a client can fail
/// early and clearly instead of discovering them one `LimitExceeded` at a time.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Limits {
    /// Total bytes of shared memory (rings, frame rings, buffer maps) per session.
    pub max_shm_bytes: u64,
    pub max_contexts: u32,
    /// GL/EGL objects (all kinds together) per session.
    pub max_objects: u32,
    /// Requests awaiting a reply at once.
    pub max_in_flight: u32,
    /// Largest single encoded command, header included.
    pub max_command_bytes: u32,
}
const _: () = assert!(size_of::<Limits>() == 24);

/// `reason` value of a [`Welcome`]; any other value makes the reply a [`Refusal`].
pub const REPLY_WELCOME: u32 = 0;

/// Server → client when the connection is accepted.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Welcome {
    pub magic: [u8; 8],
    pub version: u32,
    /// Always [`REPLY_WELCOME`]; shares its position with [`RefusalHeader::reason`].
    pub reason: u32,
    /// `FEATURE_*` bits the server offers; the session uses [`negotiate_features`].
    pub features: u64,
    /// Names the session in server logs and `glwire top`.
    pub session_id: u64,
    pub limits: Limits,
}
const _: () = assert!(size_of::<Welcome>() == 56);

/// Size of a [`Welcome`] message.
pub const WELCOME_SIZE: usize = size_of::<Welcome>();

impl Welcome {
    pub fn new(features: u64, session_id: u64, limits: Limits) -> Self {
        Self { magic: MAGIC, version: PROTOCOL_VERSION, reason: REPLY_WELCOME, features, session_id, limits }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

/// Why a server refused a connection. Codes are append-only; a code this build does
/// not know is kept as [`RefusalReason::Unknown`] so its number still reaches the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    VersionMismatch {
        server: u32,
        client: u32,
    },
    BadMagic,
    BadToken,
    /// The connecting user is not the one the server runs for (SO_PEERCRED).
    WrongUser,
    /// The server is at its session limit.
    Busy,
    /// The hello could not be parsed.
    MalformedHello,
    /// The client requires a feature the server does not offer.
    MissingFeature,
    ShuttingDown,
    Internal,
    Unknown(u32),
}

impl RefusalReason {
    /// The wire code. Never 0: that is [`REPLY_WELCOME`].
    pub fn code(&self) -> u32 {
        match self {
            Self::VersionMismatch { .. } => 1,
            Self::BadMagic => 2,
            Self::BadToken => 3,
            Self::WrongUser => 4,
            Self::Busy => 5,
            Self::MalformedHello => 6,
            Self::MissingFeature => 7,
            Self::ShuttingDown => 8,
            Self::Internal => 9,
            Self::Unknown(code) => *code,
        }
    }

    /// Rebuilds a reason from a refusal's fields; only a version mismatch uses the two
    /// versions, which the refusal carries so the client can name both.
    pub fn from_wire(code: u32, server_version: u32, client_version: u32) -> Self {
        match code {
            1 => Self::VersionMismatch { server: server_version, client: client_version },
            2 => Self::BadMagic,
            3 => Self::BadToken,
            4 => Self::WrongUser,
            5 => Self::Busy,
            6 => Self::MalformedHello,
            7 => Self::MissingFeature,
            8 => Self::ShuttingDown,
            9 => Self::Internal,
            other => Self::Unknown(other),
        }
    }
}

impl core::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::VersionMismatch { server, client } => f.write_str(&version_mismatch_message(*client, *server)),
            Self::BadMagic => f.write_str("bad magic"),
            Self::BadToken => f.write_str("bad auth token"),
            Self::WrongUser => f.write_str("wrong user"),
            Self::Busy => f.write_str("server busy"),
            Self::MalformedHello => f.write_str("malformed hello"),
            Self::MissingFeature => f.write_str("missing feature"),
            Self::ShuttingDown => f.write_str("server shutting down"),
            Self::Internal => f.write_str("internal server error"),
            Self::Unknown(code) => write!(f, "unknown reason code {code}"),
        }
    }
}

/// Fixed part of a refusal; `message_len` bytes of UTF-8 text follow.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RefusalHeader {
    pub magic: [u8; 8],
    /// The server's protocol version.
    pub version: u32,
    /// [`RefusalReason::code`], never [`REPLY_WELCOME`].
    pub reason: u32,
    /// The version the server read from the hello (0 if it never got that far).
    pub client_version: u32,
    pub message_len: u32,
}
const _: () = assert!(size_of::<RefusalHeader>() == 24);

/// Size of the fixed part of a refusal.
pub const REFUSAL_HEADER_SIZE: usize = size_of::<RefusalHeader>();

/// Server → client when the connection is refused; the server closes right after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: RefusalReason,
    pub message: String,
}

impl Refusal {
    pub fn new(reason: RefusalReason, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }

    /// Encodes the refusal. An over-long message is cut at a character boundary rather
    /// than failing: the refusal is the server's last word and must always be sendable.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut end = self.message.len().min(MAX_REFUSAL_MESSAGE_LEN as usize);
        while !self.message.is_char_boundary(end) {
            end -= 1;
        }
        let message = &self.message.as_bytes()[..end];
        let (version, client_version) = match self.reason {
            RefusalReason::VersionMismatch { server, client } => (server, client),
            _ => (PROTOCOL_VERSION, 0),
        };
        let header = RefusalHeader {
            magic: MAGIC,
            version,
            reason: self.reason.code(),
            client_version,
            // Bounded by MAX_REFUSAL_MESSAGE_LEN just above.
            message_len: end as u32,
        };
        let mut out = Vec::with_capacity(REFUSAL_HEADER_SIZE + end);
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(message);
        out
    }
}

/// What the server answered to a hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerReply {
    Welcome(Welcome),
    Refused(Refusal),
}

impl ServerReply {
    /// Total length of the reply whose first bytes are `prefix`, for stream readers.
    /// Needs at least [`REFUSAL_HEADER_SIZE`] bytes, the shorter of the two layouts'
    /// fixed parts.
    pub fn needed_len(prefix: &[u8]) -> Result<usize, HandshakeError> {
        match Self::read_fixed(prefix)? {
            Fixed::Welcome => Ok(WELCOME_SIZE),
            Fixed::Refusal(header) => Ok(REFUSAL_HEADER_SIZE + header.message_len as usize),
        }
    }

    /// Parses one complete server reply. A refusal is read whatever its version, since
    /// a version mismatch is exactly when a client needs to read it; a welcome must be
    /// of this build's version.
    pub fn parse(bytes: &[u8]) -> Result<ServerReply, HandshakeError> {
        match Self::read_fixed(bytes)? {
            Fixed::Welcome => {
                let welcome = Welcome::read_from_bytes(bytes).map_err(|_| {
                    if bytes.len() < WELCOME_SIZE {
                        HandshakeError::Truncated { what: "welcome", needed: WELCOME_SIZE, got: bytes.len() }
                    } else {
                        HandshakeError::TrailingBytes { what: "welcome", extra: bytes.len() - WELCOME_SIZE }
                    }
                })?;
                Ok(ServerReply::Welcome(welcome))
            }
            Fixed::Refusal(header) => {
                let len = header.message_len as usize;
                let rest = &bytes[REFUSAL_HEADER_SIZE..];
                let Some(message) = rest.get(..len) else {
                    return Err(HandshakeError::Truncated {
                        what: "refusal message",
                        needed: REFUSAL_HEADER_SIZE + len,
                        got: bytes.len(),
                    });
                };
                if rest.len() > len {
                    return Err(HandshakeError::TrailingBytes { what: "refusal", extra: rest.len() - len });
                }
                let reason = RefusalReason::from_wire(header.reason, header.version, header.client_version);
                // The text is only a diagnostic; a bad byte must not hide the reason.
                let message = String::from_utf8_lossy(message).into_owned();
                Ok(ServerReply::Refused(Refusal { reason, message }))
            }
        }
    }

    /// The welcome, or the refusal turned into an error for `?`.
    pub fn into_result(self) -> Result<Welcome, HandshakeError> {
        match self {
            ServerReply::Welcome(welcome) => Ok(welcome),
            ServerReply::Refused(Refusal { reason, message }) => Err(HandshakeError::Refused { reason, message }),
        }
    }

    fn read_fixed(bytes: &[u8]) -> Result<Fixed, HandshakeError> {
        let version = peek_version(bytes)?;
        let (header, _) = RefusalHeader::read_from_prefix(bytes).map_err(|_| HandshakeError::Truncated {
            what: "server reply",
            needed: REFUSAL_HEADER_SIZE,
            got: bytes.len(),
        })?;
        if header.reason != REPLY_WELCOME {
            if header.message_len > MAX_REFUSAL_MESSAGE_LEN {
                return Err(HandshakeError::MessageTooLong {
                    len: header.message_len as usize,
                    max: MAX_REFUSAL_MESSAGE_LEN,
                });
            }
            return Ok(Fixed::Refusal(header));
        }
        check_version(PROTOCOL_VERSION, version)?;
        Ok(Fixed::Welcome)
    }
}

enum Fixed {
    Welcome,
    Refusal(RefusalHeader),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hello() -> Hello {
        Hello::new(FEATURE_SHM_RINGS | FEATURE_FD_PASSING, 4242, "glmark2-es2")
    }

    #[test]
    fn hello_round_trip_with_token() {
        let bytes = hello().to_bytes(b"secret").unwrap();
        assert_eq!(bytes.len(), HELLO_SIZE + 6);
        assert_eq!(Hello::needed_len(&bytes[..HELLO_SIZE]), Ok(bytes.len()));
        let (parsed, token) = Hello::parse(&bytes).unwrap();
        assert_eq!(token, b"secret");
        assert_eq!(parsed.token_len, 6);
        assert_eq!(parsed.pid, 4242);
        assert_eq!(parsed.features, FEATURE_SHM_RINGS | FEATURE_FD_PASSING);
        assert_eq!(parsed.program_name(), b"glmark2-es2");
    }

    #[test]
    fn hello_without_token() {
        let bytes = hello().to_bytes(&[]).unwrap();
        let (_, token) = Hello::parse(&bytes).unwrap();
        assert!(token.is_empty());
    }

    #[test]
    fn long_program_name_cut_at_char_boundary() {
        let name = "é".repeat(40); // 80 bytes
        let h = Hello::new(0, 1, &name);
        assert_eq!(h.program_name().len(), 64);
        assert!(core::str::from_utf8(h.program_name()).is_ok());
        let name = format!("a{}", "é".repeat(40)); // boundary falls mid-character
        let h = Hello::new(0, 1, &name);
        assert_eq!(h.program_name().len(), 63);
        assert!(core::str::from_utf8(h.program_name()).is_ok());
    }

    #[test]
    fn hello_bad_magic() {
        let mut bytes = hello().to_bytes(&[]).unwrap();
        bytes[0] = b'X';
        let err = Hello::parse(&bytes).unwrap_err();
        assert!(matches!(err, HandshakeError::BadMagic { .. }));
        assert!(err.to_string().contains("not a glwire endpoint"));
    }

    #[test]
    fn hello_version_mismatch_names_both() {
        let mut h = hello();
        let newer = PROTOCOL_VERSION + 1;
        h.version = newer;
        let err = Hello::parse(&h.to_bytes(&[]).unwrap()).unwrap_err();
        assert_eq!(err, HandshakeError::VersionMismatch { client: newer, server: PROTOCOL_VERSION });
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("client speaks glwire protocol {newer}, server speaks {PROTOCOL_VERSION}")),
            "{msg}"
        );
        assert!(msg.contains("upgrade the glwire server"), "{msg}");
    }

    #[test]
    fn version_mismatch_from_a_newer_hello_layout() {
        // A future client's hello may be shorter or longer; only the prefix is read.
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&7u32.to_le_bytes());
        assert_eq!(peek_version(&bytes), Ok(7));
        assert!(matches!(
            Hello::parse(&bytes),
            Err(HandshakeError::VersionMismatch { client: 7, server: PROTOCOL_VERSION })
        ));
    }

    #[test]
    fn check_version_messages() {
        assert_eq!(check_version(1, 1), Ok(()));
        let msg = check_version(1, 3).unwrap_err().to_string();
        assert!(msg.contains("client speaks glwire protocol 1, server speaks 3"), "{msg}");
        assert!(msg.contains("upgrade the glwire client"), "{msg}");
    }

    #[test]
    fn hello_truncated() {
        let bytes = hello().to_bytes(b"token").unwrap();
        for len in 0..bytes.len() {
            let err = Hello::parse(&bytes[..len]).unwrap_err();
            assert!(matches!(err, HandshakeError::Truncated { .. }), "len {len}: {err}");
        }
    }

    #[test]
    fn hello_trailing_bytes() {
        let mut bytes = hello().to_bytes(b"token").unwrap();
        bytes.push(0);
        assert_eq!(Hello::parse(&bytes), Err(HandshakeError::TrailingBytes { what: "hello", extra: 1 }));
    }

    #[test]
    fn hello_token_too_long() {
        let token = vec![0u8; MAX_TOKEN_LEN as usize + 1];
        assert!(matches!(hello().to_bytes(&token), Err(HandshakeError::TokenTooLong { len: 257, .. })));
        assert!(hello().to_bytes(&token[..256]).is_ok());
        let mut h = hello();
        h.token_len = MAX_TOKEN_LEN + 1;
        let bytes = h.as_bytes().to_vec();
        assert!(matches!(Hello::needed_len(&bytes), Err(HandshakeError::TokenTooLong { .. })));
        assert!(matches!(Hello::parse(&bytes), Err(HandshakeError::TokenTooLong { .. })));
    }

    #[test]
    fn hello_nonzero_padding() {
        let mut h = hello();
        h._pad0 = 1;
        assert!(matches!(Hello::parse(h.as_bytes()), Err(HandshakeError::NonzeroPadding { .. })));
    }

    #[test]
    fn welcome_round_trip() {
        let limits = Limits {
            max_shm_bytes: 1 << 30,
            max_contexts: 16,
            max_objects: 100_000,
            max_in_flight: 64,
            max_command_bytes: 1 << 20,
        };
        let w = Welcome::new(FEATURES_KNOWN, 99, limits);
        let bytes = w.to_bytes();
        assert_eq!(ServerReply::needed_len(&bytes), Ok(WELCOME_SIZE));
        assert_eq!(ServerReply::parse(&bytes), Ok(ServerReply::Welcome(w)));
        assert_eq!(ServerReply::parse(&bytes).unwrap().into_result(), Ok(w));
    }

    #[test]
    fn welcome_rejections() {
        let w = Welcome::new(0, 1, Limits::default());
        let bytes = w.to_bytes();
        assert!(matches!(ServerReply::parse(&bytes[..WELCOME_SIZE - 1]), Err(HandshakeError::Truncated { .. })));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(ServerReply::parse(&long), Err(HandshakeError::TrailingBytes { .. })));
        let mut bad = bytes.clone();
        bad[7] = 0;
        assert!(matches!(ServerReply::parse(&bad), Err(HandshakeError::BadMagic { .. })));
        let mut newer = w;
        newer.version = PROTOCOL_VERSION + 1;
        let err = ServerReply::parse(newer.as_bytes()).unwrap_err();
        assert_eq!(err, HandshakeError::VersionMismatch { client: PROTOCOL_VERSION, server: PROTOCOL_VERSION + 1 });
    }

    #[test]
    fn refusal_round_trip() {
        let r = Refusal::new(RefusalReason::Busy, "too many sessions (64)");
        let bytes = r.to_bytes();
        assert_eq!(ServerReply::needed_len(&bytes), Ok(bytes.len()));
        assert_eq!(ServerReply::parse(&bytes), Ok(ServerReply::Refused(r)));
    }

    #[test]
    fn refusal_version_mismatch_names_both() {
        let r = Refusal::new(RefusalReason::VersionMismatch { server: 3, client: 1 }, "");
        let reply = ServerReply::parse(&r.to_bytes()).unwrap();
        assert_eq!(reply, ServerReply::Refused(r));
        let msg = reply.into_result().unwrap_err().to_string();
        assert!(msg.contains("client speaks glwire protocol 1, server speaks 3"), "{msg}");
    }

    #[test]
    fn refusal_unknown_reason_and_bad_utf8_survive() {
        let mut bytes = Refusal::new(RefusalReason::Unknown(77), "x").to_bytes();
        *bytes.last_mut().unwrap() = 0xff;
        match ServerReply::parse(&bytes).unwrap() {
            ServerReply::Refused(r) => {
                assert_eq!(r.reason, RefusalReason::Unknown(77));
                assert_eq!(r.message, "\u{fffd}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusal_rejections() {
        let bytes = Refusal::new(RefusalReason::BadToken, "nope").to_bytes();
        assert!(matches!(ServerReply::parse(&bytes[..bytes.len() - 1]), Err(HandshakeError::Truncated { .. })));
        let mut long = bytes.clone();
        long.push(b'!');
        assert!(matches!(ServerReply::parse(&long), Err(HandshakeError::TrailingBytes { .. })));
        let mut huge = bytes.clone();
        huge[20..24].copy_from_slice(&(MAX_REFUSAL_MESSAGE_LEN + 1).to_le_bytes());
        assert!(matches!(ServerReply::parse(&huge), Err(HandshakeError::MessageTooLong { .. })));
    }

    #[test]
    fn refusal_long_message_is_cut() {
        let r = Refusal::new(RefusalReason::Internal, "ü".repeat(1000));
        let bytes = r.to_bytes();
        assert!(bytes.len() <= REFUSAL_HEADER_SIZE + MAX_REFUSAL_MESSAGE_LEN as usize);
        match ServerReply::parse(&bytes).unwrap() {
            ServerReply::Refused(p) => assert_eq!(p.message, "ü".repeat(512)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusal_codes_round_trip() {
        let all = [
            RefusalReason::VersionMismatch { server: 1, client: 2 },
            RefusalReason::BadMagic,
            RefusalReason::BadToken,
            RefusalReason::WrongUser,
            RefusalReason::Busy,
            RefusalReason::MalformedHello,
            RefusalReason::MissingFeature,
            RefusalReason::ShuttingDown,
            RefusalReason::Internal,
            RefusalReason::Unknown(1000),
        ];
        for r in all {
            assert_ne!(r.code(), REPLY_WELCOME);
            assert_eq!(RefusalReason::from_wire(r.code(), 1, 2), r);
        }
    }

    #[test]
    fn features_negotiate() {
        let unknown = 1 << 63;
        assert_eq!(
            negotiate_features(FEATURE_SHM_RINGS | FEATURE_FRAME_RING | unknown, FEATURE_SHM_RINGS | unknown),
            FEATURE_SHM_RINGS
        );
        assert_eq!(FEATURES_KNOWN.count_ones(), 7);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = peek_version(&bytes);
            let _ = Hello::needed_len(&bytes);
            let _ = Hello::parse(&bytes);
            let _ = ServerReply::needed_len(&bytes);
            let _ = ServerReply::parse(&bytes);
        }

        #[test]
        fn random_bytes_after_magic_never_panic(
            version in prop_oneof![Just(PROTOCOL_VERSION), any::<u32>()],
            tail in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&version.to_le_bytes());
            bytes.extend_from_slice(&tail);
            let _ = Hello::needed_len(&bytes);
            let _ = Hello::parse(&bytes);
            let _ = ServerReply::needed_len(&bytes);
            if let Ok(reply) = ServerReply::parse(&bytes) {
                let _ = reply.into_result().map_err(|e| e.to_string());
            }
        }
    }
}
