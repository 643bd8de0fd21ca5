//! EGL on the client: displays, configs, contexts, pbuffer surfaces, make-current and
//! sync objects, behind the ICD's hand-written EGL entry points. A display connects to
//! the render server on `eglInitialize` and fetches the host's configs then
//! (`QueryConfigs`); eglGetConfigs, eglChooseConfig (EGL 1.5 §3.4.1's matching and
//! order) and eglGetConfigAttrib answer from that list. A context is a server context
//! plus the client `Context` that forwards to it, made current on a thread by moving it
//! into that thread's slot. A fence sync is a client-side handle created after a
//! glFinish through the current context, hence signaled from the start. It does not
//! know pointers (the ICD turns them into slices) or GL.
//!
//! Status: window surfaces are the frames issue's.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::sync::{Mutex, MutexGuard};

use crate::{make_current as set_current, CallError, Connection, Context};

/// An EGL error code, as `eglGetError` reports it.
pub type EglError = i32;

pub const EGL_SUCCESS: EglError = 0x3000;
pub const EGL_NOT_INITIALIZED: EglError = 0x3001;
pub const EGL_BAD_ACCESS: EglError = 0x3002;
pub const EGL_BAD_ATTRIBUTE: EglError = 0x3004;
pub const EGL_BAD_CONFIG: EglError = 0x3005;
pub const EGL_BAD_CONTEXT: EglError = 0x3006;
pub const EGL_BAD_DISPLAY: EglError = 0x3008;
pub const EGL_BAD_MATCH: EglError = 0x3009;
pub const EGL_BAD_PARAMETER: EglError = 0x300C;
pub const EGL_BAD_SURFACE: EglError = 0x300D;

const EGL_NONE: i32 = 0x3038;
const EGL_DONT_CARE: i32 = -1;
const EGL_VENDOR: i32 = 0x3053;
const EGL_VERSION: i32 = 0x3054;
const EGL_EXTENSIONS: i32 = 0x3055;
const EGL_CLIENT_APIS: i32 = 0x308D;
const EGL_WIDTH: i32 = 0x3057;
const EGL_HEIGHT: i32 = 0x3056;
const EGL_CONFIG_ID: i32 = 0x3028;
const EGL_CONTEXT_CLIENT_TYPE: i32 = 0x3097;
const EGL_CONTEXT_CLIENT_VERSION: i32 = 0x3098;
const EGL_RENDER_BUFFER: i32 = 0x3086;
const EGL_BACK_BUFFER: i32 = 0x3084;
const EGL_OPENGL_ES_API: i32 = 0x30A0;

const EGL_BUFFER_SIZE: i32 = 0x3020;
const EGL_ALPHA_SIZE: i32 = 0x3021;
const EGL_BLUE_SIZE: i32 = 0x3022;
const EGL_GREEN_SIZE: i32 = 0x3023;
const EGL_RED_SIZE: i32 = 0x3024;
const EGL_DEPTH_SIZE: i32 = 0x3025;
const EGL_STENCIL_SIZE: i32 = 0x3026;
const EGL_CONFIG_CAVEAT: i32 = 0x3027;
const EGL_LEVEL: i32 = 0x3029;
const EGL_SAMPLES: i32 = 0x3031;
const EGL_SAMPLE_BUFFERS: i32 = 0x3032;
const EGL_SURFACE_TYPE: i32 = 0x3033;
const EGL_TRANSPARENT_TYPE: i32 = 0x3034;
const EGL_TRANSPARENT_RGB: i32 = 0x3052;
const EGL_BIND_TO_TEXTURE_RGB: i32 = 0x3039;
const EGL_BIND_TO_TEXTURE_RGBA: i32 = 0x303A;
const EGL_LUMINANCE_SIZE: i32 = 0x303D;
const EGL_ALPHA_MASK_SIZE: i32 = 0x303E;
const EGL_COLOR_BUFFER_TYPE: i32 = 0x303F;
const EGL_RENDERABLE_TYPE: i32 = 0x3040;
const EGL_MATCH_NATIVE_PIXMAP: i32 = 0x3041;
const EGL_CONFORMANT: i32 = 0x3042;
const EGL_NATIVE_VISUAL_TYPE: i32 = 0x302F;
const EGL_COLOR_COMPONENT_TYPE_EXT: i32 = 0x3339;
const EGL_COLOR_COMPONENT_TYPE_FIXED_EXT: i32 = 0x333A;
const EGL_RGB_BUFFER: i32 = 0x308E;
const EGL_PBUFFER_BIT: i32 = 0x0001;
const EGL_WINDOW_BIT: i32 = 0x0004;
const EGL_OPENGL_ES_BIT: i32 = 0x0001;
const EGL_OPENGL_ES2_BIT: i32 = 0x0004;
const EGL_OPENGL_ES3_BIT: i32 = 0x0040;
/// The client APIs glwire offers: OpenGL ES only (no desktop GL, no VG).
const ES_BITS: i32 = EGL_OPENGL_ES_BIT | EGL_OPENGL_ES2_BIT | EGL_OPENGL_ES3_BIT;
const EGL_BAD_NATIVE_PIXMAP: EglError = 0x300A;
const EGL_BAD_NATIVE_WINDOW: EglError = 0x300B;

/// A config as glwire offers it: the host's attributes ([`wire::control::CONFIG_ATTRIBS`]).
pub type Config = wire::control::ConfigRecord;

/// Turns a host config into what glwire can provide with it: pbuffers always (the
/// server makes them), windows only where the host could back one, the ES APIs only,
/// and no binding to textures (eglBindTexImage is refused).
pub fn offered(mut host: Config) -> Config {
    let surface = host.get(EGL_SURFACE_TYPE).unwrap_or(0);
    host.set(EGL_SURFACE_TYPE, EGL_PBUFFER_BIT | (surface & EGL_WINDOW_BIT));
    for attr in [EGL_RENDERABLE_TYPE, EGL_CONFORMANT] {
        let bits = host.get(attr).unwrap_or(0);
        host.set(attr, bits & ES_BITS);
    }
    host.set(EGL_BIND_TO_TEXTURE_RGB, 0);
    host.set(EGL_BIND_TO_TEXTURE_RGBA, 0);
    host
}

/// How `eglChooseConfig` compares an attribute (EGL 1.5, table 3.4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rule {
    /// The config's value must be at least the requested one.
    AtLeast,
    /// The config's value must be the requested one.
    Exact,
    /// The config's value must have every requested bit set.
    Mask,
    /// Accepted and not used for selection (EGL_MAX_PBUFFER_*, EGL_NATIVE_VISUAL_ID).
    Ignored,
}

/// The rule and the default (the value used when `attrib_list` does not name the
/// attribute) of every attribute `eglChooseConfig` takes, per EGL 1.5 table 3.4 plus
/// EGL_EXT_pixel_format_float's component type.
fn selection(attr: i32) -> Option<(Rule, i32)> {
    Some(match attr {
        EGL_BUFFER_SIZE | EGL_RED_SIZE | EGL_GREEN_SIZE | EGL_BLUE_SIZE | EGL_ALPHA_SIZE | EGL_LUMINANCE_SIZE
        | EGL_ALPHA_MASK_SIZE | EGL_DEPTH_SIZE | EGL_STENCIL_SIZE | EGL_SAMPLES | EGL_SAMPLE_BUFFERS => {
            (Rule::AtLeast, 0)
        }
        EGL_BIND_TO_TEXTURE_RGB | EGL_BIND_TO_TEXTURE_RGBA | EGL_CONFIG_CAVEAT | EGL_CONFIG_ID => {
            (Rule::Exact, EGL_DONT_CARE)
        }
        // EGL_MIN_SWAP_INTERVAL, EGL_MAX_SWAP_INTERVAL, EGL_NATIVE_RENDERABLE
        0x303B | 0x303C | 0x302D | EGL_NATIVE_VISUAL_TYPE => (Rule::Exact, EGL_DONT_CARE),
        0x3035..=0x3037 => (Rule::Exact, EGL_DONT_CARE), // EGL_TRANSPARENT_{BLUE,GREEN,RED}_VALUE
        EGL_COLOR_BUFFER_TYPE => (Rule::Exact, EGL_RGB_BUFFER),
        EGL_LEVEL => (Rule::Exact, 0),
        EGL_TRANSPARENT_TYPE => (Rule::Exact, EGL_NONE),
        EGL_COLOR_COMPONENT_TYPE_EXT => (Rule::Exact, EGL_COLOR_COMPONENT_TYPE_FIXED_EXT),
        EGL_CONFORMANT => (Rule::Mask, 0),
        EGL_RENDERABLE_TYPE => (Rule::Mask, EGL_OPENGL_ES_BIT),
        EGL_SURFACE_TYPE => (Rule::Mask, EGL_WINDOW_BIT),
        0x302A..=0x302C | 0x302E => (Rule::Ignored, 0), // EGL_MAX_PBUFFER_*, EGL_NATIVE_VISUAL_ID
        _ => return None,
    })
}

