//! A client GL context: its command stream, the state it shadows to size pointer
//! arguments, the strings it keeps alive for `glGetString`, and the thread-local
//! "current context" the ICD's GL entry points use. GL calls carry no context, so the
//! current one per thread is the only way to find it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};

use wire::commands::{Command, Message};
use wire::sizes::PixelStore;
use wire::CommandBuf;

use crate::link::{Forward, Link, ReplyBuf};
use crate::typed::{typed, Typed};
use crate::CallError;

const GL_ARRAY_BUFFER: u32 = 0x8892;
const GL_ELEMENT_ARRAY_BUFFER: u32 = 0x8893;
const GL_PIXEL_PACK_BUFFER: u32 = 0x88EB;
const GL_PIXEL_UNPACK_BUFFER: u32 = 0x88EC;

/// Buffer binding points that turn a pointer argument into a buffer offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferSlot {
    /// GL_PIXEL_UNPACK_BUFFER: texture uploads read from it.
    Unpack,
    /// GL_PIXEL_PACK_BUFFER: glReadPixels writes into it.
    Pack,
    /// GL_ELEMENT_ARRAY_BUFFER of the bound vertex array: indices come from it.
    Element,
}

/// One GL context as the client sees it.
pub struct Context {
    link: Option<Box<dyn Link>>,
    stream: CommandBuf,
    reply: ReplyBuf,
    pub(crate) unpack: PixelStore,
    pub(crate) pack: PixelStore,
    /// Buffer bound at each context-level target (GL_ARRAY_BUFFER, pixel pack and
    /// unpack, …); the element array binding belongs to the vertex array instead.
    bound: HashMap<u32, u32>,
    /// GL_ELEMENT_ARRAY_BUFFER of each vertex array (0 is the default one).
    vao_element: HashMap<u32, u32>,
    vao: u32,
    /// Strings returned to the program stay valid for the context's life (the spec
    /// requires pointers from glGetString to stay valid).
    strings: HashMap<[u64; 3], CString>,
    /// The first GL error the client detected itself since the last `glGetError`.
    client_error: Option<u32>,
    /// Attributes pointing at the program's memory (default vertex array).
    client_arrays: crate::client_arrays::ClientArrays,
    /// The buffer client-memory vertices are copied into at draw time (made on first
    /// use), and the bytes of the last copy.
    array_scratch: u32,
    array_data: Vec<u8>,
    /// Mapped buffer ranges, by buffer name: the client-side copies the program reads
    /// and writes (see `mapping`). Each lives until its buffer is unmapped or deleted,
    /// as GL promises.
    pub(crate) mappings: crate::mapping::Mappings,
    /// Replies of glwire's own round trips made inside a program's call.
    aux_reply: ReplyBuf,
    /// Where glGen* takes its names.
    pub(crate) names: crate::names::ContextNames,
    /// Answers to constant queries, kept after the first (`shadow`).
    constants: crate::shadow::Constants,
    /// The capabilities glEnable/glDisable switched.
    enables: crate::shadow::Enables,
    /// State values known without asking (viewport, scissor box, current program,
    /// active texture).
    learned: crate::shadow::Learned,
    /// The connection broke: every call is GL_CONTEXT_LOST.
    lost: bool,
    /// Calls that waited for the server, frames ended, and the round trips counted at
    /// the first and the last frame's end (`GLWIRE_STATS`).
    round_trips: u64,
    frames: u64,
    round_trips_at_frames: (u64, u64),
}

