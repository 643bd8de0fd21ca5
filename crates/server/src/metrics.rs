//! The metrics endpoint of `glwire serve --metrics ADDR`: Prometheus text format at
//! `GET /metrics`, made from the registry's figures (`stats`) at each scrape.
//!
//! A minimal HTTP/1.1 responder on its own thread: one connection at a time, the
//! request line and headers at most 8 KiB and all in within 2 s, one response, then the
//! connection closes. Whatever a peer sends, the worst it does is hold this thread for
//! those 2 s; the device host and its sessions never wait on it. Other paths get 404,
//! other methods 405, anything malformed 400.
//!
//! The endpoint is unauthenticated and shows how busy the server is (not what clients
//! render, nor their names): bind it to localhost, or to a network only the monitoring
//! reaches. It owns the HTTP exchange and the text, not the counters (`stats`).

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::ServerError;
use crate::stats::{Registry, ServerFigures, LATENCY_BOUNDS_NS};

/// Most bytes of request line and headers read; past it the request is refused.
pub const MAX_REQUEST_HEAD: usize = 8 << 10;

/// The whole request head must arrive within this; a peer trickling bytes cannot hold
/// the thread longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// How long writing a response may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the accept loop looks at the stop flag while idle.
const ACCEPT_TICK: Duration = Duration::from_millis(50);

/// After a refusal, what the peer still sends is read and dropped (up to this much,
/// for at most `LINGER`), so closing does not reset the connection before the peer has
/// read the refusal.
const LINGER_BYTES: usize = 64 << 10;
const LINGER: Duration = Duration::from_millis(200);

/// Binds the metrics listener; the error names the flag and the address.
pub(crate) fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let listener = TcpListener::bind(addr).map_err(|e| {
        ServerError::Setup(format!(
            "--metrics: cannot listen on {addr}: {e} (pick a free port, e.g. --metrics 127.0.0.1:9464)"
        ))
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Io { what: "set the metrics listener non-blocking", source })?;
    Ok(listener)
}

/// Serves scrapes on `listener` until `stop` is set.
pub(crate) fn spawn(
    listener: TcpListener,
    registry: Arc<Registry>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, ServerError> {
    std::thread::Builder::new()
        .name("glwire-metrics".into())
        .spawn(move || serve(&listener, &registry, &stop))
        .map_err(|source| ServerError::Io { what: "start the metrics thread", source })
}

fn serve(listener: &TcpListener, registry: &Registry, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match transport::channel::wait_any_readable(&[listener.as_fd()], ACCEPT_TICK) {
            Ok(ready) if ready.first() == Some(&true) => {}
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!("metrics: {e}");
                std::thread::sleep(ACCEPT_TICK);
                continue;
            }
        }
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(e) = exchange(stream, registry) {
                    tracing::debug!(%peer, "metrics request: {e}");
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            Err(e) => {
                // A full descriptor table keeps the listener readable: pause, not spin.
                tracing::warn!("metrics: accept failed: {e}");
                std::thread::sleep(ACCEPT_TICK);
            }
        }
    }
}

/// One request and its response.
fn exchange(mut stream: TcpStream, registry: &Registry) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let response = match read_head(&mut stream).and_then(|head| parse_request(&head)) {
        Ok(()) => Response::ok(render(&registry.figures(), crate::quota::resident_bytes())),
        Err(status) => Response::refusal(status),
    };
    stream.write_all(&response.to_bytes())?;
    if response.status != Status::Ok {
        linger(&mut stream);
    }
    Ok(())
}

/// Reads until the blank line that ends the headers, within the size and time bounds.
fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, Status> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        if let Some(end) = head_end(&head) {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_REQUEST_HEAD {
            return Err(Status::BadRequest("the request line and headers are over 8 KiB"));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Err(Status::Timeout);
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(Status::BadRequest("the connection closed before the request ended")),
            // At most one buffer past the limit is kept, then refused above.
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(Status::Timeout)
            }
            Err(_) => return Err(Status::BadRequest("the request could not be read")),
        }
    }
}

/// Where the head ends (before its blank line), if it has ended.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let window = &bytes[..bytes.len().min(MAX_REQUEST_HEAD + 4)];
    let crlf = window.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = window.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Checks a request head (without its blank line): `Ok` for `GET /metrics`.
