//! The executor arms that are not a plain call, which the generator delegates here:
//! `glMapBufferRange` (a `void *` result), `glDebugMessageCallback` (a function
//! pointer), and glwire's own `glwireWriteMapped`/`glwireReadMapped`, which move bytes
//! into and out of a host mapping (the one place the executor checks bounds itself:
//! only it knows the host address). They share `generated::execute`'s contract and its
//! `# Safety`. Also the host half of glGen* (`gen_names`): the client chooses its own
//! names and the server asks the host for names to map them to.

use core::ffi::c_void;
use core::ptr;

use wire::buf::Sink;
use wire::commands::{
    DebugMessageCallback, MapBufferRange, MapBufferRangeReply, WireReadMapped, WireReadMappedReply, WireWriteMapped,
};

use crate::error::BackendError;
use crate::fns::need;
use crate::generated::GlesFns;
use crate::scratch::Scratch;

const GL_MAP_READ_BIT: u32 = 0x0001;
const GL_MAP_WRITE_BIT: u32 = 0x0002;
const GL_MAP_INVALIDATE_RANGE_BIT: u32 = 0x0004;
const GL_MAP_INVALIDATE_BUFFER_BIT: u32 = 0x0008;
const GL_MAP_PERSISTENT_BIT: u32 = 0x0040;
const GL_COPY_WRITE_BUFFER: u32 = 0x8F37;
const GL_BUFFER_MAP_POINTER: u32 = 0x88BD;
const GL_BUFFER_ACCESS_FLAGS: u32 = 0x911F;
const GL_BUFFER_MAP_LENGTH: u32 = 0x9120;
const GL_INVALID_VALUE: u32 = 0x0501;
const GL_INVALID_OPERATION: u32 = 0x0502;

/// `glMapBufferRange`: maps on the host and answers with the range's bytes, which the
/// client keeps as the program's copy; the host mapping stays until the client's
/// `glUnmapBuffer`, so GL's mapped-buffer state and errors are the host's own. The
/// bytes are left out (an empty reply) when the map invalidates them and does not
/// read: the program may not rely on them. A failed map answers NULL (the host keeps
/// the error for `glGetError`).
///
/// # Safety
/// As for `generated::execute`.
pub(crate) unsafe fn map_buffer_range(
    fns: &GlesFns,
    c: &MapBufferRange,
    _scratch: &mut Scratch,
    replies: &mut dyn Sink,
) -> Result<(), BackendError> {
    let f = need(fns.gl_map_buffer_range, "glMapBufferRange")?;
    // SAFETY: scalar arguments; GL checks them and returns NULL on error.
    let p = unsafe { f(c.target, c.offset as _, c.length as _, c.access) };
    if p.is_null() {
        MapBufferRangeReply { ret: None }.encode(replies)?;
        return Ok(());
    }
    let invalidates = c.access & (GL_MAP_INVALIDATE_RANGE_BIT | GL_MAP_INVALIDATE_BUFFER_BIT) != 0;
    let bytes: &[u8] = if invalidates && c.access & GL_MAP_READ_BIT == 0 {
        &[]
    } else {
        // SAFETY: GL mapped exactly `length` bytes at `p` (it returned non-NULL, so
        // offset and length were valid for the buffer), and they stay mapped here.
        unsafe { core::slice::from_raw_parts(p.cast::<u8>(), c.length as usize) }
    };
    MapBufferRangeReply { ret: Some(bytes) }.encode(replies)?;
    Ok(())
}

