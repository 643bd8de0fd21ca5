//! The EGL entry points the ICD writes by hand: displays, configs, contexts, pbuffers,
//! make-current, X11 window surfaces and sync objects (their logic is `client::egl`'s;
//! these shims only move values between pointers and slices), `eglGetError`, and the
//! pixmap surfaces, which fail with the EGL error the spec names (glwire renders no
//! pixmaps). It owns the per-thread EGL error: every entry point here leaves
//! EGL_SUCCESS or the error it failed with.

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
    let _ = LAST_ERROR.try_with(|e| e.set(code));
}

/// # Safety
/// An EGL entry point; takes no pointers.
unsafe extern "C" fn egl_get_error() -> EGLint {
    guard(EGL_SUCCESS, || LAST_ERROR.try_with(|e| e.replace(EGL_SUCCESS)).unwrap_or(EGL_SUCCESS))
}

fn fail<T>(code: EGLint, value: T) -> T {
    crate::vendor::set_egl_error(code);
    value
}

/// # Safety
/// An EGL entry point: `window` is an X window id (`Window`, passed by value);
/// `attrib_list` is NULL or EGL_NONE-terminated.
unsafe extern "C" fn egl_create_window_surface(
    dpy: EGLDisplay,
    config: EGLConfig,
    window: EGLNativeWindowType,
    attrib_list: *const EGLint,
) -> EGLSurface {
    egl_call(std::ptr::null_mut(), || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list = unsafe { attribs(attrib_list) }?;
        client::egl::create_window_surface(handle(dpy), handle(config), window, &list).map(from_handle)
    })
}

/// # Safety
/// An EGL entry point: on the X11 platform `native_window` points to a `Window` (EGL
/// 1.5 and EGL_KHR_platform_x11), or is NULL; `attrib_list` is NULL or
/// EGL_NONE-terminated.
unsafe extern "C" fn egl_create_platform_window_surface(
    dpy: EGLDisplay,
    config: EGLConfig,
    native_window: *mut c_void,
    attrib_list: *const EGLAttrib,
) -> EGLSurface {
    egl_call(std::ptr::null_mut(), || {
        if native_window.is_null() {
            return Err(EGL_BAD_NATIVE_WINDOW);
        }
        // SAFETY: the platform's contract (above): a readable X11 `Window` (an
        // unsigned long) behind a non-NULL pointer.
        let window = unsafe { native_window.cast::<core::ffi::c_ulong>().read_unaligned() };
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list = unsafe { attribs_wide(attrib_list) }?;
        let list: Vec<EGLint> = list.iter().map(|&v| v as EGLint).collect();
        client::egl::create_window_surface(handle(dpy), handle(config), window, &list).map(from_handle)
    })
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

/// Runs an EGL entry point's body: a panic gives `default`, an error is reported as
/// the thread's EGL error and gives `default`, success leaves EGL_SUCCESS (EGL 1.5
/// §3.1: every call sets the error, so one read after a success must not see an older
/// failure).
fn egl_call<R: Copy>(default: R, f: impl FnOnce() -> Result<R, client::egl::EglError>) -> R {
    match guard(Err(0x3002), f) {
        Ok(v) => {
            record_error(EGL_SUCCESS);
            v
        }
        Err(code) => fail(code, default),
    }
}

/// Writes `value` through an optional output pointer.
///
/// # Safety
/// `p` is NULL or valid for writing one `T`.
unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: non-NULL, and the caller guarantees it is writable.
        unsafe { p.write(value) };
    }
}

fn handle<T>(p: *mut T) -> u64 {
    p as usize as u64
}

fn from_handle(h: u64) -> *mut c_void {
    h as usize as *mut c_void
}

/// The attributes before `EGL_NONE`, copied out.
///
/// # Safety
/// `p` is NULL or an `EGL_NONE`-terminated attribute list.
unsafe fn attribs(p: *const EGLint) -> Result<Vec<EGLint>, client::egl::EglError> {
    // SAFETY: forwarded from the caller.
    let list = unsafe { crate::ptr::attrib_list(p) }.map_err(|_| client::egl::EGL_BAD_ATTRIBUTE)?;
    Ok(list.map(|l| l[..l.len() - 1].to_vec()).unwrap_or_default())
}

