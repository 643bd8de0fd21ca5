//! The host EGL: pointing libglvnd at the host driver only, loading `libEGL.so.1` at
//! run time, the process-wide surfaceless display, and host GLES contexts (configless,
//! surfaceless). It does not know GLES commands (`generated`, `lib`) or clients.
//!
//! Thread affinity: a context is created, made current, used and destroyed on its own
//! server thread. [`HostContext`] is `Send + Sync` only so that another thread can name
//! it as the share context of a new context in the same share group (EGL allows that
//! and checks the rest: a context current on one thread cannot be made current on a
//! second, `EGL_BAD_ACCESS`). The GL calls themselves go to whatever context is current
//! on the calling thread, which is why `GlesContext`, the one that executes, is not
//! `Send`.

use std::cell::Cell;
use std::ffi::{c_void, CStr, OsStr};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use khronos_egl as egl;

use crate::error::BackendError;

/// Mesa's glvnd vendor file, the host driver used when nothing else is configured.
pub const DEFAULT_HOST_VENDOR: &str = "/usr/share/glvnd/egl_vendor.d/50_mesa.json";
/// Overrides the host vendor file (a GPU driver's, e.g. NVIDIA's `10_nvidia.json`).
pub const HOST_VENDOR_ENV: &str = "GLWIRE_HOST_EGL_VENDOR";
/// Set in the render server's process; glwire's ICD refuses to load when it sees it.
pub const SERVER_MARKER_ENV: &str = "GLWIRE_RENDER_SERVER";
/// libglvnd's list of vendor files to load, instead of its search directories.
pub const GLVND_VENDOR_FILES_ENV: &str = "__EGL_VENDOR_LIBRARY_FILENAMES";

/// `EGL_PLATFORM_SURFACELESS_MESA` (EGL_MESA_platform_surfaceless).
const PLATFORM_SURFACELESS_MESA: egl::Enum = 0x31DD;
/// `EGL_CONTEXT_OPENGL_ROBUST_ACCESS_EXT` (EGL_EXT_create_context_robustness).
const CONTEXT_OPENGL_ROBUST_ACCESS_EXT: egl::Int = 0x30BF;

/// Points libglvnd at the host driver only and marks this process as the render
/// server. Call it once at server start, **before any thread exists** (and before
/// [`HostDisplay::open`]): it changes the process environment, which C code on other
/// threads may be reading without a lock (glibc's `getenv`).
///
/// Sets `__EGL_VENDOR_LIBRARY_FILENAMES` to `$GLWIRE_HOST_EGL_VENDOR`, or to Mesa's
/// vendor file when that is unset, so libglvnd never loads glwire's own vendor (which
/// would forward the server's GL to itself), and sets `GLWIRE_RENDER_SERVER=1`, which
/// makes glwire's ICD refuse to load should anything still try. Returns the vendor file.
pub fn prepare_process_env() -> PathBuf {
    let vendor = std::env::var_os(HOST_VENDOR_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_HOST_VENDOR), PathBuf::from);
    std::env::set_var(GLVND_VENDOR_FILES_ENV, &vendor);
    std::env::set_var(SERVER_MARKER_ENV, "1");
    vendor
}

/// Runs one khronos-egl call. That crate unwraps `eglGetError` after a failed call, which
/// panics if a driver fails without setting an error; that becomes an error here, so
/// no panic leaves this crate for a broken host driver.
fn egl_call<T>(call: &'static str, f: impl FnOnce() -> Result<T, egl::Error>) -> Result<T, BackendError> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(BackendError::Egl { call, detail: e.to_string() }),
        Err(_) => Err(BackendError::Egl { call, detail: "failed without an EGL error code".to_owned() }),
    }
}

type Egl = egl::DynamicInstance<egl::EGL1_5>;

