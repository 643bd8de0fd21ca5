//! GL entry points the ICD writes by hand (annotated `icd = "hand"`, or a forwarded
//! extension's `client` command): `glGetError`, which reports what the client found
//! before asking the server; buffer mapping, whose copies `client::mapping` keeps; and
//! the multi-draws (EXT_multi_draw_arrays, EXT/OES_draw_elements_base_vertex), which the
//! extensions define as their draws issued in order, each through its generated shim
//! (client arrays included).

use core::ffi::c_void;

use client::{CallError, Forward};
use wire::codec::reply_body;
use wire::commands::{Command, GetError, GetErrorReply, Opcode};

use crate::entry;
use crate::generated::{glDrawArrays, glDrawElements, glDrawElementsBaseVertex};
use crate::types::*;

/// `glGetError`: one error flag, as Mesa has. An error the client recorded itself (it
/// refused a call without sending it) is returned, and the server's flag is cleared
/// with it (a later error would have been dropped natively); otherwise the server's.
///
/// # Safety
/// Called by the program through libglvnd (no arguments).
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glGetError() -> GLenum {
    entry::gl("glGetError", 0, |cx| {
        let client = cx.take_client_error();
        if cx.is_lost() {
            // Nothing to ask a server that is gone.
            return Ok(client.unwrap_or(0));
        }
        let reply = cx.call(&Command::GetError(GetError {}))?;
        let body = reply_body(reply.as_bytes(), Opcode::GetError as u32)?;
        let server = GetErrorReply::decode(body)?.ret;
        Ok(client.unwrap_or(server))
    })
}

/// `glMapBufferRange`: a client-side copy of the range (see `client::mapping`).
///
/// # Safety
/// Called by the program through libglvnd (scalar arguments).
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glMapBufferRange(
    target: GLenum,
    offset: GLintptr,
    length: GLsizeiptr,
    access: GLbitfield,
) -> *mut c_void {
    entry::gl("glMapBufferRange", core::ptr::null_mut(), |cx| {
        cx.map_buffer_range(target, offset as i64, length as i64, access).map(|p| p.cast())
    })
}

/// `glMapBufferOES`: the whole buffer, write-only (see `client::mapping`).
///
/// # Safety
/// Called by the program through libglvnd (scalar arguments).
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glMapBufferOES(target: GLenum, access: GLenum) -> *mut c_void {
    entry::gl("glMapBufferOES", core::ptr::null_mut(), |cx| cx.map_buffer_oes(target, access).map(|p| p.cast()))
}

/// `glUnmapBuffer`: the copy goes back to the host, which unmaps.
///
/// # Safety
/// Called by the program through libglvnd (scalar arguments).
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glUnmapBuffer(target: GLenum) -> GLboolean {
    entry::gl("glUnmapBuffer", 0, |cx| cx.unmap_buffer(target))
}

/// `glFlushMappedBufferRange`: the flushed bytes go to the host.
///
/// # Safety
/// Called by the program through libglvnd (scalar arguments).
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glFlushMappedBufferRange(target: GLenum, offset: GLintptr, length: GLsizeiptr) {
    entry::gl("glFlushMappedBufferRange", (), |cx| cx.flush_mapped_buffer_range(target, offset as i64, length as i64))
}

/// `glGetBufferPointerv`: GL_BUFFER_MAP_POINTER is the client-side copy.
///
/// # Safety
/// Called by the program through libglvnd: `params` is NULL or has room for a pointer.
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glGetBufferPointerv(target: GLenum, pname: GLenum, params: *mut *mut c_void) {
    entry::gl("glGetBufferPointerv", (), |cx| {
        let p = cx.buffer_map_pointer(target, pname)?;
        if !params.is_null() {
            // SAFETY: the caller's contract: `params` has room for one pointer.
            unsafe { params.write(p.cast()) };
        }
        Ok(())
    })
}

/// `glGetVertexAttribPointerv`: the pointer or offset the program set.
///
/// # Safety
/// Called by the program through libglvnd: `pointer` is NULL or has room for a pointer.
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glGetVertexAttribPointerv(index: GLuint, pname: GLenum, pointer: *mut *mut c_void) {
    entry::gl("glGetVertexAttribPointerv", (), |cx| {
        let p = cx.vertex_attrib_pointer(index, pname)?;
        if !pointer.is_null() {
            // SAFETY: the caller's contract: `pointer` has room for one pointer.
            unsafe { pointer.write(p as usize as *mut c_void) };
        }
        Ok(())
    })
}