/// [`attribs`] for `EGLAttrib` lists.
///
/// # Safety
/// `p` is NULL or an `EGL_NONE`-terminated attribute list.
unsafe fn attribs_wide(p: *const EGLAttrib) -> Result<Vec<i64>, client::egl::EglError> {
    // SAFETY: forwarded from the caller; EGLAttrib is 64 bits (`types` refuses other targets).
    let list = unsafe { crate::ptr::attrib_list(p.cast::<i64>()) }.map_err(|_| client::egl::EGL_BAD_ATTRIBUTE)?;
    Ok(list.map(|l| l[..l.len() - 1].to_vec()).unwrap_or_default())
}

/// Copies a list of config handles out as `eglGetConfigs`/`eglChooseConfig` do: all of
/// them counted when `configs` is NULL, at most `size` written otherwise.
///
/// # Safety
/// `configs` is NULL or has room for `size` configs; `num` is NULL or writable.
unsafe fn put_configs(
    list: &[u64],
    configs: *mut EGLConfig,
    size: EGLint,
    num: *mut EGLint,
) -> Result<EGLBoolean, client::egl::EglError> {
    if num.is_null() {
        return Err(client::egl::EGL_BAD_PARAMETER);
    }
    let n = if configs.is_null() { list.len() } else { list.len().min(usize::try_from(size).unwrap_or(0)) };
    for (i, &c) in list.iter().take(n).enumerate().filter(|_| !configs.is_null()) {
        // SAFETY: `i < size`, within the caller's array.
        unsafe { configs.add(i).write(from_handle(c)) };
    }
    // SAFETY: checked non-NULL above; writable by contract.
    unsafe { num.write(n as EGLint) };
    Ok(1)
}

unsafe extern "C" fn egl_initialize(dpy: EGLDisplay, major: *mut EGLint, minor: *mut EGLint) -> EGLBoolean {
    egl_call(0, || {
        let (a, b) = client::egl::initialize(handle(dpy))?;
        // SAFETY: NULL or writable, by the EGL contract.
        unsafe {
            put(major, a);
            put(minor, b);
        }
        Ok(1)
    })
}

unsafe extern "C" fn egl_terminate(dpy: EGLDisplay) -> EGLBoolean {
    egl_call(0, || client::egl::terminate(handle(dpy)).map(|()| 1))
}

unsafe extern "C" fn egl_query_string(dpy: EGLDisplay, name: EGLint) -> *const core::ffi::c_char {
    egl_call(std::ptr::null(), || client::egl::query_string(handle(dpy), name).map(|s| s.as_ptr()))
}

unsafe extern "C" fn egl_get_configs(
    dpy: EGLDisplay,
    configs: *mut EGLConfig,
    size: EGLint,
    num: *mut EGLint,
) -> EGLBoolean {
    egl_call(0, || {
        let list = client::egl::get_configs(handle(dpy))?;
        // SAFETY: the EGL contract for eglGetConfigs.
        unsafe { put_configs(&list, configs, size, num) }
    })
}

unsafe extern "C" fn egl_choose_config(
    dpy: EGLDisplay,
    attrib_list: *const EGLint,
    configs: *mut EGLConfig,
    size: EGLint,
    num: *mut EGLint,
) -> EGLBoolean {
    egl_call(0, || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let wanted = unsafe { attribs(attrib_list) }?;
        let list = client::egl::choose_config(handle(dpy), &wanted)?;
        // SAFETY: the EGL contract for eglChooseConfig.
        unsafe { put_configs(&list, configs, size, num) }
    })
}

unsafe extern "C" fn egl_get_config_attrib(
    dpy: EGLDisplay,
    config: EGLConfig,
    attr: EGLint,
    value: *mut EGLint,
) -> EGLBoolean {
    egl_call(0, || {
        let v = client::egl::get_config_attrib(handle(dpy), handle(config), attr)?;
        // SAFETY: NULL or writable, by the EGL contract.
        unsafe { put(value, v) };
        Ok(1)
    })
}