/// What the host EGL says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EglInfo {
    /// `EGL_VENDOR`, e.g. "Mesa Project".
    pub vendor: String,
    /// `EGL_VERSION`, e.g. "1.5".
    pub version: String,
    /// `EGL_CLIENT_APIS`, e.g. "OpenGL OpenGL_ES".
    pub client_apis: String,
    /// `EGL_EXTENSIONS` of the display, space-separated.
    pub extensions: String,
    /// The version `eglInitialize` reported.
    pub major: i32,
    pub minor: i32,
    /// The vendor file libglvnd was told to load.
    pub vendor_file: PathBuf,
}

impl EglInfo {
    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.split_ascii_whitespace().any(|e| e == name)
    }
}

/// The loaded library and the initialized display: made once per process and never
/// torn down. EGL 1.5 displays are not reference-counted (one `eglTerminate` ends every
/// user's display in the process), and unloading libEGL would leave libglvnd's
/// per-thread destructors pointing at unmapped code; the OS reclaims both at exit.
struct DisplayInner {
    egl: Egl,
    display: egl::Display,
    info: EglInfo,
    robust: bool,
}

// SAFETY: an EGLDisplay is a process-wide handle and EGL's entry points are
// thread-safe (EGL 1.5 §3.11, "EGL and its client APIs must be threadsafe"); the
// library handle and the strings are plain data.
unsafe impl Send for DisplayInner {}
// SAFETY: as for Send: nothing here is mutated after `open`, and EGL synchronizes itself.
unsafe impl Sync for DisplayInner {}

static DISPLAY: Mutex<Option<&'static DisplayInner>> = Mutex::new(None);

/// The host's surfaceless EGL display (one per process; cheap to copy).
#[derive(Clone, Copy)]
pub struct HostDisplay {
    inner: &'static DisplayInner,
}

impl std::fmt::Debug for HostDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostDisplay").field("info", &self.inner.info).finish_non_exhaustive()
    }
}

fn vendor_files() -> Vec<PathBuf> {
    std::env::var_os(GLVND_VENDOR_FILES_ENV)
        .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default()
}

impl HostDisplay {
    /// Opens the host display: loads `libEGL.so.1` (libglvnd, which loads the vendor
    /// [`prepare_process_env`] named), gets the `EGL_PLATFORM_SURFACELESS_MESA` display,
    /// initializes it and binds the GLES API. The first successful call does the work;
    /// later ones return the same display. A host without a usable EGL driver is an
    /// error that says what to install, never a panic.
    pub fn open() -> Result<Self, BackendError> {
        if std::env::var_os(SERVER_MARKER_ENV).as_deref() != Some(OsStr::new("1")) {
            return Err(BackendError::EnvNotPrepared);
        }
        // A poisoned lock only means another thread panicked while opening; the slot
        // is still either empty or a finished display.
        let mut slot = DISPLAY.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(inner) = *slot {
            return Ok(Self { inner });
        }
        let inner: &'static DisplayInner = Box::leak(Box::new(open_inner()?));
        *slot = Some(inner);
        Ok(Self { inner })
    }

    pub fn info(&self) -> &EglInfo {
        &self.inner.info
    }

    /// True when new contexts get robust buffer access (out-of-bounds buffer reads by
    /// the GPU return zeros instead of reading other memory).
    pub fn robust_access(&self) -> bool {
        self.inner.robust
    }

    /// `eglGetProcAddress`: the address of a GL or EGL function, or NULL.
    pub fn proc_address(&self, name: &CStr) -> *const c_void {
        let Ok(name) = name.to_str() else { return core::ptr::null() };
        self.inner.egl.get_proc_address(name).map_or(core::ptr::null(), |f| f as *const c_void)
    }

