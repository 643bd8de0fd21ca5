//! Every command and every reply survives encode → decode unchanged, for random
//! arguments and payloads; and corrupted streams decode to an error or a valid command,
//! never a panic or an out-of-bounds read.

use bumpalo::Bump;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use wire::codec::arbitrary::Entropy;
use wire::commands::{decode_command, decode_reply, sample, Opcode};
use wire::CommandBuf;

fn roundtrip_command(op: Opcode, entropy: &[u8]) -> Result<(), TestCaseError> {
    let arena = Bump::new();
    let cmd = sample::command(op, &mut Entropy::new(entropy), &arena);
    let mut buf = CommandBuf::new();
    cmd.encode(&mut buf).map_err(|e| TestCaseError::fail(format!("{op:?}: encode: {e}")))?;
    let (decoded, rest) =
        decode_command(buf.as_bytes()).map_err(|e| TestCaseError::fail(format!("{op:?}: decode: {e}")))?;
    prop_assert_eq!(decoded, cmd);
    prop_assert!(rest.is_empty());
    Ok(())
}

fn roundtrip_reply(op: Opcode, entropy: &[u8]) -> Result<(), TestCaseError> {
    let arena = Bump::new();
    let Some(reply) = sample::reply(op, &mut Entropy::new(entropy), &arena) else {
        prop_assert!(!op.info().sync, "{op:?} is synchronous but has no reply sampler");
        return Ok(());
    };
    prop_assert!(op.info().sync);
    let mut buf = CommandBuf::new();
    reply.encode(&mut buf).map_err(|e| TestCaseError::fail(format!("{op:?}: encode reply: {e}")))?;
    let (decoded, rest) =
        decode_reply(buf.as_bytes()).map_err(|e| TestCaseError::fail(format!("{op:?}: decode reply: {e}")))?;
    prop_assert_eq!(decoded, reply);
    prop_assert!(rest.is_empty());
    Ok(())
}

fn any_opcode() -> impl Strategy<Value = Opcode> {
    (0..Opcode::ALL.len()).prop_map(|i| Opcode::ALL[i])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn any_command_roundtrips(op in any_opcode(), entropy in prop::collection::vec(any::<u8>(), 0..256)) {
        roundtrip_command(op, &entropy)?;
    }

    #[test]
    fn any_reply_roundtrips(op in any_opcode(), entropy in prop::collection::vec(any::<u8>(), 0..256)) {
        roundtrip_reply(op, &entropy)?;
    }
}

/// Proptest picks opcodes at random; this makes sure each one is exercised, with
/// several seeds each, whatever the sampler drew.
#[test]
fn every_opcode_roundtrips() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for op in Opcode::ALL {
        for _ in 0..32 {
            let entropy = prop::collection::vec(any::<u8>(), 0..256).new_tree(&mut runner).unwrap().current();
            roundtrip_command(op, &entropy).unwrap();
            roundtrip_reply(op, &entropy).unwrap();
        }
    }
}

/// A stream of several random commands, for the corruption properties.
fn stream(seed: &[u8], count: usize) -> CommandBuf {
    let arena = Bump::new();
    let mut e = Entropy::new(seed);
    let mut buf = CommandBuf::new();
    for _ in 0..count {
        let op = Opcode::ALL[e.u16() as usize % Opcode::ALL.len()];
        sample::command(op, &mut e, &arena).encode(&mut buf).unwrap();
    }
    buf
}

/// Decodes a whole stream; every step either yields a command or stops with an error.
fn decode_all(bytes: &[u8]) -> usize {
    let mut rest = bytes;
    let mut n = 0;
    while !rest.is_empty() {
        match decode_command(rest) {
            Ok((_, next)) => {
                assert!(next.len() < rest.len(), "decoder made no progress");
                rest = next;
                n += 1;
            }
            Err(_) => break,
        }
    }
    n
}

/// Copies bytes into 8-aligned storage, as a ring or socket buffer would hold them.
fn aligned(bytes: &[u8]) -> Vec<u64> {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    for (i, b) in bytes.iter().enumerate() {
        words[i / 8] |= u64::from(*b) << (8 * (i % 8));
    }
    words
}

