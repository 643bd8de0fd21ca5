//! The host executor: the only crate that calls the host's EGL and GLES (Mesa llvmpipe
//! through EGL surfaceless here, a GPU driver elsewhere). It owns loading the host EGL
//! ([`host`]), the host GLES function table ([`GlesFns`]) and running decoded commands
//! on a host context ([`GlesContext::execute`]). It does not validate: the `server`
//! crate's validator checks every command before it gets here, as wgpu-core does
//! before wgpu-hal, and `execute`'s `# Safety` lists exactly what that check must
//! establish. It does not know sessions, transports or client names either.
//!
//! Use: call [`prepare_process_env`] at server start, before any thread exists; open the
//! [`Backend`] once; on each context thread, create that thread's [`GlesContext`] with
//! [`Backend::new_context`] and execute commands through it.

mod error;
mod fns;
mod frame;
mod generated;
mod hand;
pub mod host;
mod scratch;
mod types;

use std::marker::PhantomData;
use std::sync::Arc;

use wire::buf::Sink;
use wire::commands::Command;

pub use error::{BackendError, SETUP_HINT};
pub use fns::{FnInfo, Since, REQUIRED_VERSION};
pub use generated::{encoded_fn, execute, execute_encoded, EncodedFn, GlesFns, ENCODED, GLES_FUNCTIONS, SCRATCH_SLOTS};
pub use host::{prepare_process_env, EglInfo, HostContext, HostDisplay, HostImage, HostSurface};
pub use scratch::{Scratch, KEEP_BYTES};

const GL_VENDOR: u32 = 0x1F00;
const GL_RENDERER: u32 = 0x1F01;
const GL_VERSION: u32 = 0x1F02;
const GL_SHADING_LANGUAGE_VERSION: u32 = 0x8B8C;

/// ES versions [`Backend::new_context`] tries, newest first.
const CONTEXT_VERSIONS: [(i32, i32); 3] = [(3, 2), (3, 1), (3, 0)];

/// The host display and its GLES functions, shared by every context of the process.
#[derive(Debug, Clone)]
pub struct Backend {
    display: HostDisplay,
    fns: Arc<GlesFns>,
}

impl Backend {
    /// Opens the host display and loads the GLES functions (through
    /// `eglGetProcAddress`, whose addresses do not depend on a context). Requires
    /// [`prepare_process_env`] to have run.
    pub fn open() -> Result<Self, BackendError> {
        let display = HostDisplay::open()?;
        let fns = GlesFns::load(&mut |name| display.proc_address(name))?;
        Ok(Self { display, fns: Arc::new(fns) })
    }

    pub fn display(&self) -> &HostDisplay {
        &self.display
    }

    pub fn fns(&self) -> &GlesFns {
        &self.fns
    }

    /// A context of the newest ES version the host gives (3.2, else 3.1, else 3.0),
    /// sharing objects with `share` when given, current on the calling thread: call it
    /// on the thread that will use it.
    pub fn new_context(&self, share: Option<&HostContext>) -> Result<GlesContext, BackendError> {
        let mut last = None;
        for (major, minor) in CONTEXT_VERSIONS {
            match self.new_context_version(share, major, minor) {
                Ok(cx) => return Ok(cx),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(BackendError::MissingFunction("eglCreateContext")))
    }

    /// A context of exactly ES `major.minor`, current on the calling thread.
    pub fn new_context_version(
        &self,
        share: Option<&HostContext>,
        major: i32,
        minor: i32,
    ) -> Result<GlesContext, BackendError> {
        let host = self.display.create_context(share, major, minor)?;
        host.make_current()?;
        Ok(GlesContext {
            host: Arc::new(host),
            fns: self.fns.clone(),
            scratch: Scratch::new(),
            frames: frame::FrameReader::default(),
            surface: None,
            _thread: PhantomData,
        })
    }
}

/// The host's GL identification strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RendererStrings {
    pub vendor: String,
    pub renderer: String,
    pub version: String,
    pub shading_language_version: String,
}