    /// Creates an ES `major.minor` context on this display: configless
    /// (EGL_KHR_no_config_context) and used without surfaces (EGL_KHR_surfaceless_context),
    /// sharing objects with `share` when given, with robust buffer access when the host
    /// offers it. Binds the ES API on the calling thread first (EGL keeps the bound API
    /// per thread). The context is not made current.
    pub fn create_context(
        &self,
        share: Option<&HostContext>,
        major: i32,
        minor: i32,
    ) -> Result<HostContext, BackendError> {
        let inner = self.inner;
        egl_call("eglBindAPI", || inner.egl.bind_api(egl::OPENGL_ES_API))?;
        let create = |robust: bool| {
            let mut attribs = vec![egl::CONTEXT_MAJOR_VERSION, major, egl::CONTEXT_MINOR_VERSION, minor];
            if robust {
                attribs.extend([CONTEXT_OPENGL_ROBUST_ACCESS_EXT, egl::TRUE as egl::Int]);
            }
            attribs.push(egl::NONE);
            // SAFETY: NULL is EGL_NO_CONFIG_KHR, which EGL_KHR_no_config_context (checked
            // in `open`) accepts in eglCreateContext.
            let no_config = unsafe { egl::Config::from_ptr(core::ptr::null_mut()) };
            egl_call("eglCreateContext", || {
                inner.egl.create_context(inner.display, no_config, share.map(|s| s.raw), &attribs)
            })
        };
        let (raw, robust) = match create(inner.robust) {
            Ok(raw) => (raw, inner.robust),
            // A driver may offer the extension yet refuse robustness for some versions.
            Err(_) if inner.robust => (create(false)?, false),
            Err(e) => return Err(e),
        };
        Ok(HostContext {
            display: *self,
            raw,
            id: NEXT_CONTEXT_ID.fetch_add(1, Ordering::Relaxed),
            major,
            minor,
            robust,
        })
    }
}

impl HostDisplay {
    /// A `width`×`height` pbuffer of the host config `config_id` (0: 8-bit RGBA, 24-bit
    /// depth, 8-bit stencil): what a client's pbuffer surface renders into on the host.
    /// Any thread may create it; a context's thread makes it current with its context.
    pub fn create_pbuffer(&self, width: i32, height: i32, config_id: u32) -> Result<HostSurface, BackendError> {
        let inner = self.inner;
        let by_id = [egl::CONFIG_ID, config_id as egl::Int, egl::NONE];
        let default = [
            egl::SURFACE_TYPE,
            egl::PBUFFER_BIT,
            egl::RENDERABLE_TYPE,
            0x40, // EGL_OPENGL_ES3_BIT
            egl::RED_SIZE,
            8,
            egl::GREEN_SIZE,
            8,
            egl::BLUE_SIZE,
            8,
            egl::ALPHA_SIZE,
            8,
            egl::DEPTH_SIZE,
            24,
            egl::STENCIL_SIZE,
            8,
            egl::NONE,
        ];
        let wanted: &[egl::Int] = if config_id == 0 { &default } else { &by_id };
        let config = egl_call("eglChooseConfig", || inner.egl.choose_first_config(inner.display, wanted))?.ok_or(
            BackendError::Egl { call: "eglChooseConfig", detail: format!("no pbuffer config (id {config_id})") },
        )?;
        let (width, height) = (width.max(1), height.max(1));
        let attribs = [egl::WIDTH, width, egl::HEIGHT, height, egl::NONE];
        let raw =
            egl_call("eglCreatePbufferSurface", || inner.egl.create_pbuffer_surface(inner.display, config, &attribs))?;
        let id = NEXT_CONTEXT_ID.fetch_add(1, Ordering::Relaxed);
        Ok(HostSurface { display: *self, raw, id, width: width as u32, height: height as u32 })
    }
}

/// `EGL_OPENGL_ES2_BIT`: the configs glwire offers are those GLES 2/3 can render with.
const OPENGL_ES2_BIT: egl::Int = 0x0004;
/// `EGL_COLOR_COMPONENT_TYPE_EXT` and its default, for hosts without
/// EGL_EXT_pixel_format_float (every config is then fixed-point).
const COLOR_COMPONENT_TYPE_EXT: egl::Int = 0x3339;
const COLOR_COMPONENT_TYPE_FIXED_EXT: egl::Int = 0x333A;

