//! Reading a finished frame out of a context's default framebuffer for a window
//! surface's frame ring: BGRA8, rows top-down (as windows and image files want them),
//! at the ring slot's stride. The program's own read and pack state (read framebuffer,
//! pack buffer, pixel-store values, the default framebuffer's read buffer) is put back
//! as it was, and no GL error of ours can reach the program's error flag: the calls
//! made here are valid for a bound, complete default framebuffer.
//!
//! It does not own the ring (the server's surface does) nor decide when to read.

use core::ffi::c_void;

use crate::error::BackendError;
use crate::fns::need;
use crate::generated::GlesFns;

const GL_READ_FRAMEBUFFER: u32 = 0x8CA8;
const GL_READ_FRAMEBUFFER_BINDING: u32 = 0x8CAA;
const GL_PIXEL_PACK_BUFFER: u32 = 0x88EB;
const GL_PIXEL_PACK_BUFFER_BINDING: u32 = 0x88ED;
const GL_PACK_ROW_LENGTH: u32 = 0x0D02;
const GL_PACK_SKIP_ROWS: u32 = 0x0D03;
const GL_PACK_SKIP_PIXELS: u32 = 0x0D04;
const GL_PACK_ALIGNMENT: u32 = 0x0D05;
const GL_READ_BUFFER: u32 = 0x0C02;
const GL_BACK: u32 = 0x0405;
const GL_BGRA_EXT: u32 = 0x80E1;
const GL_RGBA: u32 = 0x1908;
const GL_UNSIGNED_BYTE: u32 = 0x1401;
const GL_EXTENSIONS: u32 = 0x1F03;

/// Whether the host reads BGRA directly (GL_EXT_read_format_bgra), asked once per
/// context.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FrameReader {
    bgra: Option<bool>,
}

impl FrameReader {
    /// Reads `width` x `height` pixels of the current context's default framebuffer
    /// into `out` (`stride` bytes per row, rows top-down, BGRA8).
    ///
    /// # Safety
    /// A context is current on this thread, with a default framebuffer (a surface) of
    /// at least `width` x `height`.
    pub(crate) unsafe fn read(
        &mut self,
        fns: &GlesFns,
        width: u32,
        height: u32,
        stride: usize,
        out: &mut [u8],
    ) -> Result<(), BackendError> {
        let row = width as usize * 4;
        let broken = BackendError::BrokenInput { function: "read_frame", param: "out" };
        if stride < row || stride % 4 != 0 || out.len() < stride.checked_mul(height as usize).ok_or(broken)? {
            return Err(BackendError::BrokenInput { function: "read_frame", param: "stride" });
        }
        let get = need(fns.gl_get_integerv, "glGetIntegerv")?;
        let store = need(fns.gl_pixel_storei, "glPixelStorei")?;
        let bind_fb = need(fns.gl_bind_framebuffer, "glBindFramebuffer")?;
        let bind_buffer = need(fns.gl_bind_buffer, "glBindBuffer")?;
        let read_buffer = need(fns.gl_read_buffer, "glReadBuffer")?;
        let read_pixels = need(fns.gl_read_pixels, "glReadPixels")?;
        let bgra = match self.bgra {
            Some(b) => b,
            None => {
                let b = host_reads_bgra(fns)?;
                self.bgra = Some(b);
                b
            }
        };
        let saved = |pname: u32| {
            let mut v = 0;
            // SAFETY: a current context (the caller's contract); one value written.
            unsafe { get(pname, &mut v) };
            v
        };
        let fb = saved(GL_READ_FRAMEBUFFER_BINDING);
        let pack_buffer = saved(GL_PIXEL_PACK_BUFFER_BINDING);
        let pack =
            [GL_PACK_ROW_LENGTH, GL_PACK_SKIP_ROWS, GL_PACK_SKIP_PIXELS, GL_PACK_ALIGNMENT].map(|p| (p, saved(p)));
        // SAFETY: valid enums and names (0 is always bindable); a current context.
        unsafe {
            bind_fb(GL_READ_FRAMEBUFFER, 0);
            bind_buffer(GL_PIXEL_PACK_BUFFER, 0);
        }
        let read_from = saved(GL_READ_BUFFER) as u32;
        // SAFETY: as above; GL_BACK is the default framebuffer's colour buffer, and
        // the pack values describe `out`'s rows (checked against its length above).
        unsafe {
            if read_from != GL_BACK {
                read_buffer(GL_BACK);
            }
            store(GL_PACK_ROW_LENGTH, (stride / 4) as i32);
            store(GL_PACK_SKIP_ROWS, 0);
            store(GL_PACK_SKIP_PIXELS, 0);
            store(GL_PACK_ALIGNMENT, 4);
            let format = if bgra { GL_BGRA_EXT } else { GL_RGBA };
            read_pixels(0, 0, width as i32, height as i32, format, GL_UNSIGNED_BYTE, out.as_mut_ptr().cast::<c_void>());
            if read_from != GL_BACK {
                read_buffer(read_from);
            }
            for (pname, value) in pack {
                store(pname, value);
            }
            bind_buffer(GL_PIXEL_PACK_BUFFER, pack_buffer as u32);
            bind_fb(GL_READ_FRAMEBUFFER, fb as u32);
        }
        flip_rows(out, stride, height as usize, row, !bgra);
        Ok(())
    }
}

/// GL reads bottom-up: puts the rows top-down, swapping red and blue on the way when
/// the host could only read RGBA.
fn flip_rows(out: &mut [u8], stride: usize, height: usize, row: usize, swizzle: bool) {
    let swap_rb = |r: &mut [u8]| r.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
    for top in 0..height / 2 {
        let bottom = height - 1 - top;
        let (upper, lower) = out.split_at_mut(bottom * stride);
        let (a, b) = (&mut upper[top * stride..top * stride + row], &mut lower[..row]);
        a.swap_with_slice(b);
        if swizzle {
            swap_rb(a);
            swap_rb(b);
        }
    }
    if swizzle && height % 2 == 1 {
        let mid = height / 2;
        swap_rb(&mut out[mid * stride..mid * stride + row]);
    }
}

/// True when the host's GLES lists GL_EXT_read_format_bgra.
fn host_reads_bgra(fns: &GlesFns) -> Result<bool, BackendError> {
    let get_string = need(fns.gl_get_string, "glGetString")?;
    // SAFETY: a current context (the caller's contract); NULL or a NUL-terminated
    // string owned by the context.
    let s = unsafe { crate::scratch::c_str(get_string(GL_EXTENSIONS).cast()) };
    Ok(s.is_some_and(|s| s.to_bytes().split(|&b| b == b' ').any(|e| e == b"GL_EXT_read_format_bgra")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_out_top_down_and_swizzled_when_asked() {
        // 3 rows of 1 pixel, stride 8 (4 bytes of padding that must stay as they are).
        let mut buf = [1, 2, 3, 4, 9, 9, 9, 9, 5, 6, 7, 8, 9, 9, 9, 9, 10, 11, 12, 13, 9, 9, 9, 9];
        flip_rows(&mut buf, 8, 3, 4, false);
        assert_eq!(buf, [10, 11, 12, 13, 9, 9, 9, 9, 5, 6, 7, 8, 9, 9, 9, 9, 1, 2, 3, 4, 9, 9, 9, 9]);
        flip_rows(&mut buf, 8, 3, 4, true);
        assert_eq!(buf, [3, 2, 1, 4, 9, 9, 9, 9, 7, 6, 5, 8, 9, 9, 9, 9, 12, 11, 10, 13, 9, 9, 9, 9]);
    }
}