/// One host context with the function table and its reusable scratch: what a server
/// context thread executes commands on.
///
/// Not `Send`: it is created, used and dropped on one thread (GL calls go to the
/// context current on the calling thread). To share objects with a context on another
/// thread, hand that thread [`GlesContext::host`] (an `Arc<HostContext>`, which is
/// `Send + Sync`) as the share context.
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<backend_gles::GlesContext>();
/// ```
#[derive(Debug)]
pub struct GlesContext {
    host: Arc<HostContext>,
    fns: Arc<GlesFns>,
    scratch: Scratch,
    frames: frame::FrameReader,
    /// The pbuffer that is this context's default framebuffer, if the client bound one.
    surface: Option<Arc<HostSurface>>,
    _thread: PhantomData<*const ()>,
}

impl GlesContext {
    /// Executes one decoded command on this context (making it current first if
    /// another context of this thread is); for a synchronous command, appends the
    /// reply to `replies`.
    ///
    /// # Safety
    /// `cmd` must satisfy the contract of [`execute`] (the free function's `# Safety`):
    /// it was decoded by `wire` and then validated by the server for this context.
    pub unsafe fn execute(&mut self, cmd: &Command<'_>, replies: &mut dyn Sink) -> Result<(), BackendError> {
        self.host.make_current_with(self.surface.as_deref())?;
        // SAFETY: this context is current on this thread (above); the rest is the
        // caller's contract, passed on unchanged.
        let result = unsafe { generated::execute(&self.fns, cmd, &mut self.scratch, replies) };
        self.scratch.trim();
        // Looking at the tag alone: copying the whole result out, right after the callee
        // wrote only its tag, stalls on store forwarding once per command.
        if result.is_ok() {
            return Ok(());
        }
        result
    }

    /// [`GlesContext::execute`] of the command `body` encodes, for an opcode of
    /// [`ENCODED`]: the same decoder and host call, without building a `Command`.
    /// Nothing replies. The server's short path runs [`GlesContext::run_encoded`]
    /// instead, and comes here only to learn why a runner declined.
    ///
    /// # Safety
    /// As for [`GlesContext::execute`], for the command `body` decodes to.
    pub unsafe fn execute_encoded(&mut self, op: wire::commands::Opcode, body: &[u8]) -> Result<(), BackendError> {
        self.host.make_current_with(self.surface.as_deref())?;
        // SAFETY: this context is current on this thread (above); the rest is the
        // caller's contract, passed on unchanged.
        unsafe { generated::execute_encoded(&self.fns, op, body) }
    }

    /// Runs `run` (an [`EncodedFn`], from [`encoded_fn`]) on `body` with this context
    /// current: whether it ran (see [`EncodedFn`] for what `false` means).
    ///
    /// # Safety
    /// As for [`GlesContext::execute`], for the command `body` decodes to.
    #[inline]
    pub unsafe fn run_encoded(&mut self, run: EncodedFn, body: &[u8]) -> Result<bool, BackendError> {
        self.host.make_current_with(self.surface.as_deref())?;
        // SAFETY: this context is current on this thread (above); the rest is the
        // caller's contract, passed on unchanged.
        Ok(unsafe { run(&self.fns, body) })
    }

    /// Fills `out` with new host names of namespace `ns` (the host's glGen*), which the
    /// server maps the client's names to. Programs and shaders are not generated (they
    /// come from glCreateProgram/glCreateShader), so `ns` must not be `Program`.
    pub fn gen_names(&mut self, ns: wire::names::Namespace, out: &mut [u32]) -> Result<(), BackendError> {
        self.host.make_current_with(self.surface.as_deref())?;
        hand::gen_names(&self.fns, ns, out)
    }

    /// Reads the finished frame of this context's surface (its default framebuffer):
    /// `width` x `height` BGRA8 pixels, rows top-down `stride` bytes apart, into `out`
    /// (a frame-ring slot). The program's read and pack state is left as it was.
    pub fn read_frame(&mut self, width: u32, height: u32, stride: usize, out: &mut [u8]) -> Result<(), BackendError> {
        let surface =
            self.surface.as_deref().ok_or(BackendError::BrokenInput { function: "read_frame", param: "surface" })?;
        if width > surface.width() || height > surface.height() {
            return Err(BackendError::BrokenInput { function: "read_frame", param: "width" });
        }
        self.host.make_current_with(Some(surface))?;
        // SAFETY: this context is current with a surface of at least width x height
        // (checked above).
        unsafe { self.frames.read(&self.fns, width, height, stride, out) }
    }

