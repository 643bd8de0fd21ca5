//! The control plane in one process: a `DeviceHost` on a thread with its socket in a
//! temporary directory, real clients (`client::Session`, or raw `Channel`s for broken
//! ones) talking to it. Every wait is bounded: client calls have deadlines, the host is
//! joined with a timeout.

use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use client::session::LOCAL_FEATURES;
use client::{Session, SessionError};
use server::{DeviceHost, SessionLimits};
use transport::channel::Channel;
use transport::liveness::Liveness;
use transport::ring::{self, RingRegion};
use wire::commands::{decode_reply, Command, Finish, Reply};
use wire::control::{AttachRingRequest, ControlKind, ControlStatus, CreateContextRequest, HandlePayload, StatsReply};
use wire::protocol::{
    HandshakeError, Hello, RefusalReason, ServerReply, FEATURE_EVENTFD_DOORBELL, FEATURE_FD_PASSING, FEATURE_SHM_RINGS,
    HELLO_SIZE, PROTOCOL_VERSION, REFUSAL_HEADER_SIZE,
};
use wire::CommandBuf;

mod common;

use common::{config, start, start_with, TestServer, SECOND};

fn status(header: &wire::control::ControlReplyHeader) -> ControlStatus {
    header.status().unwrap()
}

fn create_context(session: &mut Session) -> u64 {
    let payload = CreateContextRequest::encode(0, 0, &[]).unwrap();
    let reply = session.call(ControlKind::CreateContext, &payload).unwrap();
    HandlePayload::parse(&reply).unwrap().handle
}

fn stats(session: &mut Session) -> StatsReply {
    StatsReply::parse(&session.call(ControlKind::QueryStats, &[]).unwrap()).unwrap()
}

fn finish() -> CommandBuf {
    let mut buf = CommandBuf::new();
    Command::Finish(Finish {}).encode(&mut buf).unwrap();
    buf
}

fn is_finish_reply(bytes: &[u8]) -> bool {
    let mut aligned = CommandBuf::new();
    aligned.extend_raw(bytes);
    matches!(decode_reply(aligned.as_bytes()), Ok((Reply::Finish(_), rest)) if rest.is_empty())
}

/// Reads a whole server reply to a hello from a raw channel.
fn read_server_reply(channel: &mut Channel) -> ServerReply {
    let deadline = Instant::now() + 5 * SECOND;
    let mut bytes = vec![0u8; REFUSAL_HEADER_SIZE];
    channel.recv_exact(&mut bytes, "reply", deadline).unwrap();
    let total = ServerReply::needed_len(&bytes).unwrap();
    bytes.resize(total, 0);
    channel.recv_exact(&mut bytes[REFUSAL_HEADER_SIZE..], "reply", deadline).unwrap();
    ServerReply::parse(&bytes).unwrap()
}

fn refusal_reason(err: &SessionError) -> Option<RefusalReason> {
    match err {
        SessionError::Handshake(HandshakeError::Refused { reason, .. }) => Some(*reason),
        _ => None,
    }
}

#[test]
fn handshake_welcome_carries_features_session_and_limits() {
    let limits = SessionLimits {
        max_contexts: 3,
        max_shm_bytes: 1 << 20,
        max_objects: 100,
        max_in_flight: 7,
        max_gl_bytes: 1 << 20,
        max_server_bytes: u64::MAX,
    };
    let server = start_with(|c, _| c.limits = limits);
    let mut a = server.connect();
    let b = server.connect();
    let w = *a.welcome();
    assert_eq!(w.version, PROTOCOL_VERSION);
    assert_eq!(w.features, FEATURE_SHM_RINGS | FEATURE_FD_PASSING | FEATURE_EVENTFD_DOORBELL);
    assert_eq!(a.features(), LOCAL_FEATURES & w.features);
    assert!(w.session_id >= 1);
    assert_ne!(w.session_id, b.welcome().session_id);
    assert_eq!(w.limits, limits.to_wire());
    assert_eq!(w.limits.max_command_bytes, wire::codec::MAX_COMMAND_BYTES);
    let reply = a.call(ControlKind::Open, &[]).unwrap();
    assert_eq!(HandlePayload::parse(&reply).unwrap().handle, w.session_id);
    drop((a, b));
    assert!(server.stop() < SECOND);
}

