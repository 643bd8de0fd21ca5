//! Control requests on the device socket: their kinds, the request and reply headers,
//! status codes, and the fixed payloads whose layout is plain (create a context, attach
//! a command ring, session statistics, ...).
//!
//! This module owns the bytes of one control message and the checks on peer-supplied
//! lengths, counts and offsets in them. It does not own reading messages off the socket,
//! receiving the file descriptors that accompany them (`transport`), nor deciding
//! whether a request is allowed or what it does (`server`'s dispatch table). It does not
//! cover the command stream inside rings (`codec`) or the handshake (`protocol`).

use core::mem::size_of;

use thiserror::Error;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Largest control payload either side accepts. Bulk data belongs in shared memory
/// or in the command stream; this only bounds what a peer can make us buffer.
pub const MAX_CONTROL_PAYLOAD: u32 = 1 << 20;

/// Most file descriptors one control message may carry (a ring memfd plus doorbells
/// is the largest real use). Far below the kernel's SCM_RIGHTS limit so a peer cannot
/// make us hold many descriptors per message.
pub const MAX_CONTROL_FDS: u32 = 4;

/// Most EGL attribute pairs accepted in one request; EGL defines far fewer keys.
pub const MAX_ATTRIBS: u32 = 64;

/// Kinds of control request. Numbers are append-only: a number once shipped keeps its
/// meaning forever, and a retired kind leaves a hole rather than being reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlKind {
    /// Open the device for this connection after the handshake.
    Open = 1,
    /// Orderly end of the session; the server frees everything the client owned.
    Close = 2,
    CreateContext = 3,
    DestroyContext = 4,
    CreateSurface = 5,
    DestroySurface = 6,
    MakeCurrent = 7,
    /// Hand the server a context's command/reply ring (memfd passed alongside).
    AttachRing = 8,
    /// Command bytes over the socket itself, for connections without shared memory.
    SubmitCommands = 9,
    /// Fetch a reply over the socket, the counterpart of `SubmitCommands`.
    ReadReply = 10,
    WaitFence = 11,
    QueryStats = 12,
    QueryConfigs = 13,
    /// Liveness and round-trip measurement; the reply echoes the payload.
    Ping = 14,
    /// An EGLImage from a GL object of a context (`CreateImageRequest`; the reply is
    /// its handle).
    CreateImage = 15,
    DestroyImage = 16,
    /// A window surface (`CreateSurfaceRequest`): rendered offscreen on the server, its
    /// frames published into a frame ring whose sealed memfd comes with the reply (one
    /// descriptor); the reply's payload is the surface's handle.
    CreateWindowSurface = 17,
    /// The frame ring a window surface publishes into now (`HandlePayload`): after a
    /// resize it is a new generation. The memfd comes with the (empty) reply.
    SurfaceFrames = 18,
    /// The whole server's counters (`ServerStatsReply`): live sessions and the sums
    /// of their stats.
    QueryServerStats = 19,
    /// Every live session of the server with its counters (`ListSessionsReply`), for
    /// `glwire top`. Any session may ask: the socket admits only the server's own uid,
    /// so the sessions listed are that user's own programs.
    ListSessions = 20,
}

impl ControlKind {
    /// Every kind, in number order.
    pub const ALL: [ControlKind; 20] = [
        ControlKind::Open,
        ControlKind::Close,
        ControlKind::CreateContext,
        ControlKind::DestroyContext,
        ControlKind::CreateSurface,
        ControlKind::DestroySurface,
        ControlKind::MakeCurrent,
        ControlKind::AttachRing,
        ControlKind::SubmitCommands,
        ControlKind::ReadReply,
        ControlKind::WaitFence,
        ControlKind::QueryStats,
        ControlKind::QueryConfigs,
        ControlKind::Ping,
        ControlKind::CreateImage,
        ControlKind::DestroyImage,
        ControlKind::CreateWindowSurface,
        ControlKind::SurfaceFrames,
        ControlKind::QueryServerStats,
        ControlKind::ListSessions,
    ];

    pub const fn from_u32(value: u32) -> Option<Self> {
        Some(match value {
            1 => Self::Open,
            2 => Self::Close,
            3 => Self::CreateContext,
            4 => Self::DestroyContext,
            5 => Self::CreateSurface,
            6 => Self::DestroySurface,
            7 => Self::MakeCurrent,
            8 => Self::AttachRing,
            9 => Self::SubmitCommands,
            10 => Self::ReadReply,
            11 => Self::WaitFence,
            12 => Self::QueryStats,
            13 => Self::QueryConfigs,
            14 => Self::Ping,
            15 => Self::CreateImage,
            16 => Self::DestroyImage,
            17 => Self::CreateWindowSurface,
            18 => Self::SurfaceFrames,
            19 => Self::QueryServerStats,
            20 => Self::ListSessions,
            _ => return None,
        })
    }

    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// Stable name for logs and `glwire top`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Close => "Close",
            Self::CreateContext => "CreateContext",
            Self::DestroyContext => "DestroyContext",
            Self::CreateSurface => "CreateSurface",
            Self::DestroySurface => "DestroySurface",
            Self::MakeCurrent => "MakeCurrent",
            Self::AttachRing => "AttachRing",
            Self::SubmitCommands => "SubmitCommands",
            Self::ReadReply => "ReadReply",
            Self::WaitFence => "WaitFence",
            Self::QueryStats => "QueryStats",
            Self::QueryConfigs => "QueryConfigs",
            Self::Ping => "Ping",
            Self::CreateImage => "CreateImage",
            Self::DestroyImage => "DestroyImage",
            Self::CreateWindowSurface => "CreateWindowSurface",
            Self::SurfaceFrames => "SurfaceFrames",
            Self::QueryServerStats => "QueryServerStats",
            Self::ListSessions => "ListSessions",
        }
    }
}

/// Outcome of a control request. Numbers are append-only. A non-`Ok` reply's payload,
/// if any, is UTF-8 text explaining the failure.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlStatus {
    Ok = 0,
    /// Unknown kind, or a kind this server does not implement. Never a silent success.
    NotSupported = 1,
    InvalidArgument = 2,
    /// A session quota (announced in the handshake's limits) would be exceeded.
    LimitExceeded = 3,
    /// The handle named does not exist in this session.
    NotFound = 4,
    /// The request was malformed; the server ends the session after this reply.
    ProtocolError = 5,
    Internal = 6,
}

impl ControlStatus {
    pub const ALL: [ControlStatus; 7] = [
        ControlStatus::Ok,
        ControlStatus::NotSupported,
        ControlStatus::InvalidArgument,
        ControlStatus::LimitExceeded,
        ControlStatus::NotFound,
        ControlStatus::ProtocolError,
        ControlStatus::Internal,
    ];

    pub const fn from_u32(value: u32) -> Option<Self> {
        Some(match value {
            0 => Self::Ok,
            1 => Self::NotSupported,
            2 => Self::InvalidArgument,
            3 => Self::LimitExceeded,
            4 => Self::NotFound,
            5 => Self::ProtocolError,
            6 => Self::Internal,
            _ => return None,
        })
    }

    pub const fn as_u32(self) -> u32 {
        self as u32
    }
}

