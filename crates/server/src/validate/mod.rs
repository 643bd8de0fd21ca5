//! The validator: runs on a context thread before each command reaches host GL and
//! establishes what `backend_gles::execute`'s `# Safety` requires, for the rules it
//! implements: buffer offsets only with the matching buffer bound and inside it, inline
//! data at least as long as GL reads, pname-sized inputs and outputs against `wire`'s
//! pname tables, outputs rewritten to server-side capacities of the real size, sync
//! handles mapped to small client ids, bounded waits and allocations, and the GL errors
//! it raises kept for `glGetError`.
//!
//! It does not call GL itself: what it needs of the host's state it asks through
//! [`HostQuery`] (the GLES executor answers with glGet* calls). It does not map object
//! names yet (a context's names are its own host names) and does not run commands.
//!
//! Outputs the registry sizes from the call's own arguments (glGetActiveUniformsiv's
//! uniformCount, glGetProgramResourceiv's and glGetInternalformativ's bufSize) are
//! already exact: the decoder makes the capacity equal that count, and GL writes no
//! more. Not checked yet (commands pass through unchanged, so these still rely on the
//! host): offsets of enabled vertex
//! arrays against their buffers' sizes and the element-buffer range of indirect draws
//! (left to the context's robust access); other enums and scalars; name mapping.

mod syncs;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::images::SharedImages;

use wire::codec::{DataRef, OutRef};
use wire::commands::*;
use wire::pnames::{self, PnameCount, PnameTable};
use wire::sizes::{self, PixelStore, SizeError};

pub use syncs::{SyncTable, MAX_SYNCS};

pub const GL_NO_ERROR: u32 = 0;
pub const GL_INVALID_ENUM: u32 = 0x0500;
pub const GL_INVALID_VALUE: u32 = 0x0501;
pub const GL_INVALID_OPERATION: u32 = 0x0502;
pub const GL_OUT_OF_MEMORY: u32 = 0x0505;

const GL_ELEMENT_ARRAY_BUFFER: u32 = 0x8893;
const GL_PIXEL_PACK_BUFFER: u32 = 0x88EB;
const GL_PIXEL_UNPACK_BUFFER: u32 = 0x88EC;
const GL_DRAW_INDIRECT_BUFFER: u32 = 0x8F3F;
const GL_DISPATCH_INDIRECT_BUFFER: u32 = 0x90EE;
const GL_ARRAY_BUFFER_BINDING: u32 = 0x8894;
const GL_ELEMENT_ARRAY_BUFFER_BINDING: u32 = 0x8895;
const GL_PIXEL_PACK_BUFFER_BINDING: u32 = 0x88ED;
const GL_PIXEL_UNPACK_BUFFER_BINDING: u32 = 0x88EF;
const GL_DRAW_INDIRECT_BUFFER_BINDING: u32 = 0x8F43;
const GL_DISPATCH_INDIRECT_BUFFER_BINDING: u32 = 0x90EF;
const GL_UNPACK_ROW_LENGTH: u32 = 0x0CF2;
const GL_UNPACK_SKIP_ROWS: u32 = 0x0CF3;
const GL_UNPACK_SKIP_PIXELS: u32 = 0x0CF4;
const GL_UNPACK_ALIGNMENT: u32 = 0x0CF5;
const GL_UNPACK_IMAGE_HEIGHT: u32 = 0x806E;
const GL_UNPACK_SKIP_IMAGES: u32 = 0x806D;
const GL_PACK_ROW_LENGTH: u32 = 0x0D02;
const GL_PACK_SKIP_ROWS: u32 = 0x0D03;
const GL_PACK_SKIP_PIXELS: u32 = 0x0D04;
const GL_PACK_ALIGNMENT: u32 = 0x0D05;
const GL_MAX_VERTEX_ATTRIBS: u32 = 0x8869;
const GL_MAX_UNIFORM_BLOCK_SIZE: u32 = 0x8A30;
const GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES: u32 = 0x8A43;
const GL_VERTEX_ATTRIB_ARRAY_ENABLED: u32 = 0x8622;
const GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING: u32 = 0x889F;

/// The longest glClientWaitSync may park a context thread, in nanoseconds: a client
/// asking for longer gets `GL_TIMEOUT_EXPIRED` after this and may wait again.
pub const MAX_CLIENT_WAIT_NS: u64 = 1_000_000_000;

/// The most values one location of glGetUniform* holds (a mat4).
const MAX_UNIFORM_VALUES: u32 = 16;

/// The largest server-side output capacity the validator gives an output in bytes:
/// what one reply can carry.
const MAX_OUTPUT_BYTES: usize = wire::codec::MAX_COMMAND_BYTES as usize;

/// The host state the validator reads. The GLES executor answers through glGet* on
/// the context the command will run on; tests may answer from a table.
pub trait HostQuery {
    /// `glGetIntegerv(pname)` for a single-valued pname this module names.
    fn integer(&mut self, pname: u32) -> i32;
    /// `GL_BUFFER_SIZE` of the buffer bound at `target` (call only with one bound).
    fn buffer_size(&mut self, target: u32) -> i64;
    /// `glGetVertexAttribiv(index, pname)` for a single-valued pname.
    fn vertex_attrib(&mut self, index: u32, pname: u32) -> i32;
    /// Whether `location` is the location of an ordinary (default-block) uniform of
    /// the linked program `program`; `None` when `program` is no linked program (GL
    /// then raises its own error without looking at the location). Asks without
    /// raising a GL error.
    fn uniform_location(&mut self, program: u32, location: i32) -> Option<bool>;
}

/// What to do after executing a command the validator let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixup {
    /// Pass the reply on unchanged.
    None,
    /// The output's capacity was raised to the real size: the reply must carry at most
    /// this many elements (none for `None`), the client's own capacity.
    Trim(Option<u32>),
    /// glFenceSync: replace the host `GLsync` with a new client id.
    FenceId,
    /// glDeleteSync ran: forget this client id.
    SyncDeleted(u64),
    /// glGetPointerv and friends: the reply must not carry host addresses; at most
    /// the client's capacity of them.
    NoPointers(Option<u32>),
}

/// The validator's decision for one command.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'a> {
    /// Run this (possibly rewritten) command, then apply the fixup to its reply.
    Run(Command<'a>, Fixup),
    /// Do not call the host; record `error` (unless `GL_NO_ERROR`) and answer a
    /// synchronous command with an empty reply.
    Skip { error: u32 },
}

impl Verdict<'_> {
    fn error(error: u32) -> Self {
        Verdict::Skip { error }
    }
}

/// Limits on what one call may make the host allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatorLimits {
    /// The largest glBufferData a call may ask for. A per-call cap for now: a
    /// session-wide memory quota (issue 6) adds the sizes up.
    pub max_buffer_bytes: u64,
}

impl Default for ValidatorLimits {
    fn default() -> Self {
        Self { max_buffer_bytes: 256 << 20 }
    }
}

