//! Per-session counters, shared by the session thread and its context threads and read
//! back by `QueryStats`, `ListSessions` (`glwire top`) and the metrics endpoint; the
//! server's registry of live sessions, whose sums `QueryServerStats` reads; what ended
//! sessions counted (so the server's totals never go down); and the round-trip latency
//! histogram all sessions feed.
//!
//! It owns the numbers, not their presentation: the Prometheus text is `metrics`', the
//! wire records are `wire::control`'s.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wire::control::{ServerStatsReply, SessionRecord, StatsReply};

#[derive(Debug, Default)]
pub struct SessionStats {
    pub commands: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Replies sent: each one is a round trip some client call waited for.
    pub round_trips: AtomicU64,
    pub contexts: AtomicU64,
    pub surfaces: AtomicU64,
    /// Object names mapped to host objects (the object quota counts these).
    pub objects: AtomicU64,
    pub shm_bytes: AtomicU64,
    /// Estimated bytes of buffers, textures and renderbuffers (the GL memory quota).
    pub gl_bytes: AtomicU64,
    /// Frames ended (glwire's swap command, sent at every eglSwapBuffers).
    pub frames: AtomicU64,
    /// GL errors the server raised itself (the validator's refusals, the quota's
    /// GL_OUT_OF_MEMORY, and host errors found pending when it raised one).
    pub gl_errors: AtomicU64,
    /// Requests and commands a quota refused.
    pub quota_refusals: AtomicU64,
    /// Server-side round-trip times; one histogram for the whole server (the
    /// registry's), a private one outside a server.
    pub latency: Arc<LatencyHistogram>,
}

impl SessionStats {
    /// Counters feeding `latency`.
    pub fn with_latency(latency: Arc<LatencyHistogram>) -> Self {
        Self { latency, ..Self::default() }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsReply {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsReply {
            commands: get(&self.commands),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            round_trips: get(&self.round_trips),
            contexts: get(&self.contexts),
            surfaces: get(&self.surfaces),
            objects: get(&self.objects),
            shm_bytes: get(&self.shm_bytes),
            gl_bytes: get(&self.gl_bytes),
            frames: get(&self.frames),
        }
    }

    /// The counters that only grow.
    fn counted(&self) -> Counted {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counted {
            commands: get(&self.commands),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            round_trips: get(&self.round_trips),
            frames: get(&self.frames),
            gl_errors: get(&self.gl_errors),
            quota_refusals: get(&self.quota_refusals),
        }
    }
}

/// Upper bounds of the latency buckets, in nanoseconds (10 µs to 100 ms); a last,
/// unbounded bucket takes the rest.
pub const LATENCY_BOUNDS_NS: [u64; 9] =
    [10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000];

/// A histogram of round-trip times: one atomic per bucket, so context threads record
/// without a lock and a scrape never stalls them.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Observations per bucket (not cumulative): `buckets[i]` counts times at most
    /// `LATENCY_BOUNDS_NS[i]` and above the bound before; the last counts the rest.
    buckets: [AtomicU64; LATENCY_BOUNDS_NS.len() + 1],
    sum_ns: AtomicU64,
}

/// A copy of a [`LatencyHistogram`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencySnapshot {
    pub buckets: [u64; LATENCY_BOUNDS_NS.len() + 1],
    pub sum_ns: u64,
}

impl LatencySnapshot {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let i = LATENCY_BOUNDS_NS.iter().position(|&bound| ns <= bound).unwrap_or(LATENCY_BOUNDS_NS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let _ = self.sum_ns.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| Some(s.saturating_add(ns)));
    }

    pub fn snapshot(&self) -> LatencySnapshot {
        LatencySnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum_ns: self.sum_ns.load(Ordering::Relaxed),
        }
    }
}

/// Counters that only grow, summed over sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    pub commands: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub round_trips: u64,
    pub frames: u64,
    pub gl_errors: u64,
    pub quota_refusals: u64,
}

impl Counted {
    fn add(&mut self, o: &Counted) {
        self.commands = self.commands.saturating_add(o.commands);
        self.bytes_in = self.bytes_in.saturating_add(o.bytes_in);
        self.bytes_out = self.bytes_out.saturating_add(o.bytes_out);
        self.round_trips = self.round_trips.saturating_add(o.round_trips);
        self.frames = self.frames.saturating_add(o.frames);
        self.gl_errors = self.gl_errors.saturating_add(o.gl_errors);
        self.quota_refusals = self.quota_refusals.saturating_add(o.quota_refusals);
    }
}

/// The whole server's figures for the metrics endpoint: counters over every session
/// that ever ran (live and ended), gauges over the live ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerFigures {
    pub sessions: u64,
    pub counted: Counted,
    /// Live sums of the gauges (contexts, surfaces, objects, shm_bytes, gl_bytes).
    pub live: StatsReply,
    pub latency: LatencySnapshot,
}

/// A live session, as the registry knows it.
#[derive(Debug)]
pub struct SessionEntry {
    pub program: String,
    pub pid: u32,
    pub stats: Arc<SessionStats>,
    /// When the session was welcomed.
    pub started: Instant,
}

#[derive(Debug, Default)]
struct Sessions {
    live: BTreeMap<u64, SessionEntry>,
    /// What sessions that left counted, folded in as each leaves.
    ended: Counted,
}

/// The server's live sessions. A session is in it from its welcome until everything
/// it owned is freed (its context threads joined, its surfaces and host objects gone),
/// so the sums drop back only once the resources really are released.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: Mutex<Sessions>,
    latency: Arc<LatencyHistogram>,
}

