//! The executor arms that are not a plain call, which the generator delegates here:
//! `glMapBufferRange` (a `void *` result) and `glDebugMessageCallback` (a function
//! pointer). They share `generated::execute`'s contract and its `# Safety`.

use core::ptr;

use wire::buf::Sink;
use wire::commands::{DebugMessageCallback, MapBufferRange, MapBufferRangeReply};

use crate::error::BackendError;
use crate::fns::need;
use crate::generated::GlesFns;
use crate::scratch::Scratch;

/// `glMapBufferRange`: not mapped yet, on purpose.
///
/// The mapping protocol (what the reply carries for read access, how the client's
/// writes come back at flush and unmap, invalidation, persistent maps) belongs to the
/// server and client and is not decided yet. Until it is, the host is **not** called:
/// mapping on the host and answering NULL would leave a host buffer mapped that no
/// client can see or unmap, and every later use of it would fail. The reply is NULL,
/// which the program sees as a failed map; its `glUnmapBuffer` or
/// `glFlushMappedBufferRange` then reach the host with nothing mapped and raise
/// `GL_INVALID_OPERATION`. Unlike a real failed map, no GL error is raised here.
///
/// # Safety
/// As for `generated::execute`.
pub(crate) unsafe fn map_buffer_range(
    _fns: &GlesFns,
    _c: &MapBufferRange,
    _scratch: &mut Scratch,
    replies: &mut dyn Sink,
) -> Result<(), BackendError> {
    MapBufferRangeReply { ret: None }.encode(replies)?;
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