/// Per-context validation state.
#[derive(Debug, Default)]
pub struct Validator {
    limits: ValidatorLimits,
    /// The first error the validator raised that `glGetError` has not returned yet.
    pending_error: u32,
    /// Shared by the contexts of a share group (sync objects are share-group objects).
    syncs: Arc<Mutex<SyncTable>>,
    /// The session's EGLImages.
    images: SharedImages,
    /// The image the last command named, held until the next check so a concurrent
    /// eglDestroyImage cannot free it while the host uses it.
    image_in_use: Option<Arc<backend_gles::HostImage>>,
    /// What the bound vertex array was last found to read.
    arrays: VertexArrays,
    elements: ElementBuffers,
}

fn size_error(e: SizeError) -> u32 {
    match e {
        SizeError::Negative { .. } => GL_INVALID_VALUE,
        SizeError::UnknownFormatType { .. } | SizeError::UnknownType(_) => GL_INVALID_ENUM,
        _ => GL_INVALID_VALUE,
    }
}

/// The count of an input or output sized by `pname` in `table`; `None` when the pname
/// is unknown (GL_INVALID_ENUM without a host call).
fn pname_count(host: &mut dyn HostQuery, table: &PnameTable, pname: u32) -> Option<u32> {
    match table.lookup(pname) {
        Some(PnameCount::Fixed(n)) => Some(n),
        Some(PnameCount::From(other)) => Some(u32::try_from(host.integer(other)).unwrap_or(0)),
        // State queries the tables do not list (extension state the host has) go to
        // the host with room for any single piece of state; the host rejects pnames
        // it does not know itself, with the error GL gives.
        None if is_state_query(table) => Some(UNKNOWN_STATE_VALUES),
        None => None,
    }
}

/// Room given to a glGet* of a pname the tables do not list: more than any fixed-size
/// piece of GL state holds (the variable-length lists are all in the tables).
const UNKNOWN_STATE_VALUES: u32 = 16;

fn is_state_query(table: &PnameTable) -> bool {
    std::ptr::eq(table, &pnames::GET) || std::ptr::eq(table, &pnames::GET_INDEXED)
}

/// An offset in the buffer bound at `target` (binding queried by `binding`) that GL
/// will touch `len` bytes from: allowed only with a buffer bound and inside it.
fn check_offset(host: &mut dyn HostQuery, binding: u32, target: u32, offset: u64, len: usize) -> Result<(), u32> {
    if host.integer(binding) == 0 {
        return Err(GL_INVALID_OPERATION);
    }
    let size = u64::try_from(host.buffer_size(target)).unwrap_or(0);
    let end = offset.checked_add(len as u64).ok_or(GL_INVALID_OPERATION)?;
    if end > size {
        return Err(GL_INVALID_OPERATION);
    }
    Ok(())
}

/// Source data of an unpack (or element) call: inline bytes need no buffer bound and
/// `need` bytes; an offset or NULL needs a buffer bound and `need` bytes inside it.
/// `Ok(false)` means NULL with no buffer, which the caller decides about.
fn check_data(
    host: &mut dyn HostQuery,
    data: &DataRef<'_>,
    binding: u32,
    target: u32,
    need: usize,
) -> Result<bool, u32> {
    match *data {
        DataRef::Inline(bytes) => {
            if host.integer(binding) != 0 {
                // GL would take the server's address of the bytes as an offset.
                return Err(GL_INVALID_OPERATION);
            }
            if bytes.len() < need {
                return Err(GL_INVALID_VALUE);
            }
            Ok(true)
        }
        DataRef::Offset(o) => check_offset(host, binding, target, o, need).map(|()| true),
        DataRef::Null => {
            if host.integer(binding) == 0 {
                Ok(false)
            } else {
                check_offset(host, binding, target, 0, need).map(|()| true)
            }
        }
    }
}

fn unpack_store(host: &mut dyn HostQuery) -> PixelStore {
    PixelStore {
        alignment: host.integer(GL_UNPACK_ALIGNMENT),
        row_length: host.integer(GL_UNPACK_ROW_LENGTH),
        image_height: host.integer(GL_UNPACK_IMAGE_HEIGHT),
        skip_pixels: host.integer(GL_UNPACK_SKIP_PIXELS),
        skip_rows: host.integer(GL_UNPACK_SKIP_ROWS),
        skip_images: host.integer(GL_UNPACK_SKIP_IMAGES),
    }
}

fn pack_store(host: &mut dyn HostQuery) -> PixelStore {
    PixelStore {
        alignment: host.integer(GL_PACK_ALIGNMENT),
        row_length: host.integer(GL_PACK_ROW_LENGTH),
        image_height: 0,
        skip_pixels: host.integer(GL_PACK_SKIP_PIXELS),
        skip_rows: host.integer(GL_PACK_SKIP_ROWS),
        skip_images: 0,
    }
}

/// A pixel upload: 2D when `depth` is `None`.
#[allow(clippy::too_many_arguments)]
fn check_unpack(
    host: &mut dyn HostQuery,
    format: u32,
    type_: u32,
    (width, height, depth): (i32, i32, Option<i32>),
    pixels: &DataRef<'_>,
    null_allocates: bool,
) -> Result<bool, u32> {
    let store = unpack_store(host);
    let need = match depth {
        None => sizes::image_size_2d(format, type_, width, height, &store),
        Some(depth) => sizes::image_size_3d(format, type_, width, height, depth, &store),
    };
    let need = match need {
        Ok(n) => n,
        // GL reads nothing for NULL without a buffer; let it raise its own error.
        Err(_) if matches!(pixels, DataRef::Null) && host.integer(GL_PIXEL_UNPACK_BUFFER_BINDING) == 0 => {
            return Ok(null_allocates)
        }
        Err(e) => return Err(size_error(e)),
    };
    match check_data(host, pixels, GL_PIXEL_UNPACK_BUFFER_BINDING, GL_PIXEL_UNPACK_BUFFER, need)? {
        true => Ok(true),
        // NULL with no buffer: storage allocation for TexImage, nothing to read (Mesa
        // does nothing) for TexSubImage, which is then skipped without a host call.
        false => Ok(null_allocates),
    }
}

/// Compressed data: the decoder checked inline bytes against `imageSize`. NULL with no
/// unpack buffer is legal: glCompressedTexImage* allocates storage and reads nothing
/// (`null_allocates`: `Ok(true)`); for glCompressedTexSubImage* it is `Ok(false)` and
/// the caller sends the host an empty region instead.
fn check_compressed(
    host: &mut dyn HostQuery,
    image_size: i32,
    data: &DataRef<'_>,
    null_allocates: bool,
) -> Result<bool, u32> {
    let need = usize::try_from(image_size).map_err(|_| GL_INVALID_VALUE)?;
    match check_data(host, data, GL_PIXEL_UNPACK_BUFFER_BINDING, GL_PIXEL_UNPACK_BUFFER, need)? {
        true => Ok(true),
        false => Ok(null_allocates || need == 0),
    }
}

