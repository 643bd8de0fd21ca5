//! The object names the client chooses: glGen* answers here, without a round trip,
//! and the server maps each name to one its host generates (`server::names`). Names
//! of the namespaces an EGL share group shares come from one allocator per share
//! group; the rest from one per context. It does not know host names, nor shaders and
//! programs (the server names those: glCreateProgram needs its reply anyway).
//!
//! Names count up and are never reused: a name deleted on one context of a share group
//! may still be in flight on another's stream, and a reused name would then reach the
//! server as two objects at once. A name a program binds without generating it (ES's
//! bind-to-create) moves the count past it, so glGen* never returns a name in use.

use std::sync::{Arc, Mutex};

use wire::names::Namespace;

use crate::CallError;

/// One namespace's count: the last name given or bound.
#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    last: u32,
}

/// The allocators of every namespace (a share group's or a context's half is used).
#[derive(Debug, Default)]
pub struct NameAllocator {
    counters: [Counter; Namespace::ALL.len()],
}

impl NameAllocator {
    /// Fills `out` with new names of `ns`; GL_OUT_OF_MEMORY when the namespace ran out
    /// (after 4 294 967 295 names), with nothing given.
    pub fn generate(&mut self, ns: Namespace, out: &mut [u32]) -> Result<(), CallError> {
        let counter = &mut self.counters[ns.index()];
        let n = u32::try_from(out.len()).map_err(|_| CallError::Gl(GL_OUT_OF_MEMORY))?;
        // The last name handed out stays below u32::MAX, which the server keeps for
        // "no object".
        let last = counter.last.checked_add(n).filter(|&l| l < u32::MAX).ok_or(CallError::Gl(GL_OUT_OF_MEMORY))?;
        for (i, name) in out.iter_mut().enumerate() {
            *name = counter.last + 1 + i as u32;
        }
        counter.last = last;
        Ok(())
    }

    /// Records that the program made an object of `name` without generating it.
    pub fn note_bound(&mut self, ns: Namespace, name: u32) {
        let counter = &mut self.counters[ns.index()];
        counter.last = counter.last.max(name.min(u32::MAX - 1));
    }
}

/// A share group's allocator, shared by its contexts.
pub type SharedNames = Arc<Mutex<NameAllocator>>;

const GL_OUT_OF_MEMORY: u32 = 0x0505;

/// A context's two allocators.
#[derive(Debug, Default)]
pub struct ContextNames {
    pub(crate) shared: SharedNames,
    own: NameAllocator,
    /// Each shared namespace's count as this context last saw it: counts only go up, so
    /// a bound name at or below it changes nothing and needs no lock. A program that
    /// binds its textures each draw took the share group's lock for every bind (an
    /// atomic read-modify-write, most of the cost of its binds here).
    shared_seen: [u32; Namespace::ALL.len()],
}

impl ContextNames {
    /// New names of `ns` from the right allocator.
    pub fn generate(&mut self, ns: Namespace, out: &mut [u32]) -> Result<(), CallError> {
        if ns.shared() {
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            let given = shared.generate(ns, out);
            self.shared_seen[ns.index()] = shared.counters[ns.index()].last;
            given
        } else {
            self.own.generate(ns, out)
        }
    }

    pub fn note_bound(&mut self, ns: Namespace, name: u32) {
        if ns.shared() {
            if name <= self.shared_seen[ns.index()] {
                return;
            }
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            shared.note_bound(ns, name);
            self.shared_seen[ns.index()] = shared.counters[ns.index()].last;
        } else {
            self.own.note_bound(ns, name)
        }
    }

    /// Joins the share group of the context that owns `group`.
    pub fn share(&mut self, group: SharedNames) {
        self.shared = group;
        self.shared_seen = Default::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_up_and_skip_bound_ones() {
        let mut a = NameAllocator::default();
        let mut out = [0; 3];
        a.generate(Namespace::Buffer, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3]);
        a.note_bound(Namespace::Buffer, 10);
        a.note_bound(Namespace::Buffer, 5);
        a.generate(Namespace::Buffer, &mut out[..1]).unwrap();
        assert_eq!(out[0], 11);
        // Namespaces count apart.
        a.generate(Namespace::Texture, &mut out[..1]).unwrap();
        assert_eq!(out[0], 1);
    }

    #[test]
    fn running_out_is_out_of_memory_and_gives_nothing() {
        let mut a = NameAllocator::default();
        a.note_bound(Namespace::Query, u32::MAX - 3);
        let mut out = [0; 4];
        assert!(matches!(a.generate(Namespace::Query, &mut out), Err(CallError::Gl(GL_OUT_OF_MEMORY))));
        assert_eq!(out, [0; 4]);
        a.generate(Namespace::Query, &mut out[..2]).unwrap();
        assert_eq!(out[..2], [u32::MAX - 2, u32::MAX - 1]);
        assert!(a.generate(Namespace::Query, &mut out[..1]).is_err());
    }

    /// A bound name moves the shared count whichever context binds it, including one
    /// whose last look at the count is stale.
    #[test]
    fn bound_names_move_the_shared_count_from_every_context() {
        let mut a = ContextNames::default();
        let mut b = ContextNames::default();
        b.share(a.shared.clone());
        let tex = Namespace::Texture;
        let mut out = [0];
        a.note_bound(tex, 10);
        b.generate(tex, &mut out).unwrap();
        assert_eq!(out, [11]);
        a.generate(tex, &mut out).unwrap();
        assert_eq!(out, [12]);
        b.note_bound(tex, 5);
        b.note_bound(tex, 20);
        a.note_bound(tex, 12);
        a.generate(tex, &mut out).unwrap();
        assert_eq!(out, [21]);
        b.note_bound(tex, 21);
        b.generate(tex, &mut out).unwrap();
        assert_eq!(out, [22]);
    }

    #[test]
    fn a_share_group_shares_only_shared_namespaces() {
        let mut a = ContextNames::default();
        let mut b = ContextNames::default();
        b.share(a.shared.clone());
        let (mut x, mut y) = ([0], [0]);
        a.generate(Namespace::Texture, &mut x).unwrap();
        b.generate(Namespace::Texture, &mut y).unwrap();
        assert_ne!(x, y);
        a.generate(Namespace::VertexArray, &mut x).unwrap();
        b.generate(Namespace::VertexArray, &mut y).unwrap();
        assert_eq!(x, y);
    }
}
