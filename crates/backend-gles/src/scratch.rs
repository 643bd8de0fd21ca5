//! Output storage the executor reuses across calls, and the small marshalling helpers
//! the generated arms call: typed zeroed scratch for `Out` parameters, byte scratch or
//! a buffer offset for `OutRef`, the pointer for a `DataRef`, and GL's string results.
//!
//! It sizes nothing itself: capacities come from the validated command (see
//! `generated::execute`'s `# Safety`). It does not call GL.

use core::ffi::{c_char, c_void, CStr};

use wire::codec::{DataRef, OutRef, StrList};
use zerocopy::{FromBytes, IntoBytes, KnownLayout};

use crate::error::BackendError;
use crate::generated::SCRATCH_SLOTS;

/// Memory a slot keeps between calls; a larger readback (a big `glReadPixels`) gives
/// the rest back afterwards, like `wire::buf::CommandBuf` does.
pub const KEEP_BYTES: usize = 16 << 20;

/// Zeroed, 8-byte-aligned buffers GL writes its outputs into, one slot per output
/// parameter of a command, kept across calls so a query does not allocate each time.
///
/// Slots are `u64`-backed: every output element type (up to `GLint64` and `void *`)
/// is then aligned, and zerocopy views them as the element type without `unsafe`.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) slots: [Vec<u64>; SCRATCH_SLOTS],
}

impl Scratch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives back what a slot holds beyond [`KEEP_BYTES`].
    pub fn trim(&mut self) {
        for slot in &mut self.slots {
            if slot.capacity() * 8 > KEEP_BYTES {
                slot.truncate(KEEP_BYTES / 8);
                slot.shrink_to(KEEP_BYTES / 8);
            }
        }
    }

    /// Bytes currently held, for tests and statistics.
    pub fn held_bytes(&self) -> usize {
        self.slots.iter().map(|s| s.capacity() * 8).sum()
    }
}

/// `elems` zeroed elements of `T` at the start of `slot`, growing it if needed. Zeroed
/// so a reply never carries bytes of an earlier call that GL did not overwrite.
fn zeroed<T: FromBytes + IntoBytes + KnownLayout>(slot: &mut Vec<u64>, elems: usize) -> Result<&mut [T], BackendError> {
    let too_large = BackendError::ScratchTooLarge { elems };
    let words = elems.checked_mul(size_of::<T>()).ok_or(too_large)?.div_ceil(8);
    let old = slot.len().min(words);
    slot[..old].fill(0);
    if slot.len() < words {
        // A capacity is peer-controlled (bounded by the reply limit): fail, never abort.
        slot.try_reserve_exact(words - slot.len()).map_err(|_| BackendError::ScratchTooLarge { elems })?;
        slot.resize(words, 0);
    }
    // Cannot fail: the slot holds `words * 8 >= elems * size_of::<T>()` bytes, 8-aligned.
    <[T]>::mut_from_prefix_with_elems(slot.as_mut_slice().as_mut_bytes(), elems)
        .map(|(s, _)| s)
        .map_err(|_| BackendError::ScratchTooLarge { elems })
}

/// The buffer GL writes an `Out` parameter into: the capacity the command asks for,
/// or, when the program passed NULL (`cap` is `None`), `null_elems` (the size the
/// registry gives from the call's arguments; `None` for hand-sized outputs, which the
/// validator must have turned into a capacity). GL is never handed NULL: Mesa writes
/// through NULL in several getters.
pub(crate) fn out<'s, T: FromBytes + IntoBytes + KnownLayout>(
    slot: &'s mut Vec<u64>,
    cap: Option<u32>,
    null_elems: Option<usize>,
    function: &'static str,
    param: &'static str,
) -> Result<&'s mut [T], BackendError> {
    let elems = match (cap, null_elems) {
        (Some(cap), _) => cap as usize,
        (None, Some(n)) => n,
        (None, None) => return Err(BackendError::UnsizedOutput { function, param }),
    };
    zeroed(slot, elems)
}

/// Where GL writes an `OutRef` parameter (`glReadPixels`' pixels).
#[derive(Debug)]
pub(crate) struct OutBytes<'s> {
    buf: Option<&'s mut [u8]>,
    offset: u64,
    reply: bool,
}

impl OutBytes<'_> {
    /// The pointer GL gets: the scratch bytes, or the offset into the bound pack buffer.
    pub(crate) fn ptr(&mut self) -> *mut c_void {
        match &mut self.buf {
            Some(b) => b.as_mut_ptr().cast(),
            None => self.offset as usize as *mut c_void,
        }
    }

    /// What the reply carries: the bytes for `OutRef::Reply`, nothing otherwise.
    pub(crate) fn reply(&self) -> Option<&[u8]> {
        if self.reply {
            self.buf.as_deref()
        } else {
            None
        }
    }
}