/// Indices of a glDrawElements*: inline bytes for `count` indices with no element
/// buffer bound, or an offset/NULL inside the bound element buffer.
fn check_indices(
    host: &mut dyn HostQuery,
    arrays: &mut VertexArrays,
    elements: &mut ElementBuffers,
    count: i32,
    type_: u32,
    indices: &DataRef<'_>,
) -> Result<(), u32> {
    let need = sizes::index_bytes(count, type_).map_err(size_error)?;
    let vao = arrays.bound(host);
    let (binding, size) = elements.of(host, vao);
    let mut known = ElementHost { inner: host, binding, size };
    if !check_data(&mut known, indices, GL_ELEMENT_ARRAY_BUFFER_BINDING, GL_ELEMENT_ARRAY_BUFFER, need)? {
        // NULL indices with no element buffer: GL would read address 0.
        return Err(GL_INVALID_OPERATION);
    }
    arrays.check(host)
}

/// Every enabled vertex attribute must source from a buffer: the validator never lets a
/// client pointer reach the host (client-side arrays are uploaded by the ICD), and an
/// enabled array with no buffer would make GL read a host address at draw time.
/// `GL_MAX_VIEWPORTS_OES`.
const GL_MAX_VIEWPORTS: u32 = 0x825B;

/// Viewports `first..first + count` exist (computed in 64 bits: no wrap).
fn check_viewports(host: &mut dyn HostQuery, first: u64, count: i32) -> Result<bool, u32> {
    let count = u64::try_from(count).map_err(|_| GL_INVALID_VALUE)?;
    let max = u64::try_from(host.integer(GL_MAX_VIEWPORTS)).unwrap_or(0);
    if first + count > max {
        return Err(GL_INVALID_VALUE);
    }
    Ok(true)
}

/// A clear value: NULL, or at least one texel of `format`/`type_`.
fn check_texel(format: u32, type_: u32, data: Option<&[u8]>) -> Result<bool, u32> {
    match data {
        None => Ok(true),
        Some(d) => {
            let need = sizes::bytes_per_pixel(format, type_).map_err(size_error)?;
            if d.len() < need {
                Err(GL_INVALID_VALUE)
            } else {
                Ok(true)
            }
        }
    }
}

/// Which vertex arrays were last found with no enabled attribute reading client
/// memory. A draw asks the host only about a vertex array not found so since a
/// command that can change one (`changes_vertex_arrays`); asking before every draw
/// cost a draw-heavy program some 18 host queries a draw, and forgetting at every
/// glBindVertexArray cost a program that switches meshes as many per mesh.
#[derive(Debug, Default)]
pub struct VertexArrays {
    /// The host's GL_VERTEX_ARRAY_BINDING: taken from a bind of a name the host made
    /// (which cannot fail), asked of the host when not known (`None`: at first, and
    /// after a delete).
    bound: Option<u32>,
    /// Host names of the vertex arrays found clean, at most `CHECKED_KEPT`.
    checked: Vec<u32>,
    max_attribs: Option<u32>,
}

/// Vertex arrays remembered as clean: a program's meshes, bounded for one that makes
/// thousands.
const CHECKED_KEPT: usize = 64;

/// `GL_VERTEX_ARRAY_BINDING`.
const GL_VERTEX_ARRAY_BINDING: u32 = 0x85B5;

/// Commands after which enabled attributes may read other buffers (or none), or
/// another vertex array is bound.
pub(crate) fn changes_vertex_arrays(cmd: &Command<'_>) -> bool {
    matches!(
        cmd,
        Command::EnableVertexAttribArray(_)
            | Command::DisableVertexAttribArray(_)
            | Command::VertexAttribPointer(_)
            | Command::VertexAttribIPointer(_)
            | Command::VertexAttribFormat(_)
            | Command::VertexAttribIFormat(_)
            | Command::VertexAttribBinding(_)
            | Command::BindVertexBuffer(_)
            | Command::BindVertexArray(_)
            | Command::DeleteVertexArrays(_)
            // A deleted buffer is unbound from the bound vertex array's attributes.
            | Command::DeleteBuffers(_)
    )
}

impl VertexArrays {
    /// Takes note of `cmd` before it runs.
    fn note(&mut self, cmd: &Command<'_>) {
        match cmd {
            // A name the host made binds (names are mapped before this: an unknown one
            // is NO_OBJECT, which the host refuses, leaving the old one bound).
            Command::BindVertexArray(b) if b.array != crate::names::NO_OBJECT => self.bound = Some(b.array),
            Command::BindVertexArray(_) => {}
            // The host may give a deleted name to the next vertex array it makes.
            Command::DeleteVertexArrays(_) => {
                self.bound = None;
                self.checked.clear();
            }
            // These change the bound vertex array, whichever it is.
            _ if changes_vertex_arrays(cmd) => self.checked.clear(),
            _ => {}
        }
    }

    /// The bound vertex array (asked of the host when not known).
    fn bound(&mut self, host: &mut dyn HostQuery) -> u32 {
        *self.bound.get_or_insert_with(|| host.integer(GL_VERTEX_ARRAY_BINDING) as u32)
    }

    fn check(&mut self, host: &mut dyn HostQuery) -> Result<(), u32> {
        let bound = self.bound(host);
        if self.checked.contains(&bound) {
            return Ok(());
        }
        let attribs = *self
            .max_attribs
            .get_or_insert_with(|| u32::try_from(host.integer(GL_MAX_VERTEX_ATTRIBS)).unwrap_or(0).min(64));
        for i in 0..attribs {
            if host.vertex_attrib(i, GL_VERTEX_ATTRIB_ARRAY_ENABLED) != 0
                && host.vertex_attrib(i, GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING) == 0
            {
                return Err(GL_INVALID_OPERATION);
            }
        }
        if self.checked.len() == CHECKED_KEPT {
            self.checked.remove(0);
        }
        self.checked.push(bound);
        Ok(())
    }
}

/// How many times a context of a share group changed a buffer's size (glBufferData,
/// glBufferStorageEXT, glDeleteBuffers), counted after the host did it. A context's
/// remembered element-buffer sizes hold only while the count is what it was when it
/// asked: buffers are shared, so another context may have resized one.
#[derive(Debug, Clone, Default)]
pub struct BufferSizes(Arc<std::sync::atomic::AtomicU64>);