/// `eglChooseConfig` over `configs` with an attribute list (without its terminator):
/// the matching configs' ids in EGL's order (EGL 1.5 §3.4.1).
fn choose(configs: &[Config], attribs: &[i32]) -> Result<Vec<u64>, EglError> {
    // What was asked for, the last value winning when an attribute repeats.
    let mut asked: BTreeMap<i32, i32> = BTreeMap::new();
    for pair in attribs.chunks(2) {
        let &[attr, value] = pair else { return Err(EGL_BAD_ATTRIBUTE) };
        if attr == EGL_NONE {
            break;
        }
        match (attr, selection(attr)) {
            // The two attributes EGL_DONT_CARE is not a value of.
            (EGL_LEVEL | EGL_MATCH_NATIVE_PIXMAP, _) if value == EGL_DONT_CARE => return Err(EGL_BAD_ATTRIBUTE),
            // glwire has no native pixmaps to match.
            (EGL_MATCH_NATIVE_PIXMAP, _) if value != EGL_NONE => return Err(EGL_BAD_NATIVE_PIXMAP),
            (EGL_MATCH_NATIVE_PIXMAP, _) => continue,
            (_, None) => return Err(EGL_BAD_ATTRIBUTE),
            (_, Some((Rule::AtLeast, _))) if value < 0 && value != EGL_DONT_CARE => return Err(EGL_BAD_ATTRIBUTE),
            _ => {}
        }
        asked.insert(attr, value);
    }
    // A config id selects that config whatever else the list says.
    if let Some(&id) = asked.get(&EGL_CONFIG_ID).filter(|&&id| id != EGL_DONT_CARE) {
        return Ok(configs.iter().filter(|c| c.config_id() == id).map(|c| c.config_id() as u64).collect());
    }
    let transparent_rgb = asked.get(&EGL_TRANSPARENT_TYPE) == Some(&EGL_TRANSPARENT_RGB);
    let wanted: Vec<(i32, Rule, i32)> = wire::control::CONFIG_ATTRIBS
        .iter()
        .filter_map(|&attr| {
            let (rule, default) = selection(attr)?;
            let value = asked.get(&attr).copied().unwrap_or(default);
            let transparent_value = (0x3035..=0x3037).contains(&attr);
            let unused = value == EGL_DONT_CARE || rule == Rule::Ignored || (transparent_value && !transparent_rgb);
            (!unused).then_some((attr, rule, value))
        })
        .collect();
    let mut matches: Vec<&Config> = configs
        .iter()
        .filter(|c| {
            wanted.iter().all(|&(attr, rule, value)| {
                let have = c.get(attr).unwrap_or(0);
                match rule {
                    Rule::AtLeast => have >= value,
                    Rule::Exact => have == value,
                    Rule::Mask => have & value == value,
                    Rule::Ignored => true,
                }
            })
        })
        .collect();
    // The components whose sizes count toward "more color bits first": those asked
    // for with a value that is neither 0 nor EGL_DONT_CARE.
    let requested = |attr: i32| asked.get(&attr).is_some_and(|&v| v != 0 && v != EGL_DONT_CARE);
    let color_bits = |c: &Config| -> i32 {
        let components: &[i32] = if c.get(EGL_COLOR_BUFFER_TYPE) == Some(EGL_RGB_BUFFER) {
            &[EGL_RED_SIZE, EGL_GREEN_SIZE, EGL_BLUE_SIZE, EGL_ALPHA_SIZE]
        } else {
            &[EGL_LUMINANCE_SIZE, EGL_ALPHA_SIZE]
        };
        components.iter().filter(|&&a| requested(a)).map(|&a| c.get(a).unwrap_or(0)).sum()
    };
    let v = |c: &Config, attr: i32| c.get(attr).unwrap_or(0);
    // EGL 1.5 §3.4.1.2. The caveats' and buffer types' enum values are in the order EGL
    // wants (EGL_NONE < EGL_SLOW_CONFIG < EGL_NON_CONFORMANT_CONFIG, RGB < luminance);
    // fixed-point components come before floating-point ones (EGL_EXT_pixel_format_float).
    matches.sort_by_key(|c| {
        (
            v(c, EGL_CONFIG_CAVEAT),
            v(c, EGL_COLOR_COMPONENT_TYPE_EXT),
            v(c, EGL_COLOR_BUFFER_TYPE),
            std::cmp::Reverse(color_bits(c)),
            v(c, EGL_BUFFER_SIZE),
            v(c, EGL_SAMPLE_BUFFERS),
            v(c, EGL_SAMPLES),
            v(c, EGL_DEPTH_SIZE),
            v(c, EGL_STENCIL_SIZE),
            v(c, EGL_ALPHA_MASK_SIZE),
            v(c, EGL_NATIVE_VISUAL_TYPE),
            c.config_id(),
        )
    });
    Ok(matches.iter().map(|c| c.config_id() as u64).collect())
}

#[derive(Default)]
struct DisplayState {
    /// An X11 display (EGL_PLATFORM_X11 or a native display): its configs can back
    /// windows.
    x11: bool,
    connection: Option<Connection>,
    /// Between eglInitialize and eglTerminate (tests set it without a server).
    initialized: bool,
    /// The host's configs as glwire offers them ([`offered`]), fetched at eglInitialize.
    configs: Vec<Config>,
}

impl DisplayState {
    fn config(&self, handle: u64) -> Option<&Config> {
        self.configs.iter().find(|c| c.config_id() as u64 == handle)
    }
}

struct ContextSlot {
    display: u64,
    /// The context's handle on the server.
    server_id: u64,
    config: u64,
    version: i32,
    /// The client context while no thread has it current.
    idle: Option<Context>,
    /// Where its share group's object names come from.
    names: crate::names::SharedNames,
    /// eglDestroyContext came while it was current: it goes when it stops being current.
    destroyed: bool,
}

struct SurfaceSlot {
    display: u64,
    /// The surface's handle on the server (its default framebuffer there).
    server_id: u64,
    config: u64,
    width: i32,
    height: i32,
    /// A window surface's frames and window (taken out while a swap runs).
    window: Option<Box<crate::window::WindowSurface>>,
}

/// A sync object: client-side only. A fence is created after a glFinish through the
/// current context, so its condition holds from the start and it is always signaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SyncSlot {
    display: u64,
    /// EGL_SYNC_TYPE (EGL_SYNC_FENCE).
    kind: i32,
}

/// Everything EGL knows in this process (BTreeMaps: constructible in a static, and they
/// hold a handful of entries).
#[derive(Default)]
struct EglState {
    displays: BTreeMap<u64, DisplayState>,
    contexts: BTreeMap<u64, ContextSlot>,
    surfaces: BTreeMap<u64, SurfaceSlot>,
    syncs: BTreeMap<u64, SyncSlot>,
    /// EGLImages: the handle is the server's, which GL commands carry; the value is the
    /// display.
    images: BTreeMap<u64, u64>,
    next_handle: u64,
}

impl EglState {
    fn handle(&mut self) -> u64 {
        // Start high so a handle is never mistaken for a small enum or config id.
        self.next_handle = self.next_handle.max(0x10000) + 0x10;
        self.next_handle
    }

    fn initialized(&mut self, dpy: u64) -> Result<&mut DisplayState, EglError> {
        match self.displays.get_mut(&dpy) {
            Some(d) if d.initialized => Ok(d),
            Some(_) => Err(EGL_NOT_INITIALIZED),
            None => Err(EGL_BAD_DISPLAY),
        }
    }
}

static STATE: Mutex<EglState> = Mutex::new(EglState {
    displays: BTreeMap::new(),
    contexts: BTreeMap::new(),
    surfaces: BTreeMap::new(),
    syncs: BTreeMap::new(),
    images: BTreeMap::new(),
    next_handle: 0,
});

fn state() -> MutexGuard<'static, EglState> {
    // A panic elsewhere while holding the lock leaves plain bookkeeping behind; keep
    // serving rather than poison every later EGL call.
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    /// The context handle current on this thread (0 for none).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// The draw surface of that context (0 for none).
    static CURRENT_DRAW: Cell<u64> = const { Cell::new(0) };
}

fn current_draw() -> u64 {
    CURRENT_DRAW.try_with(Cell::get).unwrap_or(0)
}

fn set_current_draw(h: u64) {
    let _ = CURRENT_DRAW.try_with(|c| c.set(h));
}

/// The handle current on this thread; 0 also while the thread is being torn down
/// (libglvnd releases contexts from its own thread-exit hooks).
fn current_handle() -> u64 {
    CURRENT.try_with(Cell::get).unwrap_or(0)
}

fn set_current_handle(h: u64) {
    let _ = CURRENT.try_with(|c| c.set(h));
}