impl HostDisplay {
    /// Every host config GLES 2/3 can render with (`EGL_RENDERABLE_TYPE` has
    /// `EGL_OPENGL_ES2_BIT`), with the value of each attribute of
    /// [`wire::control::CONFIG_ATTRIBS`] as the host reports it, in the host's order.
    /// An attribute the host refuses to report (an extension's it lacks) gets its EGL
    /// default. Deciding what a client may be offered is the caller's business.
    pub fn configs(&self) -> Result<Vec<wire::control::ConfigRecord>, BackendError> {
        use wire::control::{ConfigRecord, CONFIG_ATTRIBS};
        let inner = self.inner;
        let count = egl_call("eglGetConfigs", || inner.egl.get_config_count(inner.display))?;
        let mut configs = Vec::with_capacity(count);
        egl_call("eglGetConfigs", || inner.egl.get_configs(inner.display, &mut configs))?;
        let mut records = Vec::with_capacity(configs.len());
        for config in configs {
            let mut record = ConfigRecord::default();
            for (value, &attr) in record.values.iter_mut().zip(CONFIG_ATTRIBS.iter()) {
                let default = if attr == COLOR_COMPONENT_TYPE_EXT { COLOR_COMPONENT_TYPE_FIXED_EXT } else { 0 };
                *value = egl_call("eglGetConfigAttrib", || inner.egl.get_config_attrib(inner.display, config, attr))
                    .unwrap_or(default);
            }
            if record.get(egl::RENDERABLE_TYPE).is_some_and(|r| r & OPENGL_ES2_BIT != 0) {
                records.push(record);
            }
        }
        Ok(records)
    }
}

/// A host pbuffer surface (see [`HostDisplay::create_pbuffer`]); destroyed on drop (EGL
/// keeps it alive while it is current somewhere).
pub struct HostSurface {
    display: HostDisplay,
    raw: egl::Surface,
    id: u64,
    width: u32,
    height: u32,
}

impl HostSurface {
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }
}

// SAFETY: an EGLSurface is a process-wide handle and EGL's entry points are thread-safe.
unsafe impl Send for HostSurface {}
// SAFETY: as for Send; `&HostSurface` only reads the handle.
unsafe impl Sync for HostSurface {}

impl std::fmt::Debug for HostSurface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostSurface").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Drop for HostSurface {
    fn drop(&mut self) {
        let inner = self.display.inner;
        let _ = egl_call("eglDestroySurface", || inner.egl.destroy_surface(inner.display, self.raw));
    }
}

fn open_inner() -> Result<DisplayInner, BackendError> {
    let files = vendor_files();
    if let Some(missing) = files.iter().find(|p| !Path::new(p).exists()) {
        return Err(BackendError::VendorFileMissing { path: missing.clone() });
    }
    // SAFETY: libEGL.so.1 is the system's EGL (libglvnd), which implements EGL 1.5 as
    // khronos-egl declares it; `load_required` checks that the 1.5 symbols exist.
    let egl = unsafe { Egl::load_required() }.map_err(|e| BackendError::EglLoad { detail: e.to_string() })?;
    let client_ext =
        egl.query_string(None, egl::EXTENSIONS).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if !client_ext.split_ascii_whitespace().any(|e| e == "EGL_MESA_platform_surfaceless") {
        return Err(BackendError::NoHostDisplay {
            call: "eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS)",
            detail: format!("no driver offers EGL_MESA_platform_surfaceless (client extensions: \"{client_ext}\")"),
        });
    }
    let no_attribs = [egl::ATTRIB_NONE];
    let display = egl_call("eglGetPlatformDisplay", || {
        // SAFETY: the surfaceless platform takes EGL_DEFAULT_DISPLAY as its native display.
        unsafe { egl.get_platform_display(PLATFORM_SURFACELESS_MESA, egl::DEFAULT_DISPLAY, &no_attribs) }
    })
    .map_err(|e| no_display("eglGetPlatformDisplay", e))?;
    let (major, minor) =
        egl_call("eglInitialize", || egl.initialize(display)).map_err(|e| no_display("eglInitialize", e))?;
    egl_call("eglBindAPI", || egl.bind_api(egl::OPENGL_ES_API))?;
    let string = |name: egl::Int| {
        egl.query_string(Some(display), name).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    };
    let info = EglInfo {
        vendor: string(egl::VENDOR),
        version: string(egl::VERSION),
        client_apis: string(egl::CLIENT_APIS),
        extensions: string(egl::EXTENSIONS),
        major,
        minor,
        vendor_file: files.first().cloned().unwrap_or_default(),
    };
    if !info.client_apis.split_ascii_whitespace().any(|a| a == "OpenGL_ES") {
        return Err(BackendError::MissingExtension { name: "OpenGL_ES", why: "the display offers no GLES API" });
    }
    if !info.has_extension("EGL_KHR_no_config_context") && !info.has_extension("EGL_MESA_configless_context") {
        return Err(BackendError::MissingExtension {
            name: "EGL_KHR_no_config_context",
            why: "contexts are created without a config",
        });
    }
    if !info.has_extension("EGL_KHR_surfaceless_context") {
        return Err(BackendError::MissingExtension {
            name: "EGL_KHR_surfaceless_context",
            why: "contexts are made current without a surface",
        });
    }
    if (major, minor) < (1, 5) && !info.has_extension("EGL_KHR_create_context") {
        return Err(BackendError::MissingExtension {
            name: "EGL_KHR_create_context",
            why: "contexts are created for an ES major.minor version",
        });
    }
    let robust = info.has_extension("EGL_EXT_create_context_robustness");
    Ok(DisplayInner { egl, display, info, robust })
}

