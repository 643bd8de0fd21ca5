//! Object names: the client's names mapped to the host's, per share group for the
//! namespaces a share group shares and per context for the rest. A client only ever
//! sees and sends its own names; the host only ever sees names it generated, so no
//! client can reach an object it was not given, and the client may choose its names
//! (glGen* needs no round trip).
//!
//! It owns the tables and the rewriting of commands and replies; it does not call the
//! host (the executor makes host names and answers its queries) nor validate anything
//! else about a command.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wire::commands::*;
use wire::names::Namespace;
use wire::CommandBuf;

use crate::error::ServerError;
use crate::quota::{Part, SessionQuota, Storage};

/// The host name a client name that maps to nothing becomes: a name the host never
/// generates (it counts up from 1), so the host raises the error GL gives for a name
/// that is not an object, and no object of anyone is ever reached.
pub const NO_OBJECT: u32 = u32::MAX;

/// Most names one namespace of one share group (or context) may hold.
pub const MAX_NAMES: usize = 1 << 20;

const GL_INVALID_VALUE: u32 = 0x0501;
const GL_OUT_OF_MEMORY: u32 = 0x0505;

/// One namespace's mapping, both ways.
#[derive(Debug, Default)]
pub struct NameMap {
    to_host: HashMap<u32, u32>,
    to_client: HashMap<u32, u32>,
}

impl NameMap {
    pub fn host(&self, client: u32) -> Option<u32> {
        self.to_host.get(&client).copied()
    }

    pub fn client(&self, host: u32) -> Option<u32> {
        self.to_client.get(&host).copied()
    }

    pub fn len(&self) -> usize {
        self.to_host.len()
    }

    pub fn is_empty(&self) -> bool {
        self.to_host.is_empty()
    }

    /// Maps `client` to `host`. A host name the host hands out again was freed there
    /// (a program deleted while in use goes when it is no longer used, which only the
    /// host knows): the client name that still pointed at it is dropped, and returned.
    pub fn insert(&mut self, client: u32, host: u32) -> Option<u32> {
        let mut dropped = None;
        if let Some(stale) = self.to_client.insert(host, client) {
            if stale != client {
                self.to_host.remove(&stale);
                dropped = Some(stale);
            }
        }
        if let Some(old) = self.to_host.insert(client, host) {
            if old != host {
                self.to_client.remove(&old);
            }
        }
        dropped
    }

    pub fn remove(&mut self, client: u32) -> Option<u32> {
        let host = self.to_host.remove(&client)?;
        self.to_client.remove(&host);
        Some(host)
    }
}

/// A table per namespace, with each object's storage charge; every name and byte in
/// it is counted against the session's quota, and given back when it goes.
#[derive(Debug, Default)]
pub struct NameTables {
    maps: [NameMap; Namespace::ALL.len()],
    /// Storage charged to each object (by client name), per part.
    charges: [HashMap<u32, HashMap<Part, u64>>; Namespace::ALL.len()],
    /// The last client name given to a program or shader: the server chooses those
    /// (glCreateProgram answers one), counting up so that none is reused.
    last_program: u32,
    /// The session's quota (none: unlimited, for tables outside a session).
    quota: Option<Arc<SessionQuota>>,
    /// Shaders and programs the client deleted that the host may keep while they are
    /// attached or in use: their names go once the host says the object is gone.
    doomed: Vec<u32>,
    /// Counts the times a context took these tables to change them (or to look at them
    /// in a way that may): each context's [`Recent`] holds only while it is unchanged.
    changes: Arc<AtomicU64>,
}

impl NameTables {
    pub fn map(&mut self, ns: Namespace) -> &mut NameMap {
        &mut self.maps[ns.index()]
    }

    /// Counts `n` new objects against the quota; false past it (or past
    /// [`MAX_NAMES`] in `ns`).
    fn reserve(&mut self, ns: Namespace, n: usize) -> bool {
        if self.maps[ns.index()].len().saturating_add(n) > MAX_NAMES {
            return false;
        }
        self.quota.as_ref().is_none_or(|q| q.add_objects(n as u64))
    }

    /// Gives back a reservation whose objects were never made.
    fn unreserve(&mut self, n: usize) {
        if let Some(q) = &self.quota {
            q.remove_objects(n as u64);
        }
    }

    /// Maps a name whose object was reserved (counted) before.
    fn insert_reserved(&mut self, ns: Namespace, client: u32, host: u32) {
        if let Some(stale) = self.maps[ns.index()].insert(client, host) {
            self.forget(ns, stale);
        }
    }

    /// Drops `client`'s name; returns its host name.
    fn remove(&mut self, ns: Namespace, client: u32) -> Option<u32> {
        let host = self.maps[ns.index()].remove(client)?;
        self.forget(ns, client);
        Some(host)
    }

    /// Gives back what a name that went was counted for.
    fn forget(&mut self, ns: Namespace, client: u32) {
        let bytes: u64 = self.charges[ns.index()].remove(&client).map_or(0, |parts| parts.values().sum());
        if let Some(q) = &self.quota {
            q.remove_objects(1);
            q.recharge(bytes, 0);
        }
    }