/// `eglInitialize` with a connection the caller made (tools and tests). A server that
/// cannot list its configs leaves the display without any (contexts still work
/// configless).
pub fn initialize_with(dpy: u64, connection: Connection) -> (i32, i32) {
    let mut st = state();
    let display = st.displays.entry(dpy).or_default();
    if display.connection.is_none() {
        display.configs = fetch_configs(&connection).unwrap_or_else(|e| {
            eprintln!("glwire: the render server did not list its configs: {e}");
            Vec::new()
        });
        display.connection = Some(connection);
    }
    display.initialized = true;
    (1, 5)
}

/// How the server (and `glwire top`) names this program: its executable's file name,
/// which the hello keeps whole (a long path cut to 64 bytes lost it). Not its
/// arguments: they may hold secrets, and the server may be another machine's.
fn program_label(args: impl IntoIterator<Item = std::ffi::OsString>) -> String {
    let exe = args.into_iter().next().unwrap_or_default();
    let name = std::path::Path::new(&exe).file_name().unwrap_or(&exe).to_string_lossy().into_owned();
    if name.is_empty() {
        "glwire-client".to_owned()
    } else {
        name
    }
}

/// `eglInitialize`: connects display `dpy` to the render server and fetches its
/// configs (once).
pub fn initialize(dpy: u64) -> Result<(i32, i32), EglError> {
    let mut st = state();
    let display = st.displays.entry(dpy).or_default();
    if display.connection.is_none() {
        let path = transport::endpoint::client_socket_path();
        let program = program_label(std::env::args_os());
        let connection = match Connection::unix(&path, &program) {
            Ok(c) => c,
            Err(e) => {
                // There is no server: say where we looked, once per attempt.
                eprintln!(
                    "glwire: cannot reach the render server at {}: {e} (start `glwire serve`, or use `glwire run`)",
                    path.display()
                );
                return Err(EGL_NOT_INITIALIZED);
            }
        };
        display.configs = fetch_configs(&connection).map_err(|e| {
            eprintln!("glwire: the render server at {} did not list its configs: {e}", path.display());
            EGL_NOT_INITIALIZED
        })?;
        if display.x11 {
            let visual = crate::window::default_visual().map_err(window_error)?;
            display.configs = display.configs.iter().map(|&c| windowed(c, visual)).collect();
        }
        display.connection = Some(connection);
    }
    display.initialized = true;
    Ok((1, 5))
}

/// The server's configs (`QueryConfigs`), as glwire offers them.
fn fetch_configs(connection: &Connection) -> Result<Vec<Config>, String> {
    let payload = connection.call(wire::control::ControlKind::QueryConfigs, &[]).map_err(|e| e.to_string())?;
    let configs = wire::control::QueryConfigsReply::parse(&payload).map_err(|e| e.to_string())?;
    Ok(configs.into_iter().map(offered).collect())
}

/// `eglTerminate`: releases the display's connection once nothing uses it.
pub fn terminate(dpy: u64) -> Result<(), EglError> {
    crate::capture::drain();
    crate::record::finish();
    let mut st = state();
    if !st.displays.contains_key(&dpy) {
        return Err(EGL_BAD_DISPLAY);
    }
    let in_use = st.contexts.values().any(|c| c.display == dpy && c.idle.is_none());
    st.contexts.retain(|_, c| {
        let ends = c.display == dpy && c.idle.is_some();
        if let (true, Some(context)) = (ends, &c.idle) {
            report_context(c.server_id, context);
        }
        !ends
    });
    st.surfaces.retain(|_, s| s.display != dpy);
    st.syncs.retain(|_, s| s.display != dpy);
    st.images.retain(|_, d| *d != dpy);
    if !in_use {
        if let Some(d) = st.displays.get_mut(&dpy) {
            d.initialized = false;
            d.configs.clear();
            if let Some(c) = d.connection.take() {
                report_stats(&c);
            }
        }
    }
    Ok(())
}

/// With `GLWIRE_STATS` set, prints the session's figures as the server counted them
/// (what `glwire demo` shows): frames, commands, bytes each way, replies waited for.
fn report_stats(connection: &Connection) {
    if std::env::var_os(STATS_ENV).is_none() {
        return;
    }
    let Ok(payload) = connection.call(wire::control::ControlKind::QueryStats, &[]) else { return };
    if let Ok(s) = wire::control::StatsReply::parse(&payload) {
        eprintln!(
            "glwire: {} frames, {} commands, {} bytes to the server, {} bytes back, {} round trips",
            s.frames, s.commands, s.bytes_in, s.bytes_out, s.round_trips
        );
    }
}

/// With `GLWIRE_STATS` set, prints a context's own counters as it ends: the frames it
/// ended and the calls that waited for the server, in all and per frame between its
/// first frame's end and its last one's (`FrameCounters`).
fn report_context(server_id: u64, context: &Context) {
    if std::env::var_os(STATS_ENV).is_none() {
        return;
    }
    let c = context.counters();
    let per_frame = c.per_frame.map_or("-".into(), |x| format!("{x:.2}"));
    eprintln!(
        "glwire: context {server_id}: {} frames, {} round trips ({per_frame} per frame after the first)",
        c.frames, c.round_trips
    );
}

/// The variable that asks for [`report_stats`] at `eglTerminate`.
pub const STATS_ENV: &str = "GLWIRE_STATS";

/// `eglQueryString` on an initialized display.
pub fn query_string(dpy: u64, name: i32) -> Result<&'static CStr, EglError> {
    // Without a display: the client extensions. libglvnd merges them with its own and
    // the platforms of `getVendorString`; programs look for EGL_EXT_platform_base before
    // they call eglGetPlatformDisplayEXT.
    if dpy == 0 {
        return match name {
            EGL_EXTENSIONS => Ok(c"EGL_EXT_platform_base"),
            _ => Err(EGL_BAD_DISPLAY),
        };
    }
    state().initialized(dpy)?;
    Ok(match name {
        EGL_VENDOR => c"glwire",
        EGL_VERSION => c"1.5 glwire",
        EGL_CLIENT_APIS => c"OpenGL_ES",
        EGL_EXTENSIONS => {
            c"EGL_KHR_create_context EGL_KHR_surfaceless_context EGL_KHR_no_config_context EGL_MESA_configless_context \
              EGL_KHR_fence_sync EGL_KHR_wait_sync EGL_EXT_pixel_format_float EGL_KHR_image_base \
              EGL_KHR_gl_texture_2D_image EGL_KHR_gl_texture_cubemap_image EGL_KHR_gl_texture_3D_image \
              EGL_KHR_gl_renderbuffer_image"
        }
        _ => return Err(EGL_BAD_PARAMETER),
    })
}

/// `eglGetConfigs`: every config, in the host's order.
pub fn get_configs(dpy: u64) -> Result<Vec<u64>, EglError> {
    Ok(state().initialized(dpy)?.configs.iter().map(|c| c.config_id() as u64).collect())
}

/// `eglChooseConfig` with an attribute list (without its terminator).
pub fn choose_config(dpy: u64, attribs: &[i32]) -> Result<Vec<u64>, EglError> {
    choose(&state().initialized(dpy)?.configs, attribs)
}

/// `eglGetConfigAttrib`.
pub fn get_config_attrib(dpy: u64, config: u64, attr: i32) -> Result<i32, EglError> {
    let mut st = state();
    let row = st.initialized(dpy)?.config(config).ok_or(EGL_BAD_CONFIG)?;
    row.get(attr).ok_or(EGL_BAD_ATTRIBUTE)
}

/// `eglCreateContext`: a server context and the client context forwarding to it.
pub fn create_context(dpy: u64, config: u64, share: u64, attribs: &[i32]) -> Result<u64, EglError> {
    let mut st = state();
    let renderable = match config {
        0 => ES_BITS,
        handle => st.initialized(dpy)?.config(handle).ok_or(EGL_BAD_CONFIG)?.get(EGL_RENDERABLE_TYPE).unwrap_or(0),
    };
    st.initialized(dpy)?;
    let mut version = 1;
    for pair in attribs.chunks(2) {
        match *pair {
            [EGL_NONE, ..] => break,
            // EGL_CONTEXT_MAJOR_VERSION (== EGL_CONTEXT_CLIENT_VERSION)
            [EGL_CONTEXT_CLIENT_VERSION, v] => version = v,
            [_, _] => {}
            _ => return Err(EGL_BAD_ATTRIBUTE),
        }
    }
    // The config must support the version asked for (EGL 1.5 §3.7.1). OpenGL ES 1 (the
    // fixed-function API) is not forwarded: its contexts are refused rather than given
    // an ES 3 context without its entry points.
    let needs = match version {
        1 => return Err(EGL_BAD_MATCH),
        2 => EGL_OPENGL_ES2_BIT,
        3 => EGL_OPENGL_ES3_BIT,
        _ => return Err(EGL_BAD_MATCH),
    };
    if renderable & needs == 0 {
        return Err(EGL_BAD_MATCH);
    }
    // The share context must be one of this display's: the server knows it by its id.
    let (share_id, share_names) = match share {
        0 => (0, None),
        other => match st.contexts.get(&other) {
            Some(c) if c.display == dpy => (c.server_id, Some(c.names.clone())),
            _ => return Err(EGL_BAD_CONTEXT),
        },
    };
    let connection = st.initialized(dpy)?.connection.clone().ok_or(EGL_NOT_INITIALIZED)?;
    drop(st);
    let (server_id, mut context) = connection.new_shared_context(share_id).map_err(|_| EGL_BAD_ALLOC)?;
    if let Some(names) = share_names {
        context.share_names(names);
    }
    let names = context.shared_names();
    let mut st = state();
    let handle = st.handle();
    st.contexts.insert(
        handle,
        ContextSlot { display: dpy, server_id, config, version, idle: Some(context), names, destroyed: false },
    );
    Ok(handle)
}