/// Errors reading a control message or payload. They mean the peer broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ControlError {
    #[error("truncated {what}: need {needed} bytes, got {got}")]
    Truncated { what: &'static str, needed: usize, got: usize },
    #[error("{what} has {extra} unexpected bytes after its end")]
    TrailingBytes { what: &'static str, extra: usize },
    #[error("{what} is {len} bytes, at most {max} allowed")]
    TooLarge { what: &'static str, len: u64, max: u64 },
    #[error("{what} payload is {got} bytes, expected exactly {expected}")]
    PayloadSize { what: &'static str, expected: usize, got: usize },
    #[error("unknown control request kind {0}")]
    UnknownKind(u32),
    #[error("unknown control status {0}")]
    UnknownStatus(u32),
    #[error("control message carries {count} file descriptors, at most {max} allowed")]
    TooManyFds { count: u32, max: u32 },
    #[error("{count} attribute pairs, at most {max} allowed")]
    TooManyAttribs { count: u32, max: u32 },
    #[error("{count} configs, at most {max} allowed")]
    TooManyConfigs { count: u32, max: u32 },
    #[error("config id {id} is not positive or appears twice")]
    BadConfigId { id: i32 },
    #[error("{what}: padding field is {value:#x}, expected 0")]
    NonzeroPadding { what: &'static str, value: u64 },
    #[error("ring of {ring_bytes} bytes does not fit in its {memfd_len}-byte memfd")]
    RingExceedsMemfd { ring_bytes: u64, memfd_len: u64 },
    #[error("{region} region is empty; expected a nonzero length")]
    EmptyRegion { region: &'static str },
    #[error("{region} region offset {offset} and length {len} must be multiples of {align}")]
    MisalignedRegion { region: &'static str, offset: u64, len: u64, align: u64 },
    #[error("{region} region {offset}+{len} extends past the {ring_bytes}-byte ring")]
    RegionOutOfBounds { region: &'static str, offset: u64, len: u64, ring_bytes: u64 },
    #[error("command region {cmd_offset}+{cmd_len} overlaps reply region {reply_offset}+{reply_len}")]
    RegionsOverlap { cmd_offset: u64, cmd_len: u64, reply_offset: u64, reply_len: u64 },
    #[error("{count} session records, at most {max} allowed")]
    TooManySessions { count: u32, max: u32 },
    #[error("{count} session records listed out of {total} live sessions")]
    MoreRecordsThanSessions { count: u32, total: u32 },
    #[error("session id {id} is zero or appears twice")]
    BadSessionId { id: u64 },
}

/// Header of every control request.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ControlHeader {
    /// A [`ControlKind`] number, possibly one this build does not know.
    pub kind: u32,
    /// Reserved, zero in protocol 1. Not checked while parsing so the server can
    /// answer nonzero flags with `InvalidArgument` instead of dropping the session.
    pub flags: u32,
    /// Chosen by the client, echoed in the reply; matches replies to requests.
    pub request_id: u64,
    pub payload_len: u32,
    /// Descriptors that arrived with this message as SCM_RIGHTS ancillary data.
    pub num_fds: u32,
}
const _: () = assert!(size_of::<ControlHeader>() == 24);

/// Size of [`ControlHeader`].
pub const CONTROL_HEADER_SIZE: usize = size_of::<ControlHeader>();

impl ControlHeader {
    pub fn new(kind: ControlKind, request_id: u64, payload_len: u32, num_fds: u32) -> Self {
        Self { kind: kind.as_u32(), flags: 0, request_id, payload_len, num_fds }
    }

    /// The kind, or the raw number when this build does not know it (answer those with
    /// [`ControlStatus::NotSupported`]).
    pub fn kind(&self) -> Result<ControlKind, u32> {
        ControlKind::from_u32(self.kind).ok_or(self.kind)
    }

    /// Header plus payload, ready to send (the descriptors travel separately).
    pub fn encode(kind: ControlKind, request_id: u64, payload: &[u8], num_fds: u32) -> Result<Vec<u8>, ControlError> {
        let payload_len = check_payload_len("control request payload", payload.len())?;
        check_fds(num_fds)?;
        let header = Self::new(kind, request_id, payload_len, num_fds);
        Ok(concat(header.as_bytes(), payload))
    }

    /// Reads only the header from the front of `bytes` and checks its bounds, so a
    /// stream reader knows how many payload bytes to read next. An unknown kind is not
    /// an error here.
    pub fn parse_prefix(bytes: &[u8]) -> Result<Self, ControlError> {
        let (header, _) = Self::read_from_prefix(bytes).map_err(|_| ControlError::Truncated {
            what: "control request header",
            needed: CONTROL_HEADER_SIZE,
            got: bytes.len(),
        })?;
        check_payload_len("control request payload", header.payload_len as usize)?;
        check_fds(header.num_fds)?;
        Ok(header)
    }

    /// Parses one complete request (exactly header plus payload) and returns the
    /// payload. An unknown kind is not an error here.
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8]), ControlError> {
        let header = Self::parse_prefix(bytes)?;
        let payload = split_payload("control request", bytes, header.payload_len)?;
        Ok((header, payload))
    }
}

/// Header of every control reply.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ControlReplyHeader {
    pub request_id: u64,
    /// A [`ControlStatus`] number; 0 is success.
    pub status: u32,
    pub payload_len: u32,
    /// Descriptors sent with the reply, e.g. a new surface's frame-ring memfd.
    pub num_fds: u32,
    pub _pad0: u32,
}
const _: () = assert!(size_of::<ControlReplyHeader>() == 24);

/// Size of [`ControlReplyHeader`].
pub const CONTROL_REPLY_HEADER_SIZE: usize = size_of::<ControlReplyHeader>();

impl ControlReplyHeader {
    pub fn new(request_id: u64, status: ControlStatus, payload_len: u32, num_fds: u32) -> Self {
        Self { request_id, status: status.as_u32(), payload_len, num_fds, _pad0: 0 }
    }

    /// The status, or the raw number when this build does not know it.
    pub fn status(&self) -> Result<ControlStatus, u32> {
        ControlStatus::from_u32(self.status).ok_or(self.status)
    }

    pub fn encode(
        request_id: u64,
        status: ControlStatus,
        payload: &[u8],
        num_fds: u32,
    ) -> Result<Vec<u8>, ControlError> {
        let payload_len = check_payload_len("control reply payload", payload.len())?;
        check_fds(num_fds)?;
        let header = Self::new(request_id, status, payload_len, num_fds);
        Ok(concat(header.as_bytes(), payload))
    }

    /// Reads only the reply header from the front of `bytes` and checks its bounds.
    pub fn parse_prefix(bytes: &[u8]) -> Result<Self, ControlError> {
        let (header, _) = Self::read_from_prefix(bytes).map_err(|_| ControlError::Truncated {
            what: "control reply header",
            needed: CONTROL_REPLY_HEADER_SIZE,
            got: bytes.len(),
        })?;
        check_payload_len("control reply payload", header.payload_len as usize)?;
        check_fds(header.num_fds)?;
        check_padding("control reply header", header._pad0.into())?;
        Ok(header)
    }

    /// Parses one complete reply (exactly header plus payload) and returns the payload.
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8]), ControlError> {
        let header = Self::parse_prefix(bytes)?;
        let payload = split_payload("control reply", bytes, header.payload_len)?;
        Ok((header, payload))
    }
}

fn check_payload_len(what: &'static str, len: usize) -> Result<u32, ControlError> {
    match u32::try_from(len) {
        Ok(n) if n <= MAX_CONTROL_PAYLOAD => Ok(n),
        _ => Err(ControlError::TooLarge { what, len: len as u64, max: MAX_CONTROL_PAYLOAD.into() }),
    }
}

fn check_fds(count: u32) -> Result<(), ControlError> {
    if count <= MAX_CONTROL_FDS {
        Ok(())
    } else {
        Err(ControlError::TooManyFds { count, max: MAX_CONTROL_FDS })
    }
}

// Padding must be zero so a later version can give it a meaning without an older
// peer silently misreading it.
fn check_padding(what: &'static str, value: u64) -> Result<(), ControlError> {
    if value == 0 {
        Ok(())
    } else {
        Err(ControlError::NonzeroPadding { what, value })
    }
}

// Both header sizes are 24; the caller has already read a header of that size.
fn split_payload<'a>(what: &'static str, bytes: &'a [u8], payload_len: u32) -> Result<&'a [u8], ControlError> {
    let header_len = CONTROL_HEADER_SIZE;
    let len = payload_len as usize;
    let rest = bytes.get(header_len..).unwrap_or_default();
    let Some(payload) = rest.get(..len) else {
        return Err(ControlError::Truncated { what, needed: header_len + len, got: bytes.len() });
    };
    if rest.len() > len {
        return Err(ControlError::TrailingBytes { what, extra: rest.len() - len });
    }
    Ok(payload)
}

const _: () = assert!(CONTROL_HEADER_SIZE == CONTROL_REPLY_HEADER_SIZE);

fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out
}

