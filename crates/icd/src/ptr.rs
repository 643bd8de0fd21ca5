//! Turning the program's raw pointers into the slices and strings the encoder takes,
//! and copying replies back into the program's memory. Every function states what the
//! caller must guarantee; lengths come from the registry or the annotations' rules.

use core::ffi::{c_char, CStr};
use std::ffi::CString;

use client::CallError;
use wire::codec::{DataRef, OutRef};

/// The longest EGL attribute list read before giving up on finding `EGL_NONE`.
const MAX_ATTRIB_ELEMENTS: usize = 1024;
const EGL_NONE: i64 = 0x3038;
const EGL_BAD_ATTRIBUTE: u32 = 0x3004;

/// `n` elements at `p`. A length with no value (a negative count) sends nothing: GL
/// reports the error. NULL with elements to read is GL_INVALID_VALUE, not a crash.
///
/// # Safety
/// When `n` is `Some(k)` with `k > 0` and `p` is not NULL, `p` must point to `k`
/// readable, initialised `T`s that stay valid and unchanged for `'a`.
pub(crate) unsafe fn input<'a, T>(p: *const T, n: Option<usize>) -> Result<&'a [T], CallError> {
    match n {
        None | Some(0) => Ok(&[]),
        Some(_) if p.is_null() => Err(CallError::INVALID_VALUE),
        // SAFETY: the caller guarantees `k` readable elements at the non-NULL `p`.
        Some(k) => Ok(unsafe { std::slice::from_raw_parts(p, k) }),
    }
}

/// Like [`input`], but NULL is a legal value and travels as such.
///
/// # Safety
/// As for [`input`].
pub(crate) unsafe fn opt_input<'a, T>(p: *const T, n: Option<usize>) -> Result<Option<&'a [T]>, CallError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { input(p, n) }.map(Some)
}

/// An EGL attribute list up to and including `EGL_NONE`, or `None` for NULL.
///
/// # Safety
/// `p` must be NULL or point to attributes ending with `EGL_NONE` (bounded here by
/// [`MAX_ATTRIB_ELEMENTS`]).
pub(crate) unsafe fn attrib_list<'a, T: Copy + Into<i64>>(p: *const T) -> Result<Option<&'a [T]>, CallError> {
    if p.is_null() {
        return Ok(None);
    }
    // Keys and values alternate; only a key position can end the list.
    for i in (0..MAX_ATTRIB_ELEMENTS).step_by(2) {
        // SAFETY: the list is still going (no EGL_NONE yet), so element `i` exists.
        let key = unsafe { p.add(i).read() };
        if key.into() == EGL_NONE {
            // SAFETY: elements 0..=i were just read.
            return Ok(Some(unsafe { std::slice::from_raw_parts(p, i + 1) }));
        }
    }
    Err(CallError::Egl(EGL_BAD_ATTRIBUTE))
}

/// A NUL-terminated string; NULL is GL_INVALID_VALUE.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn cstr<'a>(p: *const c_char) -> Result<&'a CStr, CallError> {
    // SAFETY: forwarded from the caller.
    unsafe { opt_cstr(p) }?.ok_or(CallError::INVALID_VALUE)
}

/// A NUL-terminated string, or `None` for NULL.
///
/// # Safety
/// As for [`cstr`].
pub(crate) unsafe fn opt_cstr<'a>(p: *const c_char) -> Result<Option<&'a CStr>, CallError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller guarantees a NUL-terminated string at `p`.
    Ok(Some(unsafe { CStr::from_ptr(p) }))
}

/// A string given as (pointer, length): `len` bytes, or up to the NUL when `len` is
/// negative; cut at an embedded NUL, as C code reading it would.
///
/// # Safety
/// `p` must be NULL, or point to `len` readable bytes when `len >= 0`, or to a
/// NUL-terminated string otherwise.
pub(crate) unsafe fn cstr_len(p: *const c_char, len: i32) -> Result<Option<CString>, CallError> {
    if p.is_null() {
        return Ok(None);
    }
    let Ok(len) = usize::try_from(len) else {
        // SAFETY: negative length: the caller guarantees a NUL-terminated string.
        return Ok(Some(unsafe { CStr::from_ptr(p) }.to_owned()));
    };
    // SAFETY: the caller guarantees `len` readable bytes at `p`.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(len);
    Ok(CString::new(&bytes[..end]).ok())
}