const EGL_BAD_ALLOC: EglError = 0x3003;

/// `eglDestroyContext` (a current context goes when it stops being current).
pub fn destroy_context(dpy: u64, ctx: u64) -> Result<(), EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    match st.contexts.get(&ctx) {
        Some(c) if c.display == dpy => {}
        _ => return Err(EGL_BAD_CONTEXT),
    }
    if current_handle() == ctx {
        if let Some(c) = st.contexts.get_mut(&ctx) {
            c.destroyed = true;
        }
        return Ok(());
    }
    if let Some(slot) = st.contexts.remove(&ctx) {
        let connection = st.displays.get(&dpy).and_then(|d| d.connection.clone());
        drop(st);
        release_server_context(connection, slot);
    }
    Ok(())
}

/// Ends a destroyed context on the server once what it sent has run (its objects may
/// be shared), so its thread and host context go now rather than with the session.
fn release_server_context(connection: Option<Connection>, slot: ContextSlot) {
    use crate::Forward;
    if let Some(mut context) = slot.idle {
        report_context(slot.server_id, &context);
        let _ = context.call(&wire::commands::Command::Finish(wire::commands::Finish {}));
    }
    if let Some(connection) = connection {
        let handle = wire::control::HandlePayload { handle: slot.server_id };
        let _ = connection.call(wire::control::ControlKind::DestroyContext, zerocopy::IntoBytes::as_bytes(&handle));
    }
}

/// `eglQueryContext`.
pub fn query_context(dpy: u64, ctx: u64, attr: i32) -> Result<i32, EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    let c = st.contexts.get(&ctx).filter(|c| c.display == dpy).ok_or(EGL_BAD_CONTEXT)?;
    match attr {
        EGL_CONFIG_ID => Ok(c.config as i32),
        EGL_CONTEXT_CLIENT_TYPE => Ok(EGL_OPENGL_ES_API),
        EGL_CONTEXT_CLIENT_VERSION => Ok(c.version),
        EGL_RENDER_BUFFER => Ok(EGL_BACK_BUFFER),
        _ => Err(EGL_BAD_ATTRIBUTE),
    }
}

/// `eglCreatePbufferSurface`.
pub fn create_pbuffer_surface(dpy: u64, config: u64, attribs: &[i32]) -> Result<u64, EglError> {
    let mut st = state();
    let surface_type = st.initialized(dpy)?.config(config).ok_or(EGL_BAD_CONFIG)?.get(EGL_SURFACE_TYPE);
    if surface_type.unwrap_or(0) & EGL_PBUFFER_BIT == 0 {
        return Err(EGL_BAD_MATCH);
    }
    let (mut width, mut height) = (0, 0);
    for pair in attribs.chunks(2) {
        match *pair {
            [EGL_NONE, ..] => break,
            [EGL_WIDTH, v] if v >= 0 => width = v,
            [EGL_HEIGHT, v] if v >= 0 => height = v,
            [EGL_WIDTH | EGL_HEIGHT, _] => return Err(EGL_BAD_PARAMETER),
            [_, _] => {}
            _ => return Err(EGL_BAD_ATTRIBUTE),
        }
    }
    let connection = st.initialized(dpy)?.connection.clone().ok_or(EGL_NOT_INITIALIZED)?;
    drop(st);
    // The handle of a config is its host EGL_CONFIG_ID (configs mirror the host's).
    let request = wire::control::CreateSurfaceRequest::new(width as u32, height as u32, config as u32);
    let server_id = connection
        .call_for_handle(wire::control::ControlKind::CreateSurface, zerocopy::IntoBytes::as_bytes(&request))
        .map_err(|_| EGL_BAD_ALLOC)?;
    let mut st = state();
    let handle = st.handle();
    st.surfaces.insert(handle, SurfaceSlot { display: dpy, server_id, config, width, height, window: None });
    Ok(handle)
}

/// Marks `dpy` as an X11 display (EGL_PLATFORM_X11, or a native display handed to
/// eglGetDisplay): at eglInitialize its 8-bit RGB configs gain windows.
pub fn register_x11_display(dpy: u64) {
    state().displays.entry(dpy).or_default().x11 = true;
}

/// What a config offers on an X11 display: windows of the screen's TrueColor visual
/// `visual` (depth 24) when its colour is 8-bit RGB, with swap intervals 0 and 1.
fn windowed(mut c: Config, visual: u32) -> Config {
    const EGL_NATIVE_VISUAL_ID: i32 = 0x302E;
    const EGL_NATIVE_VISUAL_TYPE: i32 = 0x302F;
    const EGL_MIN_SWAP_INTERVAL: i32 = 0x303B;
    const EGL_MAX_SWAP_INTERVAL: i32 = 0x303C;
    const TRUE_COLOR: i32 = 4;
    let rgb8 = [EGL_RED_SIZE, EGL_GREEN_SIZE, EGL_BLUE_SIZE].iter().all(|&a| c.get(a) == Some(8));
    if rgb8 && c.get(EGL_LUMINANCE_SIZE).unwrap_or(0) == 0 {
        let surface = c.get(EGL_SURFACE_TYPE).unwrap_or(0);
        c.set(EGL_SURFACE_TYPE, surface | EGL_WINDOW_BIT);
        c.set(EGL_NATIVE_VISUAL_ID, visual as i32);
        c.set(EGL_NATIVE_VISUAL_TYPE, TRUE_COLOR);
        c.set(EGL_MIN_SWAP_INTERVAL, 0);
        c.set(EGL_MAX_SWAP_INTERVAL, 1);
    }
    c
}

/// `eglCreateWindowSurface`: X window `window` shows the frames.
pub fn create_window_surface(dpy: u64, config: u64, window: u64, attribs: &[i32]) -> Result<u64, EglError> {
    const EGL_RENDER_BUFFER_ATTR: i32 = 0x3086;
    const EGL_GL_COLORSPACE: i32 = 0x309D;
    let mut st = state();
    let surface_type = st.initialized(dpy)?.config(config).ok_or(EGL_BAD_CONFIG)?.get(EGL_SURFACE_TYPE);
    if surface_type.unwrap_or(0) & EGL_WINDOW_BIT == 0 {
        return Err(EGL_BAD_MATCH);
    }
    for pair in attribs.chunks(2) {
        match *pair {
            [EGL_NONE, ..] => break,
            [EGL_RENDER_BUFFER_ATTR, EGL_BACK_BUFFER] | [EGL_GL_COLORSPACE, _] => {}
            [EGL_RENDER_BUFFER_ATTR, _] => return Err(EGL_BAD_MATCH),
            _ => return Err(EGL_BAD_ATTRIBUTE),
        }
    }
    let window = u32::try_from(window).ok().filter(|&w| w != 0).ok_or(EGL_BAD_NATIVE_WINDOW)?;
    // EGL 1.5 §3.5.1: one window surface per window.
    if st.surfaces.values().any(|s| s.window.as_ref().is_some_and(|w| w.window() == window)) {
        return Err(EGL_BAD_ALLOC);
    }
    let connection = st.initialized(dpy)?.connection.clone().ok_or(EGL_NOT_INITIALIZED)?;
    drop(st);
    let surface = crate::window::WindowSurface::create(&connection, config as u32, window).map_err(window_error)?;
    let (width, height) = surface.size();
    let mut st = state();
    let handle = st.handle();
    let slot = SurfaceSlot {
        display: dpy,
        server_id: surface.server_id(),
        config,
        width: width as i32,
        height: height as i32,
        window: Some(Box::new(surface)),
    };
    st.surfaces.insert(handle, slot);
    Ok(handle)
}

