//! Seed files the recordings (`fuzz/record`) cannot give, and a look at seed files.
//!
//! `seeds generate CORPUS_DIR` writes, beside the recorded seeds:
//! - decode_validate: one stream per opcode with arrays (`wire`'s sampler; opcodes of
//!   scalars only sixteen to a stream), so every decoder and validator rule has a
//!   starting point;
//! - control: every request kind with a valid payload after a hello, welcomes and
//!   refusals with every reply payload, `AttachRing` regions, reply streams of every
//!   synchronous command;
//! - frame_ring: rings as `FrameRingHeader::new` (the producer's own builder) lays
//!   them out, and hand-made geometries, each with a script of peer writes, consumer
//!   takes and producer publishes;
//! - ring_indices: rings with messages whole, fragmented and corrupted.
//!
//! `seeds inspect FILE…` prints how many commands of each decode_validate seed decode
//! before its first error (a recorded stream should decode whole).
//!
//! Run: `cargo run --manifest-path fuzz/Cargo.toml --example seeds -- generate fuzz/corpus`.

use std::fs;
use std::path::Path;

use bumpalo::Bump;
use wire::codec::arbitrary::Entropy;
use wire::commands::{decode_command, sample, Opcode, Sizing};
use wire::control::{
    AttachRingRequest, Attrib, ConfigRecord, ControlHeader, ControlKind, ControlReplyHeader, ControlStatus,
    CreateContextRequest, CreateImageRequest, CreateSurfaceRequest, HandlePayload, MakeCurrentRequest,
    QueryConfigsReply, StatsReply, CONFIG_ATTRIBS,
};
use wire::frame::{FrameRingHeader, PixelFormat, FRAME_RING_HEADER_SIZE};
use wire::protocol::{Hello, Limits, Refusal, RefusalReason, Welcome, FEATURES_KNOWN, PROTOCOL_VERSION};
use wire::CommandBuf;
use zerocopy::IntoBytes;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate") if args.len() == 2 => generate(Path::new(&args[1])),
        Some("inspect") => inspect(&args[1..]),
        _ => {
            eprintln!("usage: seeds generate CORPUS_DIR | seeds inspect FILE...");
            std::process::exit(2);
        }
    }
}

/// Deterministic filler bytes (xorshift), different per `seed`.
fn entropy(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create the corpus directory");
    fs::write(dir.join(name), bytes).expect("write a seed");
}

fn generate(corpus: &Path) {
    decode_validate(&corpus.join("decode_validate"));
    control(&corpus.join("control"), &corpus.join("control_session"));
    frame_ring(&corpus.join("frame_ring"));
    ring_indices(&corpus.join("ring_indices"));
}

fn decode_validate(dir: &Path) {
    let mut scalars = CommandBuf::new();
    let mut in_group = 0;
    let mut group = 0;
    for (i, op) in Opcode::ALL.into_iter().enumerate() {
        let arena = Bump::new();
        let bytes = entropy(i as u64 + 1, 256);
        let cmd = sample::command(op, &mut Entropy::new(&bytes), &arena);
        if op.info().sizing == Sizing::Scalar {
            cmd.encode(&mut scalars).expect("a sampled command encodes");
            in_group += 1;
            if in_group == 16 {
                write(dir, &format!("gen-scalars-{group:02}"), scalars.as_bytes());
                scalars.clear();
                in_group = 0;
                group += 1;
            }
            continue;
        }
        let mut buf = CommandBuf::new();
        cmd.encode(&mut buf).expect("a sampled command encodes");
        write(dir, &format!("gen-op-{}", op.info().name), buf.as_bytes());
    }
    if in_group > 0 {
        write(dir, &format!("gen-scalars-{group:02}"), scalars.as_bytes());
    }
}

fn request(out: &mut Vec<u8>, kind: ControlKind, id: u64, payload: &[u8], fds: u32) {
    out.extend(ControlHeader::encode(kind, id, payload, fds).expect("a request encodes"));
}

fn reply(out: &mut Vec<u8>, id: u64, status: ControlStatus, payload: &[u8], fds: u32) {
    out.extend(ControlReplyHeader::encode(id, status, payload, fds).expect("a reply encodes"));
}