/// The strings of glShaderSource and friends, each to its length (when `lengths` is
/// given and the entry is not negative) or to its NUL.
///
/// # Safety
/// `strings` must point to `count` string pointers, each valid as for [`cstr_len`]
/// with its length; `lengths` must be NULL or point to `count` integers.
pub(crate) unsafe fn str_list(
    strings: *const *const c_char,
    count: Option<usize>,
    lengths: *const i32,
) -> Result<Vec<CString>, CallError> {
    let Some(count) = count else { return Ok(Vec::new()) };
    if count > 0 && strings.is_null() {
        return Err(CallError::INVALID_VALUE);
    }
    let mut out = Vec::with_capacity(count.min(4096));
    for i in 0..count {
        // SAFETY: the caller guarantees `count` pointers at `strings`.
        let s = unsafe { strings.add(i).read() };
        let len = if lengths.is_null() {
            -1
        } else {
            // SAFETY: the caller guarantees `count` lengths at a non-NULL `lengths`.
            unsafe { lengths.add(i).read() }
        };
        // SAFETY: forwarded from the caller for string `i`.
        out.push(unsafe { cstr_len(s, len) }?.ok_or(CallError::INVALID_VALUE)?);
    }
    Ok(out)
}

/// Pixel or index data: an offset when a buffer is bound for it, else NULL or the
/// client bytes. A size that could not be computed sends an empty slice.
///
/// # Safety
/// When `bound` is false, `p` is not NULL and `n` is `Some(k)`, `p` must point to `k`
/// readable bytes valid for `'a`.
pub(crate) unsafe fn data_ref<'a>(bound: bool, p: *const u8, n: Option<usize>) -> DataRef<'a> {
    if bound {
        return DataRef::Offset(p as usize as u64);
    }
    match n {
        _ if p.is_null() => DataRef::Null,
        // Data the client cannot size travels as none at all (not as NULL, which would
        // mean "allocate only"): the server then reports the argument GL rejects.
        None => DataRef::Inline(&[]),
        // SAFETY: the caller guarantees `k` readable bytes at the non-NULL `p`.
        Some(k) => DataRef::Inline(unsafe { std::slice::from_raw_parts(p, k) }),
    }
}

/// The capacity an output asks the server for: `None` when the program passed NULL.
pub(crate) fn out_cap(is_null: bool, n: Option<usize>) -> Option<u32> {
    if is_null {
        return None;
    }
    Some(n.map_or(0, |k| u32::try_from(k).unwrap_or(u32::MAX)))
}

/// Where readback bytes go: the bound pack buffer (at the pointer's value as offset),
/// nowhere (NULL), or into the reply.
pub(crate) fn out_ref(bound: bool, is_null: bool, addr: u64, n: Option<usize>) -> OutRef {
    if bound {
        OutRef::Offset(addr)
    } else if is_null {
        OutRef::Null
    } else {
        OutRef::Reply(n.map_or(0, |k| u32::try_from(k).unwrap_or(u32::MAX)))
    }
}

/// Copies a reply's values into the program's memory: never more than the capacity
/// the program's buffer was sized for, never more than the reply holds.
///
/// # Safety
/// When `dst` is not NULL and `cap` is `Some(c)`, `dst` must have room for `c`
/// writable `T`s.
pub(crate) unsafe fn output<T: Copy>(dst: *mut T, cap: Option<u32>, src: Option<&[T]>) {
    let (Some(cap), Some(src)) = (cap, src) else { return };
    if dst.is_null() {
        return;
    }
    let n = src.len().min(cap as usize);
    // SAFETY: `n <= cap` elements fit at `dst` (caller); `src` is a distinct Rust slice.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, n) };
}

/// Copies a readback's rows from `src` to `dst`, the same offsets on both sides, and
/// nothing between them: GL leaves row padding and skipped pixels alone, and so must
/// the copy. Without a row layout it copies everything, as [`output`] does.
///
/// # Safety
/// `dst` is NULL or has room for `cap` bytes.
pub(crate) unsafe fn output_rows(dst: *mut u8, cap: u32, src: Option<&[u8]>, rows: Option<wire::sizes::Rows>) {
    let (Some(src), Some(rows)) = (src, rows) else {
        // SAFETY: the caller's contract.
        return unsafe { output(dst, Some(cap), src) };
    };
    if dst.is_null() {
        return;
    }
    let limit = src.len().min(cap as usize);
    for i in 0..rows.count {
        let Some(start) = i.checked_mul(rows.stride).and_then(|o| o.checked_add(rows.first)) else { return };
        let end = start.saturating_add(rows.bytes).min(limit);
        if start >= end {
            return;
        }
        // SAFETY: `start..end` lies within `limit <= cap` bytes at `dst` (caller) and
        // within `src`, a distinct Rust slice.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr().add(start), dst.add(start), end - start) };
    }
}