/// `OutRef::Reply(cap)`: `cap` zeroed scratch bytes, returned in the reply.
/// `OutRef::Offset(o)`: `o` as the pointer (the validator checked the pack buffer).
/// `OutRef::Null`: scratch of `null_elems` bytes when the registry sizes it
/// (`glReadnPixels`' `bufSize`), not replied; a hand-sized one (`glReadPixels`) must
/// have been rewritten by the validator to `Reply(n)`, so here it is refused rather
/// than guessed: any guess smaller than the image would let GL write past it.
pub(crate) fn out_ref<'s>(
    slot: &'s mut Vec<u64>,
    r: OutRef,
    null_elems: Option<usize>,
    function: &'static str,
    param: &'static str,
) -> Result<OutBytes<'s>, BackendError> {
    Ok(match r {
        OutRef::Reply(cap) => OutBytes { buf: Some(zeroed(slot, cap as usize)?), offset: 0, reply: true },
        OutRef::Offset(o) => OutBytes { buf: None, offset: o, reply: false },
        OutRef::Null => match null_elems {
            Some(n) => OutBytes { buf: Some(zeroed(slot, n)?), offset: 0, reply: false },
            None => return Err(BackendError::UnsizedOutput { function, param }),
        },
    })
}

/// The pointer GL reads a `DataRef` through: NULL, the command's inline bytes, or the
/// offset into the buffer bound for it.
pub(crate) fn data_ref(r: DataRef<'_>) -> *const c_void {
    match r {
        DataRef::Null => core::ptr::null(),
        DataRef::Inline(b) => b.as_ptr().cast(),
        DataRef::Offset(o) => o as usize as *const c_void,
    }
}

/// The pointers GL reads a string list through (`glShaderSource`'s `string`). The
/// decoder promises one entry per string and as many strings as the count argument
/// says; a list that breaks that is refused, since GL would read `count` pointers.
pub(crate) fn str_ptrs(
    list: &StrList<'_>,
    count: Option<usize>,
    function: &'static str,
    param: &'static str,
) -> Result<Vec<*const c_char>, BackendError> {
    let ptrs: Vec<*const c_char> = list.iter().map(CStr::as_ptr).collect();
    if ptrs.len() != list.len() || count.is_some_and(|n| n > ptrs.len()) {
        return Err(BackendError::BrokenInput { function, param });
    }
    Ok(ptrs)
}

/// A string GL returned (`glGetString`), or `None` for NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    if p.is_null() {
        None
    } else {
        // SAFETY: not NULL, and NUL-terminated and alive for 'a (caller).
        Some(unsafe { CStr::from_ptr(p) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_sizes_from_capacity_then_registry_and_refuses_unknown() {
        let mut slot = vec![u64::MAX; 4];
        let v = out::<i32>(&mut slot, Some(3), None, "f", "p").unwrap();
        assert_eq!(v, &[0, 0, 0]);
        assert_eq!(out::<u8>(&mut slot, None, Some(5), "f", "p").unwrap().len(), 5);
        assert!(matches!(
            out::<u8>(&mut slot, None, None, "glGetIntegerv", "data"),
            Err(BackendError::UnsizedOutput { function: "glGetIntegerv", param: "data" })
        ));
    }

    #[test]
    fn scratch_is_zeroed_between_uses_and_aligned() {
        let mut slot = Vec::new();
        out::<i64>(&mut slot, Some(2), None, "f", "p").unwrap().copy_from_slice(&[7, 8]);
        let again = out::<i64>(&mut slot, Some(2), None, "f", "p").unwrap();
        assert_eq!(again, &[0, 0]);
        assert_eq!(again.as_ptr() as usize % 8, 0);
    }

    #[test]
    fn out_ref_kinds() {
        let mut slot = Vec::new();
        let mut r = out_ref(&mut slot, OutRef::Reply(6), None, "f", "p").unwrap();
        assert!(!r.ptr().is_null());
        assert_eq!(r.reply(), Some(&[0u8; 6][..]));
        let mut o = out_ref(&mut slot, OutRef::Offset(64), None, "f", "p").unwrap();
        assert_eq!(o.ptr() as usize, 64);
        assert_eq!(o.reply(), None);
        assert!(out_ref(&mut slot, OutRef::Null, None, "f", "p").is_err());
        let mut n = out_ref(&mut slot, OutRef::Null, Some(16), "f", "p").unwrap();
        assert!(!n.ptr().is_null());
        assert_eq!(n.reply(), None);
    }

    #[test]
    fn huge_capacity_fails_instead_of_aborting() {
        let mut slot = Vec::new();
        assert!(matches!(
            out::<u64>(&mut slot, None, Some(usize::MAX / 4), "f", "p"),
            Err(BackendError::ScratchTooLarge { .. })
        ));
    }

    #[test]
    fn trim_gives_back_large_slots() {
        let mut s = Scratch::new();
        out::<u8>(&mut s.slots[0], Some(KEEP_BYTES as u32 * 2), None, "f", "p").unwrap();
        s.trim();
        assert!(s.held_bytes() <= KEEP_BYTES);
    }

    #[test]
    fn string_lists_must_hold_the_count() {
        let strings = [c"a", c"bc"];
        let list = StrList::Borrowed(&strings);
        let ptrs = str_ptrs(&list, Some(2), "f", "p").unwrap();
        assert_eq!(ptrs, [strings[0].as_ptr(), strings[1].as_ptr()]);
        assert!(str_ptrs(&list, None, "f", "p").is_ok(), "a negative count: GL reads nothing");
        assert!(matches!(str_ptrs(&list, Some(3), "f", "p"), Err(BackendError::BrokenInput { .. })));
    }

    #[test]
    fn data_ref_pointers() {
        assert!(data_ref(DataRef::Null).is_null());
        assert_eq!(data_ref(DataRef::Offset(12)) as usize, 12);
        let b = [1u8, 2];
        assert_eq!(data_ref(DataRef::Inline(&b)), b.as_ptr().cast());
    }
}