fn no_display(call: &'static str, e: BackendError) -> BackendError {
    match e {
        BackendError::Egl { detail, .. } => BackendError::NoHostDisplay { call, detail },
        other => other,
    }
}

/// Unique per context and never reused, so the per-thread "current" record below cannot
/// mistake a new context for a destroyed one that had the same EGL address.
static NEXT_CONTEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The id of the context this crate made current on this thread (0: none). Only
    /// this crate calls EGL in the server, so the record is the truth, and it saves an
    /// `eglMakeCurrent` per command batch.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// The id of the surface made current with it (0: none).
    static CURRENT_SURFACE: Cell<u64> = const { Cell::new(0) };
}

/// A host GLES context (see the module doc for the thread rules).
pub struct HostContext {
    display: HostDisplay,
    raw: egl::Context,
    id: u64,
    major: i32,
    minor: i32,
    robust: bool,
}

// SAFETY: an EGLContext is a process-wide handle; EGL's entry points are thread-safe,
// and EGL itself refuses to make one context current on two threads (EGL_BAD_ACCESS).
// What must not move between threads is the *executing* side, `GlesContext`, which is
// not Send.
unsafe impl Send for HostContext {}
// SAFETY: as for Send; `&HostContext` only reads the handle.
unsafe impl Sync for HostContext {}

impl std::fmt::Debug for HostContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostContext")
            .field("id", &self.id)
            .field("version", &(self.major, self.minor))
            .field("robust", &self.robust)
            .finish_non_exhaustive()
    }
}

impl HostContext {
    /// Makes this context current on the calling thread, without surfaces.
    pub fn make_current(&self) -> Result<(), BackendError> {
        self.make_current_with(None)
    }

    /// Makes this context current on the calling thread with `surface` as its draw and
    /// read surface (its default framebuffer), or none. Inline: every command checks
    /// it, and it almost always is current already.
    #[inline]
    pub fn make_current_with(&self, surface: Option<&HostSurface>) -> Result<(), BackendError> {
        let key = (self.id, surface.map_or(0, |s| s.id));
        if CURRENT.get() == key.0 && CURRENT_SURFACE.get() == key.1 {
            return Ok(());
        }
        self.switch_to(surface, key)
    }

    /// The `eglMakeCurrent` behind [`Self::make_current_with`], out of line.
    #[inline(never)]
    fn switch_to(&self, surface: Option<&HostSurface>, key: (u64, u64)) -> Result<(), BackendError> {
        let inner = self.display.inner;
        let raw = surface.map(|s| s.raw);
        egl_call("eglMakeCurrent", || inner.egl.make_current(inner.display, raw, raw, Some(self.raw)))?;
        CURRENT.set(key.0);
        CURRENT_SURFACE.set(key.1);
        Ok(())
    }

