//! Dispatch stubs for the EGL extension functions glwire implements that libEGL does not
//! know (the KHR sync and image names). libglvnd asks every vendor for a stub
//! (`getDispatchAddress`), hands the program the first one, and tells each vendor the
//! function's dispatch index (`setDispatchIndex`). A stub finds the display's vendor,
//! fetches that vendor's implementation by the index and calls it, so the program's
//! call reaches the right vendor when several are loaded. The implementations live in
//! `egl_hand`; this module owns only the routing.

use core::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::entry::guard;
use crate::types::*;
use crate::vendor::{exports, set_egl_error};

const EGL_BAD_DISPLAY: EGLint = 0x3008;

/// The functions with a stub, in the order of `INDEX`.
const NAMES: [&str; 7] = [
    "eglCreateSyncKHR",
    "eglDestroySyncKHR",
    "eglClientWaitSyncKHR",
    "eglWaitSyncKHR",
    "eglGetSyncAttribKHR",
    "eglCreateImageKHR",
    "eglDestroyImageKHR",
];

/// libglvnd's dispatch index of each of `NAMES` (-1 until it says).
static INDEX: [AtomicI32; NAMES.len()] = [const { AtomicI32::new(-1) }; NAMES.len()];

/// The stub for `name`, or NULL when glwire has none.
pub(crate) fn stub(name: &CStr) -> *const c_void {
    match name.to_bytes() {
        b"eglCreateSyncKHR" => create_sync_khr as *const c_void,
        b"eglDestroySyncKHR" => destroy_sync_khr as *const c_void,
        b"eglClientWaitSyncKHR" => client_wait_sync_khr as *const c_void,
        b"eglWaitSyncKHR" => wait_sync_khr as *const c_void,
        b"eglGetSyncAttribKHR" => get_sync_attrib_khr as *const c_void,
        b"eglCreateImageKHR" => create_image_khr as *const c_void,
        b"eglDestroyImageKHR" => destroy_image_khr as *const c_void,
        _ => core::ptr::null(),
    }
}

/// Records libglvnd's index for `name`.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
pub(crate) unsafe extern "C" fn set_dispatch_index(name: *const c_char, index: c_int) {
    guard((), || {
        if name.is_null() {
            return;
        }
        // SAFETY: the caller's contract.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        if let Some(i) = NAMES.iter().position(|n| n.as_bytes() == name) {
            INDEX[i].store(index, Ordering::Relaxed);
        }
    })
}

/// The implementation of `NAMES[slot]` of the vendor that owns `dpy`, made that
/// thread's last vendor; `None` (with EGL_BAD_DISPLAY) when no vendor has it.
fn resolve(slot: usize, dpy: EGLDisplay) -> Option<*const c_void> {
    let e = exports()?;
    let index = INDEX[slot].load(Ordering::Relaxed);
    let (Some(thread_init), Some(vendor_of), Some(fetch), Some(set_last)) =
        (e.thread_init, e.get_vendor_from_display, e.fetch_dispatch_entry, e.set_last_vendor)
    else {
        return None;
    };
    // SAFETY: libglvnd's own functions, valid for the life of the process, called as
    // libglvnd's dispatch stubs call them.
    unsafe {
        thread_init();
        let vendor = vendor_of(dpy);
        let f = if vendor.is_null() || index < 0 { core::ptr::null() } else { fetch(vendor, index) };
        if f.is_null() {
            set_egl_error(EGL_BAD_DISPLAY);
            return None;
        }
        set_last(vendor);
        Some(f)
    }
}

/// A stub: resolves the implementation, then calls it with the same arguments.
macro_rules! stub {
    ($stub:ident, $slot:expr, ($($arg:ident: $ty:ty),*) -> $ret:ty, $default:expr) => {
        unsafe extern "C" fn $stub(dpy: EGLDisplay $(, $arg: $ty)*) -> $ret {
            guard($default, || {
                let Some(f) = resolve($slot, dpy) else { return $default };
                // SAFETY: `f` is the vendor's implementation of this very function (by
                // libglvnd's index for its name), so it has this signature.
                let f: unsafe extern "C" fn(EGLDisplay $(, $ty)*) -> $ret = unsafe { core::mem::transmute(f) };
                // SAFETY: the program's arguments, passed on unchanged.
                unsafe { f(dpy $(, $arg)*) }
            })
        }
    };
}

stub!(create_sync_khr, 0, (kind: EGLenum, attribs: *const EGLint) -> EGLSyncKHR, core::ptr::null_mut());
stub!(destroy_sync_khr, 1, (sync: EGLSyncKHR) -> EGLBoolean, 0);
stub!(client_wait_sync_khr, 2, (sync: EGLSyncKHR, flags: EGLint, timeout: EGLTime) -> EGLint, 0);
stub!(wait_sync_khr, 3, (sync: EGLSyncKHR, flags: EGLint) -> EGLint, 0);
stub!(get_sync_attrib_khr, 4, (sync: EGLSyncKHR, attr: EGLint, value: *mut EGLint) -> EGLBoolean, 0);
stub!(
    create_image_khr,
    5,
    (ctx: EGLContext, target: EGLenum, buffer: EGLClientBuffer, attribs: *const EGLint) -> EGLImageKHR,
    core::ptr::null_mut()
);
stub!(destroy_image_khr, 6, (image: EGLImageKHR) -> EGLBoolean, 0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_a_stub_and_an_implementation() {
        for name in NAMES {
            let c = std::ffi::CString::new(name).unwrap();
            assert!(!stub(&c).is_null(), "{name}");
            assert!(!crate::egl_hand::proc_address(name.as_bytes()).is_null(), "{name}");
        }
        assert!(stub(c"eglCreateSync").is_null(), "libEGL dispatches EGL 1.5 core itself");
    }
}