    /// Makes `surface` this context's default framebuffer (or none), as the client's
    /// eglMakeCurrent asked.
    pub fn set_surface(&mut self, surface: Option<Arc<HostSurface>>) -> Result<(), BackendError> {
        self.surface = surface;
        self.host.make_current_with(self.surface.as_deref())
    }

    /// `GL_VENDOR`, `GL_RENDERER`, `GL_VERSION` and `GL_SHADING_LANGUAGE_VERSION` of the host.
    pub fn renderer_strings(&self) -> Result<RendererStrings, BackendError> {
        self.host.make_current()?;
        let get_string = fns::need(self.fns.gl_get_string, "glGetString")?;
        let get = |name: u32| {
            // SAFETY: this context is current (above); glGetString takes any enum and
            // returns NULL or a NUL-terminated string that lives as long as the context.
            let s = unsafe { scratch::c_str(get_string(name).cast()) };
            s.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        };
        Ok(RendererStrings {
            vendor: get(GL_VENDOR),
            renderer: get(GL_RENDERER),
            version: get(GL_VERSION),
            shading_language_version: get(GL_SHADING_LANGUAGE_VERSION),
        })
    }

    /// The host context, to name as the share context of another context.
    pub fn host(&self) -> &Arc<HostContext> {
        &self.host
    }

    pub fn fns(&self) -> &GlesFns {
        &self.fns
    }
}

impl Drop for GlesContext {
    /// Releases the context on this thread; the host context itself is destroyed when
    /// the last share reference to it goes.
    fn drop(&mut self) {
        let _ = self.host.release_current();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command [`execute_encoded`] runs has a runner, and a runner declines
    /// (`false`) exactly where `execute_encoded` fails without a host call: bodies the
    /// decoder refuses, and functions the host lacks (here: all of them).
    #[test]
    fn encoded_runners_decline_exactly_where_execute_encoded_fails() {
        use wire::codec::arbitrary::Entropy;
        use wire::commands::{sample, Opcode};
        let fns = GlesFns::load_all(&mut |_| std::ptr::null());
        for op in Opcode::ALL {
            let Some(run) = encoded_fn(op) else {
                assert!(!ENCODED.contains(&op), "{op:?}: listed, but no runner");
                continue;
            };
            assert!(ENCODED.contains(&op), "{op:?}: a runner, but not listed");
            for seed in 0..16u8 {
                let arena = bumpalo::Bump::new();
                let entropy: Vec<u8> = (0..512u32).map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed)).collect();
                let mut buf = wire::CommandBuf::new();
                sample::command(op, &mut Entropy::new(&entropy), &arena).encode(&mut buf).unwrap();
                let (_, body, _) = wire::codec::split_message(buf.as_bytes()).unwrap();
                // Well formed, but the host has nothing: both refuse, naming the function.
                // SAFETY: no function is loaded, so nothing is called.
                assert!(!unsafe { run(&fns, body) }, "{op:?}: ran without a host function");
                // SAFETY: as above.
                let err = unsafe { execute_encoded(&fns, op, body) }.unwrap_err();
                assert!(matches!(err, BackendError::MissingFunction(_)), "{op:?}: {err}");
                // Cut short or with a set padding byte: both refuse, as the decoder does.
                let mut longer = body.to_vec();
                longer.push(1);
                let shorter = body.split_last().map(|(_, rest)| rest);
                for malformed in shorter.into_iter().chain([&longer[..]]) {
                    // SAFETY: as above; the body is refused before any call.
                    assert!(!unsafe { run(&fns, malformed) }, "{op:?}: ran a malformed body");
                    // SAFETY: as above.
                    let err = unsafe { execute_encoded(&fns, op, malformed) }.unwrap_err();
                    assert!(matches!(err, BackendError::Decode(_)), "{op:?}: {err}");
                }
            }
        }
    }

    /// The server shares these across its threads; only `GlesContext` stays on one.
    #[test]
    fn shared_parts_are_send_and_sync() {
        fn both<T: Send + Sync>() {}
        both::<Backend>();
        both::<HostDisplay>();
        both::<HostContext>();
        both::<Arc<HostContext>>();
        both::<GlesFns>();
    }
}
