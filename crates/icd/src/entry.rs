//! The panic barrier every entry point goes through: no panic crosses `extern "C"`; a
//! call that fails reports its error (GL: recorded on the context; EGL: the per-thread
//! EGL error) and returns the API's "nothing" value.

use std::panic::{catch_unwind, AssertUnwindSafe};

use client::{CallError, Context, Forward};

/// Runs a GL entry point's body with the current context. Without one the call does
/// nothing, as with native drivers.
pub(crate) fn gl<R>(name: &'static str, default: R, f: impl FnOnce(&mut Context) -> Result<R, CallError>) -> R {
    let body = |ctx: &mut Context| {
        // A lost context runs nothing: each call is GL_CONTEXT_LOST (glGetError only
        // reports it, or a loop draining errors would never end).
        if ctx.is_lost() && name != "glGetError" {
            ctx.record_error(&CallError::Lost(String::new()));
            return Err(());
        }
        f(ctx).map_err(|e| ctx.record_error(&e))
    };
    match catch_unwind(AssertUnwindSafe(|| client::with_current(body))) {
        Ok(Some(Ok(v))) => v,
        Ok(Some(Err(()))) | Ok(None) => default,
        Err(payload) => swallow(payload, default),
    }
}

/// Runs an EGL entry point's body with the process's display link.
pub(crate) fn egl<R>(name: &'static str, default: R, f: impl FnOnce(&mut dyn Forward) -> Result<R, CallError>) -> R {
    let _ = name;
    match catch_unwind(AssertUnwindSafe(|| client::with_display_link(f))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            crate::vendor::set_egl_error(egl_error(&e));
            default
        }
        Err(payload) => swallow(payload, default),
    }
}

/// The EGL error a failed forwarded call reports.
fn egl_error(e: &CallError) -> i32 {
    const EGL_NOT_INITIALIZED: i32 = 0x3001;
    const EGL_BAD_ACCESS: i32 = 0x3002;
    const EGL_BAD_PARAMETER: i32 = 0x300C;
    const EGL_CONTEXT_LOST: i32 = 0x300E;
    match e {
        CallError::NotConnected => EGL_NOT_INITIALIZED,
        CallError::Lost(_) => EGL_CONTEXT_LOST,
        CallError::Egl(code) => *code as i32,
        CallError::Gl(_) => EGL_BAD_PARAMETER,
        CallError::Protocol(_) | CallError::Encode(_) => EGL_BAD_ACCESS,
    }
}

/// Runs the body of an entry point that forwards nothing; a panic gives `default`.
pub(crate) fn guard<R>(default: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => swallow(payload, default),
    }
}

/// A panic payload's own `Drop` could panic again, outside any `catch_unwind`, and
/// abort the program: it is leaked instead (once per bug, a few bytes).
fn swallow<R>(payload: Box<dyn std::any::Any + Send>, default: R) -> R {
    std::mem::forget(payload);
    default
}