fn as_bytes(words: &[u64], len: usize) -> &[u8] {
    &zerocopy::IntoBytes::as_bytes(words)[..len]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn truncated_streams_never_panic(seed in prop::collection::vec(any::<u8>(), 0..512), cut in any::<prop::sample::Index>()) {
        let buf = stream(&seed, 4);
        let full = decode_all(buf.as_bytes());
        prop_assert_eq!(full, 4);
        let len = cut.index(buf.len() + 1);
        let words = aligned(&buf.as_bytes()[..len]);
        prop_assert!(decode_all(as_bytes(&words, len)) <= 4);
    }

    #[test]
    fn bit_flips_never_panic(
        seed in prop::collection::vec(any::<u8>(), 0..512),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..8),
    ) {
        let buf = stream(&seed, 4);
        let mut bytes = buf.as_bytes().to_vec();
        for (at, bit) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        let words = aligned(&bytes);
        decode_all(as_bytes(&words, bytes.len()));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let words = aligned(&bytes);
        decode_all(as_bytes(&words, bytes.len()));
        let _ = decode_reply(as_bytes(&words, bytes.len()));
    }

    /// A valid header in front of random bytes reaches every per-command decoder.
    #[test]
    fn random_bodies_never_panic(op in any_opcode(), body in prop::collection::vec(any::<u8>(), 0..256)) {
        let size = 8 + body.len().div_ceil(8) * 8;
        let mut bytes = Vec::with_capacity(size);
        bytes.extend_from_slice(&(op as u32).to_le_bytes());
        bytes.extend_from_slice(&(size as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes.resize(size, 0);
        let words = aligned(&bytes);
        let _ = decode_command(as_bytes(&words, size));
        let _ = decode_reply(as_bytes(&words, size));
    }
}

mod typed_errors {
    use super::*;
    use wire::commands::{DeleteBuffers, Uniform4fv};
    use wire::DecodeError;

    fn encoded(cmd: impl FnOnce(&mut CommandBuf)) -> Vec<u64> {
        let mut buf = CommandBuf::new();
        cmd(&mut buf);
        aligned(buf.as_bytes())
    }

    #[test]
    fn unknown_opcode() {
        let words = aligned(&[0xff, 0xff, 0, 0, 8, 0, 0, 0]);
        assert_eq!(decode_command(as_bytes(&words, 8)).unwrap_err(), DecodeError::UnknownOpcode(0xffff));
    }

    #[test]
    fn truncated_message() {
        let words = encoded(|b| DeleteBuffers { n: 2, buffers: &[1, 2] }.encode(b).unwrap());
        let len = words.len() * 8;
        assert!(matches!(decode_command(as_bytes(&words, len - 8)), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn size_not_a_multiple_of_eight() {
        let mut words = encoded(|b| DeleteBuffers { n: 2, buffers: &[1, 2] }.encode(b).unwrap());
        words[0] = (words[0] & 0xffff_ffff) | (21u64 << 32);
        assert!(matches!(decode_command(as_bytes(&words, 24)), Err(DecodeError::BadSize { .. })));
    }

    #[test]
    fn oversized_header() {
        let words = aligned(&[1, 0, 0, 0, 0, 0, 0, 0x80]);
        assert!(matches!(decode_command(as_bytes(&words, 8)), Err(DecodeError::TooLarge { .. })));
    }

    #[test]
    fn misaligned_buffer() {
        let words = encoded(|b| DeleteBuffers { n: 1, buffers: &[7] }.encode(b).unwrap());
        let mut shifted = vec![0u8; words.len() * 8 + 1];
        shifted[1..].copy_from_slice(as_bytes(&words, words.len() * 8));
        assert!(matches!(decode_command(&shifted[1..]), Err(DecodeError::MisalignedBuffer { .. })));
    }

    #[test]
    fn count_that_disagrees_with_the_arguments() {
        // glUniform4fv with count 2 must carry 8 floats; claim 1 and send 4.
        let mut words = encoded(|b| Uniform4fv { location: 0, count: 1, value: &[0.0; 4] }.encode(b).unwrap());
        // Fixed part: location (bytes 8..12), count (12..16).
        words[1] = (words[1] & 0xffff_ffff) | (2u64 << 32);
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::CountMismatch { param: "value", expected: 8, got: 4, .. }), "{err}");
    }

    #[test]
    fn negative_count_may_carry_no_data() {
        let mut words = encoded(|b| DeleteBuffers { n: 1, buffers: &[7] }.encode(b).unwrap());
        words[1] = (words[1] & !0xffff_ffff) | 0xffff_ffff; // n = -1, one element still sent
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::CountMismatch { expected: 0, got: 1, .. }), "{err}");
    }

    #[test]
    fn encoder_refuses_a_slice_that_disagrees_with_its_count() {
        let mut buf = CommandBuf::new();
        let err = DeleteBuffers { n: 3, buffers: &[1] }.encode(&mut buf).unwrap_err();
        assert!(matches!(err, wire::codec::EncodeError::CountMismatch { expected: 3, got: 1, .. }));
        assert!(buf.is_empty());
    }

    #[test]
    fn trailing_bytes_inside_a_message() {
        let mut words = encoded(|b| DeleteBuffers { n: 1, buffers: &[7] }.encode(b).unwrap());
        words.push(0);
        let size = (words.len() * 8) as u64;
        words[0] = (words[0] & 0xffff_ffff) | (size << 32);
        let err = decode_command(as_bytes(&words, size as usize)).unwrap_err();
        assert!(matches!(err, DecodeError::TrailingBytes { extra: 8, .. }), "{err}");
    }
}

