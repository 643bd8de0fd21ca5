//! Per-session counters, shared by the session thread and its context threads and read
//! back by `QueryStats` (and, later, `glwire top` and the metrics endpoint).

use std::sync::atomic::{AtomicU64, Ordering};

use wire::control::StatsReply;

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
        }
    }
}