/// The program's memory behind client-side vertex arrays, read at draw time.
#[derive(Debug)]
pub(crate) struct AppMemory;

impl client::ClientMemory for AppMemory {
    fn copy(&self, addr: u64, dst: &mut [u8]) -> bool {
        if addr == 0 {
            return false;
        }
        // SAFETY: the GL contract for client-side vertex arrays: the pointer the program
        // gave glVertexAttribPointer stays valid, covering every vertex it draws, until
        // the draw that reads it — which is now; `dst` is sized to those vertices.
        unsafe { std::ptr::copy_nonoverlapping(addr as usize as *const u8, dst.as_mut_ptr(), dst.len()) };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_handles_null_and_negative_counts() {
        // SAFETY: no element is read: the count has no value or is zero, or p is NULL.
        unsafe {
            assert_eq!(input::<i32>(std::ptr::null(), None), Ok(&[][..]));
            assert_eq!(input::<i32>(std::ptr::null(), Some(0)), Ok(&[][..]));
            assert_eq!(input::<i32>(std::ptr::null(), Some(2)), Err(CallError::INVALID_VALUE));
        }
        let v = [1, 2, 3];
        // SAFETY: `v` holds 3 elements.
        assert_eq!(unsafe { input(v.as_ptr(), Some(3)) }, Ok(&v[..]));
    }

    #[test]
    fn attrib_lists_end_at_egl_none_on_a_key() {
        let list: [i32; 5] = [0x3024, 0x3038, 0x3038, 0, 0];
        // SAFETY: the list ends with EGL_NONE at a key position (index 2).
        let got = unsafe { attrib_list(list.as_ptr()) }.unwrap().unwrap();
        assert_eq!(got, &list[..3], "a value equal to EGL_NONE does not end the list");
        let unterminated = vec![1i32; MAX_ATTRIB_ELEMENTS + 2];
        // SAFETY: the buffer is longer than the bound, so the scan stays inside it.
        assert!(unsafe { attrib_list(unterminated.as_ptr()) }.is_err());
    }

    #[test]
    fn strings_with_lengths_stop_at_length_or_nul() {
        let src = b"hello\0world";
        // SAFETY: `src` holds 11 bytes.
        let s = unsafe { cstr_len(src.as_ptr().cast(), 3) }.unwrap().unwrap();
        assert_eq!(s.as_bytes(), b"hel");
        // SAFETY: as above; the NUL at 5 ends it.
        let s = unsafe { cstr_len(src.as_ptr().cast(), 11) }.unwrap().unwrap();
        assert_eq!(s.as_bytes(), b"hello");
        // SAFETY: negative length: `src` is NUL-terminated.
        let s = unsafe { cstr_len(src.as_ptr().cast(), -1) }.unwrap().unwrap();
        assert_eq!(s.as_bytes(), b"hello");
    }

    #[test]
    fn shader_sources_use_their_lengths() {
        let a = b"void main";
        let b = b"(){}\0";
        let ptrs = [a.as_ptr().cast::<c_char>(), b.as_ptr().cast::<c_char>()];
        let lens = [a.len() as i32, -1];
        // SAFETY: two pointers, two lengths; `b` is NUL-terminated.
        let got = unsafe { str_list(ptrs.as_ptr(), Some(2), lens.as_ptr()) }.unwrap();
        assert_eq!(got, vec![CString::new("void main").unwrap(), CString::new("(){}").unwrap()]);
    }

    #[test]
    fn output_never_writes_past_the_capacity() {
        let mut dst = [0i32; 4];
        // SAFETY: `dst` has room for 2 (and 4).
        unsafe { output(dst.as_mut_ptr(), Some(2), Some(&[7, 8, 9][..])) };
        assert_eq!(dst, [7, 8, 0, 0]);
    }

    #[test]
    fn data_refs_become_offsets_when_a_buffer_is_bound() {
        // SAFETY: bound: nothing is read.
        assert_eq!(unsafe { data_ref(true, 64 as *const u8, Some(4)) }, DataRef::Offset(64));
        // SAFETY: NULL: nothing is read.
        assert_eq!(unsafe { data_ref(false, std::ptr::null(), Some(4)) }, DataRef::Null);
    }
}