    /// True when this crate made this context current on the calling thread.
    pub fn is_current(&self) -> bool {
        CURRENT.get() == self.id
    }

    /// Makes no context current on the calling thread if this one is.
    pub fn release_current(&self) -> Result<(), BackendError> {
        if CURRENT.get() != self.id {
            return Ok(());
        }
        let inner = self.display.inner;
        // Releasing applies to the thread's bound API; ours is always ES.
        egl_call("eglBindAPI", || inner.egl.bind_api(egl::OPENGL_ES_API))?;
        egl_call("eglMakeCurrent", || inner.egl.make_current(inner.display, None, None, None))?;
        CURRENT.set(0);
        CURRENT_SURFACE.set(0);
        Ok(())
    }

    /// The ES version asked for at creation.
    pub fn version(&self) -> (i32, i32) {
        (self.major, self.minor)
    }

    /// Whether the context was created with robust buffer access.
    pub fn robust_access(&self) -> bool {
        self.robust
    }

    pub fn display(&self) -> HostDisplay {
        self.display
    }

    /// An EGLImage of this context's GL object `buffer` (a texture or renderbuffer
    /// name) for the EGL `target` (`EGL_GL_TEXTURE_2D_KHR`, …), with the EGL `attribs`
    /// (EGL_GL_TEXTURE_LEVEL_KHR, …; no terminator). The host checks the target, the
    /// object and the attributes (EGL_BAD_PARAMETER, EGL_BAD_MATCH, …).
    pub fn create_image(&self, target: u32, buffer: u32, attribs: &[(i32, i32)]) -> Result<HostImage, BackendError> {
        let inner = self.display.inner;
        let mut list: Vec<egl::Attrib> = Vec::with_capacity(attribs.len() * 2 + 1);
        for &(k, v) in attribs {
            list.extend([k as egl::Attrib, v as egl::Attrib]);
        }
        list.push(egl::NONE as egl::Attrib);
        // SAFETY: a GL object's name travels as the EGLClientBuffer's value, which is
        // what EGL_KHR_gl_image asks for; EGL only reads it as a number.
        let client_buffer = unsafe { egl::ClientBuffer::from_ptr(buffer as usize as *mut c_void) };
        let raw = egl_call("eglCreateImage", || {
            inner.egl.create_image(inner.display, self.raw, target as egl::Enum, client_buffer, &list)
        })?;
        Ok(HostImage { display: self.display, raw })
    }
}

/// A host EGLImage (see [`HostContext::create_image`]); destroyed on drop. GL objects
/// made from it keep its contents alive on their own.
pub struct HostImage {
    display: HostDisplay,
    raw: egl::Image,
}

// SAFETY: an EGLImage is a process-wide handle and EGL's entry points are thread-safe.
unsafe impl Send for HostImage {}
// SAFETY: as for Send; `&HostImage` only reads the handle.
unsafe impl Sync for HostImage {}

impl HostImage {
    /// The host's EGLImage handle, for the GL commands that take one
    /// (`glEGLImageTargetTexture2DOES`, …) on a context of the same display.
    pub fn as_ptr(&self) -> *mut c_void {
        self.raw.as_ptr()
    }
}

impl std::fmt::Debug for HostImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostImage").finish_non_exhaustive()
    }
}

impl Drop for HostImage {
    fn drop(&mut self) {
        let inner = self.display.inner;
        let _ = egl_call("eglDestroyImage", || inner.egl.destroy_image(inner.display, self.raw));
    }
}

impl Drop for HostContext {
    /// Releases the context if it is current on this thread, then destroys it. Dropped
    /// on another thread while still current on its own, EGL defers the destruction
    /// until it is released there (EGL 1.5 §3.7.2), so nothing dangles either way.
    fn drop(&mut self) {
        let _ = self.release_current();
        let inner = self.display.inner;
        let _ = egl_call("eglDestroyContext", || inner.egl.destroy_context(inner.display, self.raw));
    }
}