impl Registry {
    /// Counters for a new session, feeding the server's latency histogram.
    pub fn new_stats(&self) -> Arc<SessionStats> {
        Arc::new(SessionStats::with_latency(self.latency.clone()))
    }

    pub fn insert(&self, id: u64, entry: SessionEntry) {
        self.lock().live.insert(id, entry);
    }

    /// Takes a session off the list and keeps what it counted in the server's totals
    /// (in one step, so a scrape sees it counted exactly once).
    pub fn remove(&self, id: u64) {
        let mut sessions = self.lock();
        if let Some(entry) = sessions.live.remove(&id) {
            let counted = entry.stats.counted();
            sessions.ended.add(&counted);
        }
    }

    /// The live sessions and their stats summed.
    pub fn totals(&self) -> ServerStatsReply {
        let sessions = self.lock();
        ServerStatsReply { sessions: sessions.live.len() as u64, totals: live_sums(&sessions.live) }
    }

    /// The first `max` live sessions by id, and how many there are.
    pub fn list(&self, max: usize) -> (usize, Vec<SessionRecord>) {
        let sessions = self.lock();
        let now = Instant::now();
        let records = sessions
            .live
            .iter()
            .take(max)
            .map(|(&id, entry)| {
                let age_ms =
                    u64::try_from(now.saturating_duration_since(entry.started).as_millis()).unwrap_or(u64::MAX);
                let mut r = SessionRecord::new(id, entry.pid, age_ms, &entry.program, entry.stats.snapshot());
                let counted = entry.stats.counted();
                r.gl_errors = counted.gl_errors;
                r.quota_refusals = counted.quota_refusals;
                r
            })
            .collect();
        (sessions.live.len(), records)
    }

    /// Everything the metrics endpoint reports.
    pub fn figures(&self) -> ServerFigures {
        let sessions = self.lock();
        let mut counted = sessions.ended;
        for entry in sessions.live.values() {
            counted.add(&entry.stats.counted());
        }
        ServerFigures {
            sessions: sessions.live.len() as u64,
            counted,
            live: live_sums(&sessions.live),
            latency: self.latency.snapshot(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn live_sums(live: &BTreeMap<u64, SessionEntry>) -> StatsReply {
    let mut t = StatsReply::default();
    for entry in live.values() {
        let s = entry.stats.snapshot();
        t.commands += s.commands;
        t.bytes_in += s.bytes_in;
        t.bytes_out += s.bytes_out;
        t.round_trips += s.round_trips;
        t.contexts += s.contexts;
        t.surfaces += s.surfaces;
        t.objects += s.objects;
        t.shm_bytes += s.shm_bytes;
        t.gl_bytes += s.gl_bytes;
        t.frames += s.frames;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(registry: &Registry, program: &str) -> (SessionEntry, Arc<SessionStats>) {
        let stats = registry.new_stats();
        (SessionEntry { program: program.into(), pid: 42, stats: stats.clone(), started: Instant::now() }, stats)
    }

    #[test]
    fn ended_sessions_stay_in_the_counters_and_leave_the_gauges() {
        let registry = Registry::default();
        let (a, sa) = entry(&registry, "a");
        let (b, sb) = entry(&registry, "b");
        registry.insert(1, a);
        registry.insert(2, b);
        SessionStats::add(&sa.commands, 10);
        SessionStats::add(&sa.frames, 3);
        SessionStats::add(&sa.gl_bytes, 100);
        SessionStats::add(&sb.commands, 5);
        SessionStats::add(&sb.gl_errors, 2);
        SessionStats::add(&sb.quota_refusals, 1);
        let before = registry.figures();
        assert_eq!((before.sessions, before.counted.commands, before.live.gl_bytes), (2, 15, 100));
        registry.remove(1);
        let after = registry.figures();
        assert_eq!(after.sessions, 1);
        assert_eq!(after.counted, before.counted, "an ended session's counts stay");
        assert_eq!(after.live.gl_bytes, 0, "its memory leaves the gauges");
        assert_eq!(registry.totals().totals.commands, 5, "QueryServerStats sums live sessions only");
        registry.remove(1);
        assert_eq!(registry.figures().counted, before.counted, "removing twice counts once");
        assert_eq!((after.counted.gl_errors, after.counted.quota_refusals), (2, 1));
    }

    #[test]
    fn lists_live_sessions_in_id_order_up_to_a_bound() {
        let registry = Registry::default();
        for id in [5, 2, 9] {
            let (e, s) = entry(&registry, &format!("p{id}"));
            SessionStats::add(&s.frames, id);
            SessionStats::add(&s.gl_errors, 1);
            registry.insert(id, e);
        }
        let (total, records) = registry.list(2);
        assert_eq!(total, 3);
        assert_eq!(records.iter().map(|r| r.session).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(records[1].program_name(), b"p5");
        assert_eq!((records[1].pid, records[1].stats.frames, records[1].gl_errors), (42, 5, 1));
        assert_eq!(registry.list(usize::MAX).1.len(), 3);
    }

    #[test]
    fn latency_lands_in_its_bucket() {
        let registry = Registry::default();
        let stats = registry.new_stats();
        for us in [1, 10, 11, 700, 200_000] {
            stats.latency.observe(Duration::from_micros(us));
        }
        let snap = registry.figures().latency;
        assert_eq!(snap.buckets, [2, 1, 0, 0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(snap.count(), 5);
        assert_eq!(snap.sum_ns, (1 + 10 + 11 + 700 + 200_000) * 1000);
        // Another session's stats feed the same histogram; stats outside a server do not.
        registry.new_stats().latency.observe(Duration::ZERO);
        SessionStats::default().latency.observe(Duration::ZERO);
        assert_eq!(registry.figures().latency.count(), 6);
    }
}
