//! EGL on the client: displays, configs, contexts, pbuffer surfaces and make-current,
//! behind the ICD's hand-written EGL entry points. A display connects to the render
//! server on `eglInitialize`; a context is a server context plus the client `Context`
//! that forwards to it, made current on a thread by moving it into that thread's slot.
//! It does not know pointers (the ICD turns them into slices) or GL.
//!
//! Status: configs are a fixed set the host's llvmpipe also offers (mirroring the
//! host's list comes with a `QueryConfigs` request); pbuffer surfaces are bookkeeping
//! only (programs render into their own framebuffer objects); window surfaces are the
//! frames issue's.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::sync::{Mutex, MutexGuard};

use crate::{make_current as set_current, Connection, Context};

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

/// Config attributes, in the order of [`CONFIG_ATTRIBS`].
const CONFIG_ATTRIBS: [i32; 16] = [
    0x3020, // EGL_BUFFER_SIZE
    0x3024, // EGL_RED_SIZE
    0x3023, // EGL_GREEN_SIZE
    0x3022, // EGL_BLUE_SIZE
    0x3021, // EGL_ALPHA_SIZE
    0x3025, // EGL_DEPTH_SIZE
    0x3026, // EGL_STENCIL_SIZE
    0x3028, // EGL_CONFIG_ID
    0x3033, // EGL_SURFACE_TYPE
    0x3040, // EGL_RENDERABLE_TYPE
    0x3042, // EGL_CONFORMANT
    0x3031, // EGL_SAMPLES
    0x3032, // EGL_SAMPLE_BUFFERS
    0x3027, // EGL_CONFIG_CAVEAT
    0x303F, // EGL_COLOR_BUFFER_TYPE
    0x302C, // EGL_MAX_PBUFFER_WIDTH
];
#[cfg(test)]
const SURFACE_TYPE: usize = 8;
#[cfg(test)]
const RENDERABLE_TYPE: usize = 9;
#[cfg(test)]
const CONFORMANT: usize = 10;

/// How `eglChooseConfig` compares an attribute (EGL 1.5, table 3.4).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    AtLeast,
    Exact,
    Mask,
}

fn rule(attr: i32) -> Option<Rule> {
    Some(match attr {
        0x3020..=0x3026 | 0x3031 | 0x3032 => Rule::AtLeast,
        0x3028 | 0x3027 | 0x303F => Rule::Exact,
        0x3033 | 0x3040 | 0x3042 => Rule::Mask,
        0x302C => Rule::AtLeast,
        _ => return None,
    })
}

const ES_BITS: i32 = 0x0001 | 0x0004 | 0x0040; // ES1, ES2, ES3
const PBUFFER_WINDOW: i32 = 0x0001 | 0x0004;
const EGL_NONE_CAVEAT: i32 = 0x3038;
const EGL_RGB_BUFFER: i32 = 0x308E;

/// The configs every glwire display offers (a subset of what llvmpipe offers), one row
/// per config in [`CONFIG_ATTRIBS`] order.
const CONFIGS: [[i32; 16]; 4] = [
    [32, 8, 8, 8, 8, 24, 8, 1, PBUFFER_WINDOW, ES_BITS, ES_BITS, 0, 0, EGL_NONE_CAVEAT, EGL_RGB_BUFFER, 16384],
    [32, 8, 8, 8, 8, 0, 0, 2, PBUFFER_WINDOW, ES_BITS, ES_BITS, 0, 0, EGL_NONE_CAVEAT, EGL_RGB_BUFFER, 16384],
    [24, 8, 8, 8, 0, 24, 8, 3, PBUFFER_WINDOW, ES_BITS, ES_BITS, 0, 0, EGL_NONE_CAVEAT, EGL_RGB_BUFFER, 16384],
    [16, 5, 6, 5, 0, 16, 0, 4, PBUFFER_WINDOW, ES_BITS, ES_BITS, 0, 0, EGL_NONE_CAVEAT, EGL_RGB_BUFFER, 16384],
];

/// The config handle for config id `id` (handles are ids: small, never NULL).
fn config_row(config: u64) -> Option<&'static [i32; 16]> {
    CONFIGS.iter().find(|c| c[7] as u64 == config)
}

#[derive(Default)]
struct DisplayState {
    connection: Option<Connection>,
}