/// A context's own count of what its frames cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameCounters {
    /// Calls that waited for the server, in all.
    pub round_trips: u64,
    /// eglSwapBuffers calls.
    pub frames: u64,
    /// Round trips per frame between the first frame's end and the last one's (the
    /// setup before the first frame and the teardown after the last left out); `None`
    /// before a second frame.
    pub per_frame: Option<f64>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("connected", &self.link.is_some()).field("queued", &self.stream.len()).finish()
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Context {
    pub fn new(link: Option<Box<dyn Link>>) -> Self {
        Context {
            link,
            stream: CommandBuf::with_capacity(64 << 10),
            reply: ReplyBuf::new(),
            unpack: PixelStore::default(),
            pack: PixelStore::default(),
            bound: HashMap::new(),
            vao_element: HashMap::new(),
            vao: 0,
            strings: HashMap::new(),
            client_error: None,
            client_arrays: Default::default(),
            array_scratch: 0,
            array_data: Vec::new(),
            mappings: HashMap::new(),
            aux_reply: ReplyBuf::new(),
            names: Default::default(),
            constants: Default::default(),
            enables: Default::default(),
            learned: Default::default(),
            lost: false,
            round_trips: 0,
            frames: 0,
            round_trips_at_frames: (0, 0),
        }
    }

    /// Makes this context draw its shared names (buffers, textures, …) from `group`'s
    /// allocator: it joined that EGL share group.
    pub fn share_names(&mut self, group: crate::names::SharedNames) {
        self.names.share(group);
    }

    /// The allocator of this context's share group, for a context created to share
    /// with it.
    pub fn shared_names(&self) -> crate::names::SharedNames {
        self.names.shared.clone()
    }

    /// glGen*: `n` new names of `ns`, chosen here and sent with the command (no round
    /// trip); the server makes its host names for them.
    pub fn generate(&mut self, ns: wire::names::Namespace, n: i32) -> Result<Vec<u32>, CallError> {
        /// More names than any program asks for at once; the memory a bigger request
        /// would take is GL_OUT_OF_MEMORY.
        const MAX_AT_ONCE: usize = 1 << 24;
        let len = usize::try_from(n).map_err(|_| CallError::INVALID_VALUE)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        if len > MAX_AT_ONCE {
            return Err(CallError::Gl(GL_OUT_OF_MEMORY));
        }
        let mut names = vec![0u32; len];
        self.names.generate(ns, &mut names)?;
        self.submit(&wire::names::gen_command(ns, n, &names).ok_or(CallError::Gl(GL_INVALID_OPERATION))?)?;
        Ok(names)
    }

    /// The context was made current with a surface (see `Learned::surface_bound`).
    pub fn surface_bound(&mut self) {
        self.learned.surface_bound();
    }

    /// glGetIntegerv of state this context knows exactly, answered into `self.reply`
    /// as the server would (only for the output size the pname has): true when it
    /// did.
    fn answer_state(&mut self, cmd: &Command<'_>) -> Result<bool, CallError> {
        let Command::GetIntegerv(q) = cmd else { return Ok(false) };
        let mut one = [0i32; 1];
        let values: &[i32] = match q.pname {
            GL_ARRAY_BUFFER_BINDING
            | GL_COPY_READ_BUFFER_BINDING
            | GL_COPY_WRITE_BUFFER_BINDING
            | GL_PIXEL_PACK_BUFFER_BINDING
            | GL_PIXEL_UNPACK_BUFFER_BINDING
            | GL_UNIFORM_BUFFER_BINDING => {
                let target = binding_target(q.pname);
                one[0] = self.bound_buffer(target) as i32;
                &one
            }
            pname => match crate::sizing::pixel_store(self, pname) {
                Some(v) => {
                    one[0] = v;
                    &one
                }
                None => match self.learned.get(pname) {
                    Some(v) => v,
                    None => return Ok(false),
                },
            },
        };
        if q.data != Some(values.len() as u32) {
            return Ok(false);
        }
        self.reply.clear();
        wire::commands::GetIntegervReply { data: Some(values) }.encode(&mut self.reply)?;
        Ok(true)
    }

    /// The buffer bound at `target` (0 for none).
    pub(crate) fn bound_buffer(&self, target: u32) -> u32 {
        if target == GL_ELEMENT_ARRAY_BUFFER {
            return self.vao_element.get(&self.vao).copied().unwrap_or(0);
        }
        self.bound.get(&target).copied().unwrap_or(0)
    }

    /// True when pointers for `slot` are offsets into a bound buffer object.
    pub fn buffer_bound(&self, slot: BufferSlot) -> bool {
        let target = match slot {
            BufferSlot::Unpack => GL_PIXEL_UNPACK_BUFFER,
            BufferSlot::Pack => GL_PIXEL_PACK_BUFFER,
            BufferSlot::Element => GL_ELEMENT_ARRAY_BUFFER,
        };
        self.bound_buffer(target) != 0
    }

    /// Follows the commands that change what the client shadows, before they are sent.
    fn shadow(&mut self, cmd: &Command<'_>) {
        if self.vao == 0 {
            let array_buffer = self.bound_buffer(GL_ARRAY_BUFFER);
            self.client_arrays.shadow(cmd, array_buffer);
        }
        if let Some((ns, name)) = wire::names::binds_to_create(cmd) {
            self.names.note_bound(ns, name);
        }
        self.enables.follow(cmd);
        self.learned.follow(cmd);
        match cmd {
            Command::BindBuffer(b) if b.target == GL_ELEMENT_ARRAY_BUFFER => {
                self.vao_element.insert(self.vao, b.buffer);
            }
            Command::BindBuffer(b) => {
                self.bound.insert(b.target, b.buffer);
            }
            // Indexed binds also bind the generic point.
            Command::BindBufferBase(b) => {
                self.bound.insert(b.target, b.buffer);
            }
            Command::BindBufferRange(b) => {
                self.bound.insert(b.target, b.buffer);
            }
            Command::BindVertexArray(v) => self.vao = v.array,
            Command::DeleteVertexArrays(d) => {
                for name in d.arrays.iter().filter(|&&n| n != 0) {
                    self.vao_element.remove(name);
                    if *name == self.vao {
                        self.vao = 0;
                    }
                }
            }
            // Deleting a bound buffer unbinds it from the context and from the bound
            // vertex array; its mapping ends with it.
            Command::DeleteBuffers(d) => {
                for name in d.buffers.iter().filter(|&&n| n != 0) {
                    self.bound.retain(|_, b| b != name);
                    if let Some(e) = self.vao_element.get_mut(&self.vao) {
                        if e == name {
                            *e = 0;
                        }
                    }
                    self.mappings.remove(name);
                }
            }
            Command::UnmapBuffer(u) => {
                let buffer = self.bound_buffer(u.target);
                self.mappings.remove(&buffer);
            }
            Command::PixelStorei(p) => crate::sizing::apply_pixel_store(self, p.pname, p.param),
            _ => {}
        }
    }

    /// Records an error the client found without the server. GL keeps the first error
    /// until it is read (the ICD's `glGetError` returns it before asking the server).
    /// A broken connection loses the context: this call, and every one after it, is
    /// GL_CONTEXT_LOST (GLES 3.2 §2.3.2), never a silent success.
    pub fn record_error(&mut self, e: &CallError) {
        match e {
            CallError::Gl(code) => {
                self.client_error.get_or_insert(*code);
            }
            CallError::Lost(_) => {
                self.lost = true;
                self.client_error.get_or_insert(GL_CONTEXT_LOST);
            }
            _ => {}
        }
    }

    /// True once the connection to the server broke: the context is lost for good.
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// The error recorded by [`Context::record_error`], cleared by reading it.
    pub fn take_client_error(&mut self) -> Option<u32> {
        self.client_error.take()
    }
}