    /// Charges `bytes` of storage for `part` of object `client` (replacing what that
    /// part, or for `Part::Whole` the whole object, had); false past the quota, and
    /// then nothing changes.
    fn charge(&mut self, ns: Namespace, client: u32, part: Part, bytes: u64) -> bool {
        let parts = self.charges[ns.index()].entry(client).or_default();
        let old: u64 = match part {
            Part::Whole => parts.values().sum(),
            Part::Level { .. } => parts.get(&part).copied().unwrap_or(0),
        };
        if !self.quota.as_ref().is_none_or(|q| q.recharge(old, bytes)) {
            return false;
        }
        if part == Part::Whole {
            parts.clear();
        }
        parts.insert(part, bytes);
        true
    }
}

impl Drop for NameTables {
    /// The tables go with their context or share group, and the host objects with the
    /// host context: everything counted is given back.
    fn drop(&mut self) {
        if let Some(q) = &self.quota {
            let names: usize = self.maps.iter().map(NameMap::len).sum();
            let bytes: u64 = self.charges.iter().flat_map(|c| c.values()).flat_map(|p| p.values()).sum();
            q.remove_objects(names as u64);
            q.recharge(bytes, 0);
        }
    }
}

/// The tables of one share group's shared namespaces; each context of the group holds
/// a reference.
pub type SharedNames = Arc<Mutex<NameTables>>;

/// Makes host names of a namespace (the host's glGen*).
pub type HostGen<'a> = dyn FnMut(Namespace, &mut [u32]) -> Result<(), ServerError> + 'a;

/// What the executor must do besides running the rewritten command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Nothing,
    /// glCreateProgram, glCreateShader, glCreateShaderProgramv: give the host's new
    /// name in the reply a client name.
    NewProgram,
    /// The reply holds host names to turn back into client names.
    ClientNames,
}

/// A context's view of the names: its share group's tables and its own.
#[derive(Debug)]
pub struct Names {
    shared: SharedNames,
    own: NameTables,
    /// The shared tables' change counter (`NameTables::changes`), read without their lock.
    shared_changes: Arc<AtomicU64>,
    recent: Recent,
}

/// Slots of [`Recent`]: a frame's objects (its meshes, textures and buffers) fit.
const RECENT_SLOTS: usize = 64;

/// The host names of recently looked-up client names. A bind-heavy frame looked each
/// one up in a hash map, behind the share group's lock for shared namespaces (an
/// atomic read-modify-write, a measurable share of such a frame); a hit here costs
/// neither. Direct-mapped, so a client's choice of names can make lookups miss but
/// never slow. Valid only while neither table changed: any other use of a table
/// (which may change it) forgets everything, and another context's changes show in
/// the shared tables' counter.
#[derive(Debug)]
struct Recent {
    /// The shared tables' change count the slots hold for; `STALE` when the own tables
    /// may have changed since they were filled.
    seen: u64,
    /// (namespace index + 1, or 0 for an empty slot; client name; host name).
    slots: [(u32, u32, u32); RECENT_SLOTS],
}

impl Recent {
    const STALE: u64 = u64::MAX;

    fn new() -> Self {
        Self { seen: Self::STALE, slots: [(0, 0, 0); RECENT_SLOTS] }
    }

    fn slot(ns: Namespace, client: u32) -> usize {
        (client.wrapping_mul(0x9E37_79B1).rotate_left(7) as usize ^ ns.index()) % RECENT_SLOTS
    }

    /// `client`'s host name in `ns` if it was looked up since the tables last changed
    /// (`now`: the shared tables' count, read before this lookup).
    fn get(&mut self, now: u64, ns: Namespace, client: u32) -> Option<u32> {
        if self.seen != now {
            self.slots = [(0, 0, 0); RECENT_SLOTS];
            self.seen = now;
            return None;
        }
        match self.slots[Self::slot(ns, client)] {
            (n, c, host) if n == ns.index() as u32 + 1 && c == client => Some(host),
            _ => None,
        }
    }

    /// Keeps a lookup made under the shared count `now` (read before it).
    fn put(&mut self, now: u64, ns: Namespace, client: u32, host: u32) {
        if self.seen == now {
            self.slots[Self::slot(ns, client)] = (ns.index() as u32 + 1, client, host);
        }
    }
}

/// A command with host names.
#[derive(Debug)]
pub enum Rewrite<'a> {
    /// Run this command (its scalar names are the host's now) with its name array
    /// replaced by `list` when there is one (`Command::with_name_list`).
    Run { cmd: Command<'a>, list: Option<Vec<u32>>, after: After },
    /// The command was glGen*, already done (the host names exist and are mapped).
    Done,
    /// Refused with this GL error; the host is not called.
    Error(u32),
}

impl Names {
    /// A context's names: `shared` is its share group's tables; both count against
    /// `quota` (a share group's tables take the quota of the first context that uses
    /// them: one session's).
    pub fn new(shared: SharedNames, quota: Arc<SessionQuota>) -> Self {
        let shared_changes = {
            let mut tables = shared.lock().unwrap_or_else(|e| e.into_inner());
            tables.quota.get_or_insert_with(|| quota.clone());
            tables.changes.clone()
        };
        let mut own = NameTables::default();
        own.quota = Some(quota);
        Self { shared, own, shared_changes, recent: Recent::new() }
    }

