//! Load, the short version of `scripts/load.sh` for CI: 32 programs render at the same
//! time through one `glwire serve` for about 25 s. Each client loops `glwire run --
//! glwire demo-client` (an unmodified GLES 3 program drawing a rotating triangle and
//! writing its last frame as PNG), so sessions open and close all the time; two of them
//! render many more frames per run and stay connected longer. Asserts that every run
//! exits 0 with the image a native run (host Mesa, no glwire) renders, that the server
//! stays up with a bounded RSS, and that once the last client is gone the server holds
//! nothing of theirs: no context thread, and `QueryServerStats` back to the probe's own
//! session with no context, surface, object, GL memory or shared memory. Prints the RSS
//! figures (`cargo test -p glwire --test load -- --nocapture`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wire::control::{ControlKind, ServerStatsReply};

mod support;
use support::ensure_icd_built;

const CLIENTS: usize = 32;
/// Clients among them whose runs render `LONG_FRAMES` frames.
const LONG_CLIENTS: usize = 2;
/// How long clients keep starting runs.
const DURATION: Duration = Duration::from_secs(25);
/// Frames of a short run: about 1 s a run with 32 clients on 2 cores (debug build).
const FRAMES: u32 = 1000;
const LONG_FRAMES: u32 = 20_000;
const SIZE: u32 = 64;
const MESA_VENDOR_FILE: &str = "/usr/share/glvnd/egl_vendor.d/50_mesa.json";
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// Samples before this are the clients starting: left out of the RSS comparison.
const WARM_UP: Duration = Duration::from_secs(5);
/// How much more RSS the second half may reach than the first. `scripts/load.sh` allows
/// 10 % over 5 minutes; here the whole run is in the first minute, while glibc's malloc
/// arenas (16 on 2 cores) still fill as sessions come and go on fresh threads, and RSS
/// climbs 15-20 % before it levels (measured: the second half's max 0.95-1.13 times the
/// first's over 8 runs). A leak is caught below by the server's own counts and threads;
/// this catches memory growing by hundreds of kB a run.
const GROWTH_PERCENT: u64 = 25;
/// A run taking longer than this has hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The decoded RGBA pixels of a PNG file.
fn pixels(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("image too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    if (info.width, info.height, info.color_type) != (SIZE, SIZE, png::ColorType::Rgba) {
        return Err(format!("{}: {}x{} {:?}", path.display(), info.width, info.height, info.color_type));
    }
    buf.truncate(info.buffer_size());
    Ok(buf)
}

/// The image `frames` frames of the demo end with, rendered natively on host Mesa.
fn reference(dir: &Path, frames: u32) -> Vec<u8> {
    let out = dir.join(format!("reference-{frames}.png"));
    let run = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["demo-client", "--frames", &frames.to_string(), "--size", &SIZE.to_string(), "--out"])
        .arg(&out)
        .env("EGL_PLATFORM", "surfaceless")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", MESA_VENDOR_FILE)
        .output()
        .unwrap();
    assert!(run.status.success(), "native demo: {}", String::from_utf8_lossy(&run.stderr));
    let image = pixels(&out).unwrap();
    let mut colours: Vec<&[u8]> = image.chunks(4).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 2, "the reference shows no triangle ({} colours)", colours.len());
    image
}

struct Server {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(socket: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_glwire"))
            .args(["serve", "--socket"])
            .arg(socket)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let server = Server { child, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(socket.exists(), "the server did not start: {}", server.log_tail());
        server
    }

    /// The log's lines that are not a session's routine start or end, and its last lines.
    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        let unusual: Vec<&str> = log.lines().filter(|l| !l.contains(" INFO ")).take(40).collect();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("server log, lines other than INFO:\n{}\nlast lines:\n{tail}", unusual.join("\n"))
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// VmRSS (kB) and threads of the server, from /proc.
    fn rss_and_threads(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("Threads:"))
    }

