//! Where encoders write: the `Sink` trait (one message at a time, its size known up
//! front), `MessageWriter` (the framing rule every message follows: header, fixed
//! arguments, payload pieces, each padded to 8), and `CommandBuf`, the 8-byte-aligned
//! growable buffer that is the usual sink. A transport can be a sink too and take a
//! large message straight from the program's memory. It does not know what any opcode
//! means or where the bytes go.

use zerocopy::IntoBytes;

use crate::codec::{pad8, CommandHeader, EncodeError, ALIGN, MAX_COMMAND_BYTES};

/// A destination for encoded messages.
pub trait Sink {
    /// Opens a message of exactly `size` bytes (a multiple of 8).
    fn open(&mut self, size: usize) -> Result<(), EncodeError>;
    /// Appends bytes to the open message.
    fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError>;
    /// Appends `n` zero bytes to the open message.
    fn zeros(&mut self, n: usize) -> Result<(), EncodeError>;
    /// Closes the open message; `complete` is false when the encoder stopped part-way,
    /// and the sink must then not deliver a valid-looking message.
    fn close(&mut self, complete: bool);
}

/// Starts a message of `fixed.len() + payload_bytes` body bytes (payload pieces already
/// counted with their padding) behind an 8-byte header whose first word is `kind`. The
/// returned writer must receive exactly `payload_bytes`.
// Always inlined: in each generated encoder the header and fixed part then have known
// sizes and are stored directly; out of line, every message paid two memcpy calls.
#[inline(always)]
pub fn begin<'s, S: Sink + ?Sized>(
    sink: &'s mut S,
    kind: u32,
    fixed: &[u8],
    payload_bytes: usize,
) -> Result<MessageWriter<'s, S>, EncodeError> {
    let size = size_of::<CommandHeader>()
        .checked_add(pad8(fixed.len()).ok_or(EncodeError::TooLarge { kind })?)
        .and_then(|s| s.checked_add(payload_bytes))
        .ok_or(EncodeError::TooLarge { kind })?;
    if size > MAX_COMMAND_BYTES as usize || size % ALIGN != 0 {
        return Err(EncodeError::TooLarge { kind });
    }
    sink.open(size)?;
    let mut w = MessageWriter { sink, written: 0, size, kind, done: false };
    let header = CommandHeader { opcode: kind, size: size as u32 };
    w.raw(header.as_bytes())?;
    w.raw(fixed)?;
    w.pad()?;
    Ok(w)
}

/// Writes the payload of one message begun by [`begin`], keeping count.
#[derive(Debug)]
pub struct MessageWriter<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    written: usize,
    size: usize,
    kind: u32,
    done: bool,
}

impl<S: Sink + ?Sized> MessageWriter<'_, S> {
    /// Appends bytes without padding (a piece of a larger payload).
    #[inline(always)]
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        match self.written.checked_add(bytes.len()) {
            Some(end) if end <= self.size => {
                self.sink.put(bytes)?;
                self.written = end;
                Ok(())
            }
            _ => Err(EncodeError::SizeMismatch { kind: self.kind }),
        }
    }

    /// Pads to the next multiple of 8 with zero bytes.
    #[inline]
    pub fn pad(&mut self) -> Result<(), EncodeError> {
        match pad8(self.written) {
            Some(to) if to <= self.size => {
                self.sink.zeros(to - self.written)?;
                self.written = to;
                Ok(())
            }
            _ => Err(EncodeError::SizeMismatch { kind: self.kind }),
        }
    }

    /// Appends one payload piece and pads it.
    #[inline]
    pub fn piece(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.raw(bytes)?;
        self.pad()
    }

    /// Checks that the payload filled exactly what `begin` announced.
    #[inline]
    pub fn finish(mut self) -> Result<(), EncodeError> {
        if self.written != self.size {
            return Err(EncodeError::SizeMismatch { kind: self.kind });
        }
        self.done = true;
        self.sink.close(true);
        Ok(())
    }
}

impl<S: Sink + ?Sized> Drop for MessageWriter<'_, S> {
    /// A message that was not finished is abandoned, so no stream holds a
    /// half-written command that looks whole.
    fn drop(&mut self) {
        if !self.done {
            self.sink.close(false);
        }
    }
}

/// Memory a cleared [`CommandBuf`] keeps for reuse.
pub const KEEP_BYTES: usize = 16 << 20;

/// A growable stream of encoded commands whose start is 8-byte aligned.
///
/// Backed by `u64` words so the bytes can be decoded in place: the decoder's typed
/// payload slices need the alignment the wire format promises.
#[derive(Debug, Default, Clone)]
pub struct CommandBuf {
    words: Vec<u64>,
    len: usize,
    /// The open message: where it started and where the next byte goes.
    open: Option<(usize, usize)>,
}

impl CommandBuf {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(bytes: usize) -> Self {
        Self { words: Vec::with_capacity(bytes.div_ceil(ALIGN)), len: 0, open: None }
    }

    /// The encoded bytes; 8-byte aligned, and a multiple of 8 long when only whole
    /// messages were written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.words.as_bytes()[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the buffer, keeping its memory (up to [`KEEP_BYTES`]) for the next
    /// messages: refilling it then costs one copy, not a zeroing pass and a copy.
    pub fn clear(&mut self) {
        self.len = 0;
        self.open = None;
        if self.words.len() * ALIGN > KEEP_BYTES {
            self.words.truncate(KEEP_BYTES / ALIGN);
            self.words.shrink_to(KEEP_BYTES / ALIGN);
        }
    }