/// Reads a fixed payload that must be exactly `T`'s size: protocol versions match
/// exactly, so a size difference is a broken peer, not a newer one.
fn read_exact<T: FromBytes>(what: &'static str, payload: &[u8]) -> Result<T, ControlError> {
    T::read_from_bytes(payload).map_err(|_| ControlError::PayloadSize {
        what,
        expected: size_of::<T>(),
        got: payload.len(),
    })
}

/// Payload of `CreateSurface`: a pbuffer of this size in the host config `config_id`
/// (the `EGL_CONFIG_ID` of a config `QueryConfigs` listed; 0 for the server's choice).
/// The reply is its handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CreateSurfaceRequest {
    pub width: u32,
    pub height: u32,
    pub config_id: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<CreateSurfaceRequest>() == 16);

impl CreateSurfaceRequest {
    pub fn new(width: u32, height: u32, config_id: u32) -> Self {
        Self { width, height, config_id, _pad: 0 }
    }

    pub fn parse(payload: &[u8]) -> Result<Self, ControlError> {
        let r: Self = read_exact("CreateSurface payload", payload)?;
        if r._pad != 0 {
            return Err(ControlError::NonzeroPadding { what: "CreateSurface", value: u64::from(r._pad) });
        }
        Ok(r)
    }
}

/// Payload of `CreateImage`: an EGLImage of a GL object of `context` (EGL_KHR_image_base
/// with EGL_KHR_gl_texture_2D_image and its siblings). `target` is the EGL target
/// (`EGL_GL_TEXTURE_2D_KHR`, …), `buffer` the GL object's name, `level` and `zoffset`
/// the attributes of the same names, `preserved` EGL_IMAGE_PRESERVED_KHR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CreateImageRequest {
    pub context: u64,
    pub target: u32,
    pub buffer: u32,
    pub level: i32,
    pub zoffset: i32,
    pub preserved: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<CreateImageRequest>() == 32);

impl CreateImageRequest {
    pub fn parse(payload: &[u8]) -> Result<Self, ControlError> {
        let r: Self = read_exact("CreateImage payload", payload)?;
        if r._pad != 0 {
            return Err(ControlError::NonzeroPadding { what: "CreateImage", value: u64::from(r._pad) });
        }
        Ok(r)
    }
}

/// A session-scoped handle: the payload of `DestroyContext` and `DestroySurface`, and
/// the reply to `CreateContext` and `CreateSurface`. Handle 0 means "none".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HandlePayload {
    pub handle: u64,
}
const _: () = assert!(size_of::<HandlePayload>() == 8);

impl HandlePayload {
    pub fn parse(payload: &[u8]) -> Result<Self, ControlError> {
        read_exact("handle", payload)
    }
}

/// One EGL attribute: key and value, as `EGLint` pairs in an attribute list without
/// the `EGL_NONE` terminator (the count replaces it).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Attrib {
    pub key: i32,
    pub value: i32,
}
const _: () = assert!(size_of::<Attrib>() == 8);

/// `CreateContext` payload; `attrib_count` [`Attrib`]s follow.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CreateContextRequest {
    /// Context whose share group to join, 0 for none.
    pub share_context: u64,
    /// Server config id as returned by `QueryConfigs`; 0 for a configless context.
    pub config_id: u32,
    pub attrib_count: u32,
}
const _: () = assert!(size_of::<CreateContextRequest>() == 16);

impl CreateContextRequest {
    pub fn encode(share_context: u64, config_id: u32, attribs: &[Attrib]) -> Result<Vec<u8>, ControlError> {
        let attrib_count = match u32::try_from(attribs.len()) {
            Ok(n) if n <= MAX_ATTRIBS => n,
            _ => {
                return Err(ControlError::TooManyAttribs {
                    count: u32::try_from(attribs.len()).unwrap_or(u32::MAX),
                    max: MAX_ATTRIBS,
                })
            }
        };
        let fixed = Self { share_context, config_id, attrib_count };
        Ok(concat(fixed.as_bytes(), attribs.as_bytes()))
    }

    /// Parses the payload, copying the attributes out (the payload buffer need not be
    /// aligned for them).
    pub fn parse(payload: &[u8]) -> Result<(Self, Vec<Attrib>), ControlError> {
        let (fixed, rest) = Self::read_from_prefix(payload).map_err(|_| ControlError::Truncated {
            what: "CreateContext payload",
            needed: size_of::<Self>(),
            got: payload.len(),
        })?;
        if fixed.attrib_count > MAX_ATTRIBS {
            return Err(ControlError::TooManyAttribs { count: fixed.attrib_count, max: MAX_ATTRIBS });
        }
        // Bounded by MAX_ATTRIBS, so no overflow.
        let attrib_bytes = fixed.attrib_count as usize * size_of::<Attrib>();
        if rest.len() != attrib_bytes {
            return Err(ControlError::PayloadSize {
                what: "CreateContext",
                expected: size_of::<Self>() + attrib_bytes,
                got: payload.len(),
            });
        }
        let attribs =
            rest.chunks_exact(size_of::<Attrib>()).filter_map(|chunk| Attrib::read_from_bytes(chunk).ok()).collect();
        Ok((fixed, attribs))
    }
}

/// `MakeCurrent` payload. All zero releases the current context.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct MakeCurrentRequest {
    pub context: u64,
    pub draw_surface: u64,
    pub read_surface: u64,
}
const _: () = assert!(size_of::<MakeCurrentRequest>() == 24);

impl MakeCurrentRequest {
    pub fn parse(payload: &[u8]) -> Result<Self, ControlError> {
        read_exact("MakeCurrent", payload)
    }
}

/// Alignment of ring regions: commands are 8-byte aligned, and a region starting on a
/// cache line keeps the two directions from sharing one.
pub const RING_REGION_ALIGN: u64 = 64;

/// `AttachRing` payload; the ring's memfd travels with the message. Offsets are from
/// the start of the memfd (shared memory holds offsets, never pointers).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct AttachRingRequest {
    pub context: u64,
    /// Bytes of the memfd the ring uses.
    pub ring_bytes: u64,
    /// Client → server command region.
    pub cmd_offset: u64,
    pub cmd_len: u64,
    /// Server → client reply region.
    pub reply_offset: u64,
    pub reply_len: u64,
}
const _: () = assert!(size_of::<AttachRingRequest>() == 48);

impl AttachRingRequest {
    pub fn parse(payload: &[u8]) -> Result<Self, ControlError> {
        read_exact("AttachRing", payload)
    }

