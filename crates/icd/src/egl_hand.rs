//! The EGL entry points the ICD writes by hand: `eglGetError`, and the surfaces that
//! need a native window or pixmap, which fail with the EGL error the spec names until
//! X11 window surfaces land (the frames issue). It owns the per-thread EGL error.

use core::ffi::c_void;
use std::cell::Cell;

use crate::entry::guard;
use crate::types::*;

const EGL_SUCCESS: EGLint = 0x3000;
const EGL_BAD_NATIVE_PIXMAP: EGLint = 0x300A;
const EGL_BAD_NATIVE_WINDOW: EGLint = 0x300B;
const EGL_BAD_PARAMETER: EGLint = 0x300C;

thread_local! {
    static LAST_ERROR: Cell<EGLint> = const { Cell::new(EGL_SUCCESS) };
}

/// Records `code` as this thread's last EGL error.
pub fn record_error(code: EGLint) {
    LAST_ERROR.with(|e| e.set(code));
}

/// # Safety
/// An EGL entry point; takes no pointers.
unsafe extern "C" fn egl_get_error() -> EGLint {
    guard(EGL_SUCCESS, || LAST_ERROR.with(|e| e.replace(EGL_SUCCESS)))
}

fn fail<T>(code: EGLint, value: T) -> T {
    crate::vendor::set_egl_error(code);
    value
}

/// # Safety
/// An EGL entry point; no pointer is dereferenced.
unsafe extern "C" fn egl_create_window_surface(
    _: EGLDisplay,
    _: EGLConfig,
    _: EGLNativeWindowType,
    _: *const EGLint,
) -> EGLSurface {
    guard(std::ptr::null_mut(), || fail(EGL_BAD_NATIVE_WINDOW, std::ptr::null_mut()))
}

/// # Safety
/// An EGL entry point; no pointer is dereferenced.
unsafe extern "C" fn egl_create_platform_window_surface(
    _: EGLDisplay,
    _: EGLConfig,
    _: *mut c_void,
    _: *const EGLAttrib,
) -> EGLSurface {
    guard(std::ptr::null_mut(), || fail(EGL_BAD_NATIVE_WINDOW, std::ptr::null_mut()))
}

/// # Safety
/// An EGL entry point; no pointer is dereferenced.
unsafe extern "C" fn egl_create_pixmap_surface(
    _: EGLDisplay,
    _: EGLConfig,
    _: EGLNativePixmapType,
    _: *const EGLint,
) -> EGLSurface {
    guard(std::ptr::null_mut(), || fail(EGL_BAD_NATIVE_PIXMAP, std::ptr::null_mut()))
}

/// # Safety
/// An EGL entry point; no pointer is dereferenced.
unsafe extern "C" fn egl_create_platform_pixmap_surface(
    _: EGLDisplay,
    _: EGLConfig,
    _: *mut c_void,
    _: *const EGLAttrib,
) -> EGLSurface {
    guard(std::ptr::null_mut(), || fail(EGL_BAD_NATIVE_PIXMAP, std::ptr::null_mut()))
}

/// # Safety
/// An EGL entry point; no pointer is dereferenced.
unsafe extern "C" fn egl_copy_buffers(_: EGLDisplay, _: EGLSurface, _: EGLNativePixmapType) -> EGLBoolean {
    guard(0, || fail(EGL_BAD_NATIVE_PIXMAP, 0))
}

/// # Safety
/// An EGL entry point; no pointer is dereferenced.
unsafe extern "C" fn egl_create_pbuffer_from_client_buffer(
    _: EGLDisplay,
    _: EGLenum,
    _: EGLClientBuffer,
    _: EGLConfig,
    _: *const EGLint,
) -> EGLSurface {
    guard(std::ptr::null_mut(), || fail(EGL_BAD_PARAMETER, std::ptr::null_mut()))
}

/// The hand-written entry point called `name`, or NULL.
pub fn proc_address(name: &[u8]) -> *const c_void {
    match name {
        b"eglGetError" => egl_get_error as *const c_void,
        b"eglCreateWindowSurface" => egl_create_window_surface as *const c_void,
        b"eglCreatePlatformWindowSurface" => egl_create_platform_window_surface as *const c_void,
        b"eglCreatePixmapSurface" => egl_create_pixmap_surface as *const c_void,
        b"eglCreatePlatformPixmapSurface" => egl_create_platform_pixmap_surface as *const c_void,
        b"eglCopyBuffers" => egl_copy_buffers as *const c_void,
        b"eglCreatePbufferFromClientBuffer" => egl_create_pbuffer_from_client_buffer as *const c_void,
        _ => std::ptr::null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_per_thread_and_reset_when_read() {
        record_error(EGL_BAD_PARAMETER);
        std::thread::spawn(|| {
            // SAFETY: takes no arguments.
            assert_eq!(unsafe { egl_get_error() }, EGL_SUCCESS);
        })
        .join()
        .unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { egl_get_error() }, EGL_BAD_PARAMETER);
        // SAFETY: as above.
        assert_eq!(unsafe { egl_get_error() }, EGL_SUCCESS);
    }

    #[test]
    fn native_surfaces_fail_with_the_spec_errors() {
        // SAFETY: no pointer is dereferenced.
        let s = unsafe { egl_create_window_surface(std::ptr::null_mut(), std::ptr::null_mut(), 0, std::ptr::null()) };
        assert!(s.is_null());
        // SAFETY: takes no arguments.
        assert_eq!(unsafe { egl_get_error() }, EGL_BAD_NATIVE_WINDOW);
    }
}