    /// Makes the buffer `end` bytes long; new bytes are unspecified (callers write all
    /// of them).
    #[inline]
    fn grow_to(&mut self, end: usize) {
        let words = end.div_ceil(ALIGN);
        if self.words.len() < words {
            self.words.resize(words, 0);
        }
        self.len = end;
    }

    /// Starts a message here (see [`begin`]).
    pub fn begin(
        &mut self,
        kind: u32,
        fixed: &[u8],
        payload_bytes: usize,
    ) -> Result<MessageWriter<'_, Self>, EncodeError> {
        begin(self, kind, fixed, payload_bytes)
    }

    /// Appends bytes received from a transport (part of, or whole, encoded
    /// messages); the decoder checks them like any peer input.
    pub fn extend_raw(&mut self, bytes: &[u8]) {
        self.extend_for_fill(bytes.len()).copy_from_slice(bytes);
    }

    /// Makes room for `n` more bytes and returns them to be filled in place (one copy
    /// from a transport straight into the decode buffer). Their contents are
    /// unspecified until the caller writes them.
    pub fn extend_for_fill(&mut self, n: usize) -> &mut [u8] {
        let start = self.len;
        self.grow_to(start + n);
        &mut self.words.as_mut_bytes()[start..start + n]
    }

    /// Like [`CommandBuf::extend_for_fill`], but `None` instead of aborting the
    /// process when memory runs out (for sizes a peer chose).
    pub fn try_extend_for_fill(&mut self, n: usize) -> Option<&mut [u8]> {
        let start = self.len;
        let words = start.checked_add(n)?.div_ceil(ALIGN);
        if let Some(more) = words.checked_sub(self.words.len()) {
            self.words.try_reserve_exact(more).ok()?;
        }
        Some(self.extend_for_fill(n))
    }
}

impl Sink for CommandBuf {
    #[inline]
    fn open(&mut self, size: usize) -> Result<(), EncodeError> {
        let start = self.len;
        let end = start.checked_add(size).ok_or(EncodeError::TooLarge { kind: 0 })?;
        self.grow_to(end);
        self.open = Some((start, start));
        Ok(())
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let Some((start, pos)) = self.open else { return Err(EncodeError::SizeMismatch { kind: 0 }) };
        let end = pos + bytes.len();
        self.words.as_mut_bytes()[pos..end].copy_from_slice(bytes);
        self.open = Some((start, end));
        Ok(())
    }

    #[inline]
    fn zeros(&mut self, n: usize) -> Result<(), EncodeError> {
        let Some((start, pos)) = self.open else { return Err(EncodeError::SizeMismatch { kind: 0 }) };
        // A reused buffer holds old bytes: padding is written, never assumed.
        self.words.as_mut_bytes()[pos..pos + n].fill(0);
        self.open = Some((start, pos + n));
        Ok(())
    }

    #[inline]
    fn close(&mut self, complete: bool) {
        if let (false, Some((start, _))) = (complete, self.open) {
            self.len = start;
        }
        self.open = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_pads_a_message() {
        let mut buf = CommandBuf::new();
        let mut w = buf.begin(7, &[1, 2, 3, 4], 8).unwrap();
        w.piece(&[9, 9, 9]).unwrap();
        w.finish().unwrap();
        assert_eq!(buf.as_bytes(), &[7, 0, 0, 0, 24, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 9, 9, 9, 0, 0, 0, 0, 0]);
        assert_eq!(buf.as_bytes().as_ptr() as usize % ALIGN, 0);
    }

    #[test]
    fn short_payload_is_an_error() {
        let mut buf = CommandBuf::new();
        let w = buf.begin(7, &[], 8).unwrap();
        assert_eq!(w.finish(), Err(EncodeError::SizeMismatch { kind: 7 }));
        assert!(buf.is_empty(), "a failed message is taken back out");
    }

    #[test]
    fn overlong_payload_is_an_error() {
        let mut buf = CommandBuf::new();
        let mut w = buf.begin(7, &[], 8).unwrap();
        assert_eq!(w.piece(&[0; 9]), Err(EncodeError::SizeMismatch { kind: 7 }));
        drop(w);
        assert!(buf.is_empty());
    }

    #[test]
    fn a_reused_buffer_pads_with_zeros() {
        let mut buf = CommandBuf::new();
        buf.extend_raw(&[0xff; 16]);
        buf.clear();
        let mut w = buf.begin(1, &[], 8).unwrap();
        w.piece(&[5]).unwrap();
        w.finish().unwrap();
        assert_eq!(&buf.as_bytes()[8..], &[5, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn raw_bytes_append_and_stay_aligned() {
        let mut buf = CommandBuf::new();
        buf.extend_raw(&[1, 2, 3]);
        buf.extend_for_fill(2).copy_from_slice(&[4, 5]);
        assert_eq!(buf.as_bytes(), &[1, 2, 3, 4, 5]);
        assert_eq!(buf.as_bytes().as_ptr() as usize % ALIGN, 0);
    }

    #[test]
    fn refuses_messages_over_the_limit() {
        let mut buf = CommandBuf::new();
        assert!(buf.begin(7, &[], MAX_COMMAND_BYTES as usize).is_err());
    }
}