struct ContextSlot {
    display: u64,
    /// The context's handle on the server.
    server_id: u64,
    config: u64,
    version: i32,
    /// The client context while no thread has it current.
    idle: Option<Context>,
}

struct SurfaceSlot {
    display: u64,
    /// The pbuffer's handle on the server (its default framebuffer there).
    server_id: u64,
    config: u64,
    width: i32,
    height: i32,
}

/// Everything EGL knows in this process (BTreeMaps: constructible in a static, and they
/// hold a handful of entries).
#[derive(Default)]
struct EglState {
    displays: BTreeMap<u64, DisplayState>,
    contexts: BTreeMap<u64, ContextSlot>,
    surfaces: BTreeMap<u64, SurfaceSlot>,
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
            Some(d) if d.connection.is_some() => Ok(d),
            Some(_) => Err(EGL_NOT_INITIALIZED),
            None => Err(EGL_BAD_DISPLAY),
        }
    }
}

static STATE: Mutex<EglState> = Mutex::new(EglState {
    displays: BTreeMap::new(),
    contexts: BTreeMap::new(),
    surfaces: BTreeMap::new(),
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
}

/// The handle current on this thread; 0 also while the thread is being torn down
/// (libglvnd releases contexts from its own thread-exit hooks).
fn current_handle() -> u64 {
    CURRENT.try_with(Cell::get).unwrap_or(0)
}

fn set_current_handle(h: u64) {
    let _ = CURRENT.try_with(|c| c.set(h));
}

/// `eglInitialize` with a connection the caller made (tools and tests).
pub fn initialize_with(dpy: u64, connection: Connection) -> (i32, i32) {
    let mut st = state();
    let display = st.displays.entry(dpy).or_default();
    if display.connection.is_none() {
        display.connection = Some(connection);
    }
    (1, 5)
}

/// `eglInitialize`: connects display `dpy` to the render server (once).
pub fn initialize(dpy: u64) -> Result<(i32, i32), EglError> {
    let mut st = state();
    let display = st.displays.entry(dpy).or_default();
    if display.connection.is_none() {
        let path = transport::endpoint::client_socket_path();
        let program = std::env::args().next().unwrap_or_else(|| "glwire-client".to_owned());
        match Connection::unix(&path, &program) {
            Ok(c) => display.connection = Some(c),
            Err(e) => {
                // There is no server: say where we looked, once per attempt.
                eprintln!(
                    "glwire: cannot reach the render server at {}: {e} (start `glwire serve`, or use `glwire run`)",
                    path.display()
                );
                return Err(EGL_NOT_INITIALIZED);
            }
        }
    }
    Ok((1, 5))
}

/// `eglTerminate`: releases the display's connection once nothing uses it.
pub fn terminate(dpy: u64) -> Result<(), EglError> {
    let mut st = state();
    if !st.displays.contains_key(&dpy) {
        return Err(EGL_BAD_DISPLAY);
    }
    let in_use = st.contexts.values().any(|c| c.display == dpy && c.idle.is_none());
    st.contexts.retain(|_, c| c.display != dpy || c.idle.is_none());
    st.surfaces.retain(|_, s| s.display != dpy);
    if !in_use {
        if let Some(d) = st.displays.get_mut(&dpy) {
            if let Some(c) = d.connection.take() {
                report_stats(&c);
            }
        }
    }
    Ok(())
}

/// With `GLWIRE_STATS` set, prints the session's figures as the server counted them
/// (what `glwire demo` shows): commands, bytes each way, replies waited for.
fn report_stats(connection: &Connection) {
    if std::env::var_os(STATS_ENV).is_none() {
        return;
    }
    let Ok(payload) = connection.call(wire::control::ControlKind::QueryStats, &[]) else { return };
    if let Ok(s) = wire::control::StatsReply::parse(&payload) {
        eprintln!(
            "glwire: {} commands, {} bytes to the server, {} bytes back, {} round trips",
            s.commands, s.bytes_in, s.bytes_out, s.round_trips
        );
    }
}

/// The variable that asks for [`report_stats`] at `eglTerminate`.
pub const STATS_ENV: &str = "GLWIRE_STATS";

/// `eglQueryString` on an initialized display.
pub fn query_string(dpy: u64, name: i32) -> Result<&'static CStr, EglError> {
    state().initialized(dpy)?;
    Ok(match name {
        EGL_VENDOR => c"glwire",
        EGL_VERSION => c"1.5 glwire",
        EGL_CLIENT_APIS => c"OpenGL_ES",
        EGL_EXTENSIONS => {
            c"EGL_KHR_create_context EGL_KHR_surfaceless_context EGL_KHR_no_config_context EGL_MESA_configless_context"
        }
        _ => return Err(EGL_BAD_PARAMETER),
    })
}