fn parse_request(head: &[u8]) -> Result<(), Status> {
    let text = std::str::from_utf8(head).map_err(|_| Status::BadRequest("the request is not text"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Status::BadRequest("the request line is not METHOD TARGET HTTP/1.x"));
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !token(method) || !token(target) || !version.starts_with("HTTP/1.") {
        return Err(Status::BadRequest("the request line is not METHOD TARGET HTTP/1.x"));
    }
    for line in lines {
        match line.split_once(':') {
            Some((name, _)) if token(name) => {}
            _ => return Err(Status::BadRequest("a header line is not NAME: VALUE")),
        }
    }
    if method != "GET" {
        return Err(Status::MethodNotAllowed);
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if path != "/metrics" {
        return Err(Status::NotFound);
    }
    Ok(())
}

/// Reads and drops what the peer still sends, within bounds, after the response.
fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut buf = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    BadRequest(&'static str),
    NotFound,
    MethodNotAllowed,
    Timeout,
}

#[derive(Debug)]
struct Response {
    status: Status,
    body: String,
}

impl Response {
    fn ok(body: String) -> Self {
        Self { status: Status::Ok, body }
    }

    fn refusal(status: Status) -> Self {
        let body = match status {
            Status::Ok => String::new(),
            Status::BadRequest(why) => format!("bad request: {why}\n"),
            Status::NotFound => "not found: the metrics are at /metrics\n".into(),
            Status::MethodNotAllowed => "method not allowed: use GET\n".into(),
            Status::Timeout => "the request did not arrive within 2 s\n".into(),
        };
        Self { status, body }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let (line, content_type, extra) = match self.status {
            Status::Ok => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", ""),
            Status::BadRequest(_) => ("400 Bad Request", "text/plain; charset=utf-8", ""),
            Status::NotFound => ("404 Not Found", "text/plain; charset=utf-8", ""),
            Status::MethodNotAllowed => ("405 Method Not Allowed", "text/plain; charset=utf-8", "Allow: GET\r\n"),
            Status::Timeout => ("408 Request Timeout", "text/plain; charset=utf-8", ""),
        };
        let mut out = format!(
            "HTTP/1.1 {line}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
            self.body.len()
        )
        .into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

/// The Prometheus text for `figures` (and the server's resident memory, when known).
pub fn render(figures: &ServerFigures, resident_bytes: Option<u64>) -> String {
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
    };
    let c = &figures.counted;
    metric("glwire_sessions", "gauge", "Live sessions (connected clients).", figures.sessions);
    metric(
        "glwire_commands_total",
        "counter",
        "GL commands executed, over every session since the server started.",
        c.commands,
    );
    metric("glwire_bytes_received_total", "counter", "Bytes of command streams received from clients.", c.bytes_in);
    metric("glwire_bytes_sent_total", "counter", "Bytes of replies sent to clients.", c.bytes_out);
    metric(
        "glwire_round_trips_total",
        "counter",
        "Replies sent: each is a round trip a client call waited for.",
        c.round_trips,
    );
    metric("glwire_frames_total", "counter", "Frames ended (eglSwapBuffers), over every session.", c.frames);
    metric(
        "glwire_gl_errors_total",
        "counter",
        "GL errors the server raised: validator and quota refusals, and host errors found with them.",
        c.gl_errors,
    );
    metric(
        "glwire_quota_refusals_total",
        "counter",
        "Requests and commands refused by a session quota or the server-wide memory guard.",
        c.quota_refusals,
    );
    metric(
        "glwire_gl_memory_bytes",
        "gauge",
        "Estimated bytes of the live sessions' buffers, textures, renderbuffers and surfaces.",
        figures.live.gl_bytes,
    );
    metric(
        "glwire_shm_bytes",
        "gauge",
        "Shared memory of the live sessions' command rings and frame rings.",
        figures.live.shm_bytes,
    );
    metric("glwire_contexts", "gauge", "GL contexts of the live sessions.", figures.live.contexts);
    if let Some(rss) = resident_bytes {
        metric("glwire_server_resident_bytes", "gauge", "Resident memory of the server process.", rss);
    }
    let name = "glwire_round_trip_seconds";
    let _ = write!(
        out,
        "# HELP {name} Server-side time from a message ending in a synchronous command to its reply being sent.\n\
         # TYPE {name} histogram\n"
    );
    let latency = &figures.latency;
    let mut cumulative = 0u64;
    for (bound, n) in LATENCY_BOUNDS_NS.iter().zip(latency.buckets) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", seconds(*bound));
    }
    let count = latency.count();
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {}", latency.sum_ns as f64 / 1e9);
    let _ = writeln!(out, "{name}_count {count}");
    out
}

/// `ns` nanoseconds as an exact decimal number of seconds (`0.00005`, `1`).
fn seconds(ns: u64) -> String {
    let (whole, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Counted, LatencySnapshot};

    #[test]
    fn requests_are_sorted_into_their_answers() {
        assert_eq!(parse_request(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*"), Ok(()));
        assert_eq!(parse_request(b"GET /metrics?x=1 HTTP/1.0"), Ok(()));
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\nHost: x"), Err(Status::NotFound));
        assert_eq!(parse_request(b"GET /metricsx HTTP/1.1"), Err(Status::NotFound));
        assert_eq!(parse_request(b"POST /metrics HTTP/1.1"), Err(Status::MethodNotAllowed));
        assert_eq!(parse_request(b"HEAD /metrics HTTP/1.1"), Err(Status::MethodNotAllowed));
        for bad in [
            &b""[..],
            b"garbage",
            b"GET /metrics",
            b"GET  /metrics HTTP/1.1",
            b"GET /metrics HTTP/2",
            b"GET /metrics HTTP/1.1 extra",
            b"GET /metrics HTTP/1.1\r\nno colon",
            b"GET /metrics HTTP/1.1\r\n: empty name",
            b"GET /m\x01 HTTP/1.1",
            b"\xff\xfe",
        ] {
            assert!(matches!(parse_request(bad), Err(Status::BadRequest(_))), "{bad:?}");
        }
    }

    #[test]
    fn heads_end_at_the_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(20));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }

    #[test]
    fn responses_say_their_length_and_close() {
        let ok = String::from_utf8(Response::ok("abc\n".into()).to_bytes()).unwrap();
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Length: 4\r\n") && ok.contains("Connection: close\r\n"));
        assert!(ok.ends_with("\r\n\r\nabc\n"));
        let not_allowed = String::from_utf8(Response::refusal(Status::MethodNotAllowed).to_bytes()).unwrap();
        assert!(not_allowed.starts_with("HTTP/1.1 405 ") && not_allowed.contains("Allow: GET\r\n"));
        let bad = String::from_utf8(Response::refusal(Status::BadRequest("why")).to_bytes()).unwrap();
        assert!(bad.starts_with("HTTP/1.1 400 ") && bad.ends_with("bad request: why\n"));
    }

    #[test]
    fn bounds_print_as_exact_seconds() {
        let printed: Vec<String> = LATENCY_BOUNDS_NS.iter().map(|&ns| seconds(ns)).collect();
        assert_eq!(printed, ["0.00001", "0.00005", "0.0001", "0.0005", "0.001", "0.005", "0.01", "0.05", "0.1"]);
        assert_eq!(seconds(2_000_000_000), "2");
        assert_eq!(seconds(1_500_000_000), "1.5");
    }

    #[test]
    fn the_text_is_well_formed() {
        let figures = ServerFigures {
            sessions: 2,
            counted: Counted { commands: 10, frames: 3, round_trips: 4, ..Default::default() },
            live: wire::control::StatsReply { gl_bytes: 64, contexts: 1, ..Default::default() },
            latency: LatencySnapshot { buckets: [1, 2, 0, 0, 0, 0, 0, 0, 0, 1], sum_ns: 2_500_000 },
        };
        let text = render(&figures, Some(4096));
        assert!(text.contains("glwire_sessions 2\n"));
        assert!(text.contains("glwire_commands_total 10\n"));
        assert!(text.contains("glwire_frames_total 3\n"));
        assert!(text.contains("glwire_gl_memory_bytes 64\n"));
        assert!(text.contains("glwire_server_resident_bytes 4096\n"));
        assert!(text.contains("glwire_round_trip_seconds_bucket{le=\"0.00001\"} 1\n"));
        assert!(text.contains("glwire_round_trip_seconds_bucket{le=\"0.00005\"} 3\n"));
        assert!(text.contains("glwire_round_trip_seconds_bucket{le=\"0.1\"} 3\n"));
        assert!(text.contains("glwire_round_trip_seconds_bucket{le=\"+Inf\"} 4\n"));
        assert!(text.contains("glwire_round_trip_seconds_sum 0.0025\n"));
        assert!(text.contains("glwire_round_trip_seconds_count 4\n"));
        // Every sample belongs to a family with a TYPE and a HELP line, and every
        // family has samples.
        let mut typed = std::collections::BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["gauge", "counter", "histogram"].contains(&kind), "{line}");
                assert!(text.contains(&format!("# HELP {name} ")), "{name} has no HELP");
                typed.insert(name.to_owned(), kind.to_owned());
            } else if !line.starts_with('#') {
                let (sample, value) = line.rsplit_once(' ').unwrap();
                assert!(value.parse::<f64>().is_ok(), "{line}");
                let name = sample.split('{').next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| typed.get(*f).is_some_and(|k| k == "histogram")))
                    .unwrap_or(name);
                assert!(typed.contains_key(family), "{name} has no TYPE line");
            }
        }
        assert_eq!(typed.len(), 13);
        assert!(!render(&figures, None).contains("resident"));
    }
}