mod canonical_and_bounded {
    use super::*;
    use wire::codec::{reply_body, OutRef};
    use wire::commands::{BufferData, DebugMessageInsert, GetDebugMessageLog, ObjectLabel, ReadnPixels};
    use wire::DecodeError;

    fn encode(f: impl FnOnce(&mut CommandBuf)) -> Vec<u64> {
        let mut buf = CommandBuf::new();
        f(&mut buf);
        aligned(buf.as_bytes())
    }

    #[test]
    fn non_zero_payload_padding_is_refused() {
        let mut words =
            encode(|b| ObjectLabel { identifier: 1, name: 2, length: -1, label: Some(c"abc") }.encode(b).unwrap());
        // The label "abc\0" is followed by 4 padding bytes in the last word.
        let last = words.len() - 1;
        words[last] |= 0xff << 56;
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::NonCanonical { .. }), "{err}");
    }

    #[test]
    fn non_zero_fixed_padding_is_refused() {
        // glBufferData's fixed part: target u32, 4 padding bytes, size i64, …
        let mut words = encode(|b| {
            BufferData { target: 0x8892, size: 4, data: Some(&[1, 2, 3, 4]), usage: 0x88E4 }.encode(b).unwrap()
        });
        words[1] |= 1 << 32; // the first padding byte, right after `target`
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::NonCanonical { .. }), "{err}");
    }

    #[test]
    fn unused_offset_field_must_be_zero() {
        let mut words = encode(|b| {
            ReadnPixels {
                x: 0,
                y: 0,
                width: 1,
                height: 1,
                format: 0x1908,
                type_: 0x1401,
                buf_size: 4,
                data: OutRef::Reply(4),
            }
            .encode(b)
            .unwrap()
        });
        // Seven u32 arguments and the u32 capacity fill bytes 8..40; the offset follows.
        words[5] = 0x1000;
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::NonCanonical { .. }), "{err}");
    }

    #[test]
    fn string_length_must_match_the_string() {
        let words = encode(|b| {
            DebugMessageInsert { source: 0, type_: 0, id: 0, severity: 0, length: 1 << 30, buf: c"a" }
                .encode(b)
                .unwrap()
        });
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::StringLength { length: 1073741824, actual: 1, .. }), "{err}");
        let ok = encode(|b| {
            DebugMessageInsert { source: 0, type_: 0, id: 0, severity: 0, length: 1, buf: c"a" }.encode(b).unwrap()
        });
        assert!(decode_command(as_bytes(&ok, ok.len() * 8)).is_ok());
    }

    #[test]
    fn readback_capacity_must_match_buf_size() {
        let mut buf = CommandBuf::new();
        let cmd = ReadnPixels {
            x: 0,
            y: 0,
            width: 1,
            height: 1,
            format: 0x1908,
            type_: 0x1401,
            buf_size: 4 << 20,
            data: OutRef::Reply(1),
        };
        assert!(cmd.encode(&mut buf).is_err(), "the encoder refuses it");
        // Forge it: encode a consistent one, then raise buf_size on the wire.
        let mut words = encode(|b| ReadnPixels { buf_size: 1, ..cmd }.encode(b).unwrap());
        words[4] = (words[4] & 0xffff_ffff) | ((4u64 << 20) << 32); // buf_size at bytes 36..40
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::CountMismatch { param: "data", .. }), "{err}");
    }

    #[test]
    fn all_outputs_together_must_fit_one_reply() {
        let cmd = GetDebugMessageLog {
            count: (1 << 27) - 1,
            buf_size: (1 << 29) - 1,
            sources: Some((1 << 27) - 1),
            types: Some((1 << 27) - 1),
            ids: Some((1 << 27) - 1),
            severities: Some((1 << 27) - 1),
            lengths: Some((1 << 27) - 1),
            message_log: Some((1 << 29) - 1),
        };
        let words = encode(|b| cmd.encode(b).unwrap());
        let err = decode_command(as_bytes(&words, words.len() * 8)).unwrap_err();
        assert!(matches!(err, DecodeError::OutputsTooLarge { .. }), "{err}");
    }

    #[test]
    fn a_reply_must_answer_the_command_asked() {
        let words = encode(|b| wire::commands::GetErrorReply { ret: 0 }.encode(b).unwrap());
        let bytes = as_bytes(&words, words.len() * 8);
        assert!(reply_body(bytes, Opcode::GetError as u32).is_ok());
        let err = reply_body(bytes, Opcode::IsBuffer as u32).unwrap_err();
        assert!(matches!(err, DecodeError::WrongReply { .. }), "{err}");
    }
}