/// The EGL error of a window surface failure.
fn window_error(e: crate::window::WindowError) -> EglError {
    match e {
        crate::window::WindowError::BadWindow => EGL_BAD_NATIVE_WINDOW,
        crate::window::WindowError::Alloc => EGL_BAD_ALLOC,
        crate::window::WindowError::Lost => EGL_CONTEXT_LOST,
    }
}

/// `eglDestroySurface`.
pub fn destroy_surface(dpy: u64, surface: u64) -> Result<(), EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    let slot = st.surfaces.remove(&surface).ok_or(EGL_BAD_SURFACE)?;
    let connection = st.initialized(dpy)?.connection.clone();
    drop(st);
    if let (Some(window), Some(c)) = (slot.window, &connection) {
        window.destroy(c);
        return Ok(());
    }
    if let Some(c) = connection {
        let handle = wire::control::HandlePayload { handle: slot.server_id };
        let _ = c.call(wire::control::ControlKind::DestroySurface, zerocopy::IntoBytes::as_bytes(&handle));
    }
    Ok(())
}

/// `eglQuerySurface`.
pub fn query_surface(dpy: u64, surface: u64, attr: i32) -> Result<i32, EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    let s = st.surfaces.get(&surface).filter(|s| s.display == dpy).ok_or(EGL_BAD_SURFACE)?;
    match attr {
        EGL_WIDTH => Ok(s.width),
        EGL_HEIGHT => Ok(s.height),
        EGL_CONFIG_ID => Ok(s.config as i32),
        EGL_RENDER_BUFFER => Ok(EGL_BACK_BUFFER),
        _ => Err(EGL_BAD_ATTRIBUTE),
    }
}

/// `eglMakeCurrent`: moves context `ctx` onto this thread (0 releases the current one).
pub fn make_current(dpy: u64, draw: u64, read: u64, ctx: u64) -> Result<(), EglError> {
    let mut st = state();
    if ctx != 0 || dpy != 0 {
        st.initialized(dpy)?;
    }
    for surface in [draw, read] {
        if surface != 0 && !st.surfaces.contains_key(&surface) {
            return Err(EGL_BAD_SURFACE);
        }
    }
    let current = current_handle();
    if ctx == current && ctx != 0 {
        if draw != current_draw() {
            // The same context, another surface: only the binding changes.
            let server_context = st.contexts.get(&ctx).map_or(0, |c| c.server_id);
            let server_surface = st.surfaces.get(&draw).map_or(0, |s| s.server_id);
            let connection = st.displays.get(&dpy).and_then(|d| d.connection.clone());
            drop(st);
            if let Some(connection) = connection {
                bind_surface(&connection, server_context, server_surface)?;
            }
            set_current_draw(draw);
        }
        return Ok(());
    }
    if ctx == current {
        return Ok(());
    }
    if ctx != 0 {
        match st.contexts.get(&ctx) {
            None => return Err(EGL_BAD_CONTEXT),
            Some(c) if c.idle.is_none() => return Err(EGL_BAD_ACCESS), // current elsewhere
            Some(_) => {}
        }
    }
    // The old context lets go of its surface on the server too (natively, making
    // another context current releases it), so the surface may be bound elsewhere.
    if current != 0 && current_draw() != 0 {
        let old = st.contexts.get(&current).map(|c| (c.server_id, c.display));
        let connection = old.and_then(|(_, d)| st.displays.get(&d)).and_then(|d| d.connection.clone());
        if let (Some((server_context, _)), Some(connection)) = (old, connection) {
            drop(st);
            bind_surface(&connection, server_context, 0)?;
            st = state();
        }
        set_current_draw(0);
    }
    // Hand the old context back (after sending what it queued), or end it if it was
    // destroyed while current.
    if let Some(mut old) = set_current(None) {
        let _ = old.flush();
        if let Some(slot) = st.contexts.get_mut(&current) {
            slot.idle = Some(old);
            if slot.destroyed {
                if let Some(slot) = st.contexts.remove(&current) {
                    let connection = st.displays.get(&slot.display).and_then(|d| d.connection.clone());
                    drop(st);
                    release_server_context(connection, slot);
                    st = state();
                }
            }
        }
    }
    set_current_handle(0);
    set_current_draw(0);
    if ctx != 0 {
        let slot = st.contexts.get_mut(&ctx).ok_or(EGL_BAD_CONTEXT)?;
        let context = slot.idle.take().ok_or(EGL_BAD_CONTEXT)?;
        let server_context = slot.server_id;
        let server_surface = st.surfaces.get(&draw).map_or(0, |s| s.server_id);
        let connection = st.displays.get(&dpy).and_then(|d| d.connection.clone());
        drop(st);
        let mut context = context;
        if server_surface != 0 {
            context.surface_bound();
        }
        set_current(Some(context));
        set_current_handle(ctx);
        set_current_draw(draw);
        if let Some(connection) = connection {
            bind_surface(&connection, server_context, server_surface)?;
        }
    }
    Ok(())
}

/// Points the server context's default framebuffer at the surface (or none), after
/// everything the context sent before has run (the binding travels on the control
/// socket, the commands on the ring: a round trip keeps them in order).
fn bind_surface(connection: &Connection, context: u64, surface: u64) -> Result<(), EglError> {
    use crate::Forward;
    let finish = wire::commands::Command::Finish(wire::commands::Finish {});
    crate::with_current(|c| c.call(&finish).map(drop)).transpose().map_err(|e| lost_or(&e, EGL_BAD_ACCESS))?;
    let request = wire::control::MakeCurrentRequest { context, draw_surface: surface, read_surface: surface };
    connection
        .call(wire::control::ControlKind::MakeCurrent, zerocopy::IntoBytes::as_bytes(&request))
        .map(drop)
        .map_err(|e| lost_or(&e, EGL_BAD_MATCH))
}

/// EGL_CONTEXT_LOST when the server is gone, `other` for any other failure.
fn lost_or(e: &CallError, other: EglError) -> EglError {
    if matches!(e, CallError::Lost(_)) {
        EGL_CONTEXT_LOST
    } else {
        other
    }
}

/// `eglSwapBuffers`: on a pbuffer the frame is complete, so it is counted and what was
/// queued is sent; on a window surface the frame is also published and shown in the
/// window. The surface must be the draw surface of this thread's context (EGL 1.5
/// §3.10.1), as Mesa checks too.
pub fn swap_buffers(dpy: u64, surface: u64) -> Result<(), EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    let slot = st.surfaces.get_mut(&surface).filter(|s| s.display == dpy).ok_or(EGL_BAD_SURFACE)?;
    let Some(mut window) = slot.window.take() else {
        let (width, height) = (slot.width, slot.height);
        drop(st);
        if current_draw() != surface {
            return Err(EGL_BAD_SURFACE);
        }
        crate::with_current(|c| c.end_frame(width.max(1), height.max(1)))
            .transpose()
            .map_err(|e| lost_or(&e, EGL_BAD_ACCESS))?;
        return Ok(());
    };
    let connection = st.displays.get(&dpy).and_then(|d| d.connection.clone());
    drop(st);
    // The surface must be the draw surface of this thread's context (EGL 1.5 §3.10.1).
    let result = match connection {
        Some(connection) if current_draw() == surface => crate::with_current(|c| window.swap(&connection, c))
            .ok_or(EGL_BAD_SURFACE)
            .and_then(|r| r.map_err(window_error)),
        Some(_) => Err(EGL_BAD_SURFACE),
        None => Err(EGL_NOT_INITIALIZED),
    };
    let (width, height) = window.size();
    let mut st = state();
    if let Some(slot) = st.surfaces.get_mut(&surface) {
        (slot.width, slot.height) = (width as i32, height as i32);
        slot.window = Some(window);
    }
    result
}

/// `eglSwapInterval`: for the window surface drawn by this thread's context (EGL 1.5
/// §3.10.3; other surfaces have no presentation to pace).
pub fn swap_interval(dpy: u64, interval: i32) -> Result<(), EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    if current_handle() == 0 {
        return Err(EGL_BAD_CONTEXT);
    }
    if let Some(window) = st.surfaces.get_mut(&current_draw()).and_then(|s| s.window.as_mut()) {
        window.set_interval(interval.min(1));
    }
    Ok(())
}

/// `eglReleaseThread`: releases this thread's context.
pub fn release_thread() -> Result<(), EglError> {
    let current = current_handle();
    if current == 0 {
        return Ok(());
    }
    let dpy = state().contexts.get(&current).map_or(0, |c| c.display);
    make_current(dpy, 0, 0, 0)
}

/// `eglSurfaceAttrib`: the pbuffer attributes glwire does not model (swap behaviour,
/// mipmap level, multisample resolve) are accepted and have no effect, as on a driver
/// that ignores them.
pub fn surface_attrib(dpy: u64, surface: u64, attr: i32) -> Result<(), EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    st.surfaces.get(&surface).filter(|s| s.display == dpy).ok_or(EGL_BAD_SURFACE)?;
    match attr {
        0x3093 | 0x3083 | 0x3099 => Ok(()), // EGL_SWAP_BEHAVIOR, EGL_MIPMAP_LEVEL, EGL_MULTISAMPLE_RESOLVE
        _ => Err(EGL_BAD_ATTRIBUTE),
    }
}