    /// Checks the regions against the memfd's real size (from `fstat`, never from the
    /// peer): nonempty, aligned, inside the ring, not overlapping.
    pub fn validate(&self, memfd_len: u64) -> Result<(), ControlError> {
        if self.ring_bytes > memfd_len {
            return Err(ControlError::RingExceedsMemfd { ring_bytes: self.ring_bytes, memfd_len });
        }
        let regions = [("command", self.cmd_offset, self.cmd_len), ("reply", self.reply_offset, self.reply_len)];
        for (region, offset, len) in regions {
            if len == 0 {
                return Err(ControlError::EmptyRegion { region });
            }
            if offset % RING_REGION_ALIGN != 0 || len % RING_REGION_ALIGN != 0 {
                return Err(ControlError::MisalignedRegion { region, offset, len, align: RING_REGION_ALIGN });
            }
            match offset.checked_add(len) {
                Some(end) if end <= self.ring_bytes => {}
                _ => return Err(ControlError::RegionOutOfBounds { region, offset, len, ring_bytes: self.ring_bytes }),
            }
        }
        // Both ends were just checked not to overflow.
        let cmd_end = self.cmd_offset + self.cmd_len;
        let reply_end = self.reply_offset + self.reply_len;
        if self.cmd_offset < reply_end && self.reply_offset < cmd_end {
            return Err(ControlError::RegionsOverlap {
                cmd_offset: self.cmd_offset,
                cmd_len: self.cmd_len,
                reply_offset: self.reply_offset,
                reply_len: self.reply_len,
            });
        }
        Ok(())
    }
}

/// `QueryStats` reply: counters for the session since it opened.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct StatsReply {
    pub commands: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Calls that had to wait for the server (the number the state shadow exists to
    /// keep low).
    pub round_trips: u64,
    /// Currently live objects of each kind.
    pub contexts: u64,
    pub surfaces: u64,
    pub objects: u64,
    pub shm_bytes: u64,
    /// Estimated bytes of the session's buffers, textures and renderbuffers.
    pub gl_bytes: u64,
    /// Frames its contexts ended (eglSwapBuffers on any surface): with
    /// `round_trips`, what a frame costs in waits.
    pub frames: u64,
}
const _: () = assert!(size_of::<StatsReply>() == 80);

impl StatsReply {
    pub fn parse(payload: &[u8]) -> Result<Self, ControlError> {
        read_exact("QueryStats reply", payload)
    }
}

/// Reply of `QueryServerStats`: the live sessions, and their stats summed.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ServerStatsReply {
    pub sessions: u64,
    pub totals: StatsReply,
}
const _: () = assert!(size_of::<ServerStatsReply>() == 88);

impl ServerStatsReply {
    pub fn parse(payload: &[u8]) -> Result<Self, ControlError> {
        read_exact("QueryServerStats reply", payload)
    }
}

/// Most session records one `ListSessions` reply carries. A server with more live
/// sessions lists the first this many (by session id) and says how many there are.
pub const MAX_LISTED_SESSIONS: u32 = 1024;

/// Bytes of a [`SessionRecord`]'s program name: the handshake's, so nothing is cut twice.
pub const SESSION_PROGRAM_LEN: usize = crate::protocol::PROGRAM_NAME_LEN;

/// `ListSessions` reply (the request has no payload): `count` [`SessionRecord`]s follow,
/// in session id order.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ListSessionsReply {
    pub count: u32,
    /// Live sessions, the asker's own included; more than `count` only past
    /// [`MAX_LISTED_SESSIONS`].
    pub total: u32,
    /// The server process's resident memory; 0 when the server cannot read it.
    pub server_rss_bytes: u64,
}
const _: () = assert!(size_of::<ListSessionsReply>() == 16);

/// One live session in a `ListSessions` reply.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SessionRecord {
    /// The session id (the `Welcome`'s), never 0.
    pub session: u64,
    /// From the socket's peer credentials; the client's own claim over TCP.
    pub pid: u32,
    pub _pad0: u32,
    /// Milliseconds since the session was welcomed.
    pub age_ms: u64,
    /// The name the client gave in its hello, NUL-padded. The client chose it: show it
    /// escaped.
    pub program: [u8; SESSION_PROGRAM_LEN],
    pub stats: StatsReply,
    /// GL errors the server raised for this session (validator refusals, and host
    /// errors found with them).
    pub gl_errors: u64,
    /// Requests and commands a quota refused.
    pub quota_refusals: u64,
}
const _: () = assert!(size_of::<SessionRecord>() == 184);
// The largest reply fits in one control message.
const _: () = assert!(
    size_of::<ListSessionsReply>() + MAX_LISTED_SESSIONS as usize * size_of::<SessionRecord>()
        <= MAX_CONTROL_PAYLOAD as usize
);

impl SessionRecord {
    /// A record with `program` cut to [`SESSION_PROGRAM_LEN`] bytes at a character
    /// boundary.
    pub fn new(session: u64, pid: u32, age_ms: u64, program: &str, stats: StatsReply) -> Self {
        let mut name = [0u8; SESSION_PROGRAM_LEN];
        let mut end = program.len().min(SESSION_PROGRAM_LEN);
        while !program.is_char_boundary(end) {
            end -= 1;
        }
        name[..end].copy_from_slice(&program.as_bytes()[..end]);
        Self { session, pid, _pad0: 0, age_ms, program: name, stats, gl_errors: 0, quota_refusals: 0 }
    }

    /// The program name up to its first NUL.
    pub fn program_name(&self) -> &[u8] {
        let end = self.program.iter().position(|&b| b == 0).unwrap_or(SESSION_PROGRAM_LEN);
        &self.program[..end]
    }
}

impl ListSessionsReply {
    /// The reply for `records` out of `total` live sessions.
    pub fn encode(total: u32, server_rss_bytes: u64, records: &[SessionRecord]) -> Result<Vec<u8>, ControlError> {
        let count = match u32::try_from(records.len()) {
            Ok(n) if n <= MAX_LISTED_SESSIONS => n,
            _ => {
                return Err(ControlError::TooManySessions {
                    count: u32::try_from(records.len()).unwrap_or(u32::MAX),
                    max: MAX_LISTED_SESSIONS,
                })
            }
        };
        if count > total {
            return Err(ControlError::MoreRecordsThanSessions { count, total });
        }
        Ok(concat(Self { count, total, server_rss_bytes }.as_bytes(), records.as_bytes()))
    }

    /// Parses the reply, copying the records out (the payload buffer need not be
    /// aligned for them). Refuses a size that disagrees with `count`, more records than
    /// sessions, nonzero padding, a program name with bytes after its NUL padding
    /// starts, and session ids that are 0 or repeated.
    pub fn parse(payload: &[u8]) -> Result<(Self, Vec<SessionRecord>), ControlError> {
        let (fixed, rest) = Self::read_from_prefix(payload).map_err(|_| ControlError::Truncated {
            what: "ListSessions reply",
            needed: size_of::<Self>(),
            got: payload.len(),
        })?;
        if fixed.count > MAX_LISTED_SESSIONS {
            return Err(ControlError::TooManySessions { count: fixed.count, max: MAX_LISTED_SESSIONS });
        }
        if fixed.count > fixed.total {
            return Err(ControlError::MoreRecordsThanSessions { count: fixed.count, total: fixed.total });
        }
        // Bounded by MAX_LISTED_SESSIONS, so no overflow.
        let record_bytes = fixed.count as usize * size_of::<SessionRecord>();
        if rest.len() != record_bytes {
            return Err(ControlError::PayloadSize {
                what: "ListSessions reply",
                expected: size_of::<Self>() + record_bytes,
                got: payload.len(),
            });
        }
        let records: Vec<SessionRecord> = rest
            .chunks_exact(size_of::<SessionRecord>())
            .filter_map(|chunk| SessionRecord::read_from_bytes(chunk).ok())
            .collect();
        for r in &records {
            check_padding("session record", r._pad0.into())?;
            let name_end = r.program_name().len();
            if let Some(&b) = r.program[name_end..].iter().find(|&&b| b != 0) {
                return Err(ControlError::NonzeroPadding { what: "session record program name", value: b.into() });
            }
        }
        let mut ids: Vec<u64> = records.iter().map(|r| r.session).collect();
        ids.sort_unstable();
        if ids.first() == Some(&0) {
            return Err(ControlError::BadSessionId { id: 0 });
        }
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(ControlError::BadSessionId { id: w[0] });
        }
        Ok((fixed, records))
    }
}

