//! Random values for the generated `sample` functions that property tests and fuzz
//! targets use: an entropy cursor (like the `arbitrary` crate's `Unstructured`) so that
//! proptest shrinks a case by shrinking its bytes. Not part of the shipped contract.

use core::ffi::CStr;

use bumpalo::Bump;

use crate::codec::{Expect, EGL_NONE};

/// Reads values from a byte string; zeros once it runs out, so any input is usable.
#[derive(Debug)]
pub struct Entropy<'d> {
    data: &'d [u8],
}

impl<'d> Entropy<'d> {
    pub fn new(data: &'d [u8]) -> Self {
        Self { data }
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        out
    }

    pub fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }
    pub fn i8(&mut self) -> i8 {
        self.u8() as i8
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.bytes())
    }
    pub fn i16(&mut self) -> i16 {
        self.u16() as i16
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }
    pub fn i32(&mut self) -> i32 {
        self.u32() as i32
    }
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }
    pub fn i64(&mut self) -> i64 {
        self.u64() as i64
    }
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A finite float: NaN never equals itself, which would fail a round trip that
    /// in fact preserved every bit.
    pub fn f32(&mut self) -> f32 {
        let v = f32::from_bits(self.u32());
        if v.is_finite() {
            v
        } else {
            0.0
        }
    }

    /// A count-like argument: mostly small, sometimes negative, so both the sized path
    /// and GL's "negative count" path are exercised without huge payloads.
    pub fn count(&mut self) -> i32 {
        (self.u8() % 20) as i32 - 2
    }

    /// A small element count for hand-sized payloads.
    #[allow(clippy::len_without_is_empty)] // a random length, not the cursor's
    pub fn len(&mut self) -> usize {
        (self.u8() % 12) as usize
    }

    /// An element count that satisfies `expect`.
    pub fn n_for(&mut self, expect: Expect) -> usize {
        match expect {
            Expect::Exactly(n) => n,
            Expect::Nothing => 0,
            Expect::Any => self.len(),
        }
    }

    /// NULL, or a few random `key, value` pairs closed by `EGL_NONE`.
    pub fn attribs<'a, T: Copy + From<i32> + TryFrom<i64>>(&mut self, arena: &'a Bump) -> Option<&'a [T]> {
        if self.u8() % 4 == 0 {
            return None;
        }
        let pairs = self.len() / 2;
        let mut items: Vec<T> = (0..pairs * 2).map(|_| T::from(self.i32())).collect();
        items.push(T::try_from(EGL_NONE).ok()?);
        Some(arena.alloc_slice_copy(&items))
    }

    pub fn vec<'a, T: Copy>(&mut self, arena: &'a Bump, n: usize, mut f: impl FnMut(&mut Self) -> T) -> &'a [T] {
        let items: Vec<T> = (0..n).map(|_| f(self)).collect();
        arena.alloc_slice_copy(&items)
    }

    pub fn cstr<'a>(&mut self, arena: &'a Bump) -> &'a CStr {
        let n = self.len();
        let mut bytes: Vec<u8> = (0..n).map(|_| b'a' + self.u8() % 26).collect();
        bytes.push(0);
        let stored = arena.alloc_slice_copy(&bytes);
        // Built above from letters and one trailing NUL.
        CStr::from_bytes_with_nul(stored).unwrap_or(c"")
    }

    pub fn cstrs<'a>(&mut self, arena: &'a Bump, n: usize) -> &'a [&'a CStr] {
        let items: Vec<&'a CStr> = (0..n).map(|_| self.cstr(arena)).collect();
        arena.alloc_slice_copy(&items)
    }
}