unsafe extern "C" fn egl_create_context(
    dpy: EGLDisplay,
    config: EGLConfig,
    share: EGLContext,
    attrib_list: *const EGLint,
) -> EGLContext {
    egl_call(std::ptr::null_mut(), || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list = unsafe { attribs(attrib_list) }?;
        client::egl::create_context(handle(dpy), handle(config), handle(share), &list).map(from_handle)
    })
}

unsafe extern "C" fn egl_destroy_context(dpy: EGLDisplay, ctx: EGLContext) -> EGLBoolean {
    egl_call(0, || client::egl::destroy_context(handle(dpy), handle(ctx)).map(|()| 1))
}

unsafe extern "C" fn egl_query_context(
    dpy: EGLDisplay,
    ctx: EGLContext,
    attr: EGLint,
    value: *mut EGLint,
) -> EGLBoolean {
    egl_call(0, || {
        let v = client::egl::query_context(handle(dpy), handle(ctx), attr)?;
        // SAFETY: NULL or writable, by the EGL contract.
        unsafe { put(value, v) };
        Ok(1)
    })
}

unsafe extern "C" fn egl_create_pbuffer_surface(
    dpy: EGLDisplay,
    config: EGLConfig,
    attrib_list: *const EGLint,
) -> EGLSurface {
    egl_call(std::ptr::null_mut(), || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list = unsafe { attribs(attrib_list) }?;
        client::egl::create_pbuffer_surface(handle(dpy), handle(config), &list).map(from_handle)
    })
}

unsafe extern "C" fn egl_destroy_surface(dpy: EGLDisplay, surface: EGLSurface) -> EGLBoolean {
    egl_call(0, || client::egl::destroy_surface(handle(dpy), handle(surface)).map(|()| 1))
}

unsafe extern "C" fn egl_query_surface(
    dpy: EGLDisplay,
    surface: EGLSurface,
    attr: EGLint,
    value: *mut EGLint,
) -> EGLBoolean {
    egl_call(0, || {
        let v = client::egl::query_surface(handle(dpy), handle(surface), attr)?;
        // SAFETY: NULL or writable, by the EGL contract.
        unsafe { put(value, v) };
        Ok(1)
    })
}

unsafe extern "C" fn egl_surface_attrib(dpy: EGLDisplay, surface: EGLSurface, attr: EGLint, _: EGLint) -> EGLBoolean {
    egl_call(0, || client::egl::surface_attrib(handle(dpy), handle(surface), attr).map(|()| 1))
}

unsafe extern "C" fn egl_make_current(
    dpy: EGLDisplay,
    draw: EGLSurface,
    read: EGLSurface,
    ctx: EGLContext,
) -> EGLBoolean {
    egl_call(0, || client::egl::make_current(handle(dpy), handle(draw), handle(read), handle(ctx)).map(|()| 1))
}

unsafe extern "C" fn egl_swap_buffers(dpy: EGLDisplay, surface: EGLSurface) -> EGLBoolean {
    egl_call(0, || client::egl::swap_buffers(handle(dpy), handle(surface)).map(|()| 1))
}

unsafe extern "C" fn egl_swap_interval(dpy: EGLDisplay, interval: EGLint) -> EGLBoolean {
    egl_call(0, || client::egl::swap_interval(handle(dpy), interval).map(|()| 1))
}

unsafe extern "C" fn egl_bind_api(api: EGLenum) -> EGLBoolean {
    const EGL_OPENGL_ES_API: EGLenum = 0x30A0;
    egl_call(0, || if api == EGL_OPENGL_ES_API { Ok(1) } else { Err(client::egl::EGL_BAD_PARAMETER) })
}

unsafe extern "C" fn egl_wait_client() -> EGLBoolean {
    // Everything queued reaches the server; the server runs it in order.
    egl_call(0, || {
        client::with_current(|c| c.flush()).transpose().map_err(|_| client::egl::EGL_BAD_ACCESS)?;
        Ok(1)
    })
}

