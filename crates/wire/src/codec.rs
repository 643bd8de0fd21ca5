//! The framing every command and reply shares, and the bounded reader the generated
//! decoders use on untrusted bytes: `[opcode u32][size u32][fixed args][payload…]`, each
//! part padded to 8 bytes. It owns the checks common to all commands (alignment, sizes,
//! truncation, payload lengths against counts); per-command layouts are generated into
//! `gles` and `egl`. It does not decide whether an argument is legal GL: that is the
//! server's validator.

use core::ffi::CStr;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::buf::{MessageWriter, Sink};

/// Every command, reply and payload piece starts on an 8-byte boundary.
pub const ALIGN: usize = 8;

/// The largest single command or reply. Larger transfers are split by the caller
/// (`glBufferSubData` in pieces, for example); the limit bounds what one peer can make
/// the other allocate.
pub const MAX_COMMAND_BYTES: u32 = 1 << 30;

/// A length field's value meaning "the program passed NULL".
pub const NULL_LEN: u32 = u32::MAX;

/// The terminator of EGL attribute lists.
pub const EGL_NONE: i64 = 0x3038;

/// A length field's value meaning "no inline data: the pointer is an offset into the
/// bound buffer object", with the offset in the paired offset field.
pub const OFFSET_LEN: u32 = u32::MAX - 1;

/// The first 8 bytes of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CommandHeader {
    pub opcode: u32,
    /// Total bytes of the command, header and padding included; a multiple of 8.
    pub size: u32,
}
const _: () = assert!(size_of::<CommandHeader>() == 8);

/// The first 8 bytes of every reply: the opcode of the command it answers and its size.
pub type ReplyHeader = CommandHeader;

/// Rounds `n` up to a multiple of [`ALIGN`], or `None` on overflow.
pub const fn pad8(n: usize) -> Option<usize> {
    match n.checked_add(ALIGN - 1) {
        Some(v) => Some(v & !(ALIGN - 1)),
        None => None,
    }
}

