//! `CommandBuf`: an 8-byte-aligned, growable byte buffer that encoders append whole
//! commands to. It owns the framing rule (header, fixed arguments, payload pieces, each
//! padded to 8 bytes); it does not know what any opcode means or where the bytes go.

use zerocopy::IntoBytes;

use crate::codec::{pad8, CommandHeader, EncodeError, ALIGN, MAX_COMMAND_BYTES};

/// A growable stream of encoded commands whose start is 8-byte aligned.
///
/// Backed by `u64` words so the bytes can be decoded in place: the decoder's typed
/// payload slices need the alignment the wire format promises.
#[derive(Debug, Default, Clone)]
pub struct CommandBuf {
    words: Vec<u64>,
    len: usize,
}

impl CommandBuf {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(bytes: usize) -> Self {
        Self { words: Vec::with_capacity(bytes.div_ceil(ALIGN)), len: 0 }
    }

    /// The encoded bytes; always a multiple of 8 long and 8-byte aligned.
    pub fn as_bytes(&self) -> &[u8] {
        &self.words.as_bytes()[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.words.clear();
        self.len = 0;
    }

    /// Appends bytes received from a transport (part of, or whole, encoded
    /// messages); the decoder checks them like any peer input.
    pub fn extend_raw(&mut self, bytes: &[u8]) {
        let start = self.len;
        let end = start + bytes.len();
        self.words.resize(end.div_ceil(ALIGN), 0);
        self.words.as_mut_bytes()[start..end].copy_from_slice(bytes);
        self.len = end;
    }

    /// Makes room for `n` more received bytes and returns them to be filled in place
    /// (one copy from a transport straight into the decode buffer).
    pub fn extend_zeroed(&mut self, n: usize) -> &mut [u8] {
        let start = self.len;
        let end = start + n;
        self.words.resize(end.div_ceil(ALIGN), 0);
        self.len = end;
        &mut self.words.as_mut_bytes()[start..end]
    }

    /// Starts a message of `fixed.len() + payload_bytes` body bytes (payload pieces
    /// already counted with their padding) behind an 8-byte header whose first word is
    /// `kind` (an opcode). The returned writer must receive exactly `payload_bytes`.
    pub fn begin(
        &mut self,
        kind: u32,
        fixed: &[u8],
        payload_bytes: usize,
    ) -> Result<MessageWriter<'_>, EncodeError> {
        let size = size_of::<CommandHeader>()
            .checked_add(pad8(fixed.len()).ok_or(EncodeError::TooLarge { kind })?)
            .and_then(|s| s.checked_add(payload_bytes))
            .ok_or(EncodeError::TooLarge { kind })?;
        if size > MAX_COMMAND_BYTES as usize || size % ALIGN != 0 {
            return Err(EncodeError::TooLarge { kind });
        }
        let start = self.len;
        let end = start.checked_add(size).ok_or(EncodeError::TooLarge { kind })?;
        self.words.resize(end / ALIGN, 0);
        self.len = end;
        let header = CommandHeader { opcode: kind, size: size as u32 };
        let mut w = MessageWriter { buf: self, start, pos: start, end, kind, done: false };
        w.raw(header.as_bytes())?;
        w.raw(fixed)?;
        w.pad()?;
        Ok(w)
    }
}

/// Writes the payload of one message begun by [`CommandBuf::begin`].
#[derive(Debug)]
pub struct MessageWriter<'b> {
    buf: &'b mut CommandBuf,
    start: usize,
    pos: usize,
    end: usize,
    kind: u32,
    done: bool,
}

impl MessageWriter<'_> {
    /// Appends bytes without padding (a piece of a larger payload).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let end = self.pos.checked_add(bytes.len()).filter(|&e| e <= self.end);
        let Some(end) = end else {
            return Err(EncodeError::SizeMismatch { kind: self.kind });
        };
        self.buf.words.as_mut_bytes()[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Pads the current position to the next multiple of 8 with zero bytes.
    pub fn pad(&mut self) -> Result<(), EncodeError> {
        let to = pad8(self.pos).filter(|&e| e <= self.end);
        let Some(to) = to else {
            return Err(EncodeError::SizeMismatch { kind: self.kind });
        };
        // The words were zeroed by `resize`, but a reused buffer may hold old bytes.
        self.buf.words.as_mut_bytes()[self.pos..to].fill(0);
        self.pos = to;
        Ok(())
    }

    /// Appends one payload piece and pads it.
    pub fn piece(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.raw(bytes)?;
        self.pad()
    }

    /// Checks that the payload filled exactly what `begin` reserved.
    pub fn finish(mut self) -> Result<(), EncodeError> {
        if self.pos == self.end {
            self.done = true;
            Ok(())
        } else {
            Err(EncodeError::SizeMismatch { kind: self.kind })
        }
    }
}

impl Drop for MessageWriter<'_> {
    /// A message that was not finished is taken back out, so the stream never holds a
    /// half-written command.
    fn drop(&mut self) {
        if !self.done {
            self.buf.len = self.start;
            self.buf.words.truncate(self.start / ALIGN);
        }
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
        assert_eq!(
            buf.as_bytes(),
            &[7, 0, 0, 0, 24, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 9, 9, 9, 0, 0, 0, 0, 0]
        );
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
    }

    #[test]
    fn raw_bytes_append_and_stay_aligned() {
        let mut buf = CommandBuf::new();
        buf.extend_raw(&[1, 2, 3]);
        buf.extend_zeroed(2).copy_from_slice(&[4, 5]);
        assert_eq!(buf.as_bytes(), &[1, 2, 3, 4, 5]);
        assert_eq!(buf.as_bytes().as_ptr() as usize % ALIGN, 0);
    }

    #[test]
    fn refuses_messages_over_the_limit() {
        let mut buf = CommandBuf::new();
        assert!(buf.begin(7, &[], MAX_COMMAND_BYTES as usize).is_err());
    }
}
