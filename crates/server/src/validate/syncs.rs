//! The per-context table of sync objects: host `GLsync` pointers on one side, small
//! client ids on the other, so no client value is ever passed to the host as a pointer
//! and no host address ever reaches a client. It does not call GL.

use std::collections::BTreeMap;

/// Most live sync objects one context may hold; glFenceSync beyond this is
/// GL_OUT_OF_MEMORY without a host call.
pub const MAX_SYNCS: usize = 4096;

#[derive(Debug)]
pub struct SyncTable {
    by_id: BTreeMap<u64, u64>,
    /// Never reused within a context, so a stale id misses instead of hitting a newer sync.
    next: u64,
}

impl Default for SyncTable {
    fn default() -> Self {
        Self { by_id: BTreeMap::new(), next: 1 }
    }
}

impl SyncTable {
    pub fn is_full(&self) -> bool {
        self.by_id.len() >= MAX_SYNCS
    }

    /// A new client id for a host sync (0 stays 0: a failed glFenceSync).
    pub fn insert(&mut self, host: u64) -> u64 {
        if host == 0 {
            return 0;
        }
        let id = self.next;
        self.next += 1;
        self.by_id.insert(id, host);
        id
    }

    /// The host sync of a client id, if the id is live.
    pub fn host(&self, id: u64) -> Option<u64> {
        self.by_id.get(&id).copied()
    }

    pub fn remove(&mut self, id: u64) -> Option<u64> {
        self.by_id.remove(&id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_back_and_are_not_reused() {
        let mut t = SyncTable::default();
        assert_eq!(t.insert(0), 0);
        let a = t.insert(0xdead_0000);
        assert_eq!(t.host(a), Some(0xdead_0000));
        assert_eq!(t.remove(a), Some(0xdead_0000));
        assert_eq!(t.host(a), None);
        assert_ne!(t.insert(0xdead_0000), a);
        assert_eq!(t.host(0xdead_0000), None, "a host address is not an id");
    }
}