/// The EGL attributes of a [`ConfigRecord`], in the order of its values: what
/// `eglGetConfigAttrib` answers for a config, so the client can answer it and
/// `eglChooseConfig` without asking the server again.
pub const CONFIG_ATTRIBS: [i32; 33] = [
    0x3028, // EGL_CONFIG_ID
    0x3020, // EGL_BUFFER_SIZE
    0x3024, // EGL_RED_SIZE
    0x3023, // EGL_GREEN_SIZE
    0x3022, // EGL_BLUE_SIZE
    0x3021, // EGL_ALPHA_SIZE
    0x3025, // EGL_DEPTH_SIZE
    0x3026, // EGL_STENCIL_SIZE
    0x303D, // EGL_LUMINANCE_SIZE
    0x303E, // EGL_ALPHA_MASK_SIZE
    0x3031, // EGL_SAMPLES
    0x3032, // EGL_SAMPLE_BUFFERS
    0x3040, // EGL_RENDERABLE_TYPE
    0x3033, // EGL_SURFACE_TYPE
    0x3042, // EGL_CONFORMANT
    0x3027, // EGL_CONFIG_CAVEAT
    0x303F, // EGL_COLOR_BUFFER_TYPE
    0x302D, // EGL_NATIVE_RENDERABLE
    0x302E, // EGL_NATIVE_VISUAL_ID
    0x302F, // EGL_NATIVE_VISUAL_TYPE
    0x3029, // EGL_LEVEL
    0x3034, // EGL_TRANSPARENT_TYPE
    0x3037, // EGL_TRANSPARENT_RED_VALUE
    0x3036, // EGL_TRANSPARENT_GREEN_VALUE
    0x3035, // EGL_TRANSPARENT_BLUE_VALUE
    0x303B, // EGL_MIN_SWAP_INTERVAL
    0x303C, // EGL_MAX_SWAP_INTERVAL
    0x302C, // EGL_MAX_PBUFFER_WIDTH
    0x302A, // EGL_MAX_PBUFFER_HEIGHT
    0x302B, // EGL_MAX_PBUFFER_PIXELS
    0x3039, // EGL_BIND_TO_TEXTURE_RGB
    0x303A, // EGL_BIND_TO_TEXTURE_RGBA
    0x3339, // EGL_COLOR_COMPONENT_TYPE_EXT (EGL_EXT_pixel_format_float)
];

/// Most configs one `QueryConfigs` reply may carry: drivers offer tens to a few
/// hundred; this bounds what a peer can make the client hold.
pub const MAX_CONFIGS: u32 = 4096;

/// One host EGLConfig in a `QueryConfigs` reply: the value of each attribute of
/// [`CONFIG_ATTRIBS`], in that order, as the host reports it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ConfigRecord {
    pub values: [i32; CONFIG_ATTRIBS.len()],
}
const _: () = assert!(size_of::<ConfigRecord>() == 132);
// The largest reply fits in one control message.
const _: () = assert!(
    size_of::<QueryConfigsReply>() + MAX_CONFIGS as usize * size_of::<ConfigRecord>() <= MAX_CONTROL_PAYLOAD as usize
);

impl Default for ConfigRecord {
    fn default() -> Self {
        Self { values: [0; CONFIG_ATTRIBS.len()] }
    }
}

impl ConfigRecord {
    /// The position of EGL attribute `attr` in [`CONFIG_ATTRIBS`].
    pub fn index(attr: i32) -> Option<usize> {
        CONFIG_ATTRIBS.iter().position(|&a| a == attr)
    }

    /// The value of EGL attribute `attr`, when the record carries it.
    pub fn get(&self, attr: i32) -> Option<i32> {
        Self::index(attr).map(|i| self.values[i])
    }

    /// Sets EGL attribute `attr`; `false` when the record does not carry it.
    pub fn set(&mut self, attr: i32, value: i32) -> bool {
        match Self::index(attr) {
            Some(i) => {
                self.values[i] = value;
                true
            }
            None => false,
        }
    }

    /// `EGL_CONFIG_ID`.
    pub fn config_id(&self) -> i32 {
        self.values[0]
    }
}

/// `QueryConfigs` reply (the request has no payload): `count` [`ConfigRecord`]s follow.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct QueryConfigsReply {
    pub count: u32,
    pub _pad0: u32,
}
const _: () = assert!(size_of::<QueryConfigsReply>() == 8);

impl QueryConfigsReply {
    pub fn encode(configs: &[ConfigRecord]) -> Result<Vec<u8>, ControlError> {
        let count = match u32::try_from(configs.len()) {
            Ok(n) if n <= MAX_CONFIGS => n,
            _ => {
                return Err(ControlError::TooManyConfigs {
                    count: u32::try_from(configs.len()).unwrap_or(u32::MAX),
                    max: MAX_CONFIGS,
                })
            }
        };
        Ok(concat(Self { count, _pad0: 0 }.as_bytes(), configs.as_bytes()))
    }