/// Why bytes from a peer are not a valid command or reply. Every variant names the
/// opcode (when known) and the parameter, so a log line says what the peer got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("stream is not 8-byte aligned in memory (address {addr:#x})")]
    MisalignedBuffer { addr: usize },
    #[error("truncated {what}: needs {need} bytes, {have} present")]
    Truncated { what: &'static str, need: usize, have: usize },
    #[error("unknown opcode {0:#x}")]
    UnknownOpcode(u32),
    #[error("{name}: size {size} is not a multiple of 8 or is smaller than its fixed part")]
    BadSize { name: &'static str, size: u32 },
    #[error("{name}: size {size} exceeds the {max}-byte limit")]
    TooLarge { name: &'static str, size: u32, max: u32 },
    #[error("{name}: {extra} bytes past the end of its payload")]
    TrailingBytes { name: &'static str, extra: usize },
    #[error("{name}.{param}: {got} elements sent, {expected} expected from the call's arguments")]
    CountMismatch { name: &'static str, param: &'static str, expected: usize, got: u32 },
    #[error("{name}.{param}: NULL is not allowed here")]
    UnexpectedNull { name: &'static str, param: &'static str },
    #[error("{name}.{param}: a buffer offset is not allowed here")]
    UnexpectedOffset { name: &'static str, param: &'static str },
    #[error("{name}.{param}: string is not NUL-terminated or holds a NUL inside")]
    BadString { name: &'static str, param: &'static str },
    #[error("{name}.{param}: attribute list is not key/value pairs ended by EGL_NONE")]
    BadAttribList { name: &'static str, param: &'static str },
    #[error("{name}.{param}: malformed string list")]
    BadStringList { name: &'static str, param: &'static str },
    #[error("{name}.{param}: {bytes} bytes exceed the {max}-byte limit")]
    OutputTooLarge { name: &'static str, param: &'static str, bytes: u64, max: u32 },
    #[error("reply for opcode {got:#x} where {expected:#x} was awaited")]
    WrongReply { expected: u32, got: u32 },
    #[error("{name}: padding or an unused offset field is not zero")]
    NonCanonical { name: &'static str },
    #[error("{name}.{param}: length {length} disagrees with the {actual}-byte string sent")]
    StringLength { name: &'static str, param: &'static str, length: i64, actual: usize },
    #[error("{name}: outputs total {bytes} bytes, over the {max}-byte reply limit")]
    OutputsTooLarge { name: &'static str, bytes: u64, max: u32 },
}

/// Why a command could not be encoded. Only reachable through arguments no real
/// program can pass (a payload over [`MAX_COMMAND_BYTES`]) or an encoder bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("message {kind:#x} exceeds the {MAX_COMMAND_BYTES}-byte limit")]
    TooLarge { kind: u32 },
    #[error("message {kind:#x}: payload does not match its declared size (encoder bug)")]
    SizeMismatch { kind: u32 },
    #[error("the destination of message {kind:#x} failed (see the transport's error)")]
    SinkFailed { kind: u32 },
    #[error("message {kind:#x}: parameter {param} has {got} elements where {expected} are required")]
    CountMismatch { kind: u32, param: &'static str, expected: usize, got: usize },
}

/// What a payload's element count must be, from the call's own arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Sized by hand-written rules (pixel store, pname tables); the validator checks it.
    Any,
    /// Computed from `len` in the registry: exactly this many.
    Exactly(usize),
    /// The `len` expression has no value (a negative count, overflow): GL raises an
    /// error for such a call, so no data may travel with it.
    Nothing,
}

impl Expect {
    pub fn from_len(n: Option<usize>) -> Self {
        n.map_or(Expect::Nothing, Expect::Exactly)
    }

    fn allows(self, got: usize) -> bool {
        match self {
            Expect::Any => true,
            Expect::Exactly(n) => n == got,
            Expect::Nothing => got == 0,
        }
    }

    fn expected(self) -> usize {
        match self {
            Expect::Exactly(n) => n,
            Expect::Any | Expect::Nothing => 0,
        }
    }
}

/// A registry `len` operand: the value of an integer argument, if it is not negative.
pub fn len_of<T: TryInto<usize>>(v: T) -> Option<usize> {
    v.try_into().ok()
}

/// A registry `len` product such as `count*4`.
pub fn len_mul(v: Option<usize>, k: usize) -> Option<usize> {
    v?.checked_mul(k)
}

/// Data a GL call reads that may be inline client memory, NULL, or an offset into the
/// buffer object bound for it (pixel unpack buffer, element array buffer, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataRef<'a> {
    Null,
    Inline(&'a [u8]),
    Offset(u64),
}

/// Where a GL call that writes client memory should put it: nowhere (NULL), into the
/// reply (at most `cap` elements), or at an offset in the bound pack buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutRef {
    Null,
    Reply(u32),
    Offset(u64),
}

/// An array of NUL-terminated strings (`glShaderSource`, `glTransformFeedbackVaryings`).
///
/// Wire form: `[n u32][len_i u32 × n][bytes…]`, each `len_i` counting its NUL.
#[derive(Debug, Clone, Copy)]
pub enum StrList<'a> {
    /// Strings the encoder was handed.
    Borrowed(&'a [&'a CStr]),
    /// Strings as decoded from the wire; only the decoder can make one.
    Wire(CheckedStrs<'a>),
}

/// String-list payload bytes the decoder has walked: lengths add up, each string ends
/// in its only NUL. The private fields keep anyone else from building an unchecked one.
#[derive(Debug, Clone, Copy)]
pub struct CheckedStrs<'a> {
    lens: &'a [u8],
    data: &'a [u8],
}

impl<'a> StrList<'a> {
    pub fn len(&self) -> usize {
        match self {
            StrList::Borrowed(s) => s.len(),
            StrList::Wire(w) => w.lens.len() / 4,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a CStr> + '_ {
        let mut data_pos = 0usize;
        (0..self.len()).filter_map(move |i| match *self {
            StrList::Borrowed(s) => s.get(i).copied(),
            StrList::Wire(w) => {
                let n = read_u32(w.lens, i * 4)? as usize;
                let s = w.data.get(data_pos..data_pos.checked_add(n)?)?;
                data_pos += n;
                CStr::from_bytes_with_nul(s).ok()
            }
        })
    }

    /// Payload bytes before padding, or `None` if they would not fit a `u32`.
    fn wire_bytes(&self) -> Option<usize> {
        let mut total = 4usize.checked_add(self.len().checked_mul(4)?)?;
        for s in self.iter() {
            total = total.checked_add(s.to_bytes_with_nul().len())?;
        }
        (total < OFFSET_LEN as usize).then_some(total)
    }
}

impl PartialEq for StrList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// Element count of a slice as a length field, refusing values that collide with the
/// sentinels.
pub fn wire_count(kind: u32, n: usize) -> Result<u32, EncodeError> {
    u32::try_from(n).ok().filter(|&v| v < OFFSET_LEN).ok_or(EncodeError::TooLarge { kind })
}

/// Checks an encoder's typed slice against its `len` expression, so a client bug
/// surfaces where it happens rather than as a decode error on the server.
pub fn check_count(kind: u32, param: &'static str, expect: Expect, got: usize) -> Result<(), EncodeError> {
    if expect.allows(got) {
        Ok(())
    } else {
        Err(EncodeError::CountMismatch { kind, param, expected: expect.expected(), got })
    }
}

/// Payload sizing and writing for each parameter shape, used by generated encoders.
pub mod put {
    use super::*;

    fn bytes_of(kind: u32, n: usize) -> Result<usize, EncodeError> {
        pad8(n).ok_or(EncodeError::TooLarge { kind })
    }

    /// The sum of padded payload pieces.
    #[inline]
    pub fn total(kind: u32, pieces: &[usize]) -> Result<usize, EncodeError> {
        pieces.iter().try_fold(0usize, |acc, &n| acc.checked_add(n)).ok_or(EncodeError::TooLarge { kind })
    }

    pub fn array_len<T: IntoBytes + Immutable>(kind: u32, v: Option<&[T]>) -> Result<(u32, usize), EncodeError> {
        match v {
            None => Ok((NULL_LEN, 0)),
            Some(v) => Ok((wire_count(kind, v.len())?, bytes_of(kind, v.as_bytes().len())?)),
        }
    }

    pub fn array<S: Sink + ?Sized, T: IntoBytes + Immutable>(
        w: &mut MessageWriter<'_, S>,
        v: Option<&[T]>,
    ) -> Result<(), EncodeError> {
        match v {
            None => Ok(()),
            Some(v) => w.piece(v.as_bytes()),
        }
    }

    pub fn cstr_len(kind: u32, v: Option<&CStr>) -> Result<(u32, usize), EncodeError> {
        match v {
            None => Ok((NULL_LEN, 0)),
            Some(s) => {
                let n = s.to_bytes_with_nul().len();
                Ok((wire_count(kind, n)?, bytes_of(kind, n)?))
            }
        }
    }

    pub fn cstr<S: Sink + ?Sized>(w: &mut MessageWriter<'_, S>, v: Option<&CStr>) -> Result<(), EncodeError> {
        match v {
            None => Ok(()),
            Some(s) => w.piece(s.to_bytes_with_nul()),
        }
    }

    /// Returns (length field, offset field, padded payload bytes).
    pub fn data_ref_len(kind: u32, v: &DataRef<'_>) -> Result<(u32, u64, usize), EncodeError> {
        match *v {
            DataRef::Null => Ok((NULL_LEN, 0, 0)),
            DataRef::Offset(off) => Ok((OFFSET_LEN, off, 0)),
            DataRef::Inline(b) => Ok((wire_count(kind, b.len())?, 0, bytes_of(kind, b.len())?)),
        }
    }

    pub fn data_ref<S: Sink + ?Sized>(w: &mut MessageWriter<'_, S>, v: &DataRef<'_>) -> Result<(), EncodeError> {
        match *v {
            DataRef::Inline(b) => w.piece(b),
            DataRef::Null | DataRef::Offset(_) => Ok(()),
        }
    }

    /// Returns (capacity field, offset field).
    pub fn out_ref(v: &OutRef) -> (u32, u64) {
        match *v {
            OutRef::Null => (NULL_LEN, 0),
            OutRef::Offset(off) => (OFFSET_LEN, off),
            OutRef::Reply(cap) => (cap.min(OFFSET_LEN - 1), 0),
        }
    }

    pub fn out_cap(v: Option<u32>) -> u32 {
        v.map_or(NULL_LEN, |c| c.min(OFFSET_LEN - 1))
    }

    pub fn str_list_len(kind: u32, v: &StrList<'_>) -> Result<(u32, usize), EncodeError> {
        let n = v.wire_bytes().ok_or(EncodeError::TooLarge { kind })?;
        Ok((n as u32, bytes_of(kind, n)?))
    }

    pub fn str_list<S: Sink + ?Sized>(w: &mut MessageWriter<'_, S>, v: &StrList<'_>) -> Result<(), EncodeError> {
        let count = v.len() as u32;
        w.raw(&count.to_le_bytes())?;
        for s in v.iter() {
            w.raw(&(s.to_bytes_with_nul().len() as u32).to_le_bytes())?;
        }
        for s in v.iter() {
            w.raw(s.to_bytes_with_nul())?;
        }
        w.pad()
    }
}

/// Splits the first command or reply off a stream: checks alignment, the header, its
/// size against the stream and [`MAX_COMMAND_BYTES`]. Returns (opcode, body, rest).
#[inline]
pub fn split_message(bytes: &[u8]) -> Result<(u32, &[u8], &[u8]), DecodeError> {
    if bytes.as_ptr() as usize % ALIGN != 0 {
        return Err(DecodeError::MisalignedBuffer { addr: bytes.as_ptr() as usize });
    }
    let (header, _) = CommandHeader::read_from_prefix(bytes).map_err(|_| DecodeError::Truncated {
        what: "header",
        need: size_of::<CommandHeader>(),
        have: bytes.len(),
    })?;
    let size = header.size as usize;
    if size > MAX_COMMAND_BYTES as usize {
        return Err(DecodeError::TooLarge { name: "message", size: header.size, max: MAX_COMMAND_BYTES });
    }
    if size % ALIGN != 0 || size < size_of::<CommandHeader>() {
        return Err(DecodeError::BadSize { name: "message", size: header.size });
    }
    if size > bytes.len() {
        return Err(DecodeError::Truncated { what: "message", need: size, have: bytes.len() });
    }
    let (msg, rest) = bytes.split_at(size);
    Ok((header.opcode, &msg[size_of::<CommandHeader>()..], rest))
}

/// The body of the reply to `opcode`: the stream must hold exactly that one reply.
pub fn reply_body(bytes: &[u8], opcode: u32) -> Result<&[u8], DecodeError> {
    let (got, body, rest) = split_message(bytes)?;
    if got != opcode {
        return Err(DecodeError::WrongReply { expected: opcode, got });
    }
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes { name: "reply", extra: rest.len() });
    }
    Ok(body)
}

