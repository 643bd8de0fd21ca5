//! Per-session counters, shared by the session thread and its context threads and read
//! back by `QueryStats` (and, later, `glwire top` and the metrics endpoint), and the
//! server's registry of live sessions, whose sums `QueryServerStats` reads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wire::control::{ServerStatsReply, StatsReply};

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
}

impl SessionStats {
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
}

/// A live session, as the registry knows it.
#[derive(Debug)]
pub struct SessionEntry {
    pub program: String,
    pub pid: u32,
    pub stats: Arc<SessionStats>,
}

/// The server's live sessions. A session is in it from its welcome until everything
/// it owned is freed (its context threads joined, its surfaces and host objects gone),
/// so the sums drop back only once the resources really are released.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: Mutex<BTreeMap<u64, SessionEntry>>,
}

impl Registry {
    pub fn insert(&self, id: u64, entry: SessionEntry) {
        self.lock().insert(id, entry);
    }

    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// The live sessions and their stats summed.
    pub fn totals(&self) -> ServerStatsReply {
        let sessions = self.lock();
        let mut t = StatsReply::default();
        for entry in sessions.values() {
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
        ServerStatsReply { sessions: sessions.len() as u64, totals: t }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, SessionEntry>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}