    /// Parses the reply, copying the records out (the payload buffer need not be
    /// aligned for them). Config ids must be positive (0 is `EGL_NO_CONFIG_KHR`) and
    /// unique, since the client hands them out as config handles.
    pub fn parse(payload: &[u8]) -> Result<Vec<ConfigRecord>, ControlError> {
        let (fixed, rest) = Self::read_from_prefix(payload).map_err(|_| ControlError::Truncated {
            what: "QueryConfigs reply",
            needed: size_of::<Self>(),
            got: payload.len(),
        })?;
        check_padding("QueryConfigs reply", fixed._pad0.into())?;
        if fixed.count > MAX_CONFIGS {
            return Err(ControlError::TooManyConfigs { count: fixed.count, max: MAX_CONFIGS });
        }
        // Bounded by MAX_CONFIGS, so no overflow.
        let record_bytes = fixed.count as usize * size_of::<ConfigRecord>();
        if rest.len() != record_bytes {
            return Err(ControlError::PayloadSize {
                what: "QueryConfigs reply",
                expected: size_of::<Self>() + record_bytes,
                got: payload.len(),
            });
        }
        let records: Vec<ConfigRecord> = rest
            .chunks_exact(size_of::<ConfigRecord>())
            .filter_map(|chunk| ConfigRecord::read_from_bytes(chunk).ok())
            .collect();
        let mut ids: Vec<i32> = records.iter().map(ConfigRecord::config_id).collect();
        ids.sort_unstable();
        if let Some(&bad) = ids.iter().find(|&&id| id <= 0) {
            return Err(ControlError::BadConfigId { id: bad });
        }
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(ControlError::BadConfigId { id: w[0] });
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_image_requests_round_trip_and_refuse_padding() {
        let r =
            CreateImageRequest { context: 3, target: 0x30B1, buffer: 7, level: 1, zoffset: 0, preserved: 0, _pad: 0 };
        assert_eq!(CreateImageRequest::parse(r.as_bytes()), Ok(r));
        let bad = CreateImageRequest { _pad: 1, ..r };
        assert!(matches!(CreateImageRequest::parse(bad.as_bytes()), Err(ControlError::NonzeroPadding { .. })));
        assert!(CreateImageRequest::parse(&r.as_bytes()[..31]).is_err());
        assert_eq!(ControlKind::from_u32(15), Some(ControlKind::CreateImage));
    }
    use proptest::prelude::*;

    #[test]
    fn kinds_are_numbered_and_round_trip() {
        for (i, kind) in ControlKind::ALL.iter().enumerate() {
            assert_eq!(kind.as_u32(), i as u32 + 1, "{}", kind.name());
            assert_eq!(ControlKind::from_u32(kind.as_u32()), Some(*kind));
        }
        assert_eq!(ControlKind::from_u32(0), None);
        assert_eq!(ControlKind::from_u32(ControlKind::ALL.len() as u32 + 1), None);
        for (i, status) in ControlStatus::ALL.iter().enumerate() {
            assert_eq!(status.as_u32(), i as u32);
            assert_eq!(ControlStatus::from_u32(status.as_u32()), Some(*status));
        }
        assert_eq!(ControlStatus::from_u32(7), None);
    }

    #[test]
    fn request_round_trip() {
        let bytes = ControlHeader::encode(ControlKind::Ping, 7, b"hello", 1).unwrap();
        assert_eq!(bytes.len(), CONTROL_HEADER_SIZE + 5);
        let prefix = ControlHeader::parse_prefix(&bytes).unwrap();
        assert_eq!(prefix.payload_len, 5);
        let (header, payload) = ControlHeader::parse(&bytes).unwrap();
        assert_eq!(header.kind(), Ok(ControlKind::Ping));
        assert_eq!(header.request_id, 7);
        assert_eq!(header.num_fds, 1);
        assert_eq!(payload, b"hello");
    }

    #[test]
    fn unknown_kind_is_accepted_at_header_level() {
        let mut header = ControlHeader::new(ControlKind::Ping, 9, 0, 0);
        header.kind = 9999;
        let (parsed, payload) = ControlHeader::parse(header.as_bytes()).unwrap();
        assert_eq!(parsed.kind(), Err(9999));
        assert!(payload.is_empty());
        assert_eq!(ControlError::UnknownKind(9999).to_string(), "unknown control request kind 9999");
    }

    #[test]
    fn request_truncated() {
        let bytes = ControlHeader::encode(ControlKind::Close, 1, &[1, 2, 3], 0).unwrap();
        for len in 0..bytes.len() {
            assert!(matches!(ControlHeader::parse(&bytes[..len]), Err(ControlError::Truncated { .. })), "len {len}");
        }
        assert!(matches!(
            ControlHeader::parse_prefix(&bytes[..CONTROL_HEADER_SIZE - 1]),
            Err(ControlError::Truncated { .. })
        ));
    }

    #[test]
    fn request_trailing_bytes() {
        let mut bytes = ControlHeader::encode(ControlKind::Close, 1, &[1], 0).unwrap();
        bytes.push(0);
        assert_eq!(
            ControlHeader::parse(&bytes),
            Err(ControlError::TrailingBytes { what: "control request", extra: 1 })
        );
    }

    #[test]
    fn request_too_large() {
        let header = ControlHeader::new(ControlKind::SubmitCommands, 1, MAX_CONTROL_PAYLOAD + 1, 0);
        let err = ControlHeader::parse_prefix(header.as_bytes()).unwrap_err();
        assert!(matches!(err, ControlError::TooLarge { .. }));
        assert!(err.to_string().contains("at most 1048576"), "{err}");
        let header = ControlHeader::new(ControlKind::SubmitCommands, 1, u32::MAX, 0);
        assert!(matches!(ControlHeader::parse(header.as_bytes()), Err(ControlError::TooLarge { .. })));
        let big = vec![0u8; MAX_CONTROL_PAYLOAD as usize + 1];
        assert!(matches!(
            ControlHeader::encode(ControlKind::SubmitCommands, 1, &big, 0),
            Err(ControlError::TooLarge { .. })
        ));
        // Exactly at the limit is fine.
        let max = vec![0u8; MAX_CONTROL_PAYLOAD as usize];
        let bytes = ControlHeader::encode(ControlKind::SubmitCommands, 1, &max, 0).unwrap();
        assert_eq!(ControlHeader::parse(&bytes).unwrap().1.len(), max.len());
    }

    #[test]
    fn too_many_fds() {
        let header = ControlHeader::new(ControlKind::AttachRing, 1, 0, MAX_CONTROL_FDS + 1);
        assert_eq!(
            ControlHeader::parse(header.as_bytes()),
            Err(ControlError::TooManyFds { count: 5, max: MAX_CONTROL_FDS })
        );
        assert!(ControlReplyHeader::encode(1, ControlStatus::Ok, &[], 5).is_err());
    }

    #[test]
    fn reply_round_trip_and_rejections() {
        let bytes = ControlReplyHeader::encode(3, ControlStatus::NotSupported, b"kind 99", 0).unwrap();
        let (header, payload) = ControlReplyHeader::parse(&bytes).unwrap();
        assert_eq!(header.request_id, 3);
        assert_eq!(header.status(), Ok(ControlStatus::NotSupported));
        assert_eq!(payload, b"kind 99");

        for len in 0..bytes.len() {
            assert!(matches!(ControlReplyHeader::parse(&bytes[..len]), Err(ControlError::Truncated { .. })));
        }
        let mut unknown = header;
        unknown.status = 1234;
        unknown.payload_len = 0;
        assert_eq!(ControlReplyHeader::parse(unknown.as_bytes()).unwrap().0.status(), Err(1234));
        let mut padded = unknown;
        padded._pad0 = 1;
        assert!(matches!(ControlReplyHeader::parse(padded.as_bytes()), Err(ControlError::NonzeroPadding { .. })));
        let mut huge = unknown;
        huge.payload_len = MAX_CONTROL_PAYLOAD + 1;
        assert!(matches!(ControlReplyHeader::parse_prefix(huge.as_bytes()), Err(ControlError::TooLarge { .. })));
    }

    #[test]
    fn create_context_round_trip() {
        let attribs = [Attrib { key: 0x3098, value: 3 }, Attrib { key: 0x30FB, value: 2 }];
        let payload = CreateContextRequest::encode(5, 12, &attribs).unwrap();
        assert_eq!(payload.len(), 16 + 16);
        let (fixed, parsed) = CreateContextRequest::parse(&payload).unwrap();
        assert_eq!(fixed.share_context, 5);
        assert_eq!(fixed.config_id, 12);
        assert_eq!(parsed, attribs);
        // Unaligned payload buffers are fine.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&payload);
        assert_eq!(CreateContextRequest::parse(&shifted[1..]).unwrap().1, attribs);
    }

    #[test]
    fn create_context_rejections() {
        assert!(matches!(CreateContextRequest::parse(&[0; 15]), Err(ControlError::Truncated { .. })));
        let payload = CreateContextRequest::encode(0, 1, &[Attrib::default()]).unwrap();
        assert!(matches!(
            CreateContextRequest::parse(&payload[..payload.len() - 1]),
            Err(ControlError::PayloadSize { .. })
        ));
        let mut longer = payload.clone();
        longer.push(0);
        assert!(matches!(CreateContextRequest::parse(&longer), Err(ControlError::PayloadSize { .. })));
        let fixed = CreateContextRequest { attrib_count: u32::MAX, ..Default::default() };
        assert_eq!(
            CreateContextRequest::parse(fixed.as_bytes()),
            Err(ControlError::TooManyAttribs { count: u32::MAX, max: MAX_ATTRIBS })
        );
        let many = vec![Attrib::default(); MAX_ATTRIBS as usize + 1];
        assert!(matches!(CreateContextRequest::encode(0, 0, &many), Err(ControlError::TooManyAttribs { .. })));
    }

    #[test]
    fn fixed_payloads_round_trip_and_reject_wrong_size() {
        let h = HandlePayload { handle: 77 };
        assert_eq!(HandlePayload::parse(h.as_bytes()), Ok(h));
        assert!(matches!(HandlePayload::parse(&[0; 9]), Err(ControlError::PayloadSize { expected: 8, got: 9, .. })));
        let m = MakeCurrentRequest { context: 1, draw_surface: 2, read_surface: 3 };
        assert_eq!(MakeCurrentRequest::parse(m.as_bytes()), Ok(m));
        assert!(MakeCurrentRequest::parse(&m.as_bytes()[..23]).is_err());
        let s = StatsReply {
            commands: 1,
            bytes_in: 2,
            bytes_out: 3,
            round_trips: 4,
            contexts: 5,
            surfaces: 6,
            objects: 7,
            shm_bytes: 8,
            gl_bytes: 9,
            frames: 10,
        };
        assert_eq!(StatsReply::parse(s.as_bytes()), Ok(s));
        assert!(StatsReply::parse(&[]).is_err());
    }

    fn session(id: u64, program: &str) -> SessionRecord {
        let stats = StatsReply { commands: id * 10, frames: id, ..Default::default() };
        let mut r = SessionRecord::new(id, 1000 + id as u32, 5 * id, program, stats);
        r.gl_errors = 2;
        r.quota_refusals = 3;
        r
    }

    #[test]
    fn list_sessions_round_trip() {
        let records = [session(1, "glmark2-es2"), session(4, "/usr/bin/es2gears"), session(9, "")];
        let payload = ListSessionsReply::encode(5, 123 << 20, &records).unwrap();
        assert_eq!(payload.len(), 16 + 3 * 184);
        let (header, parsed) = ListSessionsReply::parse(&payload).unwrap();
        assert_eq!(header, ListSessionsReply { count: 3, total: 5, server_rss_bytes: 123 << 20 });
        assert_eq!(parsed, records);
        assert_eq!(parsed[0].program_name(), b"glmark2-es2");
        assert_eq!(parsed[2].program_name(), b"");
        assert_eq!((parsed[1].pid, parsed[1].age_ms, parsed[1].stats.commands, parsed[1].gl_errors), (1004, 20, 40, 2));
        // Unaligned payload buffers are fine.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&payload);
        assert_eq!(ListSessionsReply::parse(&shifted[1..]).unwrap().1, records);
        let empty = ListSessionsReply::encode(0, 0, &[]).unwrap();
        assert_eq!(ListSessionsReply::parse(&empty).unwrap(), (ListSessionsReply::default(), Vec::new()));
        assert_eq!(ControlKind::from_u32(20), Some(ControlKind::ListSessions));
    }

    #[test]
    fn session_record_names_are_cut_at_a_char_boundary() {
        let long = "é".repeat(40);
        let r = SessionRecord::new(1, 1, 0, &long, StatsReply::default());
        assert_eq!(r.program_name().len(), 64);
        assert!(core::str::from_utf8(r.program_name()).is_ok());
        let odd = format!("x{long}");
        let r = SessionRecord::new(1, 1, 0, &odd, StatsReply::default());
        assert_eq!(r.program_name().len(), 63);
        assert!(core::str::from_utf8(r.program_name()).is_ok());
        let exact = "a".repeat(64);
        assert_eq!(SessionRecord::new(1, 1, 0, &exact, StatsReply::default()).program_name(), exact.as_bytes());
    }

    #[test]
    fn list_sessions_rejections() {
        assert!(matches!(ListSessionsReply::parse(&[0; 15]), Err(ControlError::Truncated { .. })));
        let payload = ListSessionsReply::encode(2, 0, &[session(1, "a"), session(2, "b")]).unwrap();
        assert!(matches!(
            ListSessionsReply::parse(&payload[..payload.len() - 1]),
            Err(ControlError::PayloadSize { .. })
        ));
        let mut longer = payload.clone();
        longer.push(0);
        assert!(matches!(ListSessionsReply::parse(&longer), Err(ControlError::PayloadSize { .. })));
        // A header alone that promises records.
        let promise = ListSessionsReply { count: 1, total: 1, server_rss_bytes: 0 };
        assert!(matches!(ListSessionsReply::parse(promise.as_bytes()), Err(ControlError::PayloadSize { .. })));
        let huge = ListSessionsReply { count: u32::MAX, total: u32::MAX, server_rss_bytes: 0 };
        assert_eq!(
            ListSessionsReply::parse(huge.as_bytes()),
            Err(ControlError::TooManySessions { count: u32::MAX, max: MAX_LISTED_SESSIONS })
        );
        let mut more = payload.clone();
        more[4..8].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(ListSessionsReply::parse(&more), Err(ControlError::MoreRecordsThanSessions { count: 2, total: 1 }));
        assert!(matches!(
            ListSessionsReply::encode(1, 0, &[session(1, "a"), session(2, "b")]),
            Err(ControlError::MoreRecordsThanSessions { .. })
        ));
        let many = vec![session(1, "a"); MAX_LISTED_SESSIONS as usize + 1];
        assert!(matches!(ListSessionsReply::encode(u32::MAX, 0, &many), Err(ControlError::TooManySessions { .. })));
        // Record 0 starts at byte 16: its padding at 16 + 12, its name at 16 + 24.
        let mut padded = payload.clone();
        padded[16 + 12] = 1;
        assert!(matches!(ListSessionsReply::parse(&padded), Err(ControlError::NonzeroPadding { .. })));
        let mut after_nul = payload.clone();
        after_nul[16 + 24 + 10] = b'x';
        assert!(matches!(
            ListSessionsReply::parse(&after_nul),
            Err(ControlError::NonzeroPadding { what: "session record program name", .. })
        ));
        for ids in [[0, 1], [3, 3]] {
            let payload = ListSessionsReply::encode(2, 0, &[session(ids[0], "a"), session(ids[1], "b")]).unwrap();
            assert!(matches!(ListSessionsReply::parse(&payload), Err(ControlError::BadSessionId { .. })), "{ids:?}");
        }
        // The most records allowed fit in one control message.
        let max: Vec<SessionRecord> = (1..=u64::from(MAX_LISTED_SESSIONS)).map(|id| session(id, "p")).collect();
        let payload = ListSessionsReply::encode(MAX_LISTED_SESSIONS, 0, &max).unwrap();
        assert!(payload.len() <= MAX_CONTROL_PAYLOAD as usize);
        assert_eq!(ListSessionsReply::parse(&payload).unwrap().1.len(), MAX_LISTED_SESSIONS as usize);
    }

    fn config(id: i32) -> ConfigRecord {
        let mut c = ConfigRecord::default();
        assert!(c.set(0x3028, id));
        assert!(c.set(0x3024, 8));
        c
    }

    #[test]
    fn query_configs_round_trip() {
        let configs = [config(1), config(7), config(3)];
        let payload = QueryConfigsReply::encode(&configs).unwrap();
        assert_eq!(payload.len(), 8 + 3 * 132);
        assert_eq!(QueryConfigsReply::parse(&payload).unwrap(), configs);
        assert_eq!(QueryConfigsReply::parse(&QueryConfigsReply::encode(&[]).unwrap()).unwrap(), []);
        // Unaligned payload buffers are fine.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&payload);
        assert_eq!(QueryConfigsReply::parse(&shifted[1..]).unwrap(), configs);
        assert_eq!(configs[1].get(0x3028), Some(7));
        assert_eq!(configs[1].get(0x3024), Some(8));
        assert_eq!(configs[1].get(0x3038), None);
        assert_eq!(ConfigRecord::index(CONFIG_ATTRIBS[5]), Some(5));
    }

    #[test]
    fn query_configs_rejections() {
        assert!(matches!(QueryConfigsReply::parse(&[0; 7]), Err(ControlError::Truncated { .. })));
        let payload = QueryConfigsReply::encode(&[config(1), config(2)]).unwrap();
        assert!(matches!(
            QueryConfigsReply::parse(&payload[..payload.len() - 1]),
            Err(ControlError::PayloadSize { .. })
        ));
        let mut longer = payload.clone();
        longer.push(0);
        assert!(matches!(QueryConfigsReply::parse(&longer), Err(ControlError::PayloadSize { .. })));
        let mut padded = payload.clone();
        padded[4] = 1;
        assert!(matches!(QueryConfigsReply::parse(&padded), Err(ControlError::NonzeroPadding { .. })));
        let huge = QueryConfigsReply { count: u32::MAX, _pad0: 0 };
        assert_eq!(
            QueryConfigsReply::parse(huge.as_bytes()),
            Err(ControlError::TooManyConfigs { count: u32::MAX, max: MAX_CONFIGS })
        );
        let many = vec![config(1); MAX_CONFIGS as usize + 1];
        assert!(matches!(QueryConfigsReply::encode(&many), Err(ControlError::TooManyConfigs { .. })));
        for ids in [[0, 1], [-3, 1], [2, 2]] {
            let payload = QueryConfigsReply::encode(&[config(ids[0]), config(ids[1])]).unwrap();
            assert!(matches!(QueryConfigsReply::parse(&payload), Err(ControlError::BadConfigId { .. })), "{ids:?}");
        }
        // The most configs allowed fit in one control message.
        let max: Vec<ConfigRecord> = (1..=MAX_CONFIGS as i32).map(config).collect();
        let payload = QueryConfigsReply::encode(&max).unwrap();
        assert!(payload.len() <= MAX_CONTROL_PAYLOAD as usize);
        assert_eq!(QueryConfigsReply::parse(&payload).unwrap().len(), MAX_CONFIGS as usize);
    }

    fn ring() -> AttachRingRequest {
        AttachRingRequest {
            context: 1,
            ring_bytes: 1 << 20,
            cmd_offset: 0,
            cmd_len: 768 << 10,
            reply_offset: 768 << 10,
            reply_len: 256 << 10,
        }
    }

    #[test]
    fn attach_ring_valid() {
        let r = ring();
        assert_eq!(AttachRingRequest::parse(r.as_bytes()), Ok(r));
        assert_eq!(r.validate(1 << 20), Ok(()));
        assert_eq!(r.validate(2 << 20), Ok(()));
    }

    #[test]
    fn attach_ring_rejections() {
        assert!(matches!(ring().validate((1 << 20) - 1), Err(ControlError::RingExceedsMemfd { .. })));
        let mut r = ring();
        r.reply_len = 0;
        assert!(matches!(r.validate(1 << 20), Err(ControlError::EmptyRegion { region: "reply" })));
        let mut r = ring();
        r.cmd_offset = 8;
        assert!(matches!(r.validate(1 << 20), Err(ControlError::MisalignedRegion { .. })));
        let mut r = ring();
        r.reply_len += 64;
        assert!(matches!(r.validate(1 << 20), Err(ControlError::RegionOutOfBounds { region: "reply", .. })));
        let mut r = ring();
        r.cmd_offset = u64::MAX - 63;
        r.ring_bytes = u64::MAX;
        assert!(matches!(r.validate(u64::MAX), Err(ControlError::RegionOutOfBounds { region: "command", .. })));
        let mut r = ring();
        r.reply_offset = 64;
        r.reply_len = 64;
        assert!(matches!(r.validate(1 << 20), Err(ControlError::RegionsOverlap { .. })));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok((header, _)) = ControlHeader::parse(&bytes) {
                let _ = header.kind();
            }
            let _ = ControlHeader::parse_prefix(&bytes);
            if let Ok((reply, _)) = ControlReplyHeader::parse(&bytes) {
                let _ = reply.status();
            }
            let _ = ControlReplyHeader::parse_prefix(&bytes);
            let _ = HandlePayload::parse(&bytes);
            let _ = CreateContextRequest::parse(&bytes);
            let _ = MakeCurrentRequest::parse(&bytes);
            let _ = StatsReply::parse(&bytes);
            let _ = QueryConfigsReply::parse(&bytes);
            let _ = ListSessionsReply::parse(&bytes);
            if let Ok(ring) = AttachRingRequest::parse(&bytes) {
                let _ = ring.validate(u64::MAX);
                let _ = ring.validate(ring.ring_bytes);
            }
        }

        #[test]
        fn list_sessions_round_trips(
            ids in proptest::collection::btree_set(1u64..u64::MAX, 0..8),
            extra in 0u32..4,
            rss in any::<u64>(),
            name in "\\PC{0,80}",
            counters in any::<[u64; 4]>(),
        ) {
            let records: Vec<SessionRecord> = ids
                .iter()
                .map(|&id| {
                    let stats = StatsReply { commands: counters[0], bytes_in: counters[1], frames: counters[2], ..Default::default() };
                    let mut r = SessionRecord::new(id, id as u32, counters[3], &name, stats);
                    r.gl_errors = counters[0] ^ id;
                    r
                })
                .collect();
            let total = records.len() as u32 + extra;
            let payload = ListSessionsReply::encode(total, rss, &records).unwrap();
            let (header, parsed) = ListSessionsReply::parse(&payload).unwrap();
            prop_assert_eq!(header, ListSessionsReply { count: records.len() as u32, total, server_rss_bytes: rss });
            prop_assert_eq!(&parsed, &records);
            for r in &parsed {
                prop_assert!(name.as_bytes().starts_with(r.program_name()));
            }
        }

        #[test]
        fn list_sessions_parse_is_sound(
            count in 0u32..4,
            total in 0u32..6,
            body in proptest::collection::vec(any::<u8>(), 0..800),
        ) {
            let mut bytes = ListSessionsReply { count, total, server_rss_bytes: 7 }.as_bytes().to_vec();
            bytes.extend_from_slice(&body);
            if let Ok((header, records)) = ListSessionsReply::parse(&bytes) {
                prop_assert_eq!(records.len(), header.count as usize);
                prop_assert!(header.count <= header.total);
                prop_assert_eq!(bytes.len(), 16 + 184 * records.len());
                prop_assert!(records.iter().all(|r| r.session != 0 && r._pad0 == 0));
            }
        }

        #[test]
        fn any_header_with_short_payload_never_panics(
            kind in any::<u32>(),
            payload_len in prop_oneof![0u32..64, any::<u32>()],
            num_fds in 0u32..8,
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let header = ControlHeader { kind, flags: 0, request_id: 0, payload_len, num_fds };
            let mut bytes = header.as_bytes().to_vec();
            bytes.extend_from_slice(&tail);
            if let Ok((parsed, payload)) = ControlHeader::parse(&bytes) {
                prop_assert_eq!(parsed.kind, kind);
                prop_assert_eq!(payload.len(), payload_len as usize);
            }
        }

        #[test]
        fn attach_ring_validation_is_sound(
            ring_bytes in any::<u64>(), cmd_offset in any::<u64>(), cmd_len in any::<u64>(),
            reply_offset in any::<u64>(), reply_len in any::<u64>(), memfd_len in any::<u64>(),
        ) {
            let r = AttachRingRequest { context: 0, ring_bytes, cmd_offset, cmd_len, reply_offset, reply_len };
            if r.validate(memfd_len).is_ok() {
                prop_assert!(cmd_offset as u128 + cmd_len as u128 <= ring_bytes as u128);
                prop_assert!(reply_offset as u128 + reply_len as u128 <= ring_bytes as u128);
                prop_assert!(ring_bytes <= memfd_len);
            }
        }
    }
}