const GL_INVALID_OPERATION: u32 = 0x0502;
/// GLES 3.2's error for any command once the context is lost.
pub const GL_CONTEXT_LOST: u32 = 0x0507;
const GL_OUT_OF_MEMORY: u32 = 0x0505;

/// Queued command bytes that trigger a send: large enough to amortise a ring record,
/// small enough to stay in cache.
const FLUSH_AT: usize = 64 << 10;

/// Inline data from which a command skips the queue and is encoded straight into the
/// link (one copy of the payload instead of two).
const DIRECT_AT: usize = 32 << 10;

impl Context {
    /// Ends a frame of the current draw surface (`width`×`height`): glwire's swap
    /// command, which publishes a window's frame and counts the frame on the server,
    /// then everything queued is sent.
    pub fn end_frame(&mut self, width: i32, height: i32) -> Result<(), CallError> {
        use wire::commands::WireSwapBuffers;
        self.frames += 1;
        if self.frames == 1 {
            self.round_trips_at_frames.0 = self.round_trips;
        }
        self.round_trips_at_frames.1 = self.round_trips;
        self.submit(&Command::WireSwapBuffers(WireSwapBuffers { x: 0, y: 0, width, height }))?;
        self.flush()
    }

    /// What this context's frames cost, since it was made.
    pub fn counters(&self) -> FrameCounters {
        let (first, last) = self.round_trips_at_frames;
        FrameCounters {
            round_trips: self.round_trips,
            frames: self.frames,
            per_frame: (self.frames > 1).then(|| (last - first) as f64 / (self.frames - 1) as f64),
        }
    }

    /// Sends every queued command. Programs reach this through `glFlush`, a
    /// synchronous call, a full queue, or the end of a frame.
    pub fn flush(&mut self) -> Result<(), CallError> {
        if self.stream.is_empty() {
            return Ok(());
        }
        let link = self.link.as_mut().ok_or(CallError::NotConnected);
        let result = link.and_then(|l| l.send(self.stream.as_bytes()));
        self.stream.clear();
        result
    }
}