fn configs() -> Vec<ConfigRecord> {
    (1..=3)
        .map(|id| {
            let mut c = ConfigRecord::default();
            for (i, &attr) in CONFIG_ATTRIBS.iter().enumerate() {
                c.set(attr, (i as i32) * 8);
            }
            c.set(0x3028, id); // EGL_CONFIG_ID
            c
        })
        .collect()
}

/// `session` gets the client transcripts without their mode byte (`control_session`).
fn control(dir: &Path, session: &Path) {
    // mode 0: a client's whole session.
    let mut s = vec![0u8];
    s.extend(Hello::new(FEATURES_KNOWN, 4242, "seed-client").to_bytes(&[]).expect("hello"));
    let attribs = [Attrib { key: 0x3098, value: 3 }, Attrib { key: 0x30FB, value: 0 }];
    let ring = AttachRingRequest {
        context: 1,
        ring_bytes: 16384,
        cmd_offset: 0,
        cmd_len: 4352,
        reply_offset: 8192,
        reply_len: 4352,
    };
    let image =
        CreateImageRequest { context: 1, target: 0x30B1, buffer: 7, level: 0, zoffset: 0, preserved: 0, _pad: 0 };
    let mut commands = 1u64.to_le_bytes().to_vec();
    let arena = Bump::new();
    let mut stream = CommandBuf::new();
    for op in [Opcode::ClearColor, Opcode::Clear, Opcode::GetError] {
        sample::command(op, &mut Entropy::new(&entropy(op as u64, 64)), &arena).encode(&mut stream).expect("encodes");
    }
    commands.extend_from_slice(stream.as_bytes());
    let h1 = HandlePayload { handle: 1 };
    let requests: Vec<(ControlKind, Vec<u8>, u32)> = vec![
        (ControlKind::Open, vec![], 0),
        (ControlKind::QueryConfigs, vec![], 0),
        (ControlKind::CreateContext, CreateContextRequest::encode(0, 1, &attribs).expect("encodes"), 0),
        (ControlKind::CreateSurface, CreateSurfaceRequest::new(64, 64, 1).as_bytes().to_vec(), 0),
        (ControlKind::CreateWindowSurface, CreateSurfaceRequest::new(320, 240, 1).as_bytes().to_vec(), 0),
        (
            ControlKind::MakeCurrent,
            MakeCurrentRequest { context: 1, draw_surface: 1, read_surface: 1 }.as_bytes().to_vec(),
            0,
        ),
        (ControlKind::AttachRing, ring.as_bytes().to_vec(), 1),
        (ControlKind::SubmitCommands, commands, 0),
        (ControlKind::SurfaceFrames, h1.as_bytes().to_vec(), 0),
        (ControlKind::CreateImage, image.as_bytes().to_vec(), 0),
        (ControlKind::DestroyImage, h1.as_bytes().to_vec(), 0),
        (ControlKind::QueryStats, vec![], 0),
        (ControlKind::Ping, vec![], 0),
        (ControlKind::DestroySurface, h1.as_bytes().to_vec(), 0),
        (ControlKind::DestroyContext, h1.as_bytes().to_vec(), 0),
        (ControlKind::ReadReply, vec![], 0),
        (ControlKind::WaitFence, 5u64.to_le_bytes().to_vec(), 0),
        (ControlKind::Close, vec![], 0),
    ];
    for (i, (kind, payload, fds)) in requests.iter().enumerate() {
        request(&mut s, *kind, i as u64 + 1, payload, *fds);
    }
    write(dir, "gen-c2s-session", &s);
    write(session, "gen-session", &s[1..]);
    // One request per seed, too (a hello with a token, another version).
    for (kind, payload, fds) in &requests {
        let mut one = vec![0u8];
        one.extend(Hello::new(0, 1, "x").to_bytes(b"token").expect("hello"));
        request(&mut one, *kind, 9, payload, *fds);
        write(dir, &format!("gen-c2s-{}", kind.name()), &one);
        // For the live server: after a context and a surface exist, with the
        // features that let rings attach.
        let mut live = Hello::new(FEATURES_KNOWN, 1, "x").to_bytes(&[]).expect("hello");
        request(&mut live, ControlKind::CreateContext, 1, &requests[2].1, 0);
        request(&mut live, ControlKind::CreateSurface, 2, &requests[3].1, 0);
        request(&mut live, *kind, 3, payload, *fds);
        write(session, &format!("gen-{}", kind.name()), &live);
    }
    let mut other = Hello::new(0, 1, "old");
    other.version = PROTOCOL_VERSION + 1;
    write(dir, "gen-c2s-version", &[&[0u8][..], other.as_bytes()].concat());
    write(session, "gen-version", other.as_bytes());
    write(session, "gen-short-hello", &Hello::new(0, 1, "short").as_bytes()[..50]);

    // mode 1: the server's side.
    let limits = Limits {
        max_shm_bytes: 256 << 20,
        max_contexts: 16,
        max_objects: 65536,
        max_in_flight: 64,
        max_command_bytes: 1 << 30,
    };
    let mut s = vec![1u8];
    s.extend(Welcome::new(FEATURES_KNOWN, 7, limits).to_bytes());
    reply(&mut s, 1, ControlStatus::Ok, &[], 0);
    reply(&mut s, 2, ControlStatus::Ok, &QueryConfigsReply::encode(&configs()).expect("encodes"), 0);
    reply(&mut s, 3, ControlStatus::Ok, h1.as_bytes(), 0);
    reply(&mut s, 4, ControlStatus::Ok, h1.as_bytes(), 1);
    let stats = StatsReply {
        commands: 3,
        bytes_in: 96,
        bytes_out: 16,
        round_trips: 1,
        contexts: 1,
        surfaces: 1,
        objects: 2,
        shm_bytes: 12288,
        ..StatsReply::default()
    };
    reply(&mut s, 5, ControlStatus::Ok, stats.as_bytes(), 0);
    reply(&mut s, 6, ControlStatus::NotSupported, b"ReadReply is not supported", 0);
    reply(&mut s, 7, ControlStatus::InvalidArgument, b"bad", 0);
    write(dir, "gen-s2c-session", &s);
    for (i, refusal) in [
        Refusal::new(RefusalReason::VersionMismatch { server: PROTOCOL_VERSION, client: 1 }, "upgrade"),
        Refusal::new(RefusalReason::BadToken, "the auth token does not match"),
        Refusal::new(RefusalReason::Busy, ""),
        Refusal::new(RefusalReason::Unknown(77), "é"),
    ]
    .iter()
    .enumerate()
    {
        write(dir, &format!("gen-s2c-refusal-{i}"), &[&[1u8][..], &refusal.to_bytes()].concat());
    }

    // mode 2: payloads alone; AttachRing with the memfd's size in front.
    let mut p = vec![2u8];
    p.extend(16384u64.to_le_bytes());
    p.extend(ring.as_bytes());
    write(dir, "gen-payload-attach-ring", &p);
    write(dir, "gen-payload-configs", &[&[2u8][..], &QueryConfigsReply::encode(&configs()).expect("encodes")].concat());
    write(
        dir,
        "gen-payload-context",
        &[&[2u8][..], &CreateContextRequest::encode(3, 1, &attribs).expect("encodes")].concat(),
    );

    // mode 3: reply streams, eight synchronous commands to a seed.
    let mut replies = CommandBuf::new();
    let mut n = 0;
    for (i, op) in Opcode::ALL.into_iter().enumerate() {
        let arena = Bump::new();
        let bytes = entropy(1000 + i as u64, 256);
        let Some(r) = sample::reply(op, &mut Entropy::new(&bytes), &arena) else { continue };
        r.encode(&mut replies).expect("a sampled reply encodes");
        n += 1;
        if n % 8 == 0 {
            write(dir, &format!("gen-replies-{:02}", n / 8), &[&[3u8][..], replies.as_bytes()].concat());
            replies.clear();
        }
    }
    if !replies.is_empty() {
        write(dir, &format!("gen-replies-{:02}", n / 8 + 1), &[&[3u8][..], replies.as_bytes()].concat());
    }
}

