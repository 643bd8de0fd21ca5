//! Reading and checking a trace: the header (another format or protocol version is
//! refused naming both), each record's length against the file and the limit, its
//! kind and fixed part, the framing of every command in a stream, and records against
//! each other (see `Checker`). It owns no connection; `replay` acts on what it reads.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use wire::commands::Opcode;
use wire::control::ControlKind;
use wire::CommandBuf;

use super::ReplayError;
use crate::record::{self, ControlReplyHead, Kind, TraceHeader, HEADER_FIXED, MAX_VERSION_TEXT, RECORD_HEADER};

/// Largest surface side a `Frame` record may name (the server's own limit is lower).
const MAX_SIDE: u32 = 1 << 15;

/// Where a record is in its file, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    pub kind: Kind,
    pub id: u32,
    /// 1 for the first record.
    pub index: u64,
    /// Byte of the file where its header starts.
    pub offset: u64,
}

/// Reads a trace record by record, every length checked against the file.
#[derive(Debug)]
pub struct TraceReader {
    file: BufReader<File>,
    path: String,
    header: TraceHeader,
    size: u64,
    offset: u64,
    index: u64,
}

impl TraceReader {
    /// Opens `path` and checks its header: a trace of another format or protocol
    /// version is refused, naming both versions.
    pub fn open(path: &Path) -> Result<Self, ReplayError> {
        let shown = path.display().to_string();
        let io = |source| ReplayError::Io { path: shown.clone(), source };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut file = BufReader::with_capacity(1 << 20, file);
        let mut fixed = [0u8; HEADER_FIXED];
        let got = read_up_to(&mut file, &mut fixed).map_err(io)?;
        if got < record::MAGIC.len() || fixed[..8] != record::MAGIC {
            return Err(ReplayError::NotATrace { path: shown });
        }
        if got < HEADER_FIXED {
            let (need, have) = (HEADER_FIXED as u64, got as u64);
            return Err(ReplayError::Truncated { path: shown, what: "the header", offset: 0, need, have });
        }
        let word = |at: usize| u32::from_le_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
        let (format, protocol, text_len) = (word(8), word(12), word(16) as usize);
        let mut text = vec![0u8; text_len.min(MAX_VERSION_TEXT)];
        let text_got = read_up_to(&mut file, &mut text).map_err(io)?;
        let recorded_by = String::from_utf8_lossy(&text[..text_got]).into_owned();
        if format != record::TRACE_VERSION || protocol != wire::protocol::PROTOCOL_VERSION {
            let ours = env!("CARGO_PKG_VERSION");
            let recorded_by = if recorded_by.is_empty() { "?".to_owned() } else { recorded_by };
            return Err(ReplayError::Version { path: shown, format, protocol, recorded_by, ours });
        }
        if text_len > MAX_VERSION_TEXT || word(20) != 0 {
            let what = format!("a version text of {text_len} bytes, or a reserved word not zero");
            return Err(ReplayError::BadHeader { path: shown, what });
        }
        let header_len = TraceHeader::len_with(text_len) as u64;
        if size < header_len || text_got < text_len {
            let (need, have) = (header_len, size);
            return Err(ReplayError::Truncated { path: shown, what: "the header", offset: 0, need, have });
        }
        let mut pad = [0u8; 8];
        let pad_len = header_len as usize - HEADER_FIXED - text_len;
        file.read_exact(&mut pad[..pad_len]).map_err(io)?;
        let header = TraceHeader { trace_version: format, protocol_version: protocol, glwire_version: recorded_by };
        Ok(TraceReader { file, path: shown, header, size, offset: header_len, index: 0 })
    }

    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// The file's name, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the next record starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next record into `buf` (8-byte aligned, as the decoders need); `None`
    /// at the end of the file.
    pub fn next_record(&mut self, buf: &mut CommandBuf) -> Result<Option<RecordInfo>, ReplayError> {
        if self.offset == self.size {
            return Ok(None);
        }
        let offset = self.offset;
        let index = self.index + 1;
        let have = self.size - offset;
        if have < RECORD_HEADER as u64 {
            let path = self.path.clone();
            return Err(ReplayError::Truncated {
                path,
                what: "a record header",
                offset,
                need: RECORD_HEADER as u64,
                have,
            });
        }
        let mut head = [0u8; RECORD_HEADER];
        self.read_into(&mut head)?;
        let h = record::RecordHeader::parse(&head);
        let corrupt = |what: String| ReplayError::Corrupt { path: self.path.clone(), index, offset, what };
        let kind = Kind::from_u32(h.kind)
            .ok_or_else(|| corrupt(format!("unknown record kind {} (this glwire knows kinds 1 to 7)", h.kind)))?;
        if h.len > record::MAX_RECORD_BYTES {
            return Err(corrupt(format!(
                "a {} record of {} bytes (at most {})",
                kind.name(),
                h.len,
                record::MAX_RECORD_BYTES
            )));
        }
        let have = have - RECORD_HEADER as u64;
        if h.len > have {
            let path = self.path.clone();
            return Err(ReplayError::Truncated { path, what: kind.name(), offset, need: h.len, have });
        }
        buf.clear();
        // Bounded by the file's size (checked above) and MAX_RECORD_BYTES.
        let len = h.len as usize;
        let space = buf.try_extend_for_fill(len).ok_or_else(|| corrupt(format!("no memory for {len} bytes")))?;
        self.read_into(space)?;
        self.offset += RECORD_HEADER as u64 + h.len;
        self.index = index;
        Ok(Some(RecordInfo { kind, id: h.id, index, offset }))
    }