impl Context {
    /// Before a draw: copies the vertices it reads from the program's memory into the
    /// scratch buffer and points those attributes there (then puts the program's
    /// GL_ARRAY_BUFFER binding back). The program's own pointers stay in the shadow for
    /// the next draw.
    fn upload_client_arrays(&mut self, draw: &Command<'_>) -> Result<(), CallError> {
        let mut data = std::mem::take(&mut self.array_data);
        let Some(rebinds) = self.client_arrays.upload(draw, &mut data) else {
            self.array_data = data;
            return Ok(());
        };
        if self.array_scratch == 0 {
            self.array_scratch = self.gen_buffer()?;
        }
        let restore = self.bound_buffer(GL_ARRAY_BUFFER);
        let scratch = self.array_scratch;
        // Encoded without shadowing: these are glwire's commands, not the program's.
        let mut sent = Command::BindBuffer(wire::commands::BindBuffer { target: GL_ARRAY_BUFFER, buffer: scratch })
            .encode(&mut self.stream);
        sent = sent.and_then(|()| {
            let upload = wire::commands::BufferData {
                target: GL_ARRAY_BUFFER,
                size: data.len() as i64,
                data: Some(&data),
                usage: 0x88E0, // GL_STREAM_DRAW
            };
            Command::BufferData(upload).encode(&mut self.stream)
        });
        for cmd in &rebinds {
            sent = sent.and_then(|()| cmd.encode(&mut self.stream));
        }
        sent = sent.and_then(|()| {
            Command::BindBuffer(wire::commands::BindBuffer { target: GL_ARRAY_BUFFER, buffer: restore })
                .encode(&mut self.stream)
        });
        self.array_data = data;
        sent.map_err(CallError::from)
    }

    /// `glGetVertexAttribPointerv`: the program's own pointer for an attribute in its
    /// memory (default vertex array), otherwise the offset the server holds.
    pub fn vertex_attrib_pointer(&mut self, index: u32, pname: u32) -> Result<u64, CallError> {
        const GL_VERTEX_ATTRIB_ARRAY_POINTER: u32 = 0x8645;
        if pname != GL_VERTEX_ATTRIB_ARRAY_POINTER {
            return Err(CallError::INVALID_ENUM);
        }
        if self.vao == 0 {
            if let Some(p) = self.client_arrays.client_pointer(index) {
                return Ok(p);
            }
        }
        let query = Command::GetVertexAttribPointerv(wire::commands::GetVertexAttribPointerv {
            index,
            pname,
            pointer: Some(1),
        });
        let reply = self.call(&query)?;
        let body = wire::codec::reply_body(reply.as_bytes(), wire::commands::Opcode::GetVertexAttribPointerv as u32)?;
        let r = wire::commands::GetVertexAttribPointervReply::decode(body)?;
        Ok(r.pointer.and_then(|p| p.first().copied()).unwrap_or(0))
    }

    /// A buffer name of glwire's own, from the program's share group (so the program
    /// never gets it).
    fn gen_buffer(&mut self) -> Result<u32, CallError> {
        let mut name = [0];
        self.names.generate(wire::names::Namespace::Buffer, &mut name)?;
        Command::GenBuffers(wire::commands::GenBuffers { n: 1, buffers: &name }).encode(&mut self.stream)?;
        Ok(name[0])
    }
}

impl Forward for Context {
    fn keep_string(&mut self, key: [u64; 3], s: Option<&CStr>) -> *const u8 {
        crate::link::keep(&mut self.strings, key, s)
    }

    /// Queues an asynchronous command; it leaves with the next flush. Nothing waits.
    fn submit(&mut self, cmd: &Command<'_>) -> Result<(), CallError> {
        if self.link.is_none() {
            return Err(CallError::NotConnected);
        }
        let client_pointer = self.vao == 0
            && matches!(cmd, Command::VertexAttribPointer(_) | Command::VertexAttribIPointer(_))
            && self.bound_buffer(GL_ARRAY_BUFFER) == 0;
        self.shadow(cmd);
        if client_pointer {
            // A pointer into the program's memory means nothing to the server: it is
            // kept here and applied, with the data, at each draw.
            return Ok(());
        }
        if self.vao == 0 && crate::client_arrays::is_draw(cmd) {
            self.upload_client_arrays(cmd)?;
        }
        if !self.mappings.is_empty() && crate::mapping::reads_buffers(cmd) {
            self.write_back_persistent()?;
        }
        self.queue(cmd)
    }

    /// Sends the queue with `cmd` at its end and waits for `cmd`'s reply: one round
    /// trip, however many commands were queued.
    fn call(&mut self, cmd: &Command<'_>) -> Result<&ReplyBuf, CallError> {
        // Capabilities the context switched, and constants it already asked for, are
        // answered here.
        self.reply.clear();
        if self.enables.answer(cmd, &mut self.reply) {
            return Ok(&self.reply);
        }
        let constant = crate::shadow::Constants::key(cmd);
        if let Some(kept) = constant.as_deref().and_then(|key| self.constants.get(key)) {
            self.reply.clear();
            self.reply.extend_raw(kept);
            return Ok(&self.reply);
        }
        if self.answer_state(cmd)? {
            return Ok(&self.reply);
        }
        self.shadow(cmd);
        if !self.mappings.is_empty() {
            self.write_back_persistent()?;
        }
        cmd.encode(&mut self.stream)?;
        let link = self.link.as_mut().ok_or(CallError::NotConnected);
        self.reply.clear();
        self.round_trips += 1;
        let result = link.and_then(|l| l.round_trip(self.stream.as_bytes(), &mut self.reply));
        self.stream.clear();
        result?;
        if let Some(key) = constant {
            self.constants.keep(key, self.reply.as_bytes());
        }
        if let Command::GetIntegerv(q) = cmd {
            if let Ok((wire::commands::Reply::GetIntegerv(r), [])) = wire::commands::decode_reply(self.reply.as_bytes())
            {
                self.learned.learn(q.pname, r.data.unwrap_or_default());
            }
        }
        if !self.mappings.is_empty() && crate::mapping::is_sync_point(cmd) {
            let mut aux = std::mem::take(&mut self.aux_reply);
            let refreshed = self.refresh_persistent(&mut aux);
            self.aux_reply = aux;
            refreshed?;
        }
        Ok(&self.reply)
    }
}