    /// Threads whose name starts with `prefix` (Linux keeps 15 bytes of a name).
    fn threads_named(&self, prefix: &str) -> usize {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else {
            return 0;
        };
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the clients report to the test's thread.
#[derive(Default)]
struct Tally {
    /// Runs that ended, per client.
    runs: Vec<AtomicUsize>,
    failures: Mutex<Vec<String>>,
    longest: Mutex<Duration>,
}

/// One client: runs the demo through `glwire run` until `until`, checking each run.
fn client(
    k: usize,
    socket: PathBuf,
    dir: PathBuf,
    frames: u32,
    expected: Arc<Vec<u8>>,
    until: Instant,
    tally: Arc<Tally>,
) {
    let mut run = 0;
    while Instant::now() < until {
        let out = dir.join(format!("client-{k}-run-{run}.png"));
        let log = dir.join(format!("client-{k}-run-{run}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let started = Instant::now();
        let mut program = Command::new(env!("CARGO_BIN_EXE_glwire"))
            .args(["run", "--socket"])
            .arg(&socket)
            .args(["--", env!("CARGO_BIN_EXE_glwire"), "demo-client"])
            .args(["--frames", &frames.to_string(), "--size", &SIZE.to_string(), "--out"])
            .arg(&out)
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap();
        // A run that hangs is a failure, not a test that never ends.
        let status = loop {
            if let Some(status) = program.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = program.kill();
                let _ = program.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        let failure = if !status.is_some_and(|s| s.success()) {
            let what = status.map_or(format!("still running after {RUN_TIMEOUT:?}, killed"), |s| s.to_string());
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            Some(format!("client {k} run {run}: {what} after {took:?}; its output:\n{output}"))
        } else {
            match pixels(&out) {
                Ok(image) if image == *expected => None,
                Ok(image) => {
                    let wrong = image.chunks(4).zip(expected.chunks(4)).filter(|(a, b)| a != b).count();
                    Some(format!("client {k} run {run}: wrong image, {wrong} pixels differ ({})", out.display()))
                }
                Err(e) => Some(format!("client {k} run {run}: unreadable image: {e}")),
            }
        };
        match failure {
            Some(f) => {
                eprintln!("load: {f}");
                tally.failures.lock().unwrap().push(f);
            }
            None => {
                let _ = std::fs::remove_file(&out);
                let _ = std::fs::remove_file(&log);
            }
        }
        {
            let mut longest = tally.longest.lock().unwrap();
            *longest = (*longest).max(took);
        }
        tally.runs[k].fetch_add(1, Ordering::SeqCst);
        run += 1;
    }
}

fn max_kb(samples: &[(Duration, u64)], keep: impl Fn(Duration) -> bool) -> u64 {
    samples.iter().filter(|(t, _)| keep(*t)).map(|&(_, rss)| rss).max().unwrap_or(0)
}

/// 32 clients for about 25 s; see the file's comment.
#[test]
fn thirty_two_clients_render_correctly_and_the_server_stays_bounded() {
    ensure_icd_built();
    let dir = tempfile::tempdir().unwrap();
    let short_ref = Arc::new(reference(dir.path(), FRAMES));
    let long_ref = Arc::new(reference(dir.path(), LONG_FRAMES));
    let images = dir.path().join("out");
    std::fs::create_dir(&images).unwrap();
    let socket = dir.path().join("glwire").join("gpu0");
    let mut server = Server::start(&socket);
    let (idle_rss, idle_threads) = server.rss_and_threads();
    eprintln!("load: server pid {}: RSS {idle_rss} kB, {idle_threads} threads before any client", server.child.id());

    let tally = Arc::new(Tally { runs: (0..CLIENTS).map(|_| AtomicUsize::new(0)).collect(), ..Tally::default() });
    let start = Instant::now();
    let until = start + DURATION;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| {
            let (frames, expected) =
                if k < LONG_CLIENTS { (LONG_FRAMES, long_ref.clone()) } else { (FRAMES, short_ref.clone()) };
            let (socket, images, tally) = (socket.clone(), images.clone(), tally.clone());
            std::thread::spawn(move || client(k, socket, images, frames, expected, until, tally))
        })
        .collect();

    // Samples of the server's RSS while clients run.
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    let mut first_wave: Option<(Duration, u64)> = None;
    let mut died = None;
    let mut printed = Duration::ZERO;
    while clients.iter().any(|c| !c.is_finished()) {
        if !server.alive() {
            died = Some(start.elapsed());
            break;
        }
        let (rss, threads) = server.rss_and_threads();
        let t = start.elapsed();
        samples.push((t, rss));
        let done: usize = tally.runs.iter().map(|r| r.load(Ordering::SeqCst)).sum();
        if first_wave.is_none() && tally.runs[LONG_CLIENTS..].iter().all(|r| r.load(Ordering::SeqCst) > 0) {
            first_wave = Some((t, rss));
            eprintln!("load: first wave done at {:.1} s: server RSS {rss} kB, {threads} threads", t.as_secs_f64());
        }
        if t >= printed + Duration::from_secs(5) {
            printed = t;
            let failed = tally.failures.lock().unwrap().len();
            eprintln!(
                "load: {:5.1} s  runs {done:5}  failed {failed}  server RSS {rss:7} kB  threads {threads}",
                t.as_secs_f64()
            );
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    for c in clients {
        c.join().unwrap();
    }
    let last_left = Instant::now();
    let elapsed = start.elapsed();
    assert!(died.is_none() && server.alive(), "the server died during the load; {}", server.log_tail());

    // Once the last client has gone, nothing of theirs is left, within 1 s.
    let mut probe = client::Session::connect_unix(&socket, "load-probe").unwrap();
    let mut stats = || ServerStatsReply::parse(&probe.call(ControlKind::QueryServerStats, &[]).unwrap()).unwrap();
    let clean = |s: &ServerStatsReply| {
        s.sessions == 1
            && s.totals.contexts == 0
            && s.totals.surfaces == 0
            && s.totals.objects == 0
            && s.totals.gl_bytes == 0
            && s.totals.shm_bytes == 0
    };
    let mut last = stats();
    let threads_gone = || server.threads_named("glwire-context") == 0 && server.threads_named("glwire-session") == 1;
    while !(clean(&last) && threads_gone()) && last_left.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
        last = stats();
    }
    let freed = last_left.elapsed();
    let (end_rss, end_threads) = server.rss_and_threads();
    let context_threads = server.threads_named("glwire-context");
    let session_threads = server.threads_named("glwire-session");

    let runs: usize = tally.runs.iter().map(|r| r.load(Ordering::SeqCst)).sum();
    let failures = tally.failures.lock().unwrap().clone();
    let longest = *tally.longest.lock().unwrap();
    let half = (WARM_UP + elapsed) / 2;
    let first_half = max_kb(&samples, |t| t >= WARM_UP && t < half);
    let second_half = max_kb(&samples, |t| t >= half);
    let (wave_at, wave_rss) = first_wave.unwrap_or_default();
    eprintln!(
        "load: {CLIENTS} clients for {:.1} s: {runs} runs, {} failed; longest run {:.1} s",
        elapsed.as_secs_f64(),
        failures.len(),
        longest.as_secs_f64()
    );
    eprintln!(
        "load: server RSS after the first wave {wave_rss} kB (at {:.1} s), max {} kB (after a {WARM_UP:?} \
         warm-up: first half {first_half} kB, second half {second_half} kB), at the end {end_rss} kB with \
         {end_threads} threads; before any client {idle_rss} kB, {idle_threads} threads",
        wave_at.as_secs_f64(),
        max_kb(&samples, |_| true),
    );
    eprintln!(
        "load: {freed:?} after the last client: {last:?}, {context_threads} context threads, {session_threads} \
         session threads (the probe's)"
    );

    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}\n{}",
        failures.len(),
        failures.join("\n"),
        server.log_tail()
    );
    assert!(first_wave.is_some(), "not every client finished a run");
    assert!(runs >= 2 * CLIENTS, "only {runs} runs");
    // Bounded: not much more under the same load in the second half than in the first,
    // and no more with every session gone than with 32 of them.
    assert!(
        second_half * 100 <= first_half * (100 + GROWTH_PERCENT),
        "RSS kept growing: {second_half} kB in the second half against {first_half} kB in the first"
    );
    assert!(end_rss * 10 <= first_half * 11, "RSS at the end {end_rss} kB against {first_half} kB under load");
    assert!(clean(&last), "the clients' resources are still held after they left: {last:?}");
    assert_eq!(context_threads, 0, "context threads left after every client left");
    assert_eq!(session_threads, 1, "session threads other than the probe's left after every client left");
    assert!(freed < Duration::from_secs(1), "freeing took {freed:?}");
    assert!(server.alive(), "the server died at the end; {}", server.log_tail());
}