impl BufferSizes {
    pub fn changed(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The element buffer each vertex array was last found with, and its size: an indexed
/// draw asks the host only for a vertex array not looked at since a command that can
/// change either (two host queries a draw otherwise, each of which, with Mesa's GL
/// thread on, also waits for that thread to catch up).
#[derive(Debug, Default)]
pub struct ElementBuffers {
    /// (vertex array, element buffer binding, its size), at most `CHECKED_KEPT`.
    known: Vec<(u32, i32, i64)>,
    /// `sizes` as it was when `known` was filled.
    seen: u64,
    sizes: BufferSizes,
}

impl ElementBuffers {
    /// Forgets what a binding change makes stale. Size changes (and deletes, which
    /// unbind) are `BufferSizes`' to count, in this context as in the others.
    fn note(&mut self, cmd: &Command<'_>) {
        let forget = match cmd {
            Command::BindBuffer(b) => b.target == GL_ELEMENT_ARRAY_BUFFER,
            // The host may give a deleted name to the next vertex array it makes.
            Command::DeleteVertexArrays(_) => true,
            _ => false,
        };
        if forget {
            self.known.clear();
        }
    }

    /// The element buffer binding of vertex array `vao` (bound now) and the buffer's
    /// size (0 with none bound).
    fn of(&mut self, host: &mut dyn HostQuery, vao: u32) -> (i32, i64) {
        let now = self.sizes.now();
        if now != self.seen {
            self.known.clear();
            self.seen = now;
        }
        if let Some(&(_, binding, size)) = self.known.iter().find(|k| k.0 == vao) {
            return (binding, size);
        }
        let binding = host.integer(GL_ELEMENT_ARRAY_BUFFER_BINDING);
        let size = if binding != 0 { host.buffer_size(GL_ELEMENT_ARRAY_BUFFER) } else { 0 };
        if self.known.len() == CHECKED_KEPT {
            self.known.remove(0);
        }
        self.known.push((vao, binding, size));
        (binding, size)
    }
}

/// The host as an indexed draw's check sees it: the element buffer's binding and size
/// as `ElementBuffers` knows them, the rest asked.
struct ElementHost<'h> {
    inner: &'h mut dyn HostQuery,
    binding: i32,
    size: i64,
}

impl HostQuery for ElementHost<'_> {
    fn integer(&mut self, pname: u32) -> i32 {
        if pname == GL_ELEMENT_ARRAY_BUFFER_BINDING {
            return self.binding;
        }
        self.inner.integer(pname)
    }
    fn buffer_size(&mut self, target: u32) -> i64 {
        if target == GL_ELEMENT_ARRAY_BUFFER {
            return self.size;
        }
        self.inner.buffer_size(target)
    }
    fn vertex_attrib(&mut self, index: u32, pname: u32) -> i32 {
        self.inner.vertex_attrib(index, pname)
    }
    fn uniform_location(&mut self, program: u32, location: i32) -> Option<bool> {
        self.inner.uniform_location(program, location)
    }
}

/// An output sized by `count`: the capacity becomes the real size (never less than the
/// client's, so nothing GL writes falls outside scratch) and the reply is trimmed back.
fn sized_out(cap: Option<u32>, count: u32) -> (Option<u32>, Fixup) {
    let real = count.max(cap.unwrap_or(0));
    (Some(real), if cap == Some(real) { Fixup::None } else { Fixup::Trim(cap) })
}

fn run(cmd: Command<'_>) -> Verdict<'_> {
    Verdict::Run(cmd, Fixup::None)
}

fn outcome<'a>(r: Result<bool, u32>, cmd: Command<'a>) -> Verdict<'a> {
    match r {
        Ok(true) => run(cmd),
        Ok(false) => Verdict::error(GL_NO_ERROR),
        Err(e) => Verdict::error(e),
    }
}

/// A pname-sized input: at least as many values as GL reads.
fn check_input(host: &mut dyn HostQuery, table: &PnameTable, pname: u32, len: usize) -> Result<(), u32> {
    let need = pname_count(host, table, pname).ok_or(GL_INVALID_ENUM)?;
    if len < need as usize {
        return Err(GL_INVALID_VALUE);
    }
    Ok(())
}

macro_rules! pname_out {
    ($host:expr, $table:expr, $variant:ident, $c:expr, $field:ident) => {
        pname_out!($host, $table, $variant, $c, pname, $field)
    };
    ($host:expr, $table:expr, $variant:ident, $c:expr, $key:ident, $field:ident) => {{
        let mut c = $c;
        match pname_count($host, &$table, c.$key) {
            None => Verdict::error(GL_INVALID_ENUM),
            Some(n) => {
                let (cap, fixup) = sized_out(c.$field, n);
                c.$field = cap;
                Verdict::Run(Command::$variant(c), fixup)
            }
        }
    }};
}

macro_rules! pname_in {
    ($host:expr, $table:expr, $cmd:expr, $pname:expr, $field:expr) => {
        match check_input($host, &$table, $pname, $field.len()) {
            Ok(()) => run($cmd),
            Err(e) => Verdict::error(e),
        }
    };
}

macro_rules! uniform_out {
    ($host:expr, $variant:ident, $c:expr) => {{
        let mut c = $c;
        // Mesa reads a block member's location as if it had default-block storage and
        // crashes: only ordinary uniforms' locations reach it.
        if c.location >= 0 && $host.uniform_location(c.program, c.location) == Some(false) {
            Verdict::error(GL_INVALID_OPERATION)
        } else {
            let (cap, fixup) = sized_out(c.params, MAX_UNIFORM_VALUES);
            c.params = cap;
            Verdict::Run(Command::$variant(c), fixup)
        }
    }};
}

macro_rules! pointer_out {
    ($variant:ident, $c:expr, $field:ident) => {{
        let mut c = $c;
        let client = c.$field;
        let (cap, _) = sized_out(client, 1);
        c.$field = cap;
        Verdict::Run(Command::$variant(c), Fixup::NoPointers(client))
    }};
}

impl Validator {
    pub fn new(limits: ValidatorLimits, syncs: Arc<Mutex<SyncTable>>, images: SharedImages) -> Self {
        Self {
            limits,
            pending_error: GL_NO_ERROR,
            syncs,
            images,
            image_in_use: None,
            arrays: VertexArrays::default(),
            elements: ElementBuffers::default(),
        }
    }

    /// Shares the count of buffer size changes with the other contexts of a share group.
    pub fn with_buffer_sizes(mut self, sizes: BufferSizes) -> Self {
        self.elements.sizes = sizes;
        self
    }

    /// Keeps `error` for `glGetError` unless an earlier one is still unread (GL keeps
    /// the first error until it is read).
    pub fn record(&mut self, error: u32) {
        if self.pending_error == GL_NO_ERROR {
            self.pending_error = error;
        }
    }

    /// Whether an error waits for `glGetError`.
    pub fn has_error(&self) -> bool {
        self.pending_error != GL_NO_ERROR
    }

    /// The pending error, cleared; `GL_NO_ERROR` when there is none.
    pub fn take_error(&mut self) -> u32 {
        std::mem::replace(&mut self.pending_error, GL_NO_ERROR)
    }