impl Context {
    /// Queues a program's asynchronous call, given as its command's own type: what
    /// `submit` does, but a call that nothing here looks at (`crate::typed`) is encoded
    /// straight from its values. Inlined into each entry point, so the arguments go
    /// from registers into the queue.
    #[inline]
    pub fn submit_typed<'a, M: Message<'a>>(&mut self, m: M) -> Result<(), CallError> {
        let direct = match const { typed(M::OPCODE) } {
            Typed::Plain => true,
            Typed::Draw => self.vao != 0 && self.mappings.is_empty(),
            Typed::BindVertexArray => true,
            Typed::Other => false,
        };
        if !direct || self.link.is_none() || m.inline_bytes() >= DIRECT_AT {
            return self.submit(&m.command());
        }
        if let Command::BindVertexArray(b) = m.command() {
            self.vao = b.array;
        }
        m.encode_to(&mut self.stream)?;
        if self.stream.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Queues (or, when large, sends) a command as it is: no shadowing, no draw-time
    /// work. For glwire's own commands and the program's after that work.
    pub(crate) fn queue(&mut self, cmd: &Command<'_>) -> Result<(), CallError> {
        if self.link.is_none() {
            return Err(CallError::NotConnected);
        }
        if cmd.inline_bytes() >= DIRECT_AT {
            // Order is kept: what was queued goes first.
            self.flush()?;
            let link = self.link.as_mut().ok_or(CallError::NotConnected)?;
            return link.send_command(cmd);
        }
        cmd.encode(&mut self.stream)?;
        if self.stream.len() >= FLUSH_AT || matches!(cmd, Command::Flush(_)) {
            self.flush()?;
        }
        Ok(())
    }

    /// One round trip of glwire's own `cmd` (after what is queued), its reply in `aux`.
    pub(crate) fn round_trip_aux(&mut self, cmd: &Command<'_>, aux: &mut ReplyBuf) -> Result<(), CallError> {
        cmd.encode(&mut self.stream)?;
        let link = self.link.as_mut().ok_or(CallError::NotConnected);
        aux.clear();
        self.round_trips += 1;
        let result = link.and_then(|l| l.round_trip(self.stream.as_bytes(), aux));
        self.stream.clear();
        result
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's current context, or returns `None` when there is none
/// (GL calls without a current context do nothing, as with native drivers).
pub fn with_current<R>(f: impl FnOnce(&mut Context) -> R) -> Option<R> {
    // `try_with`: libglvnd may call in while this thread is being torn down, after its
    // thread-locals are gone; that call finds no context, like a call without one.
    CURRENT
        .try_with(|c| {
            // A re-entrant call (from a debug callback) finds the context busy and is
            // dropped like a call without a context, instead of aliasing it.
            let mut slot = c.try_borrow_mut().ok()?;
            slot.as_mut().map(f)
        })
        .ok()
        .flatten()
}

/// Makes `ctx` current on this thread (or none), returning the previous one. During
/// thread teardown there is no slot left: `ctx` is dropped and `None` returned.
pub fn make_current(ctx: Option<Context>) -> Option<Context> {
    CURRENT
        .try_with(|c| c.try_borrow_mut().map(|mut slot| std::mem::replace(&mut *slot, ctx)).unwrap_or(None))
        .ok()
        .flatten()
}

const GL_ARRAY_BUFFER_BINDING: u32 = 0x8894;
const GL_COPY_READ_BUFFER_BINDING: u32 = 0x8F36;
const GL_COPY_WRITE_BUFFER_BINDING: u32 = 0x8F37;
const GL_PIXEL_PACK_BUFFER_BINDING: u32 = 0x88ED;
const GL_PIXEL_UNPACK_BUFFER_BINDING: u32 = 0x88EF;
const GL_UNIFORM_BUFFER_BINDING: u32 = 0x8A28;

/// The buffer target whose binding a `*_BUFFER_BINDING` pname asks for.
fn binding_target(pname: u32) -> u32 {
    match pname {
        GL_ARRAY_BUFFER_BINDING => GL_ARRAY_BUFFER,
        GL_COPY_READ_BUFFER_BINDING => 0x8F36,    // GL_COPY_READ_BUFFER
        GL_COPY_WRITE_BUFFER_BINDING => 0x8F37,   // GL_COPY_WRITE_BUFFER
        GL_PIXEL_PACK_BUFFER_BINDING => 0x88EB,   // GL_PIXEL_PACK_BUFFER
        GL_PIXEL_UNPACK_BUFFER_BINDING => 0x88EC, // GL_PIXEL_UNPACK_BUFFER
        _ => 0x8A11,                              // GL_UNIFORM_BUFFER
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use wire::commands::{decode_command, BindBuffer, PixelStorei};

    /// A link that records what it was sent.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Link for Recorder {
        fn send(&mut self, stream: &[u8]) -> Result<(), CallError> {
            self.0.lock().unwrap().push(stream.to_vec());
            Ok(())
        }
        fn round_trip(&mut self, _: &[u8], _: &mut ReplyBuf) -> Result<(), CallError> {
            Err(CallError::NotConnected)
        }
    }

    /// What `submit` may change, written out in a fixed order.
    fn followed(ctx: &Context) -> String {
        let sorted =
            |m: &HashMap<u32, u32>| m.iter().map(|(k, v)| (*k, *v)).collect::<std::collections::BTreeMap<_, _>>();
        format!(
            "{:?} {:?} {:?} {:?} {} {:?} {:?} {} {:?} {:?} {:?} {}",
            ctx.unpack,
            ctx.pack,
            sorted(&ctx.bound),
            sorted(&ctx.vao_element),
            ctx.vao,
            ctx.client_error,
            ctx.client_arrays,
            ctx.mappings.len(),
            ctx.names,
            ctx.enables,
            ctx.learned,
            ctx.lost
        )
    }

    /// Every asynchronous call gives through `submit_typed` exactly what `submit`
    /// gives: the same bytes sent, the same state followed and the same answer, with
    /// the default vertex array bound and with one of the program's.
    #[test]
    fn typed_submits_match_submit() {
        use wire::codec::arbitrary::Entropy;
        use wire::commands::{sample, visit, Message, MessageVisitor, Opcode};
        struct ViaTyped<'c>(&'c mut Context);
        impl<'a> MessageVisitor<'a> for ViaTyped<'_> {
            type Out = Result<(), CallError>;
            fn visit<M: Message<'a>>(&mut self, m: M) -> Self::Out {
                self.0.submit_typed(m)
            }
        }
        // Sampled arguments rarely name a real capability or pname: these do, for every
        // call the context follows (`shadow`, `submit`'s draw-time work).
        use wire::commands::*;
        let followed_calls = [
            Command::Enable(Enable { cap: 0x0BE2 }),
            Command::Disable(Disable { cap: 0x0B71 }),
            Command::PixelStorei(PixelStorei { pname: 0x0CF5, param: 1 }),
            Command::PixelStorei(PixelStorei { pname: 0x0D05, param: 8 }),
            Command::Scissor(Scissor { x: 1, y: 2, width: 3, height: 4 }),
            Command::Viewport(Viewport { x: 1, y: 2, width: 3, height: 4 }),
            Command::UseProgram(UseProgram { program: 0 }),
            Command::ActiveTexture(ActiveTexture { texture: 0x84C3 }),
            Command::BindBuffer(BindBuffer { target: 0x8892, buffer: 3 }),
            Command::BindBuffer(BindBuffer { target: 0x8893, buffer: 4 }),
            Command::BindBufferBase(BindBufferBase { target: 0x8A11, index: 0, buffer: 6 }),
            Command::BindTexture(BindTexture { target: 0x0DE1, texture: 9 }),
            Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[3] }),
            Command::DeleteVertexArrays(DeleteVertexArrays { n: 1, arrays: &[5] }),
            Command::EnableVertexAttribArray(EnableVertexAttribArray { index: 1 }),
            Command::VertexAttribDivisor(VertexAttribDivisor { index: 1, divisor: 2 }),
            Command::VertexAttribPointer(VertexAttribPointer {
                index: 1,
                size: 4,
                type_: 0x1406,
                normalized: 0,
                stride: 16,
                pointer: 64,
            }),
            Command::DrawArrays(DrawArrays { mode: 4, first: 0, count: 3 }),
        ];
        let mut direct = 0;
        for op in Opcode::ALL.into_iter().filter(|op| !op.info().sync) {
            let name = op.info().name;
            if typed(op) != Typed::Other {
                direct += 1;
            }
            let arena = bumpalo::Bump::new();
            let sampled = (0..16u8).map(|seed| {
                let entropy: Vec<u8> = (0..512u32).map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed)).collect();
                sample::command(op, &mut Entropy::new(&entropy), &arena)
            });
            let chosen = followed_calls.iter().copied().filter(|c| c.opcode() == op);
            for cmd in sampled.chain(chosen) {
                for vao in [0, 5] {
                    let (ra, rb) = (Recorder::default(), Recorder::default());
                    let mut a = Context::new(Some(Box::new(ra.clone())));
                    let mut b = Context::new(Some(Box::new(rb.clone())));
                    for ctx in [&mut a, &mut b] {
                        ctx.submit(&Command::BindVertexArray(BindVertexArray { array: vao })).unwrap();
                    }
                    let typed_answer = visit(cmd, &mut ViaTyped(&mut a));
                    let answer = b.submit(&cmd);
                    assert_eq!(format!("{typed_answer:?}"), format!("{answer:?}"), "{name}: another answer");
                    assert_eq!(followed(&a), followed(&b), "{name} (vertex array {vao}): other state");
                    a.flush().unwrap();
                    b.flush().unwrap();
                    assert_eq!(*ra.0.lock().unwrap(), *rb.0.lock().unwrap(), "{name}: other bytes");
                }
            }
        }
        assert!(direct > 60, "only {direct} calls encoded straight");
    }

    #[test]
    fn submitted_commands_reach_the_link_and_decode() {
        let rec = Recorder::default();
        let mut ctx = Context::new(Some(Box::new(rec.clone())));
        ctx.submit(&Command::BindBuffer(BindBuffer { target: 0x8892, buffer: 5 })).unwrap();
        assert!(rec.0.lock().unwrap().is_empty(), "asynchronous commands wait for a flush");
        ctx.flush().unwrap();
        let sent = rec.0.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let mut words = vec![0u64; sent[0].len() / 8];
        zerocopy::IntoBytes::as_mut_bytes(words.as_mut_slice()).copy_from_slice(&sent[0]);
        let (cmd, rest) = decode_command(zerocopy::IntoBytes::as_bytes(words.as_slice())).unwrap();
        assert_eq!(cmd, Command::BindBuffer(BindBuffer { target: 0x8892, buffer: 5 }));
        assert!(rest.is_empty());
    }

    /// glGetIntegerv(`pname`) with room for `n` values: answered here (`Some`) or sent
    /// (the recorder's round trips fail: `None`).
    fn local_integers(ctx: &mut Context, pname: u32, n: u32) -> Option<Vec<i32>> {
        use wire::commands::{decode_reply, GetIntegerv, Reply};
        let reply = ctx.call(&Command::GetIntegerv(GetIntegerv { pname, data: Some(n) })).ok()?;
        match decode_reply(reply.as_bytes()) {
            Ok((Reply::GetIntegerv(r), [])) => Some(r.data.unwrap_or_default().to_vec()),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    #[test]
    fn state_set_exactly_is_answered_without_the_server() {
        use wire::commands::{ActiveTexture, Scissor, UseProgram, Viewport};
        let mut ctx = Context::new(Some(Box::new(Recorder::default())));
        let send = |ctx: &mut Context, cmd| ctx.submit(&cmd).unwrap();
        // Nothing known yet: asked.
        assert_eq!(local_integers(&mut ctx, 0x0C10, 4), None, "GL_SCISSOR_BOX");
        send(&mut ctx, Command::Scissor(Scissor { x: 1, y: 2, width: 30, height: 40 }));
        assert_eq!(local_integers(&mut ctx, 0x0C10, 4), Some(vec![1, 2, 30, 40]));
        assert_eq!(local_integers(&mut ctx, 0x0C10, 2), None, "another output size is asked");
        send(&mut ctx, Command::Scissor(Scissor { x: 5, y: 5, width: -1, height: 4 }));
        assert_eq!(local_integers(&mut ctx, 0x0C10, 4), Some(vec![1, 2, 30, 40]), "a refused scissor");
        ctx.surface_bound();
        assert_eq!(local_integers(&mut ctx, 0x0C10, 4), None, "a new surface sets it");
        // The host clamps viewports: never computed here.
        send(&mut ctx, Command::Viewport(Viewport { x: 0, y: 0, width: 64, height: 64 }));
        assert_eq!(local_integers(&mut ctx, 0x0BA2, 4), None, "GL_VIEWPORT");
        // A program may fail to be used; 0 cannot.
        send(&mut ctx, Command::UseProgram(UseProgram { program: 7 }));
        assert_eq!(local_integers(&mut ctx, 0x8B8D, 1), None, "GL_CURRENT_PROGRAM");
        send(&mut ctx, Command::UseProgram(UseProgram { program: 0 }));
        assert_eq!(local_integers(&mut ctx, 0x8B8D, 1), Some(vec![0]));
        send(&mut ctx, Command::ActiveTexture(ActiveTexture { texture: 0x84C3 }));
        assert_eq!(local_integers(&mut ctx, 0x84E0, 1), Some(vec![0x84C3]), "GL_ACTIVE_TEXTURE");
        send(&mut ctx, Command::ActiveTexture(ActiveTexture { texture: 0x84C0 + 40 }));
        assert_eq!(local_integers(&mut ctx, 0x84E0, 1), None, "a unit that may not exist");
        // Buffer bindings and pixel store from the context's own shadows.
        send(&mut ctx, Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: 9 }));
        assert_eq!(local_integers(&mut ctx, 0x8894, 1), Some(vec![9]), "GL_ARRAY_BUFFER_BINDING");
        send(&mut ctx, Command::PixelStorei(PixelStorei { pname: 0x0D05, param: 2 }));
        send(&mut ctx, Command::PixelStorei(PixelStorei { pname: 0x0D05, param: 3 }));
        assert_eq!(local_integers(&mut ctx, 0x0D05, 1), Some(vec![2]), "GL_PACK_ALIGNMENT, 3 refused");
    }

    #[test]
    fn shadows_buffer_bindings_and_pixel_store() {
        let mut ctx = Context::new(Some(Box::new(Recorder::default())));
        assert!(!ctx.buffer_bound(BufferSlot::Unpack));
        ctx.submit(&Command::BindBuffer(BindBuffer { target: 0x88EC, buffer: 3 })).unwrap();
        assert!(ctx.buffer_bound(BufferSlot::Unpack));
        ctx.submit(&Command::PixelStorei(PixelStorei { pname: 0x0CF5, param: 1 })).unwrap();
        assert_eq!(ctx.unpack.alignment, 1);
    }

    #[test]
    fn element_bindings_follow_the_vertex_array_and_deletes() {
        use wire::commands::{BindVertexArray, DeleteBuffers};
        let mut ctx = Context::new(Some(Box::new(Recorder::default())));
        let bind = |ctx: &mut Context, cmd| ctx.submit(&cmd).unwrap();
        bind(&mut ctx, Command::BindVertexArray(BindVertexArray { array: 1 }));
        bind(&mut ctx, Command::BindBuffer(BindBuffer { target: GL_ELEMENT_ARRAY_BUFFER, buffer: 7 }));
        assert!(ctx.buffer_bound(BufferSlot::Element));
        bind(&mut ctx, Command::BindVertexArray(BindVertexArray { array: 0 }));
        assert!(!ctx.buffer_bound(BufferSlot::Element), "the default vertex array has no element buffer");
        bind(&mut ctx, Command::BindVertexArray(BindVertexArray { array: 1 }));
        assert!(ctx.buffer_bound(BufferSlot::Element), "binding VAO 1 again brings its element buffer back");
        bind(&mut ctx, Command::BindBuffer(BindBuffer { target: GL_PIXEL_UNPACK_BUFFER, buffer: 7 }));
        bind(&mut ctx, Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[7] }));
        assert!(!ctx.buffer_bound(BufferSlot::Element));
        assert!(!ctx.buffer_bound(BufferSlot::Unpack));
    }

    #[test]
    fn without_a_link_calls_fail_as_not_connected() {
        let mut ctx = Context::default();
        let err = ctx.submit(&Command::BindBuffer(BindBuffer { target: 0x8892, buffer: 1 })).unwrap_err();
        assert_eq!(err, CallError::NotConnected);
    }

    #[test]
    fn current_context_is_per_thread() {
        assert!(with_current(|_| ()).is_none());
        make_current(Some(Context::default()));
        assert!(with_current(|_| ()).is_some());
        std::thread::spawn(|| assert!(with_current(|_| ()).is_none())).join().unwrap();
        make_current(None);
    }

    #[test]
    fn strings_stay_valid_and_stable() {
        let mut ctx = Context::default();
        let a = ctx.keep_string([1, 0x1F00, 0], Some(c"glwire"));
        let b = ctx.keep_string([1, 0x1F00, 0], Some(c"glwire"));
        assert!(ctx.keep_string([1, 0x1F01, 0], None).is_null());
        assert_eq!(a, b);
        assert_eq!(ctx.strings[&[1, 0x1F00, 0]].as_c_str(), c"glwire");
        assert_eq!(ctx.strings[&[1, 0x1F00, 0]].as_ptr().cast(), a);
    }
}