unsafe extern "C" fn egl_wait_native(engine: EGLint) -> EGLBoolean {
    const EGL_CORE_NATIVE_ENGINE: EGLint = 0x305B;
    // No native rendering reaches glwire's surfaces: there is nothing to wait for.
    egl_call(0, || if engine == EGL_CORE_NATIVE_ENGINE { Ok(1) } else { Err(client::egl::EGL_BAD_PARAMETER) })
}

unsafe extern "C" fn egl_release_thread() -> EGLBoolean {
    egl_call(0, || client::egl::release_thread().map(|()| 1))
}

unsafe extern "C" fn egl_bind_tex_image(_: EGLDisplay, _: EGLSurface, _: EGLint) -> EGLBoolean {
    egl_call(0, || Err(client::egl::EGL_BAD_MATCH))
}

unsafe extern "C" fn egl_create_sync(dpy: EGLDisplay, kind: EGLenum, attrib_list: *const EGLAttrib) -> EGLSync {
    egl_call(std::ptr::null_mut(), || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list = unsafe { attribs_wide(attrib_list) }?;
        client::egl::create_sync(handle(dpy), kind as i32, &list).map(from_handle)
    })
}

unsafe extern "C" fn egl_create_sync_khr(dpy: EGLDisplay, kind: EGLenum, attrib_list: *const EGLint) -> EGLSyncKHR {
    egl_call(std::ptr::null_mut(), || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list: Vec<i64> = unsafe { attribs(attrib_list) }?.into_iter().map(i64::from).collect();
        client::egl::create_sync(handle(dpy), kind as i32, &list).map(from_handle)
    })
}

/// `eglDestroySync` and `eglDestroySyncKHR` (the same signature).
unsafe extern "C" fn egl_destroy_sync(dpy: EGLDisplay, sync: EGLSync) -> EGLBoolean {
    egl_call(0, || client::egl::destroy_sync(handle(dpy), handle(sync)).map(|()| 1))
}

/// `eglClientWaitSync` and `eglClientWaitSyncKHR` (the same signature).
unsafe extern "C" fn egl_client_wait_sync(dpy: EGLDisplay, sync: EGLSync, flags: EGLint, timeout: EGLTime) -> EGLint {
    egl_call(0, || client::egl::client_wait_sync(handle(dpy), handle(sync), flags, timeout))
}

unsafe extern "C" fn egl_wait_sync(dpy: EGLDisplay, sync: EGLSync, flags: EGLint) -> EGLBoolean {
    egl_call(0, || client::egl::wait_sync(handle(dpy), handle(sync), flags).map(|()| 1))
}

unsafe extern "C" fn egl_wait_sync_khr(dpy: EGLDisplay, sync: EGLSyncKHR, flags: EGLint) -> EGLint {
    egl_call(0, || client::egl::wait_sync(handle(dpy), handle(sync), flags).map(|()| 1))
}

unsafe extern "C" fn egl_get_sync_attrib(
    dpy: EGLDisplay,
    sync: EGLSync,
    attr: EGLint,
    value: *mut EGLAttrib,
) -> EGLBoolean {
    egl_call(0, || {
        let v = client::egl::get_sync_attrib(handle(dpy), handle(sync), attr)?;
        // SAFETY: NULL or writable, by the EGL contract.
        unsafe { put(value, v as EGLAttrib) };
        Ok(1)
    })
}

unsafe extern "C" fn egl_get_sync_attrib_khr(
    dpy: EGLDisplay,
    sync: EGLSyncKHR,
    attr: EGLint,
    value: *mut EGLint,
) -> EGLBoolean {
    egl_call(0, || {
        let v = client::egl::get_sync_attrib(handle(dpy), handle(sync), attr)?;
        // SAFETY: NULL or writable, by the EGL contract.
        unsafe { put(value, v) };
        Ok(1)
    })
}

unsafe extern "C" fn egl_create_image(
    dpy: EGLDisplay,
    ctx: EGLContext,
    target: EGLenum,
    buffer: EGLClientBuffer,
    attrib_list: *const EGLAttrib,
) -> EGLImage {
    egl_call(std::ptr::null_mut(), || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list = unsafe { attribs_wide(attrib_list) }?;
        client::egl::create_image(handle(dpy), handle(ctx), target as i32, buffer as usize as u64, &list)
            .map(from_handle)
    })
}