/// The draw count as a length, or GL_INVALID_VALUE on the context when negative.
fn draws(drawcount: GLsizei) -> Option<usize> {
    match usize::try_from(drawcount) {
        Ok(n) => Some(n),
        Err(_) => {
            client::with_current(|cx| cx.record_error(&CallError::INVALID_VALUE));
            None
        }
    }
}

/// `glMultiDrawArraysEXT`: `glDrawArrays(mode, first[i], count[i])` for each draw.
///
/// # Safety
/// Called by the program through libglvnd: `first` and `count` hold `primcount` values.
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glMultiDrawArraysEXT(
    mode: GLenum,
    first: *const GLint,
    count: *const GLsizei,
    primcount: GLsizei,
) {
    entry::guard((), || {
        let Some(n) = draws(primcount) else { return };
        if n == 0 || first.is_null() || count.is_null() {
            return;
        }
        for i in 0..n {
            // SAFETY: the caller's contract: both arrays hold `primcount` values, and the
            // shim's own contract is the caller's for one draw.
            unsafe { glDrawArrays(mode, *first.add(i), *count.add(i)) };
        }
    })
}

/// `glMultiDrawElementsEXT`: `glDrawElements(mode, count[i], type, indices[i])` for each draw.
///
/// # Safety
/// Called by the program through libglvnd: `count` and `indices` hold `primcount` values.
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glMultiDrawElementsEXT(
    mode: GLenum,
    count: *const GLsizei,
    type_: GLenum,
    indices: *const *const c_void,
    primcount: GLsizei,
) {
    entry::guard((), || {
        let Some(n) = draws(primcount) else { return };
        if n == 0 || count.is_null() || indices.is_null() {
            return;
        }
        for i in 0..n {
            // SAFETY: as in glMultiDrawArraysEXT.
            unsafe { glDrawElements(mode, *count.add(i), type_, *indices.add(i)) };
        }
    })
}

/// `glMultiDrawElementsBaseVertexEXT`: `glDrawElementsBaseVertex` for each draw.
///
/// # Safety
/// Called by the program through libglvnd: `count`, `indices` and `basevertex` hold
/// `drawcount` values.
#[allow(non_snake_case)]
pub(crate) unsafe extern "C" fn glMultiDrawElementsBaseVertexEXT(
    mode: GLenum,
    count: *const GLsizei,
    type_: GLenum,
    indices: *const *const c_void,
    drawcount: GLsizei,
    basevertex: *const GLint,
) {
    entry::guard((), || {
        let Some(n) = draws(drawcount) else { return };
        if n == 0 || count.is_null() || indices.is_null() || basevertex.is_null() {
            return;
        }
        for i in 0..n {
            // SAFETY: as in glMultiDrawArraysEXT.
            unsafe { glDrawElementsBaseVertex(mode, *count.add(i), type_, *indices.add(i), *basevertex.add(i)) };
        }
    })
}

/// The glGen* entry points: names chosen by the client (`client::names`), written to
/// the program's array and sent with the command; nothing waits for the server.
macro_rules! gen_names {
    ($($entry:ident => $ns:ident;)*) => {$(
        /// Names from the client's allocator (see `client::names`).
        ///
        /// # Safety
        /// Called by the program through libglvnd: `names` has room for `n` names.
        #[allow(non_snake_case)]
        pub(crate) unsafe extern "C" fn $entry(n: GLsizei, names: *mut GLuint) {
            entry::gl(stringify!($entry), (), |cx| {
                if n > 0 && names.is_null() {
                    // Natively a crash; here the names are simply not made.
                    return Ok(());
                }
                let chosen = cx.generate(wire::names::Namespace::$ns, n)?;
                // SAFETY: the glGen* contract: `names` has room for `n` names, and
                // `generate` made exactly `n` (none for n <= 0).
                unsafe { core::ptr::copy_nonoverlapping(chosen.as_ptr(), names, chosen.len()) };
                Ok(())
            })
        }
    )*};
}

gen_names! {
    glGenBuffers => Buffer;
    glGenTextures => Texture;
    glGenRenderbuffers => Renderbuffer;
    glGenSamplers => Sampler;
    glGenFramebuffers => Framebuffer;
    glGenVertexArrays => VertexArray;
    glGenQueries => Query;
    glGenTransformFeedbacks => TransformFeedback;
    glGenProgramPipelines => Pipeline;
}