/// `eglGetConfigs`: every config (as many as `capacity` allows; all when counting).
pub fn get_configs(dpy: u64) -> Result<Vec<u64>, EglError> {
    state().initialized(dpy)?;
    Ok(CONFIGS.iter().map(|c| c[7] as u64).collect())
}

/// `eglChooseConfig` with an attribute list (without its terminator).
pub fn choose_config(dpy: u64, attribs: &[i32]) -> Result<Vec<u64>, EglError> {
    state().initialized(dpy)?;
    let mut wanted: Vec<(usize, i32)> = Vec::new();
    for pair in attribs.chunks(2) {
        let &[attr, value] = pair else { return Err(EGL_BAD_ATTRIBUTE) };
        if attr == EGL_NONE {
            break;
        }
        let Some(index) = CONFIG_ATTRIBS.iter().position(|&a| a == attr) else {
            // Attributes glwire does not model: accept only "don't care" or a default.
            if value == EGL_DONT_CARE || value == 0 {
                continue;
            }
            match attr {
                // EGL_NATIVE_RENDERABLE, EGL_TRANSPARENT_TYPE, EGL_LEVEL, EGL_BIND_TO_TEXTURE_*,
                // swap intervals: every glwire config satisfies their common requests.
                0x302D | 0x3034 | 0x3029 | 0x3039 | 0x303A | 0x303B | 0x303C | 0x302E | 0x302F => continue,
                _ => return Err(EGL_BAD_ATTRIBUTE),
            }
        };
        if value != EGL_DONT_CARE {
            wanted.push((index, value));
        }
    }
    let mut matches: Vec<&[i32; 16]> = CONFIGS
        .iter()
        .filter(|c| {
            wanted.iter().all(|&(i, v)| match rule(CONFIG_ATTRIBS[i]) {
                Some(Rule::AtLeast) => c[i] >= v,
                Some(Rule::Exact) => c[i] == v,
                Some(Rule::Mask) => c[i] & v == v,
                None => true,
            })
        })
        .collect();
    // EGL's order: deeper color first for the sizes asked for, then smaller buffers,
    // depth and stencil, then the id.
    let asked_color = wanted.iter().any(|&(i, v)| (1..=4).contains(&i) && v > 0);
    matches.sort_by_key(|c| {
        let color = if asked_color { -(c[1] + c[2] + c[3] + c[4]) } else { 0 };
        (color, c[0], c[5], c[6], c[7])
    });
    Ok(matches.iter().map(|c| c[7] as u64).collect())
}

/// `eglGetConfigAttrib`.
pub fn get_config_attrib(dpy: u64, config: u64, attr: i32) -> Result<i32, EglError> {
    state().initialized(dpy)?;
    let row = config_row(config).ok_or(EGL_BAD_CONFIG)?;
    match CONFIG_ATTRIBS.iter().position(|&a| a == attr) {
        Some(i) => Ok(row[i]),
        None => match attr {
            0x302C | 0x302A => Ok(16384), // EGL_MAX_PBUFFER_WIDTH/HEIGHT
            0x302B => Ok(16384 * 16384),  // EGL_MAX_PBUFFER_PIXELS
            0x303B => Ok(0),              // EGL_MIN_SWAP_INTERVAL
            0x303C => Ok(1),              // EGL_MAX_SWAP_INTERVAL
            0x302D | 0x3029 | 0x302E | 0x3039 | 0x303A | 0x303D | 0x303E => Ok(0),
            0x302F | 0x3034 => Ok(EGL_NONE),
            _ => Err(EGL_BAD_ATTRIBUTE),
        },
    }
}