unsafe extern "C" fn egl_create_image_khr(
    dpy: EGLDisplay,
    ctx: EGLContext,
    target: EGLenum,
    buffer: EGLClientBuffer,
    attrib_list: *const EGLint,
) -> EGLImageKHR {
    egl_call(std::ptr::null_mut(), || {
        // SAFETY: the EGL contract: NULL or EGL_NONE-terminated.
        let list: Vec<i64> = unsafe { attribs(attrib_list) }?.into_iter().map(i64::from).collect();
        client::egl::create_image(handle(dpy), handle(ctx), target as i32, buffer as usize as u64, &list)
            .map(from_handle)
    })
}

/// `eglDestroyImage` and `eglDestroyImageKHR` (the same signature).
unsafe extern "C" fn egl_destroy_image(dpy: EGLDisplay, image: EGLImage) -> EGLBoolean {
    egl_call(0, || client::egl::destroy_image(handle(dpy), handle(image)).map(|()| 1))
}

/// The hand-written entry point called `name`, or NULL.
pub fn proc_address(name: &[u8]) -> *const c_void {
    match name {
        b"eglInitialize" => egl_initialize as *const c_void,
        b"eglTerminate" => egl_terminate as *const c_void,
        b"eglQueryString" => egl_query_string as *const c_void,
        b"eglGetConfigs" => egl_get_configs as *const c_void,
        b"eglChooseConfig" => egl_choose_config as *const c_void,
        b"eglGetConfigAttrib" => egl_get_config_attrib as *const c_void,
        b"eglCreateContext" => egl_create_context as *const c_void,
        b"eglDestroyContext" => egl_destroy_context as *const c_void,
        b"eglQueryContext" => egl_query_context as *const c_void,
        b"eglCreatePbufferSurface" => egl_create_pbuffer_surface as *const c_void,
        b"eglDestroySurface" => egl_destroy_surface as *const c_void,
        b"eglQuerySurface" => egl_query_surface as *const c_void,
        b"eglSurfaceAttrib" => egl_surface_attrib as *const c_void,
        b"eglMakeCurrent" => egl_make_current as *const c_void,
        b"eglSwapBuffers" => egl_swap_buffers as *const c_void,
        b"eglSwapInterval" => egl_swap_interval as *const c_void,
        b"eglBindAPI" => egl_bind_api as *const c_void,
        b"eglWaitClient" | b"eglWaitGL" => egl_wait_client as *const c_void,
        b"eglWaitNative" => egl_wait_native as *const c_void,
        b"eglReleaseThread" => egl_release_thread as *const c_void,
        b"eglBindTexImage" | b"eglReleaseTexImage" => egl_bind_tex_image as *const c_void,
        b"eglGetError" => egl_get_error as *const c_void,
        b"eglCreateWindowSurface" => egl_create_window_surface as *const c_void,
        b"eglCreatePlatformWindowSurface" => egl_create_platform_window_surface as *const c_void,
        b"eglCreatePixmapSurface" => egl_create_pixmap_surface as *const c_void,
        b"eglCreatePlatformPixmapSurface" => egl_create_platform_pixmap_surface as *const c_void,
        b"eglCopyBuffers" => egl_copy_buffers as *const c_void,
        b"eglCreatePbufferFromClientBuffer" => egl_create_pbuffer_from_client_buffer as *const c_void,
        b"eglCreateSync" => egl_create_sync as *const c_void,
        b"eglCreateSyncKHR" => egl_create_sync_khr as *const c_void,
        b"eglDestroySync" | b"eglDestroySyncKHR" => egl_destroy_sync as *const c_void,
        b"eglClientWaitSync" | b"eglClientWaitSyncKHR" => egl_client_wait_sync as *const c_void,
        b"eglWaitSync" => egl_wait_sync as *const c_void,
        b"eglWaitSyncKHR" => egl_wait_sync_khr as *const c_void,
        b"eglGetSyncAttrib" => egl_get_sync_attrib as *const c_void,
        b"eglGetSyncAttribKHR" => egl_get_sync_attrib_khr as *const c_void,
        b"eglCreateImage" => egl_create_image as *const c_void,
        b"eglCreateImageKHR" => egl_create_image_khr as *const c_void,
        b"eglDestroyImage" | b"eglDestroyImageKHR" => egl_destroy_image as *const c_void,
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
    fn a_success_clears_an_earlier_error() {
        record_error(EGL_BAD_PARAMETER);
        // SAFETY: takes no pointers.
        assert_eq!(unsafe { egl_wait_native(0x305B) }, 1); // EGL_CORE_NATIVE_ENGINE
                                                           // SAFETY: takes no arguments.
        assert_eq!(unsafe { egl_get_error() }, EGL_SUCCESS);
        // SAFETY: takes no pointers.
        assert_eq!(unsafe { egl_wait_native(0) }, 0);
        // SAFETY: takes no arguments.
        assert_eq!(unsafe { egl_get_error() }, EGL_BAD_PARAMETER);
    }

    /// The sync entry points, EGL 1.5's and EGL_KHR_fence_sync's / EGL_KHR_wait_sync's.
    const SYNC_NAMES: [&str; 10] = [
        "eglCreateSync",
        "eglCreateSyncKHR",
        "eglDestroySync",
        "eglDestroySyncKHR",
        "eglClientWaitSync",
        "eglClientWaitSyncKHR",
        "eglWaitSync",
        "eglWaitSyncKHR",
        "eglGetSyncAttrib",
        "eglGetSyncAttribKHR",
    ];

    #[test]
    fn sync_entry_points_are_here() {
        for name in SYNC_NAMES {
            assert!(!proc_address(name.as_bytes()).is_null(), "{name}");
        }
    }

    /// libglvnd looks names up in the generated table first: a generated forwarding
    /// shim of the same name (which the server does not answer) would hide the
    /// hand-written one (`icd = "hand"` in codegen/annotations.toml keeps it out).
    #[test]
    fn no_generated_shim_hides_the_sync_entry_points() {
        for name in SYNC_NAMES {
            assert!(crate::procs::proc_address(name.as_bytes()).is_null(), "{name} is generated");
        }
    }

    #[test]
    fn sync_calls_on_an_unknown_display_fail_with_egl_errors() {
        let dpy = 0x5ca1ab1e_usize as EGLDisplay;
        // SAFETY: NULL attribute list; the display is only used as a key.
        let sync = unsafe { egl_create_sync(dpy, 0x30F9, std::ptr::null()) };
        assert!(sync.is_null());
        // SAFETY: takes no arguments.
        assert_eq!(unsafe { egl_get_error() }, 0x3008); // EGL_BAD_DISPLAY
        let mut value: EGLAttrib = 7;
        // SAFETY: `value` is writable.
        assert_eq!(unsafe { egl_get_sync_attrib(dpy, 0x10 as EGLSync, 0x30F7, &mut value) }, 0);
        assert_eq!(value, 7, "nothing written on failure");
        // SAFETY: no pointer is dereferenced.
        assert_eq!(unsafe { egl_client_wait_sync(dpy, 0x10 as EGLSync, 0, 0) }, 0);
        // SAFETY: takes no arguments.
        assert_eq!(unsafe { egl_get_error() }, 0x3008);
    }

    #[test]
    fn native_surfaces_fail_with_the_spec_errors() {
        // SAFETY: no pointer is dereferenced.
        let s = unsafe { egl_create_pixmap_surface(std::ptr::null_mut(), std::ptr::null_mut(), 0, std::ptr::null()) };
        assert!(s.is_null());
        // SAFETY: takes no arguments.
        assert_eq!(unsafe { egl_get_error() }, EGL_BAD_NATIVE_PIXMAP);
        // Window surfaces are made; a display that is not one is EGL's first check.
        // SAFETY: no pointer is dereferenced.
        let s = unsafe { egl_create_window_surface(std::ptr::null_mut(), std::ptr::null_mut(), 0, std::ptr::null()) };
        assert!(s.is_null());
        // SAFETY: takes no arguments.
        assert_eq!(unsafe { egl_get_error() }, 0x3008); // EGL_BAD_DISPLAY
    }
}
