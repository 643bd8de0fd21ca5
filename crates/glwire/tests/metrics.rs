//! `glwire serve --metrics` scraped over HTTP while a real program renders through the
//! server (`glwire run -- glwire demo-client`): the counters add up to what the program
//! did and stay after its session ends, the text is well-formed Prometheus, bad
//! requests get their status and the server keeps serving; a port in use stops the
//! server at startup with a clear message. Needs host GL (llvmpipe will do). Every wait
//! has a deadline; every child is killed on drop.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

mod support;
use support::ensure_icd_built;

/// A child killed (and reaped) when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Server {
    _child: Reaped,
    socket: PathBuf,
    metrics: SocketAddr,
    dir: tempfile::TempDir,
}

/// `glwire serve --metrics 127.0.0.1:0`, once it has said where it serves metrics.
fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("glwire").join("gpu0");
    let mut child = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["serve", "--metrics", "127.0.0.1:0", "--socket"])
        .arg(&socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let child = Reaped(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("the server did not say where it serves metrics within 10 s");
        if let Some(url) = line.strip_prefix("glwire serve: metrics on http://") {
            break url.strip_suffix("/metrics").unwrap().parse().unwrap();
        }
    };
    assert!(socket.exists(), "the metrics line comes after the socket is bound");
    Server { _child: child, socket, metrics, dir }
}

fn lines_of(out: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Sends `request` as is and returns the status code and the body.
fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    assert_eq!(length, body.len(), "Content-Length agrees with the body");
    (status, body.to_owned())
}

/// GET /metrics, checked for well-formedness; the samples by name (with labels).
fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let (status, body) = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n");
    assert_eq!(status, 200, "{body}");
    parse_exposition(&body)
}

/// Reads Prometheus text format, checking that every sample belongs to a family with
/// HELP and TYPE lines, and that histograms are cumulative and end in +Inf = count.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut types = BTreeMap::new();
    let mut helps = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(types.insert(name.to_owned(), kind.to_owned()).is_none(), "two TYPE lines for {name}");
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(!help.is_empty());
            helps.insert(name.to_owned(), help.to_owned());
        } else {
            assert!(!line.starts_with('#') && !line.is_empty(), "stray line {line:?}");
            let (sample, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
            let name = sample.split('{').next().unwrap();
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{name}");
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|k| k == "histogram")))
                .unwrap_or(name);
            assert!(types.contains_key(family), "{name} has no TYPE line before it");
            assert!(helps.contains_key(family), "{name} has no HELP line before it");
            if types[family] == "counter" {
                assert!(name.ends_with("_total"), "counter {name} should end in _total");
            }
            assert!(samples.insert(sample.to_owned(), value).is_none(), "{sample} twice");
        }
    }
    let buckets: Vec<f64> =
        samples.iter().filter(|(k, _)| k.starts_with("glwire_round_trip_seconds_bucket{")).map(|(_, &v)| v).collect();
    assert_eq!(buckets.len(), 10, "9 bounds and +Inf");
    let mut bounds: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|(k, &v)| {
            let le = k.strip_prefix("glwire_round_trip_seconds_bucket{le=\"")?.strip_suffix("\"}")?;
            Some((if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() }, v))
        })
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(bounds.windows(2).all(|w| w[0].1 <= w[1].1), "buckets are cumulative: {bounds:?}");
    assert_eq!(bounds.last().unwrap().1, samples["glwire_round_trip_seconds_count"]);
    samples
}

