//! The libglvnd EGL vendor contract (`libeglabi.h`, ABI 0.x): `__egl_Main`, the one
//! symbol this library exports, and the import table it hands libglvnd — displays,
//! vendor strings, and name lookups. It owns the per-process display handles and the
//! copy of libglvnd's export table; the EGL semantics behind the entry points are
//! `client`'s (and, for the functions written by hand, `egl_hand`'s).

use core::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use crate::entry::guard;
use crate::types::*;

/// `EGL_VENDOR_ABI_MAJOR_VERSION`: a vendor must refuse any other major version.
const ABI_MAJOR: u32 = 0;
const EGL_NONE: EGLenum = 0x3038;
const EGL_OPENGL_ES_API: EGLenum = 0x30A0;
const EGL_PLATFORM_SURFACELESS_MESA: EGLenum = 0x31DD;
/// Also EGL_PLATFORM_X11_EXT.
const EGL_PLATFORM_X11_KHR: EGLenum = 0x31D5;
/// `__EGL_VENDOR_STRING_PLATFORM_EXTENSIONS`.
const VENDOR_STRING_PLATFORM_EXTENSIONS: c_int = 0;

/// The render server marks its own process with this variable; libglvnd must never
/// load glwire into the process that forwards to the host driver.
pub const SERVER_MARKER: &str = "GLWIRE_RENDER_SERVER";

/// `__EGLapiExports`: what libglvnd offers a vendor (12 function pointers).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ApiExports {
    pub thread_init: Option<unsafe extern "C" fn()>,
    pub get_current_api: Option<unsafe extern "C" fn() -> EGLenum>,
    pub get_current_vendor: Option<unsafe extern "C" fn() -> *mut c_void>,
    pub get_current_context: Option<unsafe extern "C" fn() -> EGLContext>,
    pub get_current_display: Option<unsafe extern "C" fn() -> EGLDisplay>,
    pub get_current_surface: Option<unsafe extern "C" fn(EGLint) -> EGLSurface>,
    pub fetch_dispatch_entry: Option<unsafe extern "C" fn(*mut c_void, c_int) -> *const c_void>,
    pub set_egl_error: Option<unsafe extern "C" fn(EGLint)>,
    pub set_last_vendor: Option<unsafe extern "C" fn(*mut c_void) -> EGLBoolean>,
    pub get_vendor_from_display: Option<unsafe extern "C" fn(EGLDisplay) -> *mut c_void>,
    pub get_vendor_from_device: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    pub set_vendor_for_device: Option<unsafe extern "C" fn(*mut c_void, *mut c_void) -> EGLBoolean>,
}
const _: () = assert!(size_of::<ApiExports>() == 12 * 8);

/// `__EGLapiImports`: what this vendor offers libglvnd (11 function pointers).
#[repr(C)]
#[derive(Debug)]
pub struct ApiImports {
    pub get_platform_display: Option<unsafe extern "C" fn(EGLenum, *mut c_void, *const EGLAttrib) -> EGLDisplay>,
    pub get_supports_api: Option<unsafe extern "C" fn(EGLenum) -> EGLBoolean>,
    pub get_vendor_string: Option<unsafe extern "C" fn(c_int) -> *const c_char>,
    pub get_proc_address: Option<unsafe extern "C" fn(*const c_char) -> *const c_void>,
    pub get_dispatch_address: Option<unsafe extern "C" fn(*const c_char) -> *const c_void>,
    pub set_dispatch_index: Option<unsafe extern "C" fn(*const c_char, c_int)>,
    pub is_patch_supported: Option<unsafe extern "C" fn(c_int, c_int) -> u8>,
    pub initiate_patch: Option<unsafe extern "C" fn()>,
    pub release_patch: Option<unsafe extern "C" fn()>,
    pub patch_thread_attach: Option<unsafe extern "C" fn()>,
    pub find_native_display_platform: Option<unsafe extern "C" fn(*mut c_void) -> EGLenum>,
}
const _: () = assert!(size_of::<ApiImports>() == 11 * 8);

// SAFETY: a table of function pointers libglvnd gave us; they are valid for the life of
// the process and callable from any thread.
unsafe impl Send for ApiExports {}
// SAFETY: as above.
unsafe impl Sync for ApiExports {}

static EXPORTS: OnceLock<ApiExports> = OnceLock::new();

/// libglvnd's export table, once `__egl_Main` ran.
pub fn exports() -> Option<&'static ApiExports> {
    EXPORTS.get()
}