    pub fn syncs(&self) -> MutexGuard<'_, SyncTable> {
        // A panic elsewhere cannot leave the table half-changed: its methods do not panic.
        self.syncs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides about one decoded command, before any host call.
    pub fn check<'a>(&mut self, host: &mut dyn HostQuery, cmd: &Command<'a>) -> Verdict<'a> {
        self.note(cmd);
        match self.check_known(host, cmd) {
            Some(verdict) => verdict,
            // An array sized by a hand rule, or a handle, that no rule above checks: the
            // host could read or write past what the client sent, or take a client value
            // for a host pointer. Refused, loudly: it is a gap in
            // this validator (a test keeps the set empty).
            None if cmd.opcode().info().hand_counted || cmd.opcode().info().handles => {
                tracing::error!(command = cmd.opcode().info().name, "no validation rule; refused");
                Verdict::error(GL_INVALID_OPERATION)
            }
            None => run(*cmd),
        }
    }

    /// What `check` notes of every command before its rules: all it does for a command
    /// no rule looks at (`crate::fast::Lean::Bind` runs only this).
    pub(crate) fn note(&mut self, cmd: &Command<'_>) {
        self.image_in_use = None;
        self.arrays.note(cmd);
        self.elements.note(cmd);
    }

    /// The short path's check of a non-indexed draw (`crate::fast`): what `check`
    /// does for one, from the cached vertex-array state.
    pub(crate) fn check_arrays_draw(&mut self, host: &mut dyn HostQuery) -> Result<(), u32> {
        self.image_in_use = None;
        self.arrays.check(host)
    }

    /// Whether some rule looks at `cmd` (for the short path's test).
    #[cfg(test)]
    pub(crate) fn has_rule(&mut self, host: &mut dyn HostQuery, cmd: &Command<'_>) -> bool {
        self.check_known(host, cmd).is_some()
    }

    /// The rules: `None` when the command needs no check beyond what decoding did.
    fn check_known<'a>(&mut self, host: &mut dyn HostQuery, cmd: &Command<'a>) -> Option<Verdict<'a>> {
        let cmd = *cmd;
        Some(match cmd {
            // Pixel uploads.
            Command::TexImage2D(c) => {
                outcome(check_unpack(host, c.format, c.type_, (c.width, c.height, None), &c.pixels, true), cmd)
            }
            Command::TexImage3D(c) => {
                outcome(check_unpack(host, c.format, c.type_, (c.width, c.height, Some(c.depth)), &c.pixels, true), cmd)
            }
            // NULL with no unpack buffer reads nothing, but GL still checks the target,
            // level, format/type and the texture's format: the host gets the same call
            // with an empty region (nothing to read) so it raises exactly those errors.
            Command::TexSubImage2D(c) => {
                match check_unpack(host, c.format, c.type_, (c.width, c.height, None), &c.pixels, false) {
                    Ok(false) => run(Command::TexSubImage2D(TexSubImage2D { width: 0, height: 0, ..c })),
                    r => outcome(r, cmd),
                }
            }
            Command::TexSubImage3D(c) => {
                match check_unpack(host, c.format, c.type_, (c.width, c.height, Some(c.depth)), &c.pixels, false) {
                    Ok(false) => run(Command::TexSubImage3D(TexSubImage3D { width: 0, height: 0, depth: 0, ..c })),
                    r => outcome(r, cmd),
                }
            }
            Command::CompressedTexImage2D(c) => outcome(check_compressed(host, c.image_size, &c.data, true), cmd),
            Command::CompressedTexImage3D(c) => outcome(check_compressed(host, c.image_size, &c.data, true), cmd),
            Command::CompressedTexSubImage2D(c) => match check_compressed(host, c.image_size, &c.data, false) {
                Ok(false) => run(Command::CompressedTexSubImage2D(CompressedTexSubImage2D {
                    width: 0,
                    height: 0,
                    image_size: 0,
                    ..c
                })),
                r => outcome(r, cmd),
            },
            Command::CompressedTexSubImage3D(c) => match check_compressed(host, c.image_size, &c.data, false) {
                Ok(false) => run(Command::CompressedTexSubImage3D(CompressedTexSubImage3D {
                    width: 0,
                    height: 0,
                    depth: 0,
                    image_size: 0,
                    ..c
                })),
                r => outcome(r, cmd),
            },
            // Pixel reads.
            Command::ReadPixels(c) => self.read_pixels(host, c.format, c.type_, (c.width, c.height), c.pixels, |p| {
                Command::ReadPixels(ReadPixels { pixels: p, ..c })
            }),
            Command::ReadnPixels(c) => self.read_pixels(host, c.format, c.type_, (c.width, c.height), c.data, |p| {
                Command::ReadnPixels(ReadnPixels { data: p, ..c })
            }),
            // Draws.
            Command::DrawElements(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawElementsInstanced(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawRangeElements(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawElementsBaseVertex(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawRangeElementsBaseVertex(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawElementsInstancedBaseVertex(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawElementsInstancedBaseInstanceEXT(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawElementsInstancedBaseVertexBaseInstanceEXT(c) => outcome(
                check_indices(host, &mut self.arrays, &mut self.elements, c.count, c.type_, &c.indices).map(|()| true),
                cmd,
            ),
            Command::DrawArrays(_)
            | Command::DrawArraysInstanced(_)
            | Command::DrawArraysInstancedBaseInstanceEXT(_) => outcome(self.arrays.check(host).map(|()| true), cmd),
            Command::DrawArraysIndirect(c) => outcome(
                check_offset(host, GL_DRAW_INDIRECT_BUFFER_BINDING, GL_DRAW_INDIRECT_BUFFER, c.indirect, 16)
                    .and_then(|()| self.arrays.check(host))
                    .map(|()| true),
                cmd,
            ),
            Command::DrawElementsIndirect(c) => outcome(
                check_offset(host, GL_DRAW_INDIRECT_BUFFER_BINDING, GL_DRAW_INDIRECT_BUFFER, c.indirect, 20)
                    .and_then(|()| {
                        // The indices come from the element buffer at offsets the
                        // indirect record holds; GL needs one bound.
                        if host.integer(GL_ELEMENT_ARRAY_BUFFER_BINDING) == 0 {
                            Err(GL_INVALID_OPERATION)
                        } else {
                            self.arrays.check(host)
                        }
                    })
                    .map(|()| true),
                cmd,
            ),
            Command::DispatchComputeIndirect(c) => {
                let offset = u64::try_from(c.indirect).map_err(|_| GL_INVALID_VALUE);
                outcome(
                    offset
                        .and_then(|o| {
                            check_offset(host, GL_DISPATCH_INDIRECT_BUFFER_BINDING, GL_DISPATCH_INDIRECT_BUFFER, o, 12)
                        })
                        .map(|()| true),
                    cmd,
                )
            }
            // Vertex arrays: the pointer is an offset into the bound array buffer; with
            // none bound it would be a client-chosen host address read at draw time
            // (even 0: GL would read address 0).
            Command::VertexAttribPointer(_) | Command::VertexAttribIPointer(_) => {
                if host.integer(GL_ARRAY_BUFFER_BINDING) == 0 {
                    Verdict::error(GL_INVALID_OPERATION)
                } else {
                    run(cmd)
                }
            }
            // Pname-sized inputs.
            Command::TexParameteriv(c) => pname_in!(host, pnames::TEX_PARAMETER, cmd, c.pname, c.params),
            Command::TexParameterfv(c) => pname_in!(host, pnames::TEX_PARAMETER, cmd, c.pname, c.params),
            Command::TexParameterIiv(c) => pname_in!(host, pnames::TEX_PARAMETER, cmd, c.pname, c.params),
            Command::TexParameterIuiv(c) => pname_in!(host, pnames::TEX_PARAMETER, cmd, c.pname, c.params),
            Command::SamplerParameteriv(c) => pname_in!(host, pnames::SAMPLER_PARAMETER, cmd, c.pname, c.param),
            Command::SamplerParameterfv(c) => pname_in!(host, pnames::SAMPLER_PARAMETER, cmd, c.pname, c.param),
            Command::SamplerParameterIiv(c) => pname_in!(host, pnames::SAMPLER_PARAMETER, cmd, c.pname, c.param),
            Command::SamplerParameterIuiv(c) => pname_in!(host, pnames::SAMPLER_PARAMETER, cmd, c.pname, c.param),
            Command::ClearBufferiv(c) => pname_in!(host, pnames::CLEAR_BUFFER, cmd, c.buffer, c.value),
            Command::ClearBufferuiv(c) => pname_in!(host, pnames::CLEAR_BUFFER, cmd, c.buffer, c.value),
            Command::ClearBufferfv(c) => pname_in!(host, pnames::CLEAR_BUFFER, cmd, c.buffer, c.value),
            // Pname-sized outputs.
            Command::GetBooleanv(c) => pname_out!(host, pnames::GET, GetBooleanv, c, data),
            Command::GetIntegerv(c) => pname_out!(host, pnames::GET, GetIntegerv, c, data),
            Command::GetFloatv(c) => pname_out!(host, pnames::GET, GetFloatv, c, data),
            Command::GetInteger64v(c) => pname_out!(host, pnames::GET, GetInteger64v, c, data),
            Command::GetTexParameteriv(c) => pname_out!(host, pnames::TEX_PARAMETER, GetTexParameteriv, c, params),
            Command::GetTexParameterfv(c) => pname_out!(host, pnames::TEX_PARAMETER, GetTexParameterfv, c, params),
            Command::GetTexParameterIiv(c) => pname_out!(host, pnames::TEX_PARAMETER, GetTexParameterIiv, c, params),
            Command::GetTexParameterIuiv(c) => {
                pname_out!(host, pnames::TEX_PARAMETER, GetTexParameterIuiv, c, params)
            }
            Command::GetSamplerParameteriv(c) => {
                pname_out!(host, pnames::SAMPLER_PARAMETER, GetSamplerParameteriv, c, params)
            }
            Command::GetSamplerParameterfv(c) => {
                pname_out!(host, pnames::SAMPLER_PARAMETER, GetSamplerParameterfv, c, params)
            }
            Command::GetSamplerParameterIiv(c) => {
                pname_out!(host, pnames::SAMPLER_PARAMETER, GetSamplerParameterIiv, c, params)
            }
            Command::GetSamplerParameterIuiv(c) => {
                pname_out!(host, pnames::SAMPLER_PARAMETER, GetSamplerParameterIuiv, c, params)
            }
            Command::GetBufferParameteriv(c) => {
                pname_out!(host, pnames::BUFFER_PARAMETER, GetBufferParameteriv, c, params)
            }
            Command::GetBufferParameteri64v(c) => {
                pname_out!(host, pnames::BUFFER_PARAMETER, GetBufferParameteri64v, c, params)
            }
            Command::GetProgramiv(c) => pname_out!(host, pnames::PROGRAM, GetProgramiv, c, params),
            Command::GetShaderiv(c) => pname_out!(host, pnames::SHADER, GetShaderiv, c, params),
            Command::GetRenderbufferParameteriv(c) => {
                pname_out!(host, pnames::RENDERBUFFER_PARAMETER, GetRenderbufferParameteriv, c, params)
            }
            Command::GetFramebufferAttachmentParameteriv(c) => {
                pname_out!(
                    host,
                    pnames::FRAMEBUFFER_ATTACHMENT_PARAMETER,
                    GetFramebufferAttachmentParameteriv,
                    c,
                    params
                )
            }
            Command::GetVertexAttribiv(c) => pname_out!(host, pnames::VERTEX_ATTRIB, GetVertexAttribiv, c, params),
            Command::GetVertexAttribfv(c) => pname_out!(host, pnames::VERTEX_ATTRIB, GetVertexAttribfv, c, params),
            Command::GetVertexAttribIiv(c) => pname_out!(host, pnames::VERTEX_ATTRIB, GetVertexAttribIiv, c, params),
            Command::GetVertexAttribIuiv(c) => pname_out!(host, pnames::VERTEX_ATTRIB, GetVertexAttribIuiv, c, params),
            Command::GetIntegeriV(c) => pname_out!(host, pnames::GET_INDEXED, GetIntegeriV, c, target, data),
            Command::GetInteger64iV(c) => pname_out!(host, pnames::GET_INDEXED, GetInteger64iV, c, target, data),
            Command::GetBooleaniV(c) => pname_out!(host, pnames::GET_INDEXED, GetBooleaniV, c, target, data),
            Command::GetTexLevelParameteriv(c) => {
                pname_out!(host, pnames::TEX_LEVEL_PARAMETER, GetTexLevelParameteriv, c, params)
            }
            Command::GetTexLevelParameterfv(c) => {
                pname_out!(host, pnames::TEX_LEVEL_PARAMETER, GetTexLevelParameterfv, c, params)
            }
            Command::GetFramebufferParameteriv(c) => {
                pname_out!(host, pnames::FRAMEBUFFER_PARAMETER, GetFramebufferParameteriv, c, params)
            }
            Command::GetProgramPipelineiv(c) => {
                pname_out!(host, pnames::PROGRAM_PIPELINE, GetProgramPipelineiv, c, params)
            }
            Command::GetProgramInterfaceiv(c) => {
                pname_out!(host, pnames::PROGRAM_INTERFACE, GetProgramInterfaceiv, c, params)
            }
            Command::GetMultisamplefv(c) => pname_out!(host, pnames::MULTISAMPLE, GetMultisamplefv, c, val),
            Command::GetActiveUniformBlockiv(c) => {
                let mut c = c;
                let count = if c.pname == GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES {
                    // One index per uniform in the block, and every uniform takes at
                    // least 4 bytes of it: the block-size limit bounds the count.
                    Some(u32::try_from(host.integer(GL_MAX_UNIFORM_BLOCK_SIZE) / 4).unwrap_or(0))
                } else {
                    pname_count(host, &pnames::ACTIVE_UNIFORM_BLOCK, c.pname)
                };
                match count {
                    None => Verdict::error(GL_INVALID_ENUM),
                    Some(n) => {
                        let (cap, fixup) = sized_out(c.params, n);
                        c.params = cap;
                        Verdict::Run(Command::GetActiveUniformBlockiv(c), fixup)
                    }
                }
            }
            Command::GetQueryiv(c) => pname_out!(host, pnames::QUERY, GetQueryiv, c, params),
            Command::GetQueryObjectivEXT(c) => pname_out!(host, pnames::QUERY_OBJECT, GetQueryObjectivEXT, c, params),
            Command::GetQueryObjecti64vEXT(c) => {
                pname_out!(host, pnames::QUERY_OBJECT, GetQueryObjecti64vEXT, c, params)
            }
            Command::GetQueryObjectui64vEXT(c) => {
                pname_out!(host, pnames::QUERY_OBJECT, GetQueryObjectui64vEXT, c, params)
            }
            Command::GetFloatiVOES(c) => pname_out!(host, pnames::GET_INDEXED, GetFloatiVOES, c, target, data),
            // A clear value is one texel of `format`/`type`.
            Command::ClearTexImageEXT(c) => outcome(check_texel(c.format, c.type_, c.data), cmd),
            Command::ClearTexSubImageEXT(c) => outcome(check_texel(c.format, c.type_, c.data), cmd),
            Command::GetQueryObjectuiv(c) => pname_out!(host, pnames::QUERY_OBJECT, GetQueryObjectuiv, c, params),
            // Uniforms: one location holds at most a mat4; the client's capacity is
            // what it believes the uniform holds, and the reply carries that many.
            Command::GetUniformfv(c) => uniform_out!(host, GetUniformfv, c),
            Command::GetUniformiv(c) => uniform_out!(host, GetUniformiv, c),
            Command::GetUniformuiv(c) => uniform_out!(host, GetUniformuiv, c),
            Command::GetnUniformfv(c) => uniform_out!(host, GetnUniformfv, c),
            Command::GetnUniformiv(c) => uniform_out!(host, GetnUniformiv, c),
            Command::GetnUniformuiv(c) => uniform_out!(host, GetnUniformuiv, c),
            // Host pointers never go back.
            Command::GetPointerv(c) => pointer_out!(GetPointerv, c, params),
            Command::GetBufferPointerv(c) => pointer_out!(GetBufferPointerv, c, params),
            // An attribute's "pointer" on the host is always the offset the client gave
            // (attributes only point into buffers here), never a host address.
            Command::GetVertexAttribPointerv(c) => {
                let mut c = c;
                let (cap, fixup) = sized_out(c.pointer, 1);
                c.pointer = cap;
                Verdict::Run(Command::GetVertexAttribPointerv(c), fixup)
            }
            // Sync objects: client ids, never host pointers.
            Command::FenceSync(_) => {
                if self.syncs().is_full() {
                    Verdict::error(GL_OUT_OF_MEMORY)
                } else {
                    Verdict::Run(cmd, Fixup::FenceId)
                }
            }
            Command::IsSync(c) => match self.syncs().host(c.sync) {
                Some(sync) => run(Command::IsSync(IsSync { sync })),
                // GL answers FALSE for a name that is not a sync, without an error.
                None => Verdict::error(GL_NO_ERROR),
            },
            Command::DeleteSync(c) if c.sync == 0 => Verdict::error(GL_NO_ERROR),
            Command::DeleteSync(c) => match self.syncs().host(c.sync) {
                Some(sync) => Verdict::Run(Command::DeleteSync(DeleteSync { sync }), Fixup::SyncDeleted(c.sync)),
                None => Verdict::error(GL_INVALID_VALUE),
            },
            Command::ClientWaitSync(c) => match self.syncs().host(c.sync) {
                Some(sync) => {
                    let timeout = c.timeout.min(MAX_CLIENT_WAIT_NS);
                    run(Command::ClientWaitSync(ClientWaitSync { sync, timeout, ..c }))
                }
                None => Verdict::error(GL_INVALID_VALUE),
            },
            Command::WaitSync(c) => match self.syncs().host(c.sync) {
                Some(sync) => run(Command::WaitSync(WaitSync { sync, ..c })),
                None => Verdict::error(GL_INVALID_VALUE),
            },
            Command::GetSynciv(c) => match self.syncs().host(c.sync) {
                Some(sync) => run(Command::GetSynciv(GetSynciv { sync, ..c })),
                None => Verdict::error(GL_INVALID_VALUE),
            },
            // Debug labels on sync objects: the "pointer" is a sync id.
            Command::ObjectPtrLabel(c) => match self.syncs().host(c.ptr) {
                Some(ptr) => run(Command::ObjectPtrLabel(ObjectPtrLabel { ptr, ..c })),
                None => Verdict::error(GL_INVALID_VALUE),
            },
            Command::GetObjectPtrLabel(c) => match self.syncs().host(c.ptr) {
                Some(ptr) => run(Command::GetObjectPtrLabel(GetObjectPtrLabel { ptr, ..c })),
                None => Verdict::error(GL_INVALID_VALUE),
            },
            // Mapped ranges travel whole in one reply.
            Command::MapBufferRange(c) if usize::try_from(c.length).is_ok_and(|l| l > MAX_OUTPUT_BYTES) => {
                Verdict::error(GL_OUT_OF_MEMORY)
            }
            Command::WireReadMapped(c) if usize::try_from(c.size).is_ok_and(|l| l > MAX_OUTPUT_BYTES) => {
                Verdict::error(GL_OUT_OF_MEMORY)
            }
            // Ranges of viewports: Mesa adds `first + count` in 32 bits, so a huge
            // `first` wraps past its check and writes far outside its array.
            Command::ViewportArrayvOES(c) => outcome(check_viewports(host, u64::from(c.first), c.count), cmd),
            Command::ScissorArrayvOES(c) => outcome(check_viewports(host, u64::from(c.first), c.count), cmd),
            Command::DepthRangeArrayfvOES(c) => outcome(check_viewports(host, u64::from(c.first), c.count), cmd),
            Command::ViewportIndexedfOES(c) => outcome(check_viewports(host, u64::from(c.index), 1), cmd),
            Command::ViewportIndexedfvOES(c) => outcome(check_viewports(host, u64::from(c.index), 1), cmd),
            Command::ScissorIndexedOES(c) => outcome(check_viewports(host, u64::from(c.index), 1), cmd),
            Command::ScissorIndexedvOES(c) => outcome(check_viewports(host, u64::from(c.index), 1), cmd),
            Command::DepthRangeIndexedfOES(c) => outcome(check_viewports(host, u64::from(c.index), 1), cmd),
            // The callback and its user pointer are client addresses; the executor passes
            // the host NULL for both (backend-gles `hand::debug_message_callback`).
            Command::DebugMessageCallback(_) => run(cmd),
            // EGLImages: session handles, never host pointers.
            Command::EGLImageTargetTexture2DOES(c) => match self.host_image(c.image) {
                Some(image) => run(Command::EGLImageTargetTexture2DOES(EGLImageTargetTexture2DOES { image, ..c })),
                None => Verdict::error(GL_INVALID_VALUE),
            },
            Command::EGLImageTargetRenderbufferStorageOES(c) => match self.host_image(c.image) {
                Some(image) => {
                    run(Command::EGLImageTargetRenderbufferStorageOES(EGLImageTargetRenderbufferStorageOES {
                        image,
                        ..c
                    }))
                }
                None => Verdict::error(GL_INVALID_VALUE),
            },
            Command::EGLImageTargetTexStorageEXT(c) => match self.host_image(c.image) {
                Some(image) => run(Command::EGLImageTargetTexStorageEXT(EGLImageTargetTexStorageEXT { image, ..c })),
                None => Verdict::error(GL_INVALID_VALUE),
            },
            Command::EGLImageTargetTextureStorageEXT(c) => match self.host_image(c.image) {
                Some(image) => {
                    run(Command::EGLImageTargetTextureStorageEXT(EGLImageTargetTextureStorageEXT { image, ..c }))
                }
                None => Verdict::error(GL_INVALID_VALUE),
            },
            // Allocations.
            Command::BufferData(c) => self.allocation(c.size, c.data.is_none(), cmd),
            Command::BufferStorageEXT(c) => self.allocation(c.size, c.data.is_none(), cmd),
            _ => return None,
        })
    }

    /// A buffer allocation without data the host would make of a client-given size
    /// (with data, the bytes were sent and the decoder checked them): capped.
    fn allocation<'a>(&self, size: i64, no_data: bool, cmd: Command<'a>) -> Verdict<'a> {
        if no_data && u64::try_from(size).is_ok_and(|s| s > self.limits.max_buffer_bytes) {
            Verdict::error(GL_OUT_OF_MEMORY)
        } else {
            run(cmd)
        }
    }

    /// The host address of the session's image `id`, kept alive until the next check.
    fn host_image(&mut self, id: u64) -> Option<u64> {
        let image = crate::images::lock(&self.images).get(id)?;
        let ptr = image.as_ptr() as usize as u64;
        self.image_in_use = Some(image);
        Some(ptr)
    }

    fn read_pixels<'a>(
        &mut self,
        host: &mut dyn HostQuery,
        format: u32,
        type_: u32,
        (width, height): (i32, i32),
        out: OutRef,
        rebuild: impl FnOnce(OutRef) -> Command<'a>,
    ) -> Verdict<'a> {
        let store = pack_store(host);
        let need = match sizes::image_size_2d(format, type_, width, height, &store) {
            Ok(n) => n,
            Err(e) => return Verdict::error(size_error(e)),
        };
        let pack_bound = host.integer(GL_PIXEL_PACK_BUFFER_BINDING) != 0;
        match out {
            OutRef::Offset(o) => {
                match check_offset(host, GL_PIXEL_PACK_BUFFER_BINDING, GL_PIXEL_PACK_BUFFER, o, need) {
                    Ok(()) => run(rebuild(out)),
                    Err(e) => Verdict::error(e),
                }
            }
            // NULL with a pack buffer bound is offset 0.
            OutRef::Null if pack_bound => {
                match check_offset(host, GL_PIXEL_PACK_BUFFER_BINDING, GL_PIXEL_PACK_BUFFER, 0, need) {
                    Ok(()) => run(rebuild(out)),
                    Err(e) => Verdict::error(e),
                }
            }
            // GL would write at the scratch address taken as an offset into the buffer.
            OutRef::Reply(_) if pack_bound => Verdict::error(GL_INVALID_OPERATION),
            OutRef::Reply(_) | OutRef::Null => {
                if need > MAX_OUTPUT_BYTES {
                    return Verdict::error(GL_OUT_OF_MEMORY);
                }
                let cap = match out {
                    OutRef::Reply(cap) => Some(cap),
                    _ => None,
                };
                // `need` fits a u32: it is at most MAX_OUTPUT_BYTES.
                let (real, fixup) = sized_out(cap, need as u32);
                Verdict::Run(rebuild(OutRef::Reply(real.unwrap_or(0))), fixup)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use bumpalo::Bump;
    use wire::codec::arbitrary::Entropy;
    use wire::commands::{sample, Opcode};

    use super::*;

    /// A host whose every buffer is bound and large, every count small, and no
    /// vertex attribute enabled (so every draw's vertex-array check passes).
    pub(crate) struct FakeHost;

    impl HostQuery for FakeHost {
        fn integer(&mut self, _pname: u32) -> i32 {
            1
        }
        fn buffer_size(&mut self, _target: u32) -> i64 {
            1 << 20
        }
        fn vertex_attrib(&mut self, _index: u32, _pname: u32) -> i32 {
            0
        }
        fn uniform_location(&mut self, _program: u32, _location: i32) -> Option<bool> {
            Some(true)
        }
    }

    /// Every command with a hand-sized array or a handle has a rule: none reaches the
    /// refusal for commands the validator does not know how to bound.
    #[test]
    fn every_hand_counted_or_handle_command_has_a_rule() {
        let mut missing = Vec::new();
        let checked = Opcode::ALL.into_iter().filter(|op| op.info().hand_counted || op.info().handles);
        assert!(checked.clone().any(|op| op.info().handles), "commands with handles exist");
        for op in checked {
            let arena = Bump::new();
            let entropy = [7u8; 256];
            let cmd = sample::command(op, &mut Entropy::new(&entropy), &arena);
            let mut v = Validator::new(ValidatorLimits::default(), Arc::default(), Arc::default());
            if v.check_known(&mut FakeHost, &cmd).is_none() {
                missing.push(op.info().name);
            }
        }
        assert!(missing.is_empty(), "no validation rule for {missing:?}");
    }

    /// A host that counts the element-buffer questions it is asked.
    #[derive(Default)]
    struct CountingHost {
        asked: u32,
        size: i64,
    }

    impl HostQuery for CountingHost {
        fn integer(&mut self, pname: u32) -> i32 {
            if pname == GL_ELEMENT_ARRAY_BUFFER_BINDING {
                self.asked += 1;
            }
            1
        }
        fn buffer_size(&mut self, _target: u32) -> i64 {
            self.size
        }
        fn vertex_attrib(&mut self, _index: u32, _pname: u32) -> i32 {
            0
        }
        fn uniform_location(&mut self, _program: u32, _location: i32) -> Option<bool> {
            Some(true)
        }
    }

    /// A context asks about its element buffer once, until any context of its share
    /// group changes a buffer's size.
    #[test]
    fn element_buffer_sizes_are_asked_again_after_a_share_group_resize() {
        let shared = BufferSizes::default();
        let mut v = Validator::new(ValidatorLimits::default(), Arc::default(), Arc::default())
            .with_buffer_sizes(shared.clone());
        let mut host = CountingHost { size: 6, ..Default::default() };
        let draw = |offset| {
            Command::DrawElements(DrawElements { mode: 4, count: 3, type_: 0x1403, indices: DataRef::Offset(offset) })
        };
        for _ in 0..3 {
            assert!(matches!(v.check(&mut host, &draw(0)), Verdict::Run(..)));
        }
        assert_eq!(host.asked, 1, "asked once for three draws");
        // Another context shrinks a buffer.
        shared.changed();
        host.size = 2;
        assert!(matches!(v.check(&mut host, &draw(0)), Verdict::Skip { error: GL_INVALID_OPERATION }));
        assert_eq!(host.asked, 2);
    }

    #[test]
    fn a_clear_value_must_hold_one_texel() {
        const GL_RGBA: u32 = 0x1908;
        const GL_FLOAT: u32 = 0x1406;
        assert_eq!(check_texel(GL_RGBA, GL_FLOAT, None), Ok(true));
        assert_eq!(check_texel(GL_RGBA, GL_FLOAT, Some(&[0; 16])), Ok(true));
        assert_eq!(check_texel(GL_RGBA, GL_FLOAT, Some(&[0; 15])), Err(GL_INVALID_VALUE));
        assert_eq!(check_texel(0x1234, GL_FLOAT, Some(&[0; 64])), Err(GL_INVALID_ENUM));
    }
}