/// frame_ring ops (see the target): each an op byte then its arguments.
#[derive(Clone, Copy)]
enum Op {
    Token(u64),
    Status(u32),
    Slot { slot: u8, owner: u32, seq: u64 },
    Scribble { offset: u32, bytes: &'static [u8] },
    Publish { slot: u8, seq: u16 },
    TryFrame { release: bool },
    RepeatLast,
    WaitFrame,
    ReadStatus,
    Resume,
    Acquire { publish: bool, fill: u8 },
    ReaderGone,
    AttachNewer(u64),
    Retire,
}

fn ops(script: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in script {
        match *op {
            Op::Token(t) => {
                out.push(0);
                out.extend(t.to_le_bytes());
            }
            Op::Status(s) => {
                out.push(1);
                out.extend(s.to_le_bytes());
            }
            Op::Slot { slot, owner, seq } => {
                out.push(2);
                out.push(slot);
                out.extend(owner.to_le_bytes());
                out.extend(seq.to_le_bytes());
            }
            Op::Scribble { offset, bytes } => {
                out.push(3);
                out.extend(offset.to_le_bytes());
                out.push(bytes.len() as u8);
                out.extend(bytes);
            }
            Op::Publish { slot, seq } => {
                out.push(4);
                out.push(slot);
                out.extend(seq.to_le_bytes());
            }
            Op::TryFrame { release } => out.extend([5, u8::from(!release)]),
            Op::RepeatLast => out.extend([6, 0]),
            Op::WaitFrame => out.extend([7, 0]),
            Op::ReadStatus => out.push(8),
            Op::Resume => out.push(9),
            Op::Acquire { publish, fill } => out.extend([10, u8::from(!publish), fill]),
            Op::ReaderGone => out.push(11),
            Op::AttachNewer(g) => {
                out.push(12);
                out.extend(g.to_le_bytes());
            }
            Op::Retire => out.extend([13, 0]),
        }
    }
    out
}

fn frame_seed(memfd_len: u64, flags: u8, header: &FrameRingHeader, script: &[Op]) -> Vec<u8> {
    let mut out = (memfd_len as u32).to_le_bytes().to_vec();
    out.push(flags);
    out.extend(header.as_bytes());
    out.extend(ops(script));
    out
}

fn frame_ring(dir: &Path) {
    let flow = [
        Op::Publish { slot: 0, seq: 1 },
        Op::TryFrame { release: true },
        Op::Publish { slot: 1, seq: 2 },
        Op::TryFrame { release: false },
        Op::RepeatLast,
        Op::Resume,
        Op::Acquire { publish: true, fill: 0x5A },
        Op::WaitFrame,
        Op::Acquire { publish: false, fill: 1 },
        Op::TryFrame { release: true },
        Op::ReadStatus,
        Op::Retire,
        Op::WaitFrame,
    ];
    let hostile = [
        Op::Resume,
        Op::Acquire { publish: true, fill: 7 },
        Op::Token(u64::MAX),
        Op::TryFrame { release: true },
        Op::Slot { slot: 0, owner: 3, seq: u64::MAX },
        Op::Acquire { publish: true, fill: 8 },
        Op::ReaderGone,
        Op::Acquire { publish: true, fill: 9 },
        Op::Slot { slot: 1, owner: 77, seq: 3 },
        Op::Status(9),
        Op::TryFrame { release: true },
        Op::WaitFrame,
        Op::Scribble { offset: 8, bytes: &[0xFF; 16] },
        Op::AttachNewer(0),
        Op::Status(0),
        Op::Token(0),
        Op::RepeatLast,
    ];
    let sizes = [
        (1, 1, 1, PixelFormat::Bgra8888),
        (16, 16, 3, PixelFormat::Bgra8888),
        (64, 32, 2, PixelFormat::Rgba8888),
        (100, 7, 8, PixelFormat::Xrgb8888),
    ];
    for (i, &(w, h, slots, format)) in sizes.iter().enumerate() {
        let (header, g) = FrameRingHeader::new(w, h, format, slots, i as u64 + 1).expect("a valid ring");
        write(dir, &format!("gen-built-{w}x{h}x{slots}-flow"), &frame_seed(g.ring_bytes, 0, &header, &flow));
        write(dir, &format!("gen-built-{w}x{h}x{slots}-hostile"), &frame_seed(g.ring_bytes, 0, &header, &hostile));
    }
    // Tight hand-made geometry: slots right after the header, 64-byte aligned, a
    // padded stride; and the same memfd unsealed, too short, and of another version.
    let (mut header, _) = FrameRingHeader::new(10, 10, PixelFormat::Bgra8888, 4, 3).expect("a valid ring");
    header.stride = 48;
    header.slot_offset = FRAME_RING_HEADER_SIZE as u64;
    header.slot_bytes = 512;
    let len = header.slot_offset + 4 * header.slot_bytes;
    write(dir, "gen-tight-flow", &frame_seed(len, 0, &header, &flow));
    write(dir, "gen-tight-unsealed", &frame_seed(len, 1, &header, &flow));
    write(dir, "gen-tight-short", &frame_seed(len - 64, 0, &header, &flow));
    let mut old = header;
    old.version += 1;
    write(dir, "gen-tight-version", &frame_seed(len, 0, &old, &flow));
}

/// ring_indices ops (see the target).
fn ring_indices(dir: &Path) {
    let send = |len: u16, seed: u8| [&[5u8][..], &len.to_le_bytes(), &[seed]].concat();
    let recv = || vec![3u8];
    let mut whole = vec![0x00u8]; // 4 KiB data at offset 0
    for i in 0..6u16 {
        whole.extend(send(100 + 700 * i, i as u8));
        whole.extend(recv());
    }
    write(dir, "gen-whole", &whole);
    let mut frag = vec![0x03u8]; // 8 KiB data at offset 64
    frag.extend(send(5000, 1));
    frag.extend(recv());
    frag.extend(send(2047, 2));
    frag.extend(send(2047, 3));
    frag.extend(recv());
    frag.extend(recv());
    frag.extend(send(9000, 4)); // more than fits: fails part-way
    frag.extend(recv());
    frag.extend(recv());
    write(dir, "gen-fragments", &frag);
    let mut hostile = vec![0x00u8];
    hostile.extend(send(64, 1));
    hostile.extend([0u8]);
    hostile.extend(4096u64.to_le_bytes()); // head past what was written
    hostile.extend(recv());
    hostile.extend([1u8]);
    hostile.extend(8u64.to_le_bytes()); // tail the producer never saw
    hostile.extend(send(64, 2));
    hostile.extend([2u8, 0, 0, 8]);
    hostile.extend([0xFF, 0xFF, 0xFF, 0x7F, 2, 0, 0, 0]); // a huge FIRST record
    hostile.extend(recv());
    hostile.extend([6u8, 0x00, 0x18, 0x10, 0x00]); // a 6 KiB message abandoned after 16 bytes
    hostile.extend(recv());
    hostile.extend([7u8, 16, 0]);
    hostile.extend(recv());
    write(dir, "gen-hostile", &hostile);
    // A region that does not start empty, and one the peer names badly.
    write(dir, "gen-not-empty", &[&[0x40u8][..], &8u64.to_le_bytes(), &0u64.to_le_bytes(), &recv()].concat());
    write(dir, "gen-bad-spec", &[&[0x80u8][..], &40u16.to_le_bytes(), &4352u16.to_le_bytes()].concat());
}

fn inspect(files: &[String]) {
    for f in files {
        let data = fs::read(f).expect("read a seed");
        let mut buf = CommandBuf::with_capacity(data.len());
        buf.extend_raw(&data);
        let mut rest = buf.as_bytes();
        let mut n = 0;
        let end = loop {
            if rest.is_empty() {
                break "whole".to_string();
            }
            match decode_command(rest) {
                Ok((_, next)) => {
                    rest = next;
                    n += 1;
                }
                Err(e) => break format!("stops: {e}"),
            }
        };
        println!("{f}: {n} commands, {end}");
    }
}