/// Walks the payload of one command or reply for a generated decoder. Every read is
/// bounded by the message; every count is checked against what the arguments imply.
#[derive(Debug)]
pub struct Reader<'a> {
    name: &'static str,
    bytes: &'a [u8],
    pos: usize,
    /// Bytes all outputs of this command ask the reply to carry, so far.
    out_total: u64,
}

impl<'a> Reader<'a> {
    /// Reads the fixed-argument struct at the start of `body` and returns a reader over
    /// the rest.
    pub fn start<A: FromBytes>(name: &'static str, body: &'a [u8]) -> Result<(A, Self), DecodeError> {
        let fixed = size_of::<A>();
        let (args, _) = A::read_from_prefix(body).map_err(|_| DecodeError::Truncated {
            what: name,
            need: fixed,
            have: body.len(),
        })?;
        // The fixed part is padded to 8 like every other piece.
        let pos = pad8(fixed).ok_or(DecodeError::BadSize { name, size: 0 })?;
        if pos > body.len() {
            return Err(DecodeError::Truncated { what: name, need: pos, have: body.len() });
        }
        // The fixed part's own padding is checked by the generated decoder, which knows
        // where its padding fields are; here only the tail up to the next 8 bytes.
        if body[fixed..pos].iter().any(|&b| b != 0) {
            return Err(DecodeError::NonCanonical { name });
        }
        Ok((args, Reader { name, bytes: body, pos, out_total: 0 }))
    }