/// For the entry points that only need an initialized display (`eglSwapInterval`).
pub fn check_display(dpy: u64) -> Result<(), EglError> {
    state().initialized(dpy).map(drop)
}

pub const EGL_SYNC_PRIOR_COMMANDS_COMPLETE: i32 = 0x30F0;
pub const EGL_SYNC_STATUS: i32 = 0x30F1;
pub const EGL_SIGNALED: i32 = 0x30F2;
pub const EGL_CONDITION_SATISFIED: i32 = 0x30F6;
pub const EGL_SYNC_TYPE: i32 = 0x30F7;
pub const EGL_SYNC_CONDITION: i32 = 0x30F8;
pub const EGL_SYNC_FENCE: i32 = 0x30F9;
const EGL_CONTEXT_LOST: EglError = 0x300E;

/// The context current on this thread, when it belongs to display `dpy`: fences and
/// server waits act on it (EGL_BAD_MATCH otherwise, EGL_KHR_fence_sync).
fn current_on(st: &EglState, dpy: u64) -> Result<(), EglError> {
    match st.contexts.get(&current_handle()) {
        Some(c) if c.display == dpy => Ok(()),
        _ => Err(EGL_BAD_MATCH),
    }
}

/// `eglCreateSync` / `eglCreateSyncKHR` (attributes widened to `EGLAttrib`, without the
/// terminator). A fence runs glFinish through the current context (one round trip):
/// once that returns, every command before the fence has completed, which is the
/// fence's condition, so the fence is created signaled.
pub fn create_sync(dpy: u64, kind: i32, attribs: &[i64]) -> Result<u64, EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    if kind != EGL_SYNC_FENCE {
        return Err(EGL_BAD_ATTRIBUTE);
    }
    // A fence takes no attributes.
    if !attribs.is_empty() {
        return Err(EGL_BAD_ATTRIBUTE);
    }
    current_on(&st, dpy)?;
    drop(st);
    finish_current()?;
    let mut st = state();
    // eglTerminate may have run meanwhile.
    st.initialized(dpy)?;
    let handle = st.handle();
    st.syncs.insert(handle, SyncSlot { display: dpy, kind });
    Ok(handle)
}

const EGL_GL_TEXTURE_2D: i32 = 0x30B1;
const EGL_GL_TEXTURE_3D: i32 = 0x30B2;
const EGL_GL_TEXTURE_CUBE_MAP_NEGATIVE_Z: i32 = 0x30B8;
const EGL_GL_RENDERBUFFER: i32 = 0x30B9;
const EGL_GL_TEXTURE_LEVEL: i64 = 0x30BC;
const EGL_GL_TEXTURE_ZOFFSET: i64 = 0x30BD;
const EGL_IMAGE_PRESERVED: i64 = 0x30D2;

/// `eglCreateImage`/`eglCreateImageKHR` from a GL object of `ctx` (EGL_KHR_gl_image:
/// textures and renderbuffers; native buffers are not reachable across the channel).
/// The server makes the image on the context's thread; when `ctx` is current here, its
/// queued commands (the texture's contents) run first. The handle is the server's.
pub fn create_image(dpy: u64, ctx: u64, target: i32, buffer: u64, attribs: &[i64]) -> Result<u64, EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    let context = match st.contexts.get(&ctx) {
        Some(c) if c.display == dpy => c.server_id,
        _ => return Err(EGL_BAD_CONTEXT),
    };
    if !(EGL_GL_TEXTURE_2D..=EGL_GL_TEXTURE_CUBE_MAP_NEGATIVE_Z).contains(&target) && target != EGL_GL_RENDERBUFFER {
        return Err(EGL_BAD_PARAMETER);
    }
    let buffer = u32::try_from(buffer).ok().filter(|&b| b != 0).ok_or(EGL_BAD_PARAMETER)?;
    let (mut level, mut zoffset, mut preserved) = (0i32, 0i32, 0u32);
    for pair in attribs.chunks(2) {
        let value = pair.get(1).copied().ok_or(EGL_BAD_PARAMETER)?;
        let value32 = i32::try_from(value).map_err(|_| EGL_BAD_PARAMETER)?;
        match pair[0] {
            EGL_GL_TEXTURE_LEVEL => level = value32,
            EGL_GL_TEXTURE_ZOFFSET if target == EGL_GL_TEXTURE_3D => zoffset = value32,
            EGL_IMAGE_PRESERVED => preserved = u32::from(value != 0),
            _ => return Err(EGL_BAD_PARAMETER),
        }
    }
    let connection = st.initialized(dpy)?.connection.clone().ok_or(EGL_NOT_INITIALIZED)?;
    let current = current_handle() == ctx;
    drop(st);
    if current {
        finish_current()?;
    }
    let request = wire::control::CreateImageRequest {
        context,
        target: target as u32,
        buffer,
        level,
        zoffset,
        preserved,
        _pad: 0,
    };
    let id = connection
        .call_for_handle(wire::control::ControlKind::CreateImage, zerocopy::IntoBytes::as_bytes(&request))
        .map_err(|e| if matches!(e, crate::CallError::Protocol(_)) { EGL_BAD_ALLOC } else { EGL_BAD_PARAMETER })?;
    state().images.insert(id, dpy);
    Ok(id)
}

/// `eglDestroyImage`/`eglDestroyImageKHR`.
pub fn destroy_image(dpy: u64, image: u64) -> Result<(), EglError> {
    let mut st = state();
    let connection = st.initialized(dpy)?.connection.clone().ok_or(EGL_NOT_INITIALIZED)?;
    if st.images.get(&image) != Some(&dpy) {
        return Err(EGL_BAD_PARAMETER);
    }
    st.images.remove(&image);
    drop(st);
    let payload = wire::control::HandlePayload { handle: image };
    connection
        .call(wire::control::ControlKind::DestroyImage, zerocopy::IntoBytes::as_bytes(&payload))
        .map(drop)
        .map_err(|_| EGL_BAD_PARAMETER)
}

/// glFinish through this thread's current context.
fn finish_current() -> Result<(), EglError> {
    use crate::Forward;
    let finish = wire::commands::Command::Finish(wire::commands::Finish {});
    let done = crate::with_current(|c| {
        let reply = c.call(&finish)?;
        wire::codec::reply_body(reply.as_bytes(), wire::commands::Opcode::Finish as u32)?;
        Ok::<(), crate::CallError>(())
    });
    match done {
        Some(Ok(())) => Ok(()),
        Some(Err(crate::CallError::Lost(_) | crate::CallError::NotConnected)) => Err(EGL_CONTEXT_LOST),
        Some(Err(_)) => Err(EGL_BAD_ACCESS),
        None => Err(EGL_BAD_MATCH),
    }
}

fn sync_slot(st: &mut EglState, dpy: u64, sync: u64) -> Result<SyncSlot, EglError> {
    st.initialized(dpy)?;
    st.syncs.get(&sync).copied().filter(|s| s.display == dpy).ok_or(EGL_BAD_PARAMETER)
}

/// `eglDestroySync` / `eglDestroySyncKHR`.
pub fn destroy_sync(dpy: u64, sync: u64) -> Result<(), EglError> {
    let mut st = state();
    sync_slot(&mut st, dpy, sync)?;
    st.syncs.remove(&sync);
    Ok(())
}

/// `eglClientWaitSync` / `eglClientWaitSyncKHR`: every glwire sync is signaled, so the
/// wait is satisfied at once whatever the flags and timeout.
pub fn client_wait_sync(dpy: u64, sync: u64, _flags: i32, _timeout: u64) -> Result<i32, EglError> {
    sync_slot(&mut state(), dpy, sync)?;
    Ok(EGL_CONDITION_SATISFIED)
}

/// `eglWaitSync` / `eglWaitSyncKHR`: the server waits for nothing, the sync being
/// signaled; still checked as EGL_KHR_wait_sync says (flags 0, a current context of
/// this display).
pub fn wait_sync(dpy: u64, sync: u64, flags: i32) -> Result<(), EglError> {
    let mut st = state();
    sync_slot(&mut st, dpy, sync)?;
    if flags != 0 {
        return Err(EGL_BAD_PARAMETER);
    }
    current_on(&st, dpy)
}

