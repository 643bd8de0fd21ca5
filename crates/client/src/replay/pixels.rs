//! Taking a replayed frame's pixels: from a window surface's frame ring (as tight RGBA
//! rows), or read back with a glReadPixels of the replayer's own on the context's link,
//! disturbing nothing the program's later commands depend on. It does not decide when
//! a frame is taken (`replay` does).

use framechan::PixelFormat;
use wire::commands::{decode_reply, BindBuffer, Command, GetIntegerv, PixelStorei, ReadPixels, Reply};
use wire::CommandBuf;

use super::ReplayError;
use crate::link::{Link, ReplyBuf};

const GL_PIXEL_PACK_BUFFER: u32 = 0x88EB;
const GL_PIXEL_PACK_BUFFER_BINDING: u32 = 0x88ED;
const GL_PACK_ROW_LENGTH: u32 = 0x0D02;
const GL_PACK_SKIP_ROWS: u32 = 0x0D03;
const GL_PACK_SKIP_PIXELS: u32 = 0x0D04;
const GL_PACK_ALIGNMENT: u32 = 0x0D05;
const GL_RGBA: u32 = 0x1908;
const GL_UNSIGNED_BYTE: u32 = 0x1401;

/// A ring frame as tight RGBA rows, top-down.
pub(super) fn window_rgba(g: &framechan::FrameGeometry, pixels: &[u8]) -> Vec<u8> {
    let row = g.width as usize * 4;
    let mut out = Vec::with_capacity(row * g.height as usize);
    for r in pixels.chunks(g.stride.max(1) as usize).take(g.height as usize) {
        out.extend_from_slice(&r[..row.min(r.len())]);
    }
    out.resize(row * g.height as usize, 0);
    match g.format {
        PixelFormat::Rgba8888 => {}
        PixelFormat::Bgra8888 => out.chunks_exact_mut(4).for_each(|p| p.swap(0, 2)),
        PixelFormat::Xrgb8888 => out.chunks_exact_mut(4).for_each(|p| {
            p.swap(0, 2);
            p[3] = 255;
        }),
    }
    out
}

/// What a readback goes through: a context's link, and buffers for its commands and
/// replies.
pub(super) struct Readback<'a> {
    pub link: &'a mut dyn Link,
    pub buf: &'a mut CommandBuf,
    pub reply: &'a mut ReplyBuf,
}

/// One integer of GL state, asked on the link.
fn get_integer(out: &mut Readback<'_>, pname: u32) -> Result<i32, ReplayError> {
    out.buf.clear();
    Command::GetIntegerv(GetIntegerv { pname, data: Some(1) }).encode(out.buf)?;
    out.link.round_trip(out.buf.as_bytes(), out.reply)?;
    match decode_reply(out.reply.as_bytes()) {
        Ok((Reply::GetIntegerv(r), _)) => Ok(r.data.and_then(|d| d.first().copied()).unwrap_or(0)),
        _ => Err(ReplayError::Server("the answer to glGetIntegerv does not decode".into())),
    }
}

/// Reads `width`×`height` RGBA pixels from the framebuffer bound for reading, with
/// the pack state at its defaults for the read and put back after it. Rows top-down.
pub(super) fn read_frame(rb: &mut Readback<'_>, width: u32, height: u32) -> Result<Vec<u8>, ReplayError> {
    let bytes = width as usize * height as usize * 4;
    let cap =
        u32::try_from(bytes).map_err(|_| ReplayError::Server(format!("a {width}x{height} frame is too large")))?;
    let pack_buffer = get_integer(rb, GL_PIXEL_PACK_BUFFER_BINDING)?;
    // What the read needs (tight rows from the first pixel) against what is set: only
    // what differs is changed, and put back afterwards.
    let mut changed = Vec::new();
    for (pname, wanted) in
        [(GL_PACK_ALIGNMENT, 4), (GL_PACK_ROW_LENGTH, 0), (GL_PACK_SKIP_ROWS, 0), (GL_PACK_SKIP_PIXELS, 0)]
    {
        let now = get_integer(rb, pname)?;
        if now != wanted {
            changed.push((pname, wanted, now));
        }
    }
    rb.buf.clear();
    if pack_buffer != 0 {
        Command::BindBuffer(BindBuffer { target: GL_PIXEL_PACK_BUFFER, buffer: 0 }).encode(rb.buf)?;
    }
    for &(pname, wanted, _) in &changed {
        Command::PixelStorei(PixelStorei { pname, param: wanted }).encode(rb.buf)?;
    }
    let read = ReadPixels {
        x: 0,
        y: 0,
        width: width as i32,
        height: height as i32,
        format: GL_RGBA,
        type_: GL_UNSIGNED_BYTE,
        pixels: wire::codec::OutRef::Reply(cap),
    };
    Command::ReadPixels(read).encode(rb.buf)?;
    rb.link.round_trip(rb.buf.as_bytes(), rb.reply)?;
    let mut rgba = match decode_reply(rb.reply.as_bytes()) {
        Ok((Reply::ReadPixels(r), _)) => r.pixels.unwrap_or_default().to_vec(),
        _ => return Err(ReplayError::Server("the answer to glReadPixels does not decode".into())),
    };
    rb.buf.clear();
    for &(pname, _, was) in &changed {
        Command::PixelStorei(PixelStorei { pname, param: was }).encode(rb.buf)?;
    }
    if pack_buffer != 0 {
        Command::BindBuffer(BindBuffer { target: GL_PIXEL_PACK_BUFFER, buffer: pack_buffer as u32 }).encode(rb.buf)?;
    }
    if !rb.buf.is_empty() {
        rb.link.send(rb.buf.as_bytes())?;
    }
    // A read the host refused answers fewer bytes: the frame is black there.
    rgba.resize(bytes, 0);
    let row = width as usize * 4;
    Ok(rgba.chunks(row).rev().flatten().copied().collect())
}
