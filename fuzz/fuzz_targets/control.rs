//! The handshake and the control plane's byte formats (`wire::protocol`,
//! `wire::control`), read the way the server and the client read them off the socket:
//! the fixed prefix first to learn the length, then the whole message, then the
//! payload by the request's kind.
//!
//! Input: one mode byte, then a transcript.
//! - mode 0: client → server: a hello (with its token), then control requests.
//! - mode 1: server → client: a welcome or refusal, then control replies.
//! - mode 2: one payload given to every payload parser (and `AttachRingRequest`'s
//!   region check against a memfd length taken from the front of it).
//! - mode 3: the reply payload of a `SubmitCommands` (or a reply ring's message): the
//!   replies to synchronous commands, decoded as the client decodes them.
//!
//! Checked besides "no panic": a length the prefix announces is the length the parse
//! accepts; whatever parses and has an encoder re-encodes to the same bytes (or, where
//! the encoder normalises, to bytes that parse to the same value); accepted ring
//! regions really are inside the ring and apart; accepted configs have unique
//! positive ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::control::{
    AttachRingRequest, ControlHeader, ControlKind, ControlReplyHeader, CreateContextRequest, CreateImageRequest,
    CreateSurfaceRequest, HandlePayload, ListSessionsReply, MakeCurrentRequest, QueryConfigsReply, StatsReply,
    CONTROL_HEADER_SIZE, CONTROL_REPLY_HEADER_SIZE, MAX_ATTRIBS, MAX_CONFIGS, RING_REGION_ALIGN,
};
use wire::protocol::{
    negotiate_features, peek_version, Hello, ServerReply, FEATURES_KNOWN, HELLO_SIZE, REFUSAL_HEADER_SIZE,
};
use zerocopy::IntoBytes;

/// Most messages read from one transcript.
const MAX_MESSAGES: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => client_transcript(rest),
        1 => server_transcript(rest),
        3 => reply_stream(rest),
        _ => {
            every_request_payload(rest);
            every_reply_payload(rest);
            attach_ring(rest);
        }
    }
});

fn client_transcript(bytes: &[u8]) {
    // The server reads magic + version first, then the fixed hello, then the token.
    let _ = peek_version(bytes);
    let Some(fixed) = bytes.get(..HELLO_SIZE) else {
        let _ = Hello::parse(bytes);
        return;
    };
    let Ok(total) = Hello::needed_len(fixed) else {
        assert!(Hello::parse(bytes).is_err(), "a hello whose prefix is refused parses");
        return;
    };
    let Some(message) = bytes.get(..total) else {
        assert!(Hello::parse(bytes).is_err(), "a truncated hello parses");
        return;
    };
    let (hello, token) = Hello::parse(message).expect("a hello of the announced length parses");
    assert_eq!(token.len(), hello.token_len as usize);
    assert_eq!(hello.to_bytes(token).expect("a parsed hello encodes"), message, "hello re-encodes differently");
    assert!(hello.program_name().len() <= hello.program_name.len());
    let features = negotiate_features(hello.features, u64::MAX);
    assert_eq!(features & !FEATURES_KNOWN, 0);

    let mut rest = &bytes[total..];
    for _ in 0..MAX_MESSAGES {
        if rest.len() < CONTROL_HEADER_SIZE {
            let _ = ControlHeader::parse(rest);
            return;
        }
        let Ok(header) = ControlHeader::parse_prefix(rest) else { return };
        let len = CONTROL_HEADER_SIZE + header.payload_len as usize;
        let Some(message) = rest.get(..len) else {
            assert!(ControlHeader::parse(rest).is_err(), "a truncated request parses");
            return;
        };
        let (parsed, payload) = ControlHeader::parse(message).expect("a request of the announced length parses");
        assert_eq!(parsed, header);
        if let (Ok(kind), 0) = (header.kind(), header.flags) {
            let again = ControlHeader::encode(kind, header.request_id, payload, header.num_fds).expect("encodes");
            assert_eq!(again, message, "{kind:?} request re-encodes differently");
        }
        if let Ok(kind) = header.kind() {
            request_payload(kind, payload);
        } else {
            every_request_payload(payload);
        }
        rest = &rest[len..];
    }
}