/// The host mapping of `buffer`: its address, length and access flags. Binds the
/// buffer at GL_COPY_WRITE_BUFFER to ask, and puts the program's binding back.
/// `Err(GL error)` when `buffer` is no buffer or is not mapped.
///
/// # Safety
/// The context `fns` belongs to is current.
unsafe fn host_mapping(fns: &GlesFns, buffer: u32) -> Result<Result<(*mut u8, i64, u32), u32>, BackendError> {
    let is_buffer = need(fns.gl_is_buffer, "glIsBuffer")?;
    let get_integer = need(fns.gl_get_integerv, "glGetIntegerv")?;
    let bind = need(fns.gl_bind_buffer, "glBindBuffer")?;
    let pointer = need(fns.gl_get_buffer_pointerv, "glGetBufferPointerv")?;
    let param64 = need(fns.gl_get_buffer_parameteri64v, "glGetBufferParameteri64v")?;
    let param = need(fns.gl_get_buffer_parameteriv, "glGetBufferParameteriv")?;
    // SAFETY: scalar argument. Checked first: binding an unknown name would create it.
    if buffer == 0 || unsafe { is_buffer(buffer) } == 0 {
        return Ok(Err(GL_INVALID_VALUE));
    }
    let mut saved = 0;
    let (mut p, mut len, mut access) = (ptr::null_mut::<c_void>(), 0i64, 0i32);
    // SAFETY: each output is a local of the size GL writes (one value); the binding is
    // restored before returning.
    unsafe {
        get_integer(GL_COPY_WRITE_BUFFER, &mut saved);
        bind(GL_COPY_WRITE_BUFFER, buffer);
        pointer(GL_COPY_WRITE_BUFFER, GL_BUFFER_MAP_POINTER, &mut p);
        param64(GL_COPY_WRITE_BUFFER, GL_BUFFER_MAP_LENGTH, &mut len);
        param(GL_COPY_WRITE_BUFFER, GL_BUFFER_ACCESS_FLAGS, &mut access);
        bind(GL_COPY_WRITE_BUFFER, saved as u32);
    }
    if p.is_null() {
        return Ok(Err(GL_INVALID_OPERATION));
    }
    Ok(Ok((p.cast(), len, access as u32)))
}

/// `offset..offset + size` inside a mapping of `len` bytes, as a `usize` range.
fn span(offset: i64, size: i64, len: i64) -> Option<core::ops::Range<usize>> {
    let end = offset.checked_add(size)?;
    if offset < 0 || size < 0 || end > len {
        return None;
    }
    Some(offset as usize..end as usize)
}

/// `glwireWriteMapped`: the program's bytes into the host mapping of `buffer`. The
/// mapping's bounds are checked here, where the host address is known: a range
/// outside it, or a mapping without write access, is refused with a GL error.
///
/// # Safety
/// As for `generated::execute`.
pub(crate) unsafe fn wire_write_mapped(
    fns: &GlesFns,
    c: &WireWriteMapped,
    _scratch: &mut Scratch,
    _replies: &mut dyn Sink,
) -> Result<(), BackendError> {
    // SAFETY: this context is current (the caller's contract).
    let (p, len, access) = match unsafe { host_mapping(fns, c.buffer) }? {
        Ok(m) => m,
        Err(code) => return Err(BackendError::GlError(code)),
    };
    let range = span(c.offset, c.data.len() as i64, len).ok_or(BackendError::GlError(GL_INVALID_VALUE))?;
    if access & GL_MAP_WRITE_BIT == 0 || c.size != c.data.len() as i64 {
        return Err(BackendError::GlError(GL_INVALID_OPERATION));
    }
    // SAFETY: `range` lies inside the `len` mapped bytes at `p` (checked above), which
    // are writable (GL_MAP_WRITE_BIT) and stay mapped during this call; `data` is the
    // command's payload, which does not overlap host GL memory.
    unsafe { ptr::copy_nonoverlapping(c.data.as_ptr(), p.add(range.start), range.len()) };
    Ok(())
}