    fn read_into(&mut self, out: &mut [u8]) -> Result<(), ReplayError> {
        self.file.read_exact(out).map_err(|source| ReplayError::Io { path: self.path.clone(), source })
    }

    pub(super) fn corrupt(&self, rec: &RecordInfo, what: String) -> ReplayError {
        ReplayError::Corrupt { path: self.path.clone(), index: rec.index, offset: rec.offset, what }
    }
}

/// Reads until `out` is full or the file ends; how many bytes it got.
fn read_up_to(r: &mut impl Read, out: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < out.len() {
        match r.read(&mut out[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// What a whole trace holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    pub frames: u64,
    pub sessions: u64,
    pub contexts: u64,
    /// Bytes of command streams.
    pub stream_bytes: u64,
}

/// Reads and checks a whole trace without replaying it: its header and what it holds.
pub fn scan(path: &Path) -> Result<(TraceHeader, Summary), ReplayError> {
    let mut reader = TraceReader::open(path)?;
    let mut checker = Checker::default();
    let mut buf = CommandBuf::new();
    let mut summary = Summary::default();
    while let Some(rec) = reader.next_record(&mut buf)? {
        checker.check(&rec, buf.as_bytes()).map_err(|what| reader.corrupt(&rec, what))?;
        summary.records += 1;
        match rec.kind {
            Kind::Frame => summary.frames += 1,
            Kind::Stream | Kind::StreamSync => summary.stream_bytes += buf.len() as u64,
            _ => {}
        }
    }
    checker.end().map_err(|what| ReplayError::Corrupt {
        path: reader.path.clone(),
        index: summary.records,
        offset: reader.offset,
        what,
    })?;
    summary.sessions = checker.sessions.len() as u64;
    summary.contexts = checker.contexts.len() as u64;
    Ok((reader.header.clone(), summary))
}

/// The checks of records against each other and of their fixed parts (see the module
/// doc); the replayer relies on them.
#[derive(Debug, Default)]
pub(super) struct Checker {
    sessions: HashSet<u32>,
    /// Per context number: its session, and whether a kept reply is due.
    contexts: HashMap<u32, (u32, bool)>,
    /// A control request waiting for its reply record: session and kind.
    pending: Option<(u32, u32)>,
}

impl Checker {
    pub(super) fn check(&mut self, rec: &RecordInfo, bytes: &[u8]) -> Result<(), String> {
        if let Some((session, kind)) = self.pending.take() {
            let answers = rec.kind == Kind::ControlReply
                && rec.id == session
                && ControlReplyHead::split(bytes).is_some_and(|(h, _)| h.kind == kind);
            if !answers {
                return Err(format!("a {} where the reply to control request {kind} was due", rec.kind.name()));
            }
            return Ok(());
        }
        match rec.kind {
            Kind::Control => {
                let (kind, _) = record::split_control(bytes).ok_or("a control request without its kind")?;
                match ControlKind::from_u32(kind) {
                    None => return Err(format!("unknown control request kind {kind}")),
                    Some(k @ (ControlKind::AttachRing | ControlKind::SubmitCommands | ControlKind::ReadReply)) => {
                        return Err(format!("a {} request, which traces never hold", k.name()));
                    }
                    Some(_) => {}
                }
                if rec.id == 0 {
                    return Err("a control request of session 0".into());
                }
                self.sessions.insert(rec.id);
                self.pending = Some((rec.id, kind));
            }
            Kind::ControlReply => return Err("a control reply without its request".into()),
            Kind::Context => {
                let (session, _) = record::parse_context(bytes).ok_or("a context record of the wrong size")?;
                if !self.sessions.contains(&session) {
                    return Err(format!("context {} of session {session}, which made no request before", rec.id));
                }
                if self.contexts.insert(rec.id, (session, false)).is_some() {
                    return Err(format!("context {} introduced twice", rec.id));
                }
            }
            Kind::Stream | Kind::StreamSync | Kind::Reply | Kind::Frame => {
                let (_, reply_due) =
                    self.contexts.get_mut(&rec.id).ok_or_else(|| format!("context {}, never introduced", rec.id))?;
                let due = std::mem::take(reply_due);
                match rec.kind {
                    Kind::Stream => {
                        check_stream(bytes, false)?;
                    }
                    Kind::StreamSync => *reply_due = record::keeps_reply(check_stream(bytes, true)?),
                    Kind::Reply if !due => return Err("a reply no synchronous stream asked for".into()),
                    Kind::Reply => check_reply(bytes)?,
                    _ => {
                        let (w, h) = record::parse_frame(bytes).ok_or("a frame record of the wrong size")?;
                        if w > MAX_SIDE || h > MAX_SIDE {
                            return Err(format!("a frame of {w}x{h}"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// At the end of the trace.
    pub(super) fn end(&self) -> Result<(), String> {
        match self.pending {
            Some((_, kind)) => Err(format!("the trace ends before the reply to control request {kind}")),
            None => Ok(()),
        }
    }
}

/// Checks a stream's framing and its synchronous commands: none in an asynchronous
/// stream, exactly the last in a synchronous one. Returns the last command's opcode.
fn check_stream(bytes: &[u8], sync: bool) -> Result<u32, String> {
    let mut walk = record::Commands::new(bytes);
    let mut last: Option<(Opcode, bool)> = None;
    for c in walk.by_ref() {
        let op =
            Opcode::from_u32(c.opcode).ok_or_else(|| format!("unknown opcode {:#x} at byte {}", c.opcode, c.start))?;
        if let Some((prev, true)) = last {
            return Err(format!("{} waits for a reply in the middle of a stream", prev.info().name));
        }
        last = Some((op, op.info().sync));
    }
    if walk.position() != bytes.len() {
        return Err(format!("the command at byte {} of a stream is not framed", walk.position()));
    }
    match last {
        None => Err("an empty stream".into()),
        Some((op, is_sync)) if is_sync != sync => Err(format!(
            "a {} stream ending with {}, which {}",
            if sync { "synchronous" } else { "asynchronous" },
            op.info().name,
            if is_sync { "waits for a reply" } else { "has no reply" }
        )),
        Some((op, _)) => Ok(op as u32),
    }
}

fn check_reply(bytes: &[u8]) -> Result<(), String> {
    let mut walk = record::Commands::new(bytes);
    match (walk.next(), walk.next()) {
        (Some(r), None) if r.end == bytes.len() => Ok(()),
        _ => Err("a reply that is not one whole message".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::tests::encode;
    use wire::commands::{BindBuffer, Command};

    #[test]
    fn streams_must_keep_their_synchronous_command_last() {
        let finish = Command::Finish(wire::commands::Finish {});
        let bind = Command::BindBuffer(BindBuffer { target: 0x8892, buffer: 1 });
        assert!(check_stream(encode(&[bind, finish]).as_bytes(), true).is_ok());
        assert!(check_stream(encode(&[bind]).as_bytes(), false).is_ok());
        assert!(check_stream(encode(&[bind]).as_bytes(), true).is_err(), "would wait forever");
        assert!(check_stream(encode(&[finish, bind]).as_bytes(), false).is_err(), "a stray reply");
        assert!(check_stream(encode(&[finish, finish]).as_bytes(), true).is_err(), "two replies");
        assert!(check_stream(&[], false).is_err());
        let mut cut = encode(&[bind, finish]).as_bytes().to_vec();
        cut.truncate(cut.len() - 8);
        assert!(check_stream(&cut, true).is_err());
    }

    #[test]
    fn records_must_name_what_came_before() {
        let rec = |kind, id| RecordInfo { kind, id, index: 1, offset: 0 };
        let mut c = Checker::default();
        assert!(c.check(&rec(Kind::Stream, 1), &[]).is_err(), "no context 1 yet");
        assert!(c.check(&rec(Kind::ControlReply, 1), &[0; 16]).is_err(), "no request");
        let mut request = ControlKind::CreateContext.as_u32().to_le_bytes().to_vec();
        request.extend_from_slice(&[0; 4]);
        c.check(&rec(Kind::Control, 1), &request).unwrap();
        assert!(c.check(&rec(Kind::Frame, 1), &[0; 8]).is_err(), "the reply is due first");
        let mut c = Checker::default();
        c.check(&rec(Kind::Control, 1), &request).unwrap();
        let mut reply = ControlKind::CreateContext.as_u32().to_le_bytes().to_vec();
        reply.extend_from_slice(&[0; 12]);
        c.check(&rec(Kind::ControlReply, 1), &reply).unwrap();
        let mut context = 1u32.to_le_bytes().to_vec();
        context.extend_from_slice(&[0; 12]);
        c.check(&rec(Kind::Context, 4), &context).unwrap();
        assert!(c.check(&rec(Kind::Context, 4), &context).is_err(), "twice");
        c.check(&rec(Kind::Frame, 4), &[64, 0, 0, 0, 64, 0, 0, 0]).unwrap();
        assert!(c.check(&rec(Kind::Frame, 4), &[0, 0, 1, 0, 64, 0, 0, 0]).is_err(), "65536 wide");
        assert!(c.check(&rec(Kind::Reply, 4), &[0; 8]).is_err(), "no synchronous stream asked");
        assert!(c.end().is_ok());
    }
}