#[test]
fn version_mismatch_is_refused_naming_both_versions() {
    let server = start();
    let mut hello = Hello::new(LOCAL_FEATURES, std::process::id(), "from-the-future");
    hello.version = PROTOCOL_VERSION + 998;
    let channel = Channel::connect_unix(&server.path).unwrap();
    let err = Session::handshake(channel, hello, &[]).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        refusal_reason(&err),
        Some(RefusalReason::VersionMismatch { server: PROTOCOL_VERSION, client: PROTOCOL_VERSION + 998 }),
        "{text}"
    );
    assert!(text.contains(&format!("protocol {}", PROTOCOL_VERSION + 998)), "{text}");
    assert!(text.contains(&format!("server speaks {PROTOCOL_VERSION}")), "{text}");
    // The server keeps serving.
    server.connect().call(ControlKind::Ping, &[]).unwrap();
}

#[test]
fn bad_magic_is_refused() {
    let server = start();
    let mut channel = Channel::connect_unix(&server.path).unwrap();
    let mut bytes = Hello::new(0, 1, "x").to_bytes(&[]).unwrap();
    bytes[..8].copy_from_slice(b"NOTGLWIR");
    assert_eq!(bytes.len(), HELLO_SIZE);
    channel.send(&bytes, &[]).unwrap();
    match read_server_reply(&mut channel) {
        ServerReply::Refused(r) => {
            assert_eq!(r.reason, RefusalReason::BadMagic);
            assert!(r.message.contains("magic"), "{}", r.message);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn garbage_hello_is_refused_as_malformed() {
    let server = start();
    let mut channel = Channel::connect_unix(&server.path).unwrap();
    let mut hello = Hello::new(0, 1, "x");
    hello._pad0 = 7;
    channel.send(&hello.to_bytes(&[]).unwrap(), &[]).unwrap();
    match read_server_reply(&mut channel) {
        ServerReply::Refused(r) => assert_eq!(r.reason, RefusalReason::MalformedHello),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn surfaces_are_created_bound_and_destroyed() {
    let server = start();
    let mut s = server.connect();
    let context = create_context(&mut s);
    let request = wire::control::CreateSurfaceRequest::new(32, 16, 0);
    let reply = s.call(ControlKind::CreateSurface, zerocopy::IntoBytes::as_bytes(&request)).unwrap();
    let surface = HandlePayload::parse(&reply).unwrap().handle;
    let bind = |s: &mut Session, surface| {
        let r = wire::control::MakeCurrentRequest { context, draw_surface: surface, read_surface: surface };
        let (header, text, _) = s.control(ControlKind::MakeCurrent, zerocopy::IntoBytes::as_bytes(&r), &[]).unwrap();
        (status(&header), String::from_utf8_lossy(&text).into_owned())
    };
    assert_eq!(bind(&mut s, surface).0, ControlStatus::Ok);
    assert_eq!(bind(&mut s, 0).0, ControlStatus::Ok);
    assert_eq!(bind(&mut s, 12345).0, ControlStatus::NotFound);
    assert_eq!(stats(&mut s).surfaces, 1);
    let too_big = wire::control::CreateSurfaceRequest::new(1 << 20, 1, 0);
    let (header, _, _) = s.control(ControlKind::CreateSurface, zerocopy::IntoBytes::as_bytes(&too_big), &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::InvalidArgument);
    let handle = HandlePayload { handle: surface };
    s.call(ControlKind::DestroySurface, zerocopy::IntoBytes::as_bytes(&handle)).unwrap();
    assert_eq!(stats(&mut s).surfaces, 0);
    assert!(s.call(ControlKind::DestroySurface, zerocopy::IntoBytes::as_bytes(&handle)).is_err());
}

/// EGLImage requests with a context of another session or none, a GL object that is no
/// texture, or an image that does not exist are refused with the matching status and
/// the session goes on; a truncated payload is a protocol error.
#[test]
fn bad_image_requests_are_refused() {
    let server = start();
    let mut s = server.connect();
    let context = create_context(&mut s);
    let request = |context| wire::control::CreateImageRequest {
        context,
        target: 0x30B1, // EGL_GL_TEXTURE_2D_KHR
        buffer: 4242,   // never created
        level: 0,
        zoffset: 0,
        preserved: 0,
        _pad: 0,
    };
    let ask = |s: &mut Session, kind, bytes: &[u8]| status(&s.control(kind, bytes, &[]).unwrap().0);
    let image = ControlKind::CreateImage;
    assert_eq!(ask(&mut s, image, zerocopy::IntoBytes::as_bytes(&request(999))), ControlStatus::NotFound);
    // No such texture (or, on a server without host GL, no GL at all): refused.
    assert_eq!(ask(&mut s, image, zerocopy::IntoBytes::as_bytes(&request(context))), ControlStatus::InvalidArgument);
    let none = HandlePayload { handle: 77 };
    assert_eq!(ask(&mut s, ControlKind::DestroyImage, zerocopy::IntoBytes::as_bytes(&none)), ControlStatus::NotFound);
    assert_eq!(stats(&mut s).contexts, 1, "the session goes on");
    // A malformed payload is a protocol error: it ends the session.
    let whole = request(context);
    assert_eq!(ask(&mut s, image, &zerocopy::IntoBytes::as_bytes(&whole)[..20]), ControlStatus::ProtocolError);
}

#[test]
fn unknown_and_unsupported_kinds_get_not_supported() {
    let server = start();
    let mut s = server.connect();
    let (header, payload, fds) = s.control_raw(999, b"whatever", &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::NotSupported);
    assert!(String::from_utf8_lossy(&payload).contains("999"));
    assert!(fds.is_empty());
    for kind in [ControlKind::ReadReply, ControlKind::WaitFence] {
        let (header, payload, _) = s.control(kind, &[], &[]).unwrap();
        assert_eq!(status(&header), ControlStatus::NotSupported, "{}", kind.name());
        assert!(String::from_utf8_lossy(&payload).contains(kind.name()));
    }
    // Reserved flags must be zero: refused explicitly, and the session goes on.
    let mut raw = wire::control::ControlHeader::encode(ControlKind::Ping, 500, &[], 0).unwrap();
    raw[4] = 1; // the flags word follows the kind word
    s.channel_mut().send(&raw, &[]).unwrap();
    let (header, text, _) = s.channel_mut().recv_control_reply(Instant::now() + 5 * SECOND).unwrap();
    assert_eq!(header.request_id, 500);
    assert_eq!(status(&header), ControlStatus::InvalidArgument);
    assert!(String::from_utf8_lossy(&text).contains("flags"));
    // Still serving after all of them.
    assert_eq!(s.call(ControlKind::Ping, b"hi").unwrap(), b"hi");
}

#[test]
fn context_lifecycle_limits_stats_ping_and_close() {
    let server = start_with(|c, _| c.limits.max_contexts = 2);
    let mut s = server.connect();
    assert_eq!(create_context(&mut s), 1);
    assert_eq!(create_context(&mut s), 2);
    let payload = CreateContextRequest::encode(0, 0, &[]).unwrap();
    let (header, text, _) = s.control(ControlKind::CreateContext, &payload, &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::LimitExceeded);
    assert!(String::from_utf8_lossy(&text).contains("limit is 2"));
    assert_eq!(stats(&mut s).contexts, 2);

    // DestroyContext's payload is a HandlePayload: one little-endian u64.
    s.call(ControlKind::DestroyContext, &1u64.to_le_bytes()).unwrap();
    let (header, _, _) = s.control(ControlKind::DestroyContext, &1u64.to_le_bytes(), &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::NotFound);
    // Ids are not reused; room is.
    assert_eq!(create_context(&mut s), 3);
    let shared = CreateContextRequest::encode(42, 0, &[]).unwrap();
    let (header, _, _) = s.control(ControlKind::CreateContext, &shared, &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::NotFound);
    assert_eq!(stats(&mut s).contexts, 2);

    assert_eq!(s.call(ControlKind::Ping, &[]).unwrap(), b"");
    assert_eq!(s.call(ControlKind::Ping, b"echo").unwrap(), b"echo");

    // A payload that does not parse is a protocol error, which ends the session.
    s.close().unwrap();
    let mut s = server.connect();
    let (header, _, _) = s.control(ControlKind::DestroyContext, &[1, 2, 3], &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::ProtocolError);
    assert!(s.call(ControlKind::Ping, &[]).is_err(), "the session ended");
}

#[test]
fn close_ends_the_session() {
    let server = start();
    let mut s = server.connect();
    create_context(&mut s);
    s.call(ControlKind::Close, &[]).unwrap();
    let err = s.call(ControlKind::Ping, &[]).unwrap_err();
    assert!(matches!(err, SessionError::Transport(transport::TransportError::PeerGone)), "{err}");
}

#[test]
fn submit_commands_over_the_socket() {
    let server = start();
    let mut s = server.connect();
    let id = create_context(&mut s);
    let mut payload = id.to_le_bytes().to_vec();
    payload.extend_from_slice(finish().as_bytes());
    let reply = s.call(ControlKind::SubmitCommands, &payload).unwrap();
    assert!(is_finish_reply(&reply));
    let st = stats(&mut s);
    assert_eq!(st.commands, 1);
    assert_eq!(st.round_trips, 1);

    let mut unknown = 77u64.to_le_bytes().to_vec();
    unknown.extend_from_slice(finish().as_bytes());
    let (header, _, _) = s.control(ControlKind::SubmitCommands, &unknown, &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::NotFound);

    // A stream that does not decode ends the session.
    let mut garbage = id.to_le_bytes().to_vec();
    garbage.extend_from_slice(&[0xff; 16]);
    let (header, _, _) = s.control(ControlKind::SubmitCommands, &garbage, &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::ProtocolError);
    assert!(s.call(ControlKind::Ping, &[]).is_err());
}

fn attach_request(context: u64, region: &RingRegion) -> AttachRingRequest {
    AttachRingRequest {
        context,
        ring_bytes: region.shm.len() as u64,
        cmd_offset: region.commands.offset,
        cmd_len: region.commands.len,
        reply_offset: region.replies.offset,
        reply_len: region.replies.len,
    }
}

fn attach_payload(r: &AttachRingRequest) -> Vec<u8> {
    [r.context, r.ring_bytes, r.cmd_offset, r.cmd_len, r.reply_offset, r.reply_len]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

#[test]
fn attach_ring_passes_fds_and_runs_commands_through_shared_memory() {
    let server = start();
    let mut s = server.connect();
    let id = create_context(&mut s);
    let region = RingRegion::create(4096).unwrap();
    let request = attach_request(id, &region);
    let (header, text, _) =
        s.control(ControlKind::AttachRing, &attach_payload(&request), &[region.shm.as_fd()]).unwrap();
    assert_eq!(status(&header), ControlStatus::Ok, "{}", String::from_utf8_lossy(&text));
    let peer = Liveness::new();
    let mut to_server = ring::producer(region.shm.clone(), region.commands, peer.clone()).unwrap();
    let mut from_server = ring::consumer(region.shm.clone(), region.replies, peer).unwrap();
    for _ in 0..10 {
        to_server.send(finish().as_bytes()).unwrap();
        let mut reply = CommandBuf::new();
        let start = Instant::now();
        let got = from_server.recv(&mut reply, &|| start.elapsed() > 5 * SECOND).unwrap();
        assert_eq!(got, ring::Received::Message);
        assert!(is_finish_reply(reply.as_bytes()));
    }
    let st = stats(&mut s);
    assert_eq!(st.shm_bytes, region.shm.len() as u64);
    assert_eq!(st.commands, 10);

    // Attaching twice is refused; destroying the context returns its quota.
    let (header, _, _) = s
        .control(
            ControlKind::AttachRing,
            &attach_payload(&request),
            &[region.shm.as_fd(), region.shm.as_fd(), region.shm.as_fd()],
        )
        .unwrap();
    assert_eq!(status(&header), ControlStatus::InvalidArgument);
    s.call(ControlKind::DestroyContext, &id.to_le_bytes()).unwrap();
    assert_eq!(stats(&mut s).shm_bytes, 0);
}

#[test]
fn attach_ring_rejections() {
    let server = start_with(|c, _| c.limits.max_shm_bytes = 8192);
    let mut s = server.connect();
    let id = create_context(&mut s);
    let region = RingRegion::create(4096).unwrap();
    let fds = [region.shm.as_fd()];
    let request = attach_request(id, &region);
    let mut attach = |payload: &[u8], fds: &[std::os::fd::BorrowedFd<'_>]| {
        let (header, text, _) = s.control(ControlKind::AttachRing, payload, fds).unwrap();
        (status(&header), String::from_utf8_lossy(&text).into_owned())
    };

    // Region bigger than the session's shared-memory quota.
    let (st, text) = attach(&attach_payload(&request), &fds);
    assert_eq!(st, ControlStatus::LimitExceeded, "{text}");
    // Wrong number of descriptors.
    let (st, text) = attach(&attach_payload(&request), &[region.shm.as_fd(), region.shm.as_fd()]);
    assert_eq!(st, ControlStatus::InvalidArgument, "{text}");
    assert!(text.contains("memfd"), "{text}");
    // Unknown context.
    let mut other = request;
    other.context = 99;
    assert_eq!(attach(&attach_payload(&other), &fds).0, ControlStatus::NotFound);
    // Overlapping regions.
    let mut overlap = request;
    overlap.reply_offset = 0;
    let (st, text) = attach(&attach_payload(&overlap), &fds);
    assert_eq!(st, ControlStatus::InvalidArgument, "{text}");
    assert!(text.contains("overlaps"), "{text}");
    // A memfd without seals: the client could shrink it under the server's mapping.
    let unsealed = rustix::fs::memfd_create("unsealed", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    rustix::fs::ftruncate(&unsealed, region.shm.len() as u64).unwrap();
    let (st, text) = attach(&attach_payload(&request), &[unsealed.as_fd()]);
    assert_eq!(st, ControlStatus::InvalidArgument, "{text}");
    assert!(text.contains("seal"), "{text}");
    // A payload of the wrong size is a protocol error (checked last: it ends the session).
    assert_eq!(s.call(ControlKind::Ping, &[]).unwrap(), b"");
    let (st, _) = {
        let (header, text, _) = s.control(ControlKind::AttachRing, &[0; 47], &fds).unwrap();
        (status(&header), text)
    };
    assert_eq!(st, ControlStatus::ProtocolError);
}

#[test]
fn client_dying_mid_message_does_not_stop_the_server() {
    let server = start();
    for cut in [1, 10, 23] {
        let mut s = server.connect();
        create_context(&mut s);
        let header = wire::control::ControlHeader::encode(ControlKind::Ping, 1, b"abcd", 0).unwrap();
        s.channel_mut().send(&header[..cut], &[]).unwrap();
        drop(s);
    }
    // Half a payload, then gone.
    let mut s = server.connect();
    let header = wire::control::ControlHeader::encode(ControlKind::Ping, 1, &[9; 100], 0).unwrap();
    s.channel_mut().send(&header[..60], &[]).unwrap();
    drop(s);
    // Half a hello, then gone.
    let channel = Channel::connect_unix(&server.path).unwrap();
    let mut channel = channel;
    channel.send(&Hello::new(0, 1, "x").to_bytes(&[]).unwrap()[..30], &[]).unwrap();
    drop(channel);
    let mut s = server.connect();
    assert_eq!(s.call(ControlKind::Ping, b"next").unwrap(), b"next");
    s.close().unwrap();
    assert!(server.stop() < SECOND);
}

#[test]
fn busy_server_refuses_extra_sessions() {
    let server = start_with(|c, _| c.max_sessions = 1);
    let mut first = server.connect();
    let err = Session::connect_unix(&server.path, "second").unwrap_err();
    assert_eq!(refusal_reason(&err), Some(RefusalReason::Busy), "{err}");
    first.call(ControlKind::Ping, &[]).unwrap();
}

const TOKEN: &[u8] = b"correct horse battery staple";

fn start_tcp() -> TestServer {
    start_with(|c, dir| {
        let file = dir.join("token");
        std::fs::write(&file, [TOKEN, b"\n"].concat()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        c.listen = Some("127.0.0.1:0".parse().unwrap());
        c.token_file = Some(file);
    })
}

#[test]
fn tcp_requires_the_token() {
    let server = start_tcp();
    let addr = server.tcp.unwrap();
    let err = Session::connect_tcp(addr, b"").unwrap_err();
    assert_eq!(refusal_reason(&err), Some(RefusalReason::BadToken), "{err}");
    assert!(err.to_string().contains("requires an auth token"), "{err}");
    let err = Session::connect_tcp(addr, b"wrong horse battery staple").unwrap_err();
    assert_eq!(refusal_reason(&err), Some(RefusalReason::BadToken), "{err}");
    assert!(err.to_string().contains("does not match"), "{err}");

    let mut s = Session::connect_tcp(addr, TOKEN).unwrap();
    assert_eq!(s.welcome().features, 0, "no shared memory over TCP");
    assert_eq!(s.call(ControlKind::Ping, b"tcp").unwrap(), b"tcp");
    let id = create_context(&mut s);
    let mut payload = id.to_le_bytes().to_vec();
    payload.extend_from_slice(finish().as_bytes());
    assert!(is_finish_reply(&s.call(ControlKind::SubmitCommands, &payload).unwrap()));
    let region = RingRegion::create(4096).unwrap();
    let (header, _, _) =
        s.control(ControlKind::AttachRing, &attach_payload(&attach_request(id, &region)), &[]).unwrap();
    assert_eq!(status(&header), ControlStatus::NotSupported);
    s.close().unwrap();
    // The Unix socket still needs no token.
    server.connect().call(ControlKind::Ping, &[]).unwrap();
}

#[test]
fn setup_is_refused_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // TCP without a token file.
    let mut c = config(dir.path());
    c.listen = Some("127.0.0.1:0".parse().unwrap());
    let err = DeviceHost::bind(c.clone()).unwrap_err().to_string();
    assert!(err.contains("--token-file"), "{err}");
    // A token file others can read.
    let token = dir.path().join("token");
    std::fs::write(&token, "secret").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    c.token_file = Some(token.clone());
    let err = DeviceHost::bind(c.clone()).unwrap_err().to_string();
    assert!(err.contains("chmod 600") && err.contains("token"), "{err}");
    // An empty one.
    std::fs::write(&token, "").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = DeviceHost::bind(c).unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
    // A socket directory others can enter.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = config(dir.path());
    c.socket = open.join("gpu0");
    let err = DeviceHost::bind(c).unwrap_err().to_string();
    assert!(err.contains("chmod 700") && err.contains(&open.display().to_string()), "{err}");
    // A live server on the same socket.
    let server = start();
    let mut twin = config(server.dir.path());
    twin.socket = server.path.clone();
    let err = DeviceHost::bind(twin).unwrap_err().to_string();
    assert!(err.contains("already listening"), "{err}");
    server.connect().call(ControlKind::Ping, &[]).unwrap();
}

#[test]
fn missing_directories_are_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.socket = dir.path().join("run/glwire/gpu0");
    let host = DeviceHost::bind(c).unwrap();
    let mode = std::fs::metadata(dir.path().join("run/glwire")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(host.socket_path().exists());
    drop(host);
    assert!(!dir.path().join("run/glwire/gpu0").exists());
}

#[test]
fn shutdown_closes_sessions_and_removes_the_socket() {
    let server = start();
    let mut s = server.connect();
    create_context(&mut s);
    // Peers stalled inside their deadlines must not delay the shutdown: one stopped
    // halfway through its hello, one halfway through a request.
    let mut stalled_hello = Channel::connect_unix(&server.path).unwrap();
    stalled_hello.send(&Hello::new(0, 1, "x").to_bytes(&[]).unwrap()[..40], &[]).unwrap();
    let mut stalled_request = server.connect();
    let header = wire::control::ControlHeader::encode(ControlKind::Ping, 1, &[0; 64], 0).unwrap();
    stalled_request.channel_mut().send(&header[..30], &[]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let path = server.path.clone();
    assert!(path.exists());
    let took = server.stop();
    assert!(took < SECOND, "took {took:?}");
    assert!(!path.exists(), "socket removed");
    // The session was closed by the server: the client gets an error, not a hang.
    let start = Instant::now();
    assert!(s.call(ControlKind::Ping, &[]).is_err());
    assert!(start.elapsed() < SECOND);
}

/// The child half of `wrong_uid_is_refused`: runs only when that test starts this test
/// binary again as another user.
#[test]
fn wrong_uid_child() {
    let Some(path) = std::env::var_os("GLWIRE_TEST_WRONG_UID_SOCKET") else {
        return;
    };
    match Session::connect_unix(&path, "intruder") {
        Ok(_) => println!("CHILD: ACCEPTED"),
        Err(e) => println!("CHILD: REFUSED {:?}: {e}", refusal_reason(&e)),
    }
}

#[test]
fn wrong_uid_is_refused() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped: switching to another uid needs root, and this test runs as a user");
        return;
    }
    let server = start();
    // Let uid 65534 reach the socket, so that the server's SO_PEERCRED check, not file
    // permissions, is what stops it.
    for dir in [server.dir.path(), server.path.parent().unwrap()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&server.path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "wrong_uid_child", "--nocapture", "--test-threads=1"])
        .env("GLWIRE_TEST_WRONG_UID_SOCKET", &server.path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .uid(65534)
        .gid(65534)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > 20 * SECOND {
            child.kill().unwrap();
            panic!("the child did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(out.contains("CHILD: REFUSED Some(WrongUser)"), "{out}");
    assert!(out.contains("uid 65534"), "{out}");
    // The server is still there for its own user.
    server.connect().call(ControlKind::Ping, &[]).unwrap();
}