fn server_transcript(bytes: &[u8]) {
    let Some(prefix) = bytes.get(..REFUSAL_HEADER_SIZE) else {
        let _ = ServerReply::parse(bytes);
        return;
    };
    let Ok(total) = ServerReply::needed_len(prefix) else {
        assert!(ServerReply::parse(bytes).is_err(), "a reply whose prefix is refused parses");
        return;
    };
    let Some(message) = bytes.get(..total) else {
        assert!(ServerReply::parse(bytes).is_err(), "a truncated server reply parses");
        return;
    };
    let reply = ServerReply::parse(message).expect("a server reply of the announced length parses");
    match &reply {
        ServerReply::Welcome(w) => assert_eq!(w.to_bytes(), message, "welcome re-encodes differently"),
        ServerReply::Refused(r) => {
            // The text is read lossily; valid UTF-8 survives the trip whole.
            if std::str::from_utf8(&message[REFUSAL_HEADER_SIZE..]).is_ok() {
                let again = ServerReply::parse(&r.to_bytes()).expect("a re-encoded refusal parses");
                assert_eq!(again, reply, "refusal re-encodes to another value");
            }
        }
    }
    let _ = reply.clone().into_result();

    let mut rest = &bytes[total..];
    for _ in 0..MAX_MESSAGES {
        if rest.len() < CONTROL_REPLY_HEADER_SIZE {
            let _ = ControlReplyHeader::parse(rest);
            return;
        }
        let Ok(header) = ControlReplyHeader::parse_prefix(rest) else { return };
        let len = CONTROL_REPLY_HEADER_SIZE + header.payload_len as usize;
        let Some(message) = rest.get(..len) else {
            assert!(ControlReplyHeader::parse(rest).is_err(), "a truncated reply parses");
            return;
        };
        let (parsed, payload) = ControlReplyHeader::parse(message).expect("a reply of the announced length parses");
        assert_eq!(parsed, header);
        if let Ok(status) = header.status() {
            let again =
                ControlReplyHeader::encode(header.request_id, status, payload, header.num_fds).expect("encodes");
            assert_eq!(again, message, "{status:?} reply re-encodes differently");
        }
        every_reply_payload(payload);
        rest = &rest[len..];
    }
}

/// Replies to commands, one after another: each decoded reply re-encodes to the bytes
/// it came from.
fn reply_stream(bytes: &[u8]) {
    let mut buf = wire::CommandBuf::with_capacity(bytes.len());
    buf.extend_raw(bytes);
    let mut rest = buf.as_bytes();
    let mut again = wire::CommandBuf::new();
    for _ in 0..MAX_MESSAGES {
        let Ok((reply, next)) = wire::commands::decode_reply(rest) else { return };
        let consumed = &rest[..rest.len() - next.len()];
        again.clear();
        reply.encode(&mut again).expect("a decoded reply encodes");
        assert!(again.as_bytes() == consumed, "a reply re-encodes differently");
        rest = next;
    }
}

/// The payload of a request of `kind`, parsed as the server's handler parses it.
fn request_payload(kind: ControlKind, payload: &[u8]) {
    match kind {
        ControlKind::CreateContext => create_context(payload),
        ControlKind::CreateSurface | ControlKind::CreateWindowSurface => create_surface(payload),
        ControlKind::CreateImage => create_image(payload),
        ControlKind::MakeCurrent => make_current(payload),
        ControlKind::AttachRing => attach_ring(payload),
        ControlKind::DestroyContext
        | ControlKind::DestroySurface
        | ControlKind::DestroyImage
        | ControlKind::SurfaceFrames => handle(payload),
        ControlKind::SubmitCommands => {
            // `[context id u64][encoded commands]`: the stream is decode_validate's; a
            // light pass here keeps the two kinds of seed useful to each other.
            if let Some((_, commands)) = payload.split_first_chunk::<8>() {
                let mut buf = wire::CommandBuf::with_capacity(commands.len());
                buf.extend_raw(commands);
                let mut rest = buf.as_bytes();
                while let Ok((_, next)) = wire::commands::decode_command(rest) {
                    if next.len() == rest.len() {
                        break;
                    }
                    rest = next;
                }
            }
        }
        _ => {}
    }
}

