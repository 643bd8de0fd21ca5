//! The panic barrier every entry point goes through: no panic crosses `extern "C"`; a
//! call that fails reports its error (GL: recorded on the context; EGL: the per-thread
//! EGL error) and returns the API's "nothing" value.

use std::panic::{catch_unwind, AssertUnwindSafe};

use client::{CallError, Context, Forward};

/// Runs a GL entry point's body with the current context. Without one the call does
/// nothing, as with native drivers.
pub(crate) fn gl<R>(name: &'static str, default: R, f: impl FnOnce(&mut Context) -> Result<R, CallError>) -> R {
    let _ = name;
    match catch_unwind(AssertUnwindSafe(|| client::with_current(|ctx| f(ctx).map_err(|e| ctx.record_error(&e))))) {
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
        // The EGL error reaches the program through libglvnd's setEGLError once the
        // vendor is loadable (the ICD issue).
        Ok(Err(_)) => default,
        Err(payload) => swallow(payload, default),
    }
}

/// A panic payload's own `Drop` could panic again, outside any `catch_unwind`, and
/// abort the program: it is leaked instead (once per bug, a few bytes).
fn swallow<R>(payload: Box<dyn std::any::Any + Send>, default: R) -> R {
    std::mem::forget(payload);
    default
}