fn run_demo(socket: &Path, frames: u32, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["run", "--socket"])
        .arg(socket)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_glwire"))
        .args(["demo-client", "--frames", &frames.to_string(), "--size", "64", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the demo client failed: {status}");
}

#[test]
fn metrics_count_what_a_program_did_and_survive_its_session() {
    ensure_icd_built();
    let server = serve();
    let before = scrape(server.metrics);
    assert_eq!(before["glwire_sessions"], 0.0);
    assert_eq!(before["glwire_frames_total"], 0.0);

    let out = server.dir.path().join("frame.png");
    run_demo(&server.socket, 30, &out);

    // The session leaves the gauges once the server has freed what it held.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let m = scrape(server.metrics);
        if m["glwire_sessions"] == 0.0 && m["glwire_contexts"] == 0.0 {
            break m;
        }
        assert!(Instant::now() < deadline, "the session is still counted live: {m:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(after["glwire_frames_total"] >= 30.0, "{after:?}");
    assert!(after["glwire_commands_total"] > 0.0);
    assert!(after["glwire_bytes_received_total"] > 0.0);
    // At least the readback of the last frame waited for a reply.
    assert!(after["glwire_round_trips_total"] > 0.0);
    assert!(after["glwire_bytes_sent_total"] > 0.0);
    // Every round trip was timed.
    assert_eq!(after["glwire_round_trip_seconds_count"], after["glwire_round_trips_total"]);
    assert!(after["glwire_round_trip_seconds_sum"] > 0.0);
    assert_eq!(after["glwire_gl_memory_bytes"], 0.0);
    assert_eq!(after["glwire_shm_bytes"], 0.0);
    assert_eq!(after["glwire_quota_refusals_total"], 0.0);
    assert!(after["glwire_server_resident_bytes"] > 0.0);

    // A second run adds to the counters: they never go down.
    run_demo(&server.socket, 30, &out);
    let again = scrape(server.metrics);
    for (name, value) in &after {
        if name.ends_with("_total") || name.contains("_bucket") || name.ends_with("_count") {
            assert!(again[name] >= *value, "{name} went down: {value} → {}", again[name]);
        }
    }
    assert!(again["glwire_frames_total"] >= after["glwire_frames_total"] + 30.0);
}

#[test]
fn bad_requests_get_their_status_and_the_server_keeps_serving() {
    let server = serve();
    let addr = server.metrics;
    for (request, status) in [
        (&b"garbage\r\n\r\n"[..], 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
        (b"GET / HTTP/1.1\r\n\r\n", 404),
        (b"GET /metrics/../etc/passwd HTTP/1.1\r\n\r\n", 404),
    ] {
        assert_eq!(exchange(addr, request).0, status, "{}", String::from_utf8_lossy(request));
    }
    // Headers past 8 KiB, with and without an end.
    let mut huge = b"GET /metrics HTTP/1.1\r\n".to_vec();
    for i in 0..600 {
        huge.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(20)).as_bytes());
    }
    assert!(huge.len() > 16 << 10);
    assert_eq!(exchange(addr, &huge).0, 400);
    huge.extend_from_slice(b"\r\n");
    assert_eq!(exchange(addr, &huge).0, 400);
    // A peer that sends half a request and waits holds the endpoint 2 s at most.
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.write_all(b"GET /metr").unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let mut answer = String::new();
    silent.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(4), "{:?}", start.elapsed());
    // Still serving: metrics, and the device socket.
    assert_eq!(scrape(addr)["glwire_sessions"], 0.0);
    let session = client::Session::connect_unix(&server.socket, "metrics-test").unwrap();
    // Listed just after its welcome is sent.
    let deadline = Instant::now() + Duration::from_secs(5);
    while scrape(addr)["glwire_sessions"] != 1.0 {
        assert!(Instant::now() < deadline, "the session never showed in glwire_sessions");
        std::thread::sleep(Duration::from_millis(10));
    }
    session.close().unwrap();
}

#[test]
fn a_metrics_port_in_use_stops_the_server_at_startup() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("glwire").join("gpu0");
    let out = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["serve", "--metrics", &addr.to_string(), "--socket"])
        .arg(&socket)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("--metrics: cannot listen on {addr}")), "{err}");
    assert!(!socket.exists(), "nothing is left bound");
}