/// `glwireReadMapped`: bytes of the host mapping of `buffer`, bounds checked as in
/// [`wire_write_mapped`].
///
/// # Safety
/// As for `generated::execute`.
pub(crate) unsafe fn wire_read_mapped(
    fns: &GlesFns,
    c: &WireReadMapped,
    _scratch: &mut Scratch,
    replies: &mut dyn Sink,
) -> Result<(), BackendError> {
    // SAFETY: this context is current (the caller's contract).
    let (p, len, access) = match unsafe { host_mapping(fns, c.buffer) }? {
        Ok(m) => m,
        Err(code) => return Err(BackendError::GlError(code)),
    };
    let size = c.size.min(c.data.map_or(0, i64::from));
    let range = span(c.offset, size, len).ok_or(BackendError::GlError(GL_INVALID_VALUE))?;
    // Persistent write-only maps are read too: the client refreshes its copy after
    // sync points (GL leaves that undefined; programs rely on it, and the host's
    // persistent mappings are its memory, which reads back).
    if access & (GL_MAP_READ_BIT | GL_MAP_PERSISTENT_BIT) == 0 {
        return Err(BackendError::GlError(GL_INVALID_OPERATION));
    }
    // SAFETY: `range` lies inside the `len` mapped bytes at `p` (checked above), which
    // the host keeps mapped and readable during this call.
    let bytes = unsafe { core::slice::from_raw_parts(p.add(range.start).cast_const(), range.len()) };
    WireReadMappedReply { data: c.data.map(|_| bytes) }.encode(replies)?;
    Ok(())
}

/// `glDebugMessageCallback`: the program's callback runs in the client, and a client
/// address must never become a host function pointer. The host gets no callback
/// (NULL), which keeps its debug messages in the context's message log
/// (`glGetDebugMessageLog`), where the server can collect them for the client.
///
/// # Safety
/// As for `generated::execute`: the context `fns` belongs to is current.
pub(crate) unsafe fn debug_message_callback(
    fns: &GlesFns,
    _c: &DebugMessageCallback,
    _scratch: &mut Scratch,
    _replies: &mut dyn Sink,
) -> Result<(), BackendError> {
    let f = need(fns.gl_debug_message_callback, "glDebugMessageCallback")?;
    // SAFETY: a NULL callback and user pointer are valid arguments; GL only stores them.
    unsafe { f(ptr::null(), ptr::null()) };
    Ok(())
}

/// The host's glGen* for `ns` into `out` (on the current context).
pub(crate) fn gen_names(fns: &GlesFns, ns: wire::names::Namespace, out: &mut [u32]) -> Result<(), BackendError> {
    use wire::names::Namespace as N;
    let n = i32::try_from(out.len()).map_err(|_| BackendError::GlError(0x0505))?; // GL_OUT_OF_MEMORY
    if n == 0 {
        return Ok(());
    }
    let f = match ns {
        N::Buffer => need(fns.gl_gen_buffers, "glGenBuffers")?,
        N::Texture => need(fns.gl_gen_textures, "glGenTextures")?,
        N::Renderbuffer => need(fns.gl_gen_renderbuffers, "glGenRenderbuffers")?,
        N::Sampler => need(fns.gl_gen_samplers, "glGenSamplers")?,
        N::Framebuffer => need(fns.gl_gen_framebuffers, "glGenFramebuffers")?,
        N::VertexArray => need(fns.gl_gen_vertex_arrays, "glGenVertexArrays")?,
        N::Query => need(fns.gl_gen_queries, "glGenQueries")?,
        N::TransformFeedback => need(fns.gl_gen_transform_feedbacks, "glGenTransformFeedbacks")?,
        N::Pipeline => need(fns.gl_gen_program_pipelines, "glGenProgramPipelines")?,
        N::Program => return Err(BackendError::ClientNames("glCreateProgram")),
    };
    // SAFETY: `out` has room for `n` names, which is all glGen* writes; the caller made
    // a context current.
    unsafe { f(n, out.as_mut_ptr()) };
    Ok(())
}

/// `glwireSwapBuffers` is EGL's swap travelling in the command stream: the server
/// publishes the frame itself (`GlesContext::read_frame`); the host has no such call.
///
/// # Safety
/// As for `generated::execute` (nothing is called).
pub(crate) unsafe fn wire_swap_buffers(
    _fns: &GlesFns,
    _c: &wire::commands::WireSwapBuffers,
    _scratch: &mut Scratch,
    _replies: &mut dyn Sink,
) -> Result<(), BackendError> {
    Err(BackendError::NotGles("glwireSwapBuffers"))
}