/// `eglCreateContext`: a server context and the client context forwarding to it.
pub fn create_context(dpy: u64, config: u64, share: u64, attribs: &[i32]) -> Result<u64, EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    if config != 0 && config_row(config).is_none() {
        return Err(EGL_BAD_CONFIG);
    }
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
    if !(1..=3).contains(&version) {
        return Err(EGL_BAD_MATCH);
    }
    // The share context must be one of this display's: the server knows it by its id.
    let share_id = match share {
        0 => 0,
        other => match st.contexts.get(&other) {
            Some(c) if c.display == dpy => c.server_id,
            _ => return Err(EGL_BAD_CONTEXT),
        },
    };
    let connection = st.initialized(dpy)?.connection.clone().ok_or(EGL_NOT_INITIALIZED)?;
    drop(st);
    let (server_id, context) = connection.new_shared_context(share_id).map_err(|_| EGL_BAD_ALLOC)?;
    let mut st = state();
    let handle = st.handle();
    st.contexts.insert(handle, ContextSlot { display: dpy, server_id, config, version, idle: Some(context) });
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
    if current_handle() != ctx {
        st.contexts.remove(&ctx);
    }
    Ok(())
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
    st.initialized(dpy)?;
    config_row(config).ok_or(EGL_BAD_CONFIG)?;
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
    let request = wire::control::CreateSurfaceRequest { width: width as u32, height: height as u32 };
    let reply = connection
        .call(wire::control::ControlKind::CreateSurface, zerocopy::IntoBytes::as_bytes(&request))
        .map_err(|_| EGL_BAD_ALLOC)?;
    let server_id = wire::control::HandlePayload::parse(&reply).map_err(|_| EGL_BAD_ALLOC)?.handle;
    let mut st = state();
    let handle = st.handle();
    st.surfaces.insert(handle, SurfaceSlot { display: dpy, server_id, config, width, height });
    Ok(handle)
}

/// `eglDestroySurface`.
pub fn destroy_surface(dpy: u64, surface: u64) -> Result<(), EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    let slot = st.surfaces.remove(&surface).ok_or(EGL_BAD_SURFACE)?;
    let connection = st.initialized(dpy)?.connection.clone();
    drop(st);
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
    // Hand the old context back (after sending what it queued).
    if let Some(mut old) = set_current(None) {
        let _ = old.flush();
        if let Some(slot) = st.contexts.get_mut(&current) {
            slot.idle = Some(old);
        }
    }
    set_current_handle(0);
    if ctx != 0 {
        let slot = st.contexts.get_mut(&ctx).ok_or(EGL_BAD_CONTEXT)?;
        let context = slot.idle.take().ok_or(EGL_BAD_CONTEXT)?;
        let server_context = slot.server_id;
        let server_surface = st.surfaces.get(&draw).map_or(0, |s| s.server_id);
        let connection = st.displays.get(&dpy).and_then(|d| d.connection.clone());
        drop(st);
        set_current(Some(context));
        set_current_handle(ctx);
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
    crate::with_current(|c| c.call(&finish).map(drop)).transpose().map_err(|_| EGL_BAD_ACCESS)?;
    let request = wire::control::MakeCurrentRequest { context, draw_surface: surface, read_surface: surface };
    connection
        .call(wire::control::ControlKind::MakeCurrent, zerocopy::IntoBytes::as_bytes(&request))
        .map(drop)
        .map_err(|_| EGL_BAD_MATCH)
}

/// `eglSwapBuffers` on a pbuffer: the frame is complete, so what was queued is sent.
pub fn swap_buffers(dpy: u64, surface: u64) -> Result<(), EglError> {
    let mut st = state();
    st.initialized(dpy)?;
    if !st.surfaces.contains_key(&surface) {
        return Err(EGL_BAD_SURFACE);
    }
    drop(st);
    crate::with_current(|c| c.flush()).transpose().map_err(|_| EGL_BAD_ACCESS)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn display_without_server(dpy: u64) {
        state().displays.entry(dpy).or_default();
    }

    #[test]
    fn an_uninitialized_display_says_so() {
        display_without_server(0xd1);
        assert_eq!(query_string(0xd1, EGL_VENDOR), Err(EGL_NOT_INITIALIZED));
        assert_eq!(query_string(0xd2, EGL_VENDOR), Err(EGL_BAD_DISPLAY));
    }

    #[test]
    fn config_rows_are_well_formed() {
        for c in CONFIGS {
            assert_eq!(c[0], c[1] + c[2] + c[3] + c[4], "buffer size is the sum of the channels");
            assert!(config_row(c[7] as u64).is_some());
            assert_ne!(c[SURFACE_TYPE] & 0x1, 0, "every config has pbuffers");
            assert_eq!(c[RENDERABLE_TYPE], c[CONFORMANT]);
        }
    }
}
