//! Loading the host's GLES entry points: the hand-written half of `GlesFns` (the struct
//! and its per-function loads are generated). It decides which functions the host must
//! have (everything up to ES 3.0) and reports the rest as missing instead of failing, so
//! an ES 3.0 driver still serves ES 2.0/3.0 programs. It does not call GL.

use core::ffi::{c_void, CStr};
use core::fmt;

use crate::error::BackendError;
use crate::generated::{GlesFns, GLES_FUNCTIONS};

/// The ES version every host must reach: glwire's own contexts are ES 3.0 or newer.
pub const REQUIRED_VERSION: (u8, u8) = (3, 0);

/// One GLES function: its name and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FnInfo {
    pub name: &'static str,
    pub since: Since,
}

/// What introduced a GLES function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// A core ES version.
    Es(u8, u8),
    /// A GLES extension, which the host may lack.
    Extension(&'static str),
}

impl FnInfo {
    /// Whether every host must have it (core up to [`REQUIRED_VERSION`]).
    pub fn required(&self) -> bool {
        matches!(self.since, Since::Es(a, b) if (a, b) <= REQUIRED_VERSION)
    }
}

/// A host function pointer from its address.
///
/// # Safety
/// `F` must be an `unsafe extern "C" fn` type, and `p` NULL or the address of a
/// function with exactly that signature.
pub(crate) unsafe fn fn_ptr<F: Copy>(p: *const c_void) -> Option<F> {
    const { assert!(size_of::<F>() == size_of::<*const c_void>()) };
    if p.is_null() {
        None
    } else {
        // SAFETY: `F` is a function-pointer type of pointer size (caller, and the assert
        // above), and `p` is a non-NULL address of such a function (caller).
        Some(unsafe { core::mem::transmute_copy::<*const c_void, F>(&p) })
    }
}

/// The function, or the error naming it when the host lacks it.
pub(crate) fn need<F>(f: Option<F>, name: &'static str) -> Result<F, BackendError> {
    f.ok_or(BackendError::MissingFunction(name))
}

impl GlesFns {
    /// Looks up every GLES 3.2 core function through `loader` (`eglGetProcAddress` of
    /// the host EGL). Fails, naming them, when functions of ES 3.0 or older are
    /// missing; newer ones may be missing (`None`, listed by [`GlesFns::missing`]), and
    /// executing one of them fails with [`BackendError::MissingFunction`].
    ///
    /// Under libglvnd every known GL name resolves to a dispatch stub, so on such hosts
    /// nothing is ever reported missing: a function the driver lacks is then a no-op.
    pub fn load(loader: &mut dyn FnMut(&CStr) -> *const c_void) -> Result<Self, BackendError> {
        let fns = Self::load_all(loader);
        let required: Vec<&'static str> = fns.missing().filter(|f| f.required()).map(|f| f.name).collect();
        if required.is_empty() {
            Ok(fns)
        } else {
            Err(BackendError::MissingFunctions { names: required })
        }
    }

    /// The functions the host did not provide.
    pub fn missing(&self) -> impl Iterator<Item = &'static FnInfo> + '_ {
        GLES_FUNCTIONS.iter().zip(self.present()).filter(|(_, present)| !present).map(|(f, _)| f)
    }

    /// How many of the [`GLES_FUNCTIONS`] the host provided.
    pub fn present_count(&self) -> usize {
        self.present().iter().filter(|p| **p).count()
    }
}

impl fmt::Debug for GlesFns {
    /// A summary: 358 addresses would say nothing useful.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlesFns")
            .field("present", &self.present_count())
            .field("of", &GLES_FUNCTIONS.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn dummy() {}

    #[test]
    fn a_null_loader_reports_every_required_function() {
        let err = GlesFns::load(&mut |_| core::ptr::null()).unwrap_err();
        let BackendError::MissingFunctions { names } = err else { panic!("{err}") };
        assert!(names.contains(&"glActiveTexture"));
        assert!(names.contains(&"glMapBufferRange"));
        assert!(!names.contains(&"glDispatchCompute"), "3.1 is optional");
    }

    #[test]
    fn an_es30_host_loads_and_lists_what_it_lacks() {
        let newer: Vec<&str> = GLES_FUNCTIONS.iter().filter(|f| !f.required()).map(|f| f.name).collect();
        let mut loader = |name: &CStr| {
            let name = name.to_str().unwrap_or_default();
            if newer.contains(&name) {
                core::ptr::null()
            } else {
                dummy as *const c_void
            }
        };
        let fns = GlesFns::load(&mut loader).unwrap();
        assert_eq!(fns.missing().count(), newer.len());
        assert!(fns.gl_dispatch_compute.is_none());
        assert!(fns.gl_active_texture.is_some());
        assert!(matches!(need(fns.gl_dispatch_compute, "glDispatchCompute"), Err(BackendError::MissingFunction(_))));
        assert_eq!(fns.present_count() + newer.len(), GLES_FUNCTIONS.len());
    }

    #[test]
    fn the_table_has_every_gles_32_core_function_once() {
        let core = GLES_FUNCTIONS.iter().filter(|f| matches!(f.since, Since::Es(..))).count();
        assert_eq!(core, wire::commands::GLES_COMMANDS);
        assert_eq!(GLES_FUNCTIONS.len(), core + wire::commands::GLES_EXTENSION_COMMANDS);
        let mut names: Vec<&str> = GLES_FUNCTIONS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), GLES_FUNCTIONS.len());
    }
}