/// `eglGetSyncAttrib` / `eglGetSyncAttribKHR`.
pub fn get_sync_attrib(dpy: u64, sync: u64, attr: i32) -> Result<i32, EglError> {
    let slot = sync_slot(&mut state(), dpy, sync)?;
    match attr {
        EGL_SYNC_TYPE => Ok(slot.kind),
        EGL_SYNC_STATUS => Ok(EGL_SIGNALED),
        EGL_SYNC_CONDITION if slot.kind == EGL_SYNC_FENCE => Ok(EGL_SYNC_PRIOR_COMMANDS_COMPLETE),
        _ => Err(EGL_BAD_ATTRIBUTE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_named_by_its_executables_file_name() {
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let long = "/a/very/long/build/folder/that/would/fill/the/hello/target/release/glwire";
        assert!(long.len() > 64);
        assert_eq!(program_label(args(&[long, "bench-client", "--token", "secret"])), "glwire");
        assert_eq!(program_label(args(&["python3", "tests/egl_clear.py"])), "python3");
        assert_eq!(program_label(args(&[])), "glwire-client");
        assert_eq!(program_label(args(&[""])), "glwire-client");
        let hello = wire::protocol::Hello::new(0, 1, &program_label(args(&[long])));
        assert_eq!(hello.program_name(), b"glwire");
    }

    fn display_without_server(dpy: u64) {
        state().displays.entry(dpy).or_default();
    }

    /// An initialized display without a server, offering `configs`.
    fn display_with(dpy: u64, configs: Vec<Config>) {
        let mut st = state();
        let d = st.displays.entry(dpy).or_default();
        d.initialized = true;
        d.configs = configs;
    }

    /// A host config with these sizes (and llvmpipe's other values).
    fn config(id: i32, rgba: [i32; 4], depth: i32, stencil: i32, samples: i32) -> Config {
        let mut c = Config::default();
        let [r, g, b, a] = rgba;
        for (attr, value) in [
            (EGL_CONFIG_ID, id),
            (EGL_BUFFER_SIZE, r + g + b + a),
            (EGL_RED_SIZE, r),
            (EGL_GREEN_SIZE, g),
            (EGL_BLUE_SIZE, b),
            (EGL_ALPHA_SIZE, a),
            (EGL_DEPTH_SIZE, depth),
            (EGL_STENCIL_SIZE, stencil),
            (EGL_SAMPLES, samples),
            (EGL_SAMPLE_BUFFERS, i32::from(samples > 0)),
            (EGL_RENDERABLE_TYPE, 0x4d),
            (EGL_CONFORMANT, 0x4d),
            (EGL_SURFACE_TYPE, EGL_PBUFFER_BIT),
            (EGL_CONFIG_CAVEAT, EGL_NONE),
            (EGL_COLOR_BUFFER_TYPE, EGL_RGB_BUFFER),
            (EGL_NATIVE_VISUAL_TYPE, EGL_NONE),
            (EGL_TRANSPARENT_TYPE, EGL_NONE),
            (0x303B, 1),
            (0x303C, 1),
            (0x302C, 4096),
            (EGL_BIND_TO_TEXTURE_RGBA, 1),
            (EGL_COLOR_COMPONENT_TYPE_EXT, EGL_COLOR_COMPONENT_TYPE_FIXED_EXT),
        ] {
            assert!(c.set(attr, value));
        }
        offered(c)
    }

    /// A slice of llvmpipe's surfaceless list, in its order.
    fn llvmpipe() -> Vec<Config> {
        let mut float = config(51, [16, 16, 16, 16], 0, 0, 0);
        float.set(EGL_COLOR_COMPONENT_TYPE_EXT, 0x333B);
        let mut slow = config(60, [8, 8, 8, 8], 24, 8, 0);
        slow.set(EGL_CONFIG_CAVEAT, 0x3050); // EGL_SLOW_CONFIG
        vec![
            config(1, [10, 10, 10, 2], 0, 0, 0),
            config(4, [10, 10, 10, 2], 24, 8, 0),
            config(21, [8, 8, 8, 8], 0, 0, 0),
            config(24, [8, 8, 8, 8], 24, 8, 0),
            config(29, [8, 8, 8, 8], 24, 8, 4),
            config(31, [8, 8, 8, 0], 0, 0, 0),
            config(34, [8, 8, 8, 0], 24, 8, 0),
            config(41, [5, 6, 5, 0], 0, 0, 0),
            config(44, [5, 6, 5, 0], 24, 8, 0),
            float,
            slow,
        ]
    }

    #[test]
    fn an_uninitialized_display_says_so() {
        display_without_server(0xd1);
        assert_eq!(query_string(0xd1, EGL_VENDOR), Err(EGL_NOT_INITIALIZED));
        assert_eq!(query_string(0xd2, EGL_VENDOR), Err(EGL_BAD_DISPLAY));
        assert_eq!(get_configs(0xd1), Err(EGL_NOT_INITIALIZED));
        assert_eq!(create_sync(0xd2, EGL_SYNC_FENCE, &[]), Err(EGL_BAD_DISPLAY));
    }

    #[test]
    fn offered_configs_are_what_glwire_provides() {
        let mut host = config(3, [8, 8, 8, 8], 24, 8, 0);
        host.set(EGL_SURFACE_TYPE, 0x0004 | 0x0002); // window and pixmap, no pbuffer
        host.set(EGL_RENDERABLE_TYPE, 0x0008 | EGL_OPENGL_ES2_BIT); // desktop GL and ES 2
        let c = offered(host);
        assert_eq!(c.get(EGL_SURFACE_TYPE), Some(EGL_PBUFFER_BIT | EGL_WINDOW_BIT));
        assert_eq!(c.get(EGL_RENDERABLE_TYPE), Some(EGL_OPENGL_ES2_BIT));
        assert_eq!(c.get(EGL_BIND_TO_TEXTURE_RGBA), Some(0));
        assert_eq!(config(1, [8, 8, 8, 8], 0, 0, 0).get(EGL_SURFACE_TYPE), Some(EGL_PBUFFER_BIT));
        assert_eq!(config(1, [8, 8, 8, 8], 0, 0, 0).get(EGL_RENDERABLE_TYPE), Some(ES_BITS));
    }

    #[test]
    fn configs_and_their_attributes_come_from_the_host_list() {
        display_with(0xc1, llvmpipe());
        let all = get_configs(0xc1).unwrap();
        assert_eq!(all, [1, 4, 21, 24, 29, 31, 34, 41, 44, 51, 60], "the host's order");
        assert_eq!(get_config_attrib(0xc1, 44, EGL_GREEN_SIZE), Ok(6));
        assert_eq!(get_config_attrib(0xc1, 44, EGL_CONFIG_ID), Ok(44));
        assert_eq!(get_config_attrib(0xc1, 44, 0x302C), Ok(4096)); // EGL_MAX_PBUFFER_WIDTH
        assert_eq!(get_config_attrib(0xc1, 2, EGL_RED_SIZE), Err(EGL_BAD_CONFIG));
        assert_eq!(get_config_attrib(0xc1, 44, 0x1234), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(get_config_attrib(0xc1, 44, EGL_MATCH_NATIVE_PIXMAP), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(create_context(0xc1, 2, 0, &[]), Err(EGL_BAD_CONFIG));
        assert_eq!(create_pbuffer_surface(0xc1, 2, &[]), Err(EGL_BAD_CONFIG));
    }

    #[test]
    fn choose_matches_by_each_rule() {
        let configs = llvmpipe();
        let pbuffer = [EGL_SURFACE_TYPE, EGL_PBUFFER_BIT];
        // The default surface type is a window: a surfaceless host's configs have none.
        assert_eq!(choose(&configs, &[]), Ok(vec![]));
        // At least: 8-bit red excludes 5-6-5; fixed-point by default excludes the float one.
        let got = choose(&configs, &[pbuffer[0], pbuffer[1], EGL_RED_SIZE, 8]).unwrap();
        assert!(!got.contains(&41) && !got.contains(&44) && !got.contains(&51), "{got:?}");
        assert_eq!(got.len(), 8);
        // Exact: a config id selects that one config, whatever else is asked.
        assert_eq!(choose(&configs, &[EGL_CONFIG_ID, 44, EGL_RED_SIZE, 16]), Ok(vec![44]));
        assert_eq!(choose(&configs, &[EGL_CONFIG_ID, 2]), Ok(vec![]));
        // Exact on the component type: only the float config.
        assert_eq!(choose(&configs, &[pbuffer[0], pbuffer[1], EGL_COLOR_COMPONENT_TYPE_EXT, 0x333B]), Ok(vec![51]));
        // EGL_DONT_CARE lifts a default: both component types.
        let any = [pbuffer[0], pbuffer[1], EGL_COLOR_COMPONENT_TYPE_EXT, EGL_DONT_CARE];
        assert_eq!(choose(&configs, &any).unwrap().len(), 11);
        // Mask: ES 3 and pbuffer bits; desktop GL is not offered.
        assert_eq!(choose(&configs, &[pbuffer[0], pbuffer[1], EGL_RENDERABLE_TYPE, 0x40]).unwrap().len(), 10);
        assert_eq!(choose(&configs, &[pbuffer[0], pbuffer[1], EGL_RENDERABLE_TYPE, 0x08]), Ok(vec![]));
        // Samples at least 1: the multisampled config.
        assert_eq!(choose(&configs, &[pbuffer[0], pbuffer[1], EGL_SAMPLES, 1]), Ok(vec![29]));
        // Exact caveat.
        assert_eq!(choose(&configs, &[pbuffer[0], pbuffer[1], EGL_CONFIG_CAVEAT, 0x3050]), Ok(vec![60]));
        // Ignored attributes are accepted.
        assert_eq!(choose(&configs, &[pbuffer[0], pbuffer[1], 0x302C, 1 << 20, 0x302E, 77]).unwrap().len(), 10);
        // The last value of a repeated attribute wins.
        assert_eq!(choose(&configs, &[EGL_SURFACE_TYPE, EGL_WINDOW_BIT, pbuffer[0], pbuffer[1]]).unwrap().len(), 10);
        // Transparent values count only with EGL_TRANSPARENT_RGB.
        assert_eq!(choose(&configs, &[pbuffer[0], pbuffer[1], 0x3037, 5]).unwrap().len(), 10);
    }

    #[test]
    fn choose_refuses_bad_lists() {
        let configs = llvmpipe();
        assert_eq!(choose(&configs, &[EGL_RED_SIZE]), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(choose(&configs, &[0x1234, 1]), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(choose(&configs, &[EGL_RED_SIZE, -5]), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(choose(&configs, &[EGL_LEVEL, EGL_DONT_CARE]), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(choose(&configs, &[EGL_MATCH_NATIVE_PIXMAP, 5]), Err(EGL_BAD_NATIVE_PIXMAP));
        // Everything after EGL_NONE is not read.
        assert_eq!(choose(&configs, &[EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_NONE, 0x1234]).unwrap().len(), 10);
    }

    #[test]
    fn choose_sorts_as_egl_says() {
        let configs = llvmpipe();
        let pbuffer = [EGL_SURFACE_TYPE, EGL_PBUFFER_BIT];
        // Nothing asked about color: smaller buffers first (16 < 24 < 32), then fewer
        // samples, smaller depth and stencil, then the id; the slow config last.
        let got = choose(&configs, &pbuffer).unwrap();
        assert_eq!(got, [41, 44, 31, 34, 1, 21, 4, 24, 29, 60]);
        // Red asked for: more requested color bits first (10-bit red over 8 over 5),
        // the float config still after every fixed one (when allowed at all).
        let got = choose(&configs, &[pbuffer[0], pbuffer[1], EGL_RED_SIZE, 1]).unwrap();
        assert_eq!(got, [1, 4, 31, 34, 21, 24, 29, 41, 44, 60]);
        let any = [pbuffer[0], pbuffer[1], EGL_RED_SIZE, 1, EGL_COLOR_COMPONENT_TYPE_EXT, EGL_DONT_CARE];
        assert_eq!(choose(&configs, &any).unwrap()[9..], [51, 60]);
        // RGBA8 with depth: the 8-8-8-8 D24S8 config before the multisampled one.
        let rgba8 = [pbuffer[0], pbuffer[1], EGL_RED_SIZE, 8, EGL_ALPHA_SIZE, 8, EGL_DEPTH_SIZE, 16];
        assert_eq!(choose(&configs, &rgba8), Ok(vec![24, 29, 60]));
        // Alpha asked as 0 counts for nothing: RGB 8 and RGBA 8 tie on color bits, and
        // 10-bit RGB has more of the bits asked for than either (EGL's order, however
        // surprising to a program asking for 8).
        let rgb = [pbuffer[0], pbuffer[1], EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_ALPHA_SIZE, 0];
        assert_eq!(choose(&configs, &rgb), Ok(vec![1, 4, 31, 34, 21, 24, 29, 60]));
    }

    #[test]
    fn contexts_need_a_config_of_their_version() {
        let mut es2_only = config(7, [8, 8, 8, 8], 0, 0, 0);
        es2_only.set(EGL_RENDERABLE_TYPE, EGL_OPENGL_ES2_BIT);
        display_with(0xc2, vec![es2_only]);
        // Checked before the server is asked.
        assert_eq!(create_context(0xc2, 7, 0, &[EGL_CONTEXT_CLIENT_VERSION, 3]), Err(EGL_BAD_MATCH));
        assert_eq!(create_context(0xc2, 7, 0, &[EGL_CONTEXT_CLIENT_VERSION, 4]), Err(EGL_BAD_MATCH));
        // OpenGL ES 1 is not forwarded, whatever the config says (the default version is 1).
        assert_eq!(create_context(0xc2, 0, 0, &[EGL_CONTEXT_CLIENT_VERSION, 1]), Err(EGL_BAD_MATCH));
        assert_eq!(create_context(0xc2, 0, 0, &[]), Err(EGL_BAD_MATCH));
    }

    /// Answers every round trip with a glFinish reply; counts them.
    #[derive(Clone, Default)]
    struct Finisher(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl crate::Link for Finisher {
        fn send(&mut self, _: &[u8]) -> Result<(), crate::CallError> {
            Ok(())
        }
        fn round_trip(&mut self, _: &[u8], reply: &mut crate::ReplyBuf) -> Result<(), crate::CallError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            wire::commands::FinishReply {}.encode(reply)?;
            Ok(())
        }
    }

    #[test]
    fn fences_are_signaled_after_a_finish() {
        let dpy = 0xf1;
        display_with(dpy, llvmpipe());
        // No current context: EGL_BAD_MATCH.
        assert_eq!(create_sync(dpy, EGL_SYNC_FENCE, &[]), Err(EGL_BAD_MATCH));
        // Make a context of this display current on this thread, its link a stand-in.
        let link = Finisher::default();
        let ctx = {
            let mut st = state();
            let h = st.handle();
            st.contexts.insert(
                h,
                ContextSlot {
                    display: dpy,
                    server_id: 1,
                    config: 0,
                    version: 3,
                    idle: None,
                    names: Default::default(),
                    destroyed: false,
                },
            );
            h
        };
        set_current(Some(Context::new(Some(Box::new(link.clone())))));
        set_current_handle(ctx);

        assert_eq!(create_sync(dpy, 0x30FA, &[]), Err(EGL_BAD_ATTRIBUTE)); // EGL_SYNC_REUSABLE_KHR
        assert_eq!(create_sync(dpy, EGL_SYNC_FENCE, &[0x30F1, 0]), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(link.0.load(std::sync::atomic::Ordering::Relaxed), 0, "refused before any round trip");
        let sync = create_sync(dpy, EGL_SYNC_FENCE, &[]).unwrap();
        assert_eq!(link.0.load(std::sync::atomic::Ordering::Relaxed), 1, "one glFinish");
        assert_eq!(get_sync_attrib(dpy, sync, EGL_SYNC_TYPE), Ok(EGL_SYNC_FENCE));
        assert_eq!(get_sync_attrib(dpy, sync, EGL_SYNC_STATUS), Ok(EGL_SIGNALED));
        assert_eq!(get_sync_attrib(dpy, sync, EGL_SYNC_CONDITION), Ok(EGL_SYNC_PRIOR_COMMANDS_COMPLETE));
        assert_eq!(get_sync_attrib(dpy, sync, 0x3057), Err(EGL_BAD_ATTRIBUTE));
        assert_eq!(client_wait_sync(dpy, sync, 0x0001, u64::MAX), Ok(EGL_CONDITION_SATISFIED));
        assert_eq!(client_wait_sync(dpy, sync, 0, 0), Ok(EGL_CONDITION_SATISFIED));
        assert_eq!(wait_sync(dpy, sync, 0), Ok(()));
        assert_eq!(wait_sync(dpy, sync, 1), Err(EGL_BAD_PARAMETER));
        // Another display does not know the sync.
        display_with(0xf2, Vec::new());
        assert_eq!(get_sync_attrib(0xf2, sync, EGL_SYNC_TYPE), Err(EGL_BAD_PARAMETER));
        assert_eq!(create_sync(0xf2, EGL_SYNC_FENCE, &[]), Err(EGL_BAD_MATCH), "the current context is 0xf1's");
        assert_eq!(destroy_sync(dpy, sync), Ok(()));
        assert_eq!(destroy_sync(dpy, sync), Err(EGL_BAD_PARAMETER));
        assert_eq!(client_wait_sync(dpy, sync, 0, 0), Err(EGL_BAD_PARAMETER));
        assert_eq!(get_sync_attrib(dpy, 12345, EGL_SYNC_TYPE), Err(EGL_BAD_PARAMETER));

        set_current(None);
        set_current_handle(0);
        state().contexts.remove(&ctx);
        assert_eq!(create_sync(dpy, EGL_SYNC_FENCE, &[]), Err(EGL_BAD_MATCH));
    }
}