    /// Charges `storage` to the object of its namespace whose host name is `host` (the
    /// one bound at the command's target); false past the GL memory quota. Nothing is
    /// charged when nothing is bound (the host then refuses the command).
    pub fn charge(&mut self, storage: &Storage, host: u32) -> bool {
        let ns = storage.namespace;
        // The default texture (name 0) has storage too; a buffer target with 0 bound
        // allocates nothing.
        let client = match host {
            0 if ns == Namespace::Texture => 0,
            0 => return true,
            host => match self.tables(ns).get().map(ns).client(host) {
                Some(c) => c,
                None => return true,
            },
        };
        self.tables(ns).get().charge(ns, client, storage.part, storage.bytes)
    }

    /// `ns`'s tables, to change or to look at in a way that may change them: every
    /// context's [`Recent`] lookups of them are forgotten.
    fn tables(&mut self, ns: Namespace) -> TablesRef<'_> {
        self.recent.seen = Recent::STALE;
        if ns.shared() {
            let guard = self.lock_shared();
            // Counted under the lock, before any change: a context that read the count
            // before this and looks up a name afterwards sees it moved (the lock, and
            // the command streams' release and acquire between contexts, order the rest).
            guard.changes.fetch_add(1, Ordering::AcqRel);
            TablesRef::Shared(guard)
        } else {
            TablesRef::Own(&mut self.own)
        }
    }

    fn lock_shared(&self) -> MutexGuard<'_, NameTables> {
        // A poisoned lock means another context thread panicked mid-update; the maps are
        // still each consistent (every update is one insert or remove pair), so this
        // context goes on with them.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The host name of client name `client` in `ns` (0 for 0, [`NO_OBJECT`] for a name
    /// that maps to nothing).
    pub fn to_host(&mut self, ns: Namespace, client: u32) -> u32 {
        if client == 0 {
            return 0;
        }
        // Read before the lookup: a change after it makes what is kept stale.
        let now = self.shared_changes.load(Ordering::Acquire);
        if let Some(host) = self.recent.get(now, ns, client) {
            return host;
        }
        let host = if ns.shared() { self.lock_shared().map(ns).host(client) } else { self.own.map(ns).host(client) };
        match host {
            Some(host) => {
                self.recent.put(now, ns, client, host);
                host
            }
            None => NO_OBJECT,
        }
    }

    /// A bind of one object (`crate::fast::Lean::Bind`) with the host's name, when the
    /// client's maps to one (or is 0): what [`Names::rewrite`] gives it then, without its
    /// general steps. `None` for a name that maps to nothing, which `rewrite` handles
    /// (a bind may create the object) and for any other command.
    pub fn rewrite_bind<'c>(&mut self, cmd: &Command<'c>) -> Option<Command<'c>> {
        let known = |names: &mut Self, ns: Namespace, client: u32| match names.to_host(ns, client) {
            NO_OBJECT => None,
            host => Some(host),
        };
        Some(match *cmd {
            Command::BindBuffer(c) => {
                Command::BindBuffer(BindBuffer { buffer: known(self, Namespace::Buffer, c.buffer)?, ..c })
            }
            Command::BindTexture(c) => {
                Command::BindTexture(BindTexture { texture: known(self, Namespace::Texture, c.texture)?, ..c })
            }
            Command::BindVertexArray(c) => {
                Command::BindVertexArray(BindVertexArray { array: known(self, Namespace::VertexArray, c.array)? })
            }
            _ => return None,
        })
    }

    /// The client name of host name `host` in `ns` (0 for 0 and for a host object no
    /// client name maps to).
    pub fn to_client(&mut self, ns: Namespace, host: u32) -> u32 {
        if host == 0 {
            return 0;
        }
        self.tables(ns).get().map(ns).client(host).unwrap_or(0)
    }

    /// Rewrites `cmd` with host names. `gen` makes host names of a namespace (the
    /// host's glGen*), asked only for client names that map to nothing yet.
    pub fn rewrite<'c>(&mut self, cmd: &Command<'c>, gen: &mut HostGen<'_>) -> Result<Rewrite<'c>, ServerError> {
        let mut cmd = *cmd;
        if wire::names::generates(&cmd) {
            return self.generate(&cmd, gen);
        }
        let creates = wire::names::binds_to_create(&cmd);
        if let Command::DeleteProgram(DeleteProgram { program: client })
        | Command::DeleteShader(DeleteShader { shader: client }) = cmd
        {
            let mut tables = self.tables(Namespace::Program);
            let t = tables.get();
            if client != 0 && t.map(Namespace::Program).host(client).is_some() && !t.doomed.contains(&client) {
                t.doomed.push(client);
            }
        }
        for (ns, name) in cmd.names_mut().into_iter().flatten() {
            let client = *name;
            *name = self.to_host(ns, client);
            if *name == NO_OBJECT && creates == Some((ns, client)) {
                // ES keeps bind-to-create for these: the name becomes an object.
                if !self.tables(ns).get().reserve(ns, 1) {
                    return Ok(Rewrite::Error(GL_OUT_OF_MEMORY));
                }
                let mut host = [0u32];
                if let Err(e) = gen(ns, &mut host) {
                    self.tables(ns).get().unreserve(1);
                    return Err(e);
                }
                self.tables(ns).get().insert_reserved(ns, client, host[0]);
                *name = host[0];
            }
        }
        self.rewrite_by_hand(&mut cmd);
        let after = match cmd {
            Command::CreateProgram(_) | Command::CreateShader(_) | Command::CreateShaderProgramv(_) => {
                // Counted before the host makes it; `new_program` maps it.
                if !self.tables(Namespace::Program).get().reserve(Namespace::Program, 1) {
                    return Ok(Rewrite::Error(GL_OUT_OF_MEMORY));
                }
                After::NewProgram
            }
            _ if returns_names(&cmd) => After::ClientNames,
            _ => After::Nothing,
        };
        let Some((ns, clients)) = cmd.name_list() else { return Ok(Rewrite::Run { cmd, list: None, after }) };
        let deletes = !matches!(cmd, Command::ShaderBinary(_));
        let mut list = Vec::with_capacity(clients.len());
        {
            let mut tables = self.tables(ns);
            let t = tables.get();
            for &client in clients {
                // Deleting a name that is no object is no error: the host ignores
                // NO_OBJECT as it would the client's unused name.
                let host = if client == 0 {
                    0
                } else if deletes {
                    t.remove(ns, client).unwrap_or(NO_OBJECT)
                } else {
                    t.map(ns).host(client).unwrap_or(NO_OBJECT)
                };
                list.push(host);
            }
        }
        Ok(Rewrite::Run { cmd, list: Some(list), after })
    }

    /// glGen*: host names for the client's new names (a name already mapped keeps its
    /// object: another context of the share group bound it first).
    fn generate<'c>(&mut self, cmd: &Command<'c>, gen: &mut HostGen<'_>) -> Result<Rewrite<'c>, ServerError> {
        let Some((ns, clients)) = cmd.name_list() else { return Ok(Rewrite::Done) };
        let n = match *cmd {
            Command::GenSamplers(c) => c.count,
            Command::GenBuffers(GenBuffers { n, .. })
            | Command::GenTextures(GenTextures { n, .. })
            | Command::GenFramebuffers(GenFramebuffers { n, .. })
            | Command::GenRenderbuffers(GenRenderbuffers { n, .. })
            | Command::GenQueries(GenQueries { n, .. })
            | Command::GenTransformFeedbacks(GenTransformFeedbacks { n, .. })
            | Command::GenVertexArrays(GenVertexArrays { n, .. })
            | Command::GenProgramPipelines(GenProgramPipelines { n, .. }) => n,
            _ => 0,
        };
        if n < 0 {
            return Ok(Rewrite::Error(GL_INVALID_VALUE));
        }
        let mut fresh: Vec<u32> = {
            let mut tables = self.tables(ns);
            let map = tables.get().map(ns);
            clients.iter().copied().filter(|&c| c != 0 && map.host(c).is_none()).collect()
        };
        fresh.sort_unstable();
        fresh.dedup();
        if fresh.is_empty() {
            return Ok(Rewrite::Done);
        }
        if !self.tables(ns).get().reserve(ns, fresh.len()) {
            return Ok(Rewrite::Error(GL_OUT_OF_MEMORY));
        }
        let mut host = vec![0u32; fresh.len()];
        if let Err(e) = gen(ns, &mut host) {
            self.tables(ns).get().unreserve(fresh.len());
            return Err(e);
        }
        let mut tables = self.tables(ns);
        let t = tables.get();
        for (client, host) in fresh.into_iter().zip(host) {
            t.insert_reserved(ns, client, host);
        }
        Ok(Rewrite::Done)
    }

    /// The names whose namespace another argument decides.
    fn rewrite_by_hand(&mut self, cmd: &mut Command<'_>) {
        const GL_RENDERBUFFER: u32 = 0x8D41;
        let image_ns =
            |target: u32| if target == GL_RENDERBUFFER { Namespace::Renderbuffer } else { Namespace::Texture };
        match cmd {
            Command::ObjectLabel(c) => {
                if let Some(ns) = label_namespace(c.identifier) {
                    c.name = self.to_host(ns, c.name);
                }
            }
            Command::GetObjectLabel(c) => {
                if let Some(ns) = label_namespace(c.identifier) {
                    c.name = self.to_host(ns, c.name);
                }
            }
            Command::LabelObjectEXT(c) => {
                if let Some(ns) = label_namespace(c.type_) {
                    c.object = self.to_host(ns, c.object);
                }
            }
            Command::CopyImageSubData(c) => {
                c.src_name = self.to_host(image_ns(c.src_target), c.src_name);
                c.dst_name = self.to_host(image_ns(c.dst_target), c.dst_name);
            }
            _ => {}
        }
    }

    /// Drops the names of deleted shaders and programs the host no longer has (`alive`
    /// asks it about a host name): after a delete, a detach or a change of program,
    /// which is when the host frees them.
    pub fn sweep_deleted_programs(&mut self, alive: &mut dyn FnMut(u32) -> bool) {
        let mut tables = self.tables(Namespace::Program);
        let t = tables.get();
        let doomed = std::mem::take(&mut t.doomed);
        for client in doomed {
            match t.map(Namespace::Program).host(client) {
                Some(host) if alive(host) => t.doomed.push(client),
                Some(_) => {
                    t.remove(Namespace::Program, client);
                }
                None => {}
            }
        }
    }

    /// A client name for the host's new program or shader `host`, counted when the
    /// command was rewritten (0 stays 0: the host refused, and the count goes back).
    pub fn new_program(&mut self, host: u32) -> u32 {
        let mut tables = self.tables(Namespace::Program);
        let t = tables.get();
        if host == 0 {
            t.unreserve(1);
            return 0;
        }
        t.last_program = t.last_program.wrapping_add(1).max(1);
        let client = t.last_program;
        t.insert_reserved(Namespace::Program, client, host);
        client
    }

    /// Re-encodes a reply of `cmd` (a host reply, `reply`) with client names instead of
    /// host names into `out`; `false` when it holds none. `object_type` answers
    /// GL_FRAMEBUFFER_ATTACHMENT_OBJECT_TYPE for the attachment the command asked
    /// about (only asked for glGetFramebufferAttachmentParameteriv).
    pub fn reply_to_client(
        &mut self,
        cmd: &Command<'_>,
        reply: Reply<'_>,
        object_type: &mut dyn FnMut() -> u32,
        out: &mut CommandBuf,
    ) -> Result<bool, ServerError> {
        let one = |me: &mut Self, ns: Option<Namespace>, v: i64| match ns {
            Some(ns) => i64::from(me.to_client(ns, u32::try_from(v).unwrap_or(0))),
            None => v,
        };
        match (cmd, reply) {
            (Command::GetIntegerv(c), Reply::GetIntegerv(r)) => {
                let ns = binding_namespace(c.pname);
                let data: Option<Vec<i32>> =
                    r.data.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetIntegervReply { data: data.as_deref() }.encode(out)?;
            }
            (Command::GetInteger64v(c), Reply::GetInteger64v(r)) => {
                let ns = binding_namespace(c.pname);
                let data: Option<Vec<i64>> = r.data.map(|d| d.iter().map(|&v| one(self, ns, v)).collect());
                GetInteger64vReply { data: data.as_deref() }.encode(out)?;
            }
            (Command::GetFloatv(c), Reply::GetFloatv(r)) => {
                let ns = binding_namespace(c.pname);
                let data: Option<Vec<f32>> =
                    r.data.map(|d| d.iter().map(|&v| one(self, ns, v as i64) as f32).collect());
                GetFloatvReply { data: data.as_deref() }.encode(out)?;
            }
            (Command::GetIntegeriV(c), Reply::GetIntegeriV(r)) => {
                let ns = indexed_binding_namespace(c.target);
                let data: Option<Vec<i32>> =
                    r.data.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetIntegeriVReply { data: data.as_deref() }.encode(out)?;
            }
            (Command::GetInteger64iV(c), Reply::GetInteger64iV(r)) => {
                let ns = indexed_binding_namespace(c.target);
                let data: Option<Vec<i64>> = r.data.map(|d| d.iter().map(|&v| one(self, ns, v)).collect());
                GetInteger64iVReply { data: data.as_deref() }.encode(out)?;
            }
            (Command::GetVertexAttribiv(c), Reply::GetVertexAttribiv(r)) => {
                let ns = (c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING).then_some(Namespace::Buffer);
                let p: Option<Vec<i32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetVertexAttribivReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetVertexAttribIiv(c), Reply::GetVertexAttribIiv(r)) => {
                let ns = (c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING).then_some(Namespace::Buffer);
                let p: Option<Vec<i32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetVertexAttribIivReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetVertexAttribIuiv(c), Reply::GetVertexAttribIuiv(r)) => {
                let ns = (c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING).then_some(Namespace::Buffer);
                let p: Option<Vec<u32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as u32).collect());
                GetVertexAttribIuivReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetVertexAttribfv(c), Reply::GetVertexAttribfv(r)) => {
                let ns = (c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING).then_some(Namespace::Buffer);
                let p: Option<Vec<f32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v as i64) as f32).collect());
                GetVertexAttribfvReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetProgramPipelineiv(c), Reply::GetProgramPipelineiv(r)) => {
                let ns = pipeline_program(c.pname).then_some(Namespace::Program);
                let p: Option<Vec<i32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetProgramPipelineivReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetQueryiv(c), Reply::GetQueryiv(r)) => {
                let ns = (c.pname == GL_CURRENT_QUERY).then_some(Namespace::Query);
                let p: Option<Vec<i32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetQueryivReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetTexLevelParameteriv(c), Reply::GetTexLevelParameteriv(r)) => {
                let ns = (c.pname == GL_TEXTURE_BUFFER_DATA_STORE_BINDING).then_some(Namespace::Buffer);
                let p: Option<Vec<i32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetTexLevelParameterivReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetFramebufferAttachmentParameteriv(c), Reply::GetFramebufferAttachmentParameteriv(r)) => {
                let ns = if c.pname == GL_FRAMEBUFFER_ATTACHMENT_OBJECT_NAME {
                    match object_type() {
                        GL_TEXTURE => Some(Namespace::Texture),
                        GL_RENDERBUFFER => Some(Namespace::Renderbuffer),
                        _ => None,
                    }
                } else {
                    None
                };
                let p: Option<Vec<i32>> = r.params.map(|d| d.iter().map(|&v| one(self, ns, v.into()) as i32).collect());
                GetFramebufferAttachmentParameterivReply { params: p.as_deref() }.encode(out)?;
            }
            (Command::GetAttachedShaders(_), Reply::GetAttachedShaders(r)) => {
                let shaders: Option<Vec<u32>> =
                    r.shaders.map(|d| d.iter().map(|&v| self.to_client(Namespace::Program, v)).collect());
                GetAttachedShadersReply { count: r.count, shaders: shaders.as_deref() }.encode(out)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A lock on the shared tables, or the context's own.
enum TablesRef<'a> {
    Shared(MutexGuard<'a, NameTables>),
    Own(&'a mut NameTables),
}

impl TablesRef<'_> {
    fn get(&mut self) -> &mut NameTables {
        match self {
            TablesRef::Shared(g) => g,
            TablesRef::Own(t) => t,
        }
    }
}

const GL_TEXTURE: u32 = 0x1702;
const GL_RENDERBUFFER: u32 = 0x8D41;
const GL_CURRENT_QUERY: u32 = 0x8865;
const GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING: u32 = 0x889F;
const GL_FRAMEBUFFER_ATTACHMENT_OBJECT_NAME: u32 = 0x8CD1;
const GL_TEXTURE_BUFFER_DATA_STORE_BINDING: u32 = 0x8C2D;

/// The namespace of the object a glGet* pname names (the `*_BINDING` pnames,
/// GL_CURRENT_PROGRAM).
fn binding_namespace(pname: u32) -> Option<Namespace> {
    Some(match pname {
        // Buffers bound at each target.
        0x8894 | 0x8895 | 0x8F36 | 0x8F37 | 0x88ED | 0x88EF | 0x8C8F | 0x8A28 | 0x90D3 | 0x92C1 | 0x90EF | 0x8F43
        | 0x8C2A => Namespace::Buffer,
        // Textures bound at each target of the active unit.
        0x8069 | 0x806A | 0x8514 | 0x8C1D | 0x9104 | 0x9105 | 0x900A | 0x8C2C | 0x8D67 => Namespace::Texture,
        0x8CA7 => Namespace::Renderbuffer,
        0x8CA6 | 0x8CAA => Namespace::Framebuffer,
        0x8B8D => Namespace::Program,
        0x85B5 => Namespace::VertexArray,
        0x8E25 => Namespace::TransformFeedback,
        0x8919 => Namespace::Sampler,
        0x825A => Namespace::Pipeline,
        _ => return None,
    })
}

/// The namespace of the object an indexed glGet*i_v target names.
fn indexed_binding_namespace(target: u32) -> Option<Namespace> {
    match target {
        // Indexed buffer bindings, and a vertex binding's buffer.
        0x8C8F | 0x8A28 | 0x90D3 | 0x92C1 | 0x8F4F => Some(Namespace::Buffer),
        // GL_IMAGE_BINDING_NAME
        0x8F3A => Some(Namespace::Texture),
        _ => None,
    }
}

/// glGetProgramPipelineiv pnames that answer a program: GL_ACTIVE_PROGRAM and each
/// stage's program.
fn pipeline_program(pname: u32) -> bool {
    matches!(pname, 0x8259 | 0x8B31 | 0x8B30 | 0x91B9 | 0x8DD9 | 0x8E88 | 0x8E87)
}

/// The namespace glObjectLabel's `identifier` (or EXT_debug_label's `type`) names.
fn label_namespace(identifier: u32) -> Option<Namespace> {
    Some(match identifier {
        0x82E0 | 0x9151 => Namespace::Buffer,
        0x82E1 | 0x82E2 | 0x8B48 | 0x8B40 => Namespace::Program,
        0x8074 | 0x9154 => Namespace::VertexArray,
        0x82E3 | 0x9153 => Namespace::Query,
        0x82E4 | 0x8A4F => Namespace::Pipeline,
        0x8E22 => Namespace::TransformFeedback,
        0x82E6 => Namespace::Sampler,
        GL_TEXTURE => Namespace::Texture,
        GL_RENDERBUFFER => Namespace::Renderbuffer,
        0x8D40 => Namespace::Framebuffer,
        _ => return None,
    })
}

/// True for a query whose reply may hold host names (decided by the reply's pname in
/// [`Names::reply_to_client`]).
fn returns_names(cmd: &Command<'_>) -> bool {
    match cmd {
        Command::GetIntegerv(c) => binding_namespace(c.pname).is_some(),
        Command::GetInteger64v(c) => binding_namespace(c.pname).is_some(),
        Command::GetFloatv(c) => binding_namespace(c.pname).is_some(),
        Command::GetIntegeriV(c) => indexed_binding_namespace(c.target).is_some(),
        Command::GetInteger64iV(c) => indexed_binding_namespace(c.target).is_some(),
        Command::GetVertexAttribiv(c) => c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING,
        Command::GetVertexAttribIiv(c) => c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING,
        Command::GetVertexAttribIuiv(c) => c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING,
        Command::GetVertexAttribfv(c) => c.pname == GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING,
        Command::GetProgramPipelineiv(c) => pipeline_program(c.pname),
        Command::GetQueryiv(c) => c.pname == GL_CURRENT_QUERY,
        Command::GetTexLevelParameteriv(c) => c.pname == GL_TEXTURE_BUFFER_DATA_STORE_BINDING,
        Command::GetFramebufferAttachmentParameteriv(c) => c.pname == GL_FRAMEBUFFER_ATTACHMENT_OBJECT_NAME,
        Command::GetAttachedShaders(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Host names as the host gives them: counting up from 1.
    fn host_gen() -> impl FnMut(Namespace, &mut [u32]) -> Result<(), ServerError> {
        let mut last = 0;
        move |_, out| {
            for name in out {
                last += 1;
                *name = last;
            }
            Ok(())
        }
    }

    fn run<'a>(r: Rewrite<'a>) -> (Command<'a>, Option<Vec<u32>>) {
        match r {
            Rewrite::Run { cmd, list, .. } => (cmd, list),
            other => panic!("{other:?}"),
        }
    }

    /// Looked-up names are kept only while no table changed: a delete in another
    /// context of the share group, or in this context's own tables, is seen at once,
    /// and names that share a slot of `Recent` each keep their own host name.
    #[test]
    fn kept_lookups_follow_changes_in_every_context() {
        let shared = SharedNames::default();
        let mut a = Names::new(shared.clone(), SessionQuota::unlimited());
        let mut b = Names::new(shared, SessionQuota::unlimited());
        let mut gen = host_gen();
        let tex = Namespace::Texture;
        assert!(matches!(
            a.rewrite(&wire::names::gen_command(tex, 1, &[5]).unwrap(), &mut gen).unwrap(),
            Rewrite::Done
        ));
        let first = a.to_host(tex, 5);
        assert_ne!(first, NO_OBJECT);
        assert_eq!(a.to_host(tex, 5), first, "kept");
        assert_eq!(b.to_host(tex, 5), first, "shared");
        // Another context deletes it, then makes a new object of the same name.
        run(b.rewrite(&Command::DeleteTextures(DeleteTextures { n: 1, textures: &[5] }), &mut gen).unwrap());
        assert_eq!(a.to_host(tex, 5), NO_OBJECT, "a delete elsewhere is seen");
        assert!(matches!(
            b.rewrite(&wire::names::gen_command(tex, 1, &[5]).unwrap(), &mut gen).unwrap(),
            Rewrite::Done
        ));
        let second = a.to_host(tex, 5);
        assert!(second != first && second != NO_OBJECT, "the new object");
        // This context's own (unshared) tables.
        let vao = Namespace::VertexArray;
        assert!(!vao.shared());
        assert!(matches!(
            a.rewrite(&wire::names::gen_command(vao, 1, &[3]).unwrap(), &mut gen).unwrap(),
            Rewrite::Done
        ));
        assert_ne!(a.to_host(vao, 3), NO_OBJECT);
        run(a.rewrite(&Command::DeleteVertexArrays(DeleteVertexArrays { n: 1, arrays: &[3] }), &mut gen).unwrap());
        assert_eq!(a.to_host(vao, 3), NO_OBJECT, "an own delete is seen");
        // Many more names than slots, looked up in turn: each keeps its own.
        let many: Vec<u32> = (1..=4 * RECENT_SLOTS as u32).map(|i| i * 64).collect();
        let gen_many = wire::names::gen_command(Namespace::Buffer, many.len() as i32, &many).unwrap();
        assert!(matches!(a.rewrite(&gen_many, &mut gen).unwrap(), Rewrite::Done));
        let hosts: Vec<u32> = many.iter().map(|&c| a.to_host(Namespace::Buffer, c)).collect();
        for round in 0..3 {
            for (i, &c) in many.iter().enumerate().rev() {
                assert_eq!(a.to_host(Namespace::Buffer, c), hosts[i], "round {round}, name {c}");
                assert_eq!(a.to_host(Namespace::Texture, c), NO_OBJECT, "another namespace, name {c}");
            }
        }
    }

    #[test]
    fn a_host_name_given_again_drops_the_stale_client_name() {
        let mut map = NameMap::default();
        map.insert(10, 1);
        map.insert(11, 1);
        assert_eq!(map.host(10), None);
        assert_eq!(map.host(11), Some(1));
        assert_eq!(map.client(1), Some(11));
        assert_eq!(map.remove(11), Some(1));
        assert!(map.is_empty() && map.client(1).is_none());
    }

    #[test]
    fn generated_names_map_and_unknown_ones_reach_no_object() {
        let mut names = Names::new(SharedNames::default(), SessionQuota::unlimited());
        let mut gen = host_gen();
        let cmd = Command::GenBuffers(GenBuffers { n: 2, buffers: &[500, 501] });
        assert!(matches!(names.rewrite(&cmd, &mut gen).unwrap(), Rewrite::Done));
        // Generating a mapped name again keeps its object.
        assert!(matches!(names.rewrite(&cmd, &mut gen).unwrap(), Rewrite::Done));
        assert_eq!((names.to_host(Namespace::Buffer, 500), names.to_host(Namespace::Buffer, 501)), (1, 2));
        let (cmd, _) = run(names.rewrite(&Command::IsBuffer(IsBuffer { buffer: 501 }), &mut gen).unwrap());
        assert_eq!(cmd, Command::IsBuffer(IsBuffer { buffer: 2 }));
        let (cmd, _) = run(names.rewrite(&Command::IsBuffer(IsBuffer { buffer: 7 }), &mut gen).unwrap());
        assert_eq!(cmd, Command::IsBuffer(IsBuffer { buffer: NO_OBJECT }));
        // Only the bind-to-create commands make objects of unknown names.
        let (cmd, _) = run(names.rewrite(&Command::BindBuffer(BindBuffer { target: 1, buffer: 7 }), &mut gen).unwrap());
        assert_eq!(cmd, Command::BindBuffer(BindBuffer { target: 1, buffer: 3 }));
        let bind = Command::BindVertexArray(BindVertexArray { array: 7 });
        assert_eq!(
            run(names.rewrite(&bind, &mut gen).unwrap()).0,
            Command::BindVertexArray(BindVertexArray { array: NO_OBJECT })
        );
        assert!(matches!(
            names.rewrite(&Command::GenQueries(GenQueries { n: -1, ids: &[] }), &mut gen).unwrap(),
            Rewrite::Error(GL_INVALID_VALUE)
        ));
    }

    #[test]
    fn deletes_drop_their_names_and_keep_their_length() {
        let mut names = Names::new(SharedNames::default(), SessionQuota::unlimited());
        let mut gen = host_gen();
        names.rewrite(&Command::GenTextures(GenTextures { n: 1, textures: &[40] }), &mut gen).unwrap();
        let del = Command::DeleteTextures(DeleteTextures { n: 3, textures: &[40, 0, 41] });
        let (_, list) = run(names.rewrite(&del, &mut gen).unwrap());
        assert_eq!(list.unwrap(), [1, 0, NO_OBJECT]);
        assert_eq!(names.to_host(Namespace::Texture, 40), NO_OBJECT);
    }

    #[test]
    fn shared_namespaces_are_the_groups_and_the_rest_the_contexts() {
        let group = SharedNames::default();
        let (mut a, mut b) =
            (Names::new(group.clone(), SessionQuota::unlimited()), Names::new(group, SessionQuota::unlimited()));
        let mut gen = host_gen();
        a.rewrite(&Command::GenBuffers(GenBuffers { n: 1, buffers: &[9] }), &mut gen).unwrap();
        a.rewrite(&Command::GenVertexArrays(GenVertexArrays { n: 1, arrays: &[9] }), &mut gen).unwrap();
        assert_eq!(b.to_host(Namespace::Buffer, 9), 1);
        assert_eq!(b.to_host(Namespace::VertexArray, 9), NO_OBJECT);
        // Programs get client names from the group's count.
        assert_eq!((a.new_program(30), b.new_program(31)), (1, 2));
        assert_eq!(a.to_client(Namespace::Program, 31), 2);
    }

    #[test]
    fn names_and_storage_count_against_the_quota_and_come_back() {
        let stats: Arc<crate::stats::SessionStats> = Arc::default();
        let limits = crate::quota::Limits { max_objects: 3, max_gl_bytes: 1000, ..crate::quota::Limits::UNLIMITED };
        let quota = SessionQuota::new(limits, stats.clone());
        let count = || {
            use std::sync::atomic::Ordering::Relaxed;
            (stats.objects.load(Relaxed), stats.gl_bytes.load(Relaxed))
        };
        let group = SharedNames::default();
        let mut names = Names::new(group.clone(), quota.clone());
        let mut gen = host_gen();
        names.rewrite(&Command::GenBuffers(GenBuffers { n: 2, buffers: &[1, 2] }), &mut gen).unwrap();
        names.rewrite(&Command::GenVertexArrays(GenVertexArrays { n: 1, arrays: &[1] }), &mut gen).unwrap();
        assert_eq!(count(), (3, 0));
        // A fourth object is GL_OUT_OF_MEMORY and takes no host name.
        let more = names.rewrite(&Command::GenTextures(GenTextures { n: 1, textures: &[9] }), &mut gen).unwrap();
        assert!(matches!(more, Rewrite::Error(GL_OUT_OF_MEMORY)));
        let bind = Command::BindTexture(BindTexture { target: 0x0DE1, texture: 9 });
        assert!(matches!(names.rewrite(&bind, &mut gen).unwrap(), Rewrite::Error(GL_OUT_OF_MEMORY)));
        // Storage: buffer 1 (host 1) gets 600 bytes, then 900; 200 more elsewhere is over.
        let storage = |bytes| Storage {
            namespace: Namespace::Buffer,
            binding: 0x8894,
            part: Part::Whole,
            bytes,
            within: [(0, 0); 2],
        };
        assert!(names.charge(&storage(600), 1));
        assert!(names.charge(&storage(900), 1));
        assert!(!names.charge(&storage(200), 2));
        assert_eq!(count(), (3, 900));
        // Nothing bound: nothing charged.
        assert!(names.charge(&storage(5000), 0));
        // Deleting gives back the name and its bytes.
        let del = Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[1] });
        run(names.rewrite(&del, &mut gen).unwrap());
        assert_eq!(count(), (2, 0));
        // The context's own tables go with it; the group's with the group.
        drop(names);
        assert_eq!(count(), (1, 0));
        drop(group);
        assert_eq!(count(), (0, 0));
    }
}