/// The displays this vendor hands out. libglvnd maps each `EGLDisplay` to its vendor
/// process-wide, so the handles are addresses of these statics: unique, never freed.
#[derive(Debug)]
pub struct DisplayTag {
    pub platform: EGLenum,
}
pub static DEFAULT_DISPLAY: DisplayTag = DisplayTag { platform: EGL_NONE };
pub static SURFACELESS_DISPLAY: DisplayTag = DisplayTag { platform: EGL_PLATFORM_SURFACELESS_MESA };
/// Every X11 display: glwire opens its own connection to `$DISPLAY` for window
/// surfaces, whatever `Display *` the program passed (it cannot read Xlib's structure
/// without linking libX11).
pub static X11_DISPLAY: DisplayTag = DisplayTag { platform: EGL_PLATFORM_X11_KHR };

fn handle(tag: &'static DisplayTag) -> EGLDisplay {
    (tag as *const DisplayTag).cast_mut().cast()
}

/// The vendor library's entry point, called by libglvnd when it loads the library.
///
/// # Safety
/// Called by libglvnd with valid `exports` and `imports` tables (`libeglabi.h`).
#[no_mangle]
pub unsafe extern "C" fn __egl_Main(
    version: u32,
    exports: *const ApiExports,
    _vendor: *mut c_void,
    imports: *mut ApiImports,
) -> EGLBoolean {
    guard(0, || {
        if version >> 16 != ABI_MAJOR || exports.is_null() || imports.is_null() {
            return 0;
        }
        if std::env::var_os(SERVER_MARKER).is_some() {
            // The render server itself: load the host driver, never glwire.
            return 0;
        }
        // SAFETY: libglvnd passes a valid export table that outlives the process.
        let table = unsafe { *exports };
        let _ = EXPORTS.set(table);
        client::set_client_memory(&crate::ptr::AppMemory);
        // SAFETY: libglvnd passes a writable import table for us to fill.
        let imports = unsafe { &mut *imports };
        imports.get_platform_display = Some(get_platform_display);
        imports.get_supports_api = Some(get_supports_api);
        imports.get_vendor_string = Some(get_vendor_string);
        imports.get_proc_address = Some(get_proc_address);
        imports.get_dispatch_address = Some(get_dispatch_address);
        imports.set_dispatch_index = Some(crate::egl_dispatch::set_dispatch_index);
        imports.find_native_display_platform = None;
        1
    })
}

/// The default display (`EGL_DEFAULT_DISPLAY`), the surfaceless platform, and X11
/// displays (the X11 platform, or a native display libglvnd could not place: as Mesa
/// does, glwire takes it for an Xlib `Display *`), whose configs can back windows.
unsafe extern "C" fn get_platform_display(platform: EGLenum, native: *mut c_void, _: *const EGLAttrib) -> EGLDisplay {
    guard(std::ptr::null_mut(), || match platform {
        EGL_NONE if native.is_null() => handle(&DEFAULT_DISPLAY),
        EGL_PLATFORM_SURFACELESS_MESA if native.is_null() => handle(&SURFACELESS_DISPLAY),
        EGL_PLATFORM_X11_KHR | EGL_NONE => {
            let dpy = handle(&X11_DISPLAY);
            client::egl::register_x11_display(dpy as u64);
            dpy
        }
        _ => std::ptr::null_mut(),
    })
}

unsafe extern "C" fn get_supports_api(api: EGLenum) -> EGLBoolean {
    EGLBoolean::from(api == EGL_OPENGL_ES_API)
}

unsafe extern "C" fn get_vendor_string(name: c_int) -> *const c_char {
    match name {
        // What waffle and piglit look for to use the surfaceless platform.
        VENDOR_STRING_PLATFORM_EXTENSIONS => {
            c"EGL_MESA_platform_surfaceless EGL_KHR_platform_x11 EGL_EXT_platform_x11".as_ptr()
        }
        _ => std::ptr::null(),
    }
}

/// Every GL and EGL function glwire implements, by name.
unsafe extern "C" fn get_proc_address(name: *const c_char) -> *const c_void {
    guard(std::ptr::null(), || {
        if name.is_null() {
            return std::ptr::null();
        }
        // SAFETY: libglvnd passes a NUL-terminated function name.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        let p = crate::procs::proc_address(name);
        if p.is_null() {
            crate::egl_hand::proc_address(name)
        } else {
            p
        }
    })
}

/// A dispatch stub for an EGL extension function libEGL does not know (`egl_dispatch`).
unsafe extern "C" fn get_dispatch_address(name: *const c_char) -> *const c_void {
    guard(std::ptr::null(), || {
        if name.is_null() {
            return std::ptr::null();
        }
        // SAFETY: libglvnd passes a NUL-terminated function name.
        crate::egl_dispatch::stub(unsafe { CStr::from_ptr(name) })
    })
}

/// Reports an EGL error to the program through libglvnd (which then answers
/// `eglGetError` from its own record for the calling thread).
pub fn set_egl_error(code: EGLint) {
    crate::egl_hand::record_error(code);
    if let Some(set) = exports().and_then(|e| e.set_egl_error) {
        // SAFETY: libglvnd's own function, valid for the life of the process.
        unsafe { set(code) };
    }
}