fn every_request_payload(payload: &[u8]) {
    create_context(payload);
    create_surface(payload);
    create_image(payload);
    make_current(payload);
    handle(payload);
    if let Ok(r) = AttachRingRequest::parse(payload) {
        assert_eq!(r.as_bytes(), payload);
    }
}

/// Replies: handles, configs, statistics.
fn every_reply_payload(payload: &[u8]) {
    handle(payload);
    if let Ok(s) = StatsReply::parse(payload) {
        assert_eq!(s.as_bytes(), payload);
    }
    if let Ok((header, records)) = ListSessionsReply::parse(payload) {
        assert!(records.len() <= header.total as usize, "more records than sessions accepted");
        let again = ListSessionsReply::encode(header.total, header.server_rss_bytes, &records).expect("encodes");
        assert_eq!(again, payload, "ListSessions reply re-encodes differently");
    }
    if let Ok(configs) = QueryConfigsReply::parse(payload) {
        assert!(configs.len() <= MAX_CONFIGS as usize);
        let mut ids: Vec<i32> = configs.iter().map(|c| c.config_id()).collect();
        assert!(ids.iter().all(|&id| id > 0), "a config id ≤ 0 accepted");
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), configs.len(), "duplicate config ids accepted");
        for c in &configs {
            assert_eq!(c.get(0x3028), Some(c.config_id()));
        }
        let again = QueryConfigsReply::encode(&configs).expect("accepted configs encode");
        assert_eq!(again, payload, "QueryConfigs reply re-encodes differently");
    }
}

fn create_context(payload: &[u8]) {
    if let Ok((fixed, attribs)) = CreateContextRequest::parse(payload) {
        assert!(attribs.len() <= MAX_ATTRIBS as usize);
        assert_eq!(attribs.len(), fixed.attrib_count as usize);
        let again = CreateContextRequest::encode(fixed.share_context, fixed.config_id, &attribs).expect("encodes");
        assert_eq!(again, payload, "CreateContext re-encodes differently");
    }
}

fn create_surface(payload: &[u8]) {
    if let Ok(r) = CreateSurfaceRequest::parse(payload) {
        assert_eq!(r._pad, 0);
        assert_eq!(CreateSurfaceRequest::new(r.width, r.height, r.config_id).as_bytes(), payload);
    }
}

fn create_image(payload: &[u8]) {
    if let Ok(r) = CreateImageRequest::parse(payload) {
        assert_eq!(r._pad, 0);
        assert_eq!(r.as_bytes(), payload);
    }
}

fn make_current(payload: &[u8]) {
    if let Ok(r) = MakeCurrentRequest::parse(payload) {
        assert_eq!(r.as_bytes(), payload);
    }
}

fn handle(payload: &[u8]) {
    if let Ok(h) = HandlePayload::parse(payload) {
        assert_eq!(h.as_bytes(), payload);
    }
}

/// `AttachRing`: the first 8 bytes stand for the memfd's real size (`fstat`), when
/// the payload is longer than a request.
fn attach_ring(payload: &[u8]) {
    let (memfd_len, request) = match payload.split_first_chunk::<8>() {
        Some((len, rest)) if rest.len() == size_of::<AttachRingRequest>() => (u64::from_le_bytes(*len), rest),
        _ => (1 << 24, payload),
    };
    let Ok(r) = AttachRingRequest::parse(request) else { return };
    assert_eq!(r.as_bytes(), request);
    if r.validate(memfd_len).is_ok() {
        assert!(r.ring_bytes <= memfd_len);
        for (offset, len) in [(r.cmd_offset, r.cmd_len), (r.reply_offset, r.reply_len)] {
            assert!(len > 0 && offset % RING_REGION_ALIGN == 0 && len % RING_REGION_ALIGN == 0);
            let end = offset.checked_add(len).expect("an accepted region does not overflow");
            assert!(end <= r.ring_bytes, "an accepted region leaves the ring");
        }
        let apart = r.cmd_offset + r.cmd_len <= r.reply_offset || r.reply_offset + r.reply_len <= r.cmd_offset;
        assert!(apart, "accepted regions overlap");
    }
}