    /// Takes `n` payload bytes and the padding behind them.
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n);
        let padded = end.and_then(pad8);
        match (end, padded) {
            (Some(end), Some(padded)) if padded <= self.bytes.len() => {
                let out = &self.bytes[self.pos..end];
                // One encoding per command: padding is zero, so equal commands are equal
                // bytes (and nothing can hide in the gaps).
                if self.bytes[end..padded].iter().any(|&b| b != 0) {
                    return Err(DecodeError::NonCanonical { name: self.name });
                }
                self.pos = padded;
                Ok(out)
            }
            _ => Err(DecodeError::Truncated {
                what: self.name,
                need: padded.unwrap_or(usize::MAX),
                have: self.bytes.len(),
            }),
        }
    }

    fn take_elems<T: FromBytes + Immutable + KnownLayout>(
        &mut self,
        param: &'static str,
        n: u32,
    ) -> Result<&'a [T], DecodeError> {
        let bytes = (n as usize).checked_mul(size_of::<T>()).ok_or(DecodeError::TooLarge {
            name: self.name,
            size: n,
            max: MAX_COMMAND_BYTES,
        })?;
        let raw = self.take(bytes)?;
        // Alignment holds because the stream start and every piece are 8-aligned; the
        // check stays so a broken caller gets an error rather than a wrong slice.
        let _ = param;
        <[T]>::ref_from_bytes(raw).map_err(|_| DecodeError::MisalignedBuffer { addr: raw.as_ptr() as usize })
    }

    fn count_ok(&self, param: &'static str, n: u32, expect: Expect) -> Result<(), DecodeError> {
        if expect.allows(n as usize) {
            Ok(())
        } else {
            Err(DecodeError::CountMismatch { name: self.name, param, expected: expect.expected(), got: n })
        }
    }

    /// A typed input array that must not be NULL.
    pub fn array<T: FromBytes + Immutable + KnownLayout>(
        &mut self,
        param: &'static str,
        n: u32,
        expect: Expect,
    ) -> Result<&'a [T], DecodeError> {
        match n {
            NULL_LEN => Err(DecodeError::UnexpectedNull { name: self.name, param }),
            OFFSET_LEN => Err(DecodeError::UnexpectedOffset { name: self.name, param }),
            n => {
                self.count_ok(param, n, expect)?;
                self.take_elems(param, n)
            }
        }
    }

    /// A typed input array that may be NULL.
    pub fn opt_array<T: FromBytes + Immutable + KnownLayout>(
        &mut self,
        param: &'static str,
        n: u32,
        expect: Expect,
    ) -> Result<Option<&'a [T]>, DecodeError> {
        match n {
            NULL_LEN => Ok(None),
            n => self.array(param, n, expect).map(Some),
        }
    }

    /// An EGL attribute list: NULL, or `key, value` pairs closed by `EGL_NONE`, so the
    /// executor can hand it to EGL, which reads until the terminator.
    pub fn attrib_list<T>(&mut self, param: &'static str, n: u32) -> Result<Option<&'a [T]>, DecodeError>
    where
        T: FromBytes + Immutable + KnownLayout + Copy + TryInto<i64>,
    {
        let Some(list) = self.opt_array::<T>(param, n, Expect::Any)? else { return Ok(None) };
        let terminated = list.last().and_then(|&v| v.try_into().ok()) == Some(EGL_NONE);
        if list.len() % 2 == 1 && terminated {
            Ok(Some(list))
        } else {
            Err(DecodeError::BadAttribList { name: self.name, param })
        }
    }

    /// A NUL-terminated string that may be NULL.
    pub fn opt_cstr(&mut self, param: &'static str, n: u32) -> Result<Option<&'a CStr>, DecodeError> {
        match n {
            NULL_LEN => Ok(None),
            OFFSET_LEN => Err(DecodeError::UnexpectedOffset { name: self.name, param }),
            n => {
                let raw = self.take(n as usize)?;
                CStr::from_bytes_with_nul(raw).map(Some).map_err(|_| DecodeError::BadString { name: self.name, param })
            }
        }
    }

    /// A NUL-terminated string that must not be NULL.
    pub fn cstr(&mut self, param: &'static str, n: u32) -> Result<&'a CStr, DecodeError> {
        self.opt_cstr(param, n)?.ok_or(DecodeError::UnexpectedNull { name: self.name, param })
    }

    /// Inline bytes, NULL, or a buffer offset.
    pub fn data_ref(
        &mut self,
        param: &'static str,
        n: u32,
        offset: u64,
        expect: Expect,
    ) -> Result<DataRef<'a>, DecodeError> {
        if n != OFFSET_LEN && offset != 0 {
            return Err(DecodeError::NonCanonical { name: self.name });
        }
        match n {
            NULL_LEN => Ok(DataRef::Null),
            OFFSET_LEN => Ok(DataRef::Offset(offset)),
            n => {
                self.count_ok(param, n, expect)?;
                Ok(DataRef::Inline(self.take(n as usize)?))
            }
        }
    }

    /// An output the reply fills, checked so no peer can make the other side allocate
    /// more than one message can carry.
    pub fn out_cap(
        &mut self,
        param: &'static str,
        cap: u32,
        elem: usize,
        expect: Expect,
    ) -> Result<Option<u32>, DecodeError> {
        match cap {
            NULL_LEN => Ok(None),
            OFFSET_LEN => Err(DecodeError::UnexpectedOffset { name: self.name, param }),
            cap => {
                self.count_ok(param, cap, expect)?;
                self.out_bound(param, cap, elem)?;
                Ok(Some(cap))
            }
        }
    }

    pub fn out_ref(
        &mut self,
        param: &'static str,
        cap: u32,
        offset: u64,
        elem: usize,
        expect: Expect,
    ) -> Result<OutRef, DecodeError> {
        if cap != OFFSET_LEN && offset != 0 {
            return Err(DecodeError::NonCanonical { name: self.name });
        }
        match cap {
            NULL_LEN => Ok(OutRef::Null),
            OFFSET_LEN => Ok(OutRef::Offset(offset)),
            cap => {
                self.count_ok(param, cap, expect)?;
                self.out_bound(param, cap, elem)?;
                Ok(OutRef::Reply(cap))
            }
        }
    }

    /// Every output, and all of them together, must fit one reply: a peer cannot make
    /// the other side set aside more than it could ever send back.
    fn out_bound(&mut self, param: &'static str, cap: u32, elem: usize) -> Result<(), DecodeError> {
        let max = MAX_COMMAND_BYTES / 2;
        let bytes = u64::from(cap) * elem as u64;
        if bytes > u64::from(max) {
            return Err(DecodeError::OutputTooLarge { name: self.name, param, bytes, max });
        }
        self.out_total += bytes;
        if self.out_total > u64::from(max) {
            return Err(DecodeError::OutputsTooLarge { name: self.name, bytes: self.out_total, max });
        }
        Ok(())
    }

    /// A string sent with a length argument: the length must say what was sent (or be
    /// negative, "up to the NUL"), so the executor may pass either to GL.
    pub fn check_str_length(&self, param: &'static str, s: Option<&CStr>, length: i64) -> Result<(), DecodeError> {
        match s {
            Some(s) if length >= 0 && length as u64 != s.to_bytes().len() as u64 => {
                Err(DecodeError::StringLength { name: self.name, param, length, actual: s.to_bytes().len() })
            }
            _ => Ok(()),
        }
    }

    /// A string list; its string count must match what the arguments say.
    pub fn str_list(&mut self, param: &'static str, n: u32, expect: Expect) -> Result<StrList<'a>, DecodeError> {
        let bad = DecodeError::BadStringList { name: self.name, param };
        match n {
            NULL_LEN => return Err(DecodeError::UnexpectedNull { name: self.name, param }),
            OFFSET_LEN => return Err(DecodeError::UnexpectedOffset { name: self.name, param }),
            _ => {}
        }
        let raw = self.take(n as usize)?;
        let count = read_u32(raw, 0).ok_or(bad.clone())?;
        self.count_ok(param, count, expect)?;
        let lens_end = (count as usize).checked_mul(4).and_then(|b| b.checked_add(4)).ok_or(bad.clone())?;
        let lens = raw.get(4..lens_end).ok_or(bad.clone())?;
        let data = &raw[lens_end..];
        // Walk once so every later iteration is known good: lengths sum to the data,
        // each string ends in its only NUL.
        let mut pos = 0usize;
        for i in 0..count as usize {
            let len = read_u32(lens, i * 4).ok_or(bad.clone())? as usize;
            let end = pos.checked_add(len).ok_or(bad.clone())?;
            let s = data.get(pos..end).ok_or(bad.clone())?;
            CStr::from_bytes_with_nul(s).map_err(|_| bad.clone())?;
            pos = end;
        }
        if pos != data.len() {
            return Err(bad);
        }
        Ok(StrList::Wire(CheckedStrs { lens, data }))
    }

    /// Every byte of the message must have been accounted for.
    #[inline]
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { name: self.name, extra: self.bytes.len() - self.pos })
        }
    }
}

#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary;
