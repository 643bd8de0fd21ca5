//! How many elements the ICD copies for each hand-sized pointer: the methods named by
//! `size = "…"` in `codegen/annotations.toml`, which the generated entry points call.
//! The byte arithmetic is `wire::sizes`'; this module supplies the shadowed state
//! (pixel store, pname tables, values only the server knows).

use wire::commands::{Command, GetActiveUniformBlockiv, GetActiveUniformBlockivReply, GetIntegerv, GetIntegervReply};
use wire::pnames::{PnameCount, PnameTable, ACTIVE_UNIFORM_BLOCK};
use wire::sizes::{self, SizeError};

use crate::context::Context;
use crate::link::Forward;
use crate::CallError;

const GL_UNPACK_ROW_LENGTH: u32 = 0x0CF2;
const GL_UNPACK_SKIP_ROWS: u32 = 0x0CF3;
const GL_UNPACK_SKIP_PIXELS: u32 = 0x0CF4;
const GL_UNPACK_ALIGNMENT: u32 = 0x0CF5;
const GL_PACK_ROW_LENGTH: u32 = 0x0D02;
const GL_PACK_SKIP_ROWS: u32 = 0x0D03;
const GL_PACK_SKIP_PIXELS: u32 = 0x0D04;
const GL_PACK_ALIGNMENT: u32 = 0x0D05;
const GL_UNPACK_SKIP_IMAGES: u32 = 0x806D;
const GL_UNPACK_IMAGE_HEIGHT: u32 = 0x806E;
const GL_UNIFORM_BLOCK_ACTIVE_UNIFORMS: u32 = 0x8A42;
const GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES: u32 = 0x8A43;

/// The most values one uniform location can return (a `mat4`).
const MAX_UNIFORM_VALUES: usize = 16;

/// Updates the pixel-store shadow the way GL would: invalid values raise an error in
/// GL and leave the state alone, so they leave the shadow alone too.
/// The pixel-store value of `pname` as the context's shadow has it (every glPixelStorei
/// the host accepts is followed, the ones it refuses are not), or `None` for another
/// pname.
pub(crate) fn pixel_store(ctx: &Context, pname: u32) -> Option<i32> {
    Some(match pname {
        GL_UNPACK_ALIGNMENT => ctx.unpack.alignment,
        GL_UNPACK_ROW_LENGTH => ctx.unpack.row_length,
        GL_UNPACK_SKIP_ROWS => ctx.unpack.skip_rows,
        GL_UNPACK_SKIP_PIXELS => ctx.unpack.skip_pixels,
        GL_UNPACK_IMAGE_HEIGHT => ctx.unpack.image_height,
        GL_UNPACK_SKIP_IMAGES => ctx.unpack.skip_images,
        GL_PACK_ALIGNMENT => ctx.pack.alignment,
        GL_PACK_ROW_LENGTH => ctx.pack.row_length,
        GL_PACK_SKIP_ROWS => ctx.pack.skip_rows,
        GL_PACK_SKIP_PIXELS => ctx.pack.skip_pixels,
        _ => return None,
    })
}

pub(crate) fn apply_pixel_store(ctx: &mut Context, pname: u32, param: i32) {
    if param < 0 {
        return;
    }
    let store = match pname {
        GL_UNPACK_ALIGNMENT | GL_PACK_ALIGNMENT if !matches!(param, 1 | 2 | 4 | 8) => return,
        GL_UNPACK_ALIGNMENT => &mut ctx.unpack.alignment,
        GL_UNPACK_ROW_LENGTH => &mut ctx.unpack.row_length,
        GL_UNPACK_SKIP_ROWS => &mut ctx.unpack.skip_rows,
        GL_UNPACK_SKIP_PIXELS => &mut ctx.unpack.skip_pixels,
        GL_UNPACK_IMAGE_HEIGHT => &mut ctx.unpack.image_height,
        GL_UNPACK_SKIP_IMAGES => &mut ctx.unpack.skip_images,
        GL_PACK_ALIGNMENT => &mut ctx.pack.alignment,
        GL_PACK_ROW_LENGTH => &mut ctx.pack.row_length,
        GL_PACK_SKIP_ROWS => &mut ctx.pack.skip_rows,
        GL_PACK_SKIP_PIXELS => &mut ctx.pack.skip_pixels,
        _ => return,
    };
    *store = param;
}

fn size_error(e: SizeError) -> CallError {
    match e {
        SizeError::UnknownFormatType { .. } | SizeError::UnknownType(_) => CallError::INVALID_ENUM,
        SizeError::Overflow => CallError::OUT_OF_MEMORY,
        _ => CallError::INVALID_VALUE,
    }
}

impl Context {
    /// Bytes of indices a draw reads from client memory.
    pub fn index_bytes(&self, count: i32, type_: u32) -> Result<usize, CallError> {
        sizes::index_bytes(count, type_).map_err(size_error)
    }

    /// Bytes a 2D texture upload reads under the current unpack state.
    pub fn unpack_image_2d(&self, format: u32, type_: u32, width: i32, height: i32) -> Result<usize, CallError> {
        sizes::image_size_2d(format, type_, width, height, &self.unpack).map_err(size_error)
    }

    /// Bytes a 3D texture upload reads under the current unpack state.
    pub fn unpack_image_3d(
        &self,
        format: u32,
        type_: u32,
        width: i32,
        height: i32,
        depth: i32,
    ) -> Result<usize, CallError> {
        sizes::image_size_3d(format, type_, width, height, depth, &self.unpack).map_err(size_error)
    }

    /// Bytes of one texel in `format`/`type_` (a clear value).
    pub fn texel_bytes(&self, format: u32, type_: u32) -> Result<usize, CallError> {
        sizes::bytes_per_pixel(format, type_).map_err(size_error)
    }

    /// Bytes a readback writes under the current pack state.
    pub fn pack_image_2d(&self, format: u32, type_: u32, width: i32, height: i32) -> Result<usize, CallError> {
        sizes::image_size_2d(format, type_, width, height, &self.pack).map_err(size_error)
    }

    /// Where a readback's rows land under the current pack state (`None` when it cannot
    /// be computed; the call then fails on the server anyway).
    pub fn pack_rows(&self, format: u32, type_: u32, width: i32, height: i32) -> Option<sizes::Rows> {
        sizes::image_rows_2d(format, type_, width, height, &self.pack).ok()
    }

    /// Values a pname query or parameter call moves. A parameter pname the table does
    /// not know moves nothing (the server rejects it as GL would, GL_INVALID_ENUM); an
    /// unknown state query moves one value. The program's memory is never read or
    /// written past that.
    pub fn pname_count(&mut self, table: &PnameTable, pname: u32) -> Result<usize, CallError> {
        match table.lookup(pname) {
            // Extension state the tables do not list: one value, as nearly all state
            // is; the server asks the host with room to spare and sends back that one.
            None if std::ptr::eq(table, &wire::pnames::GET) || std::ptr::eq(table, &wire::pnames::GET_INDEXED) => Ok(1),
            None => Ok(0),
            Some(PnameCount::Fixed(n)) => Ok(n as usize),
            Some(PnameCount::From(count_pname)) => self.query_count(count_pname),
        }
    }

    /// An integer state value used as a count (`GL_NUM_COMPRESSED_TEXTURE_FORMATS`).
    fn query_count(&mut self, pname: u32) -> Result<usize, CallError> {
        let reply = self.call(&Command::GetIntegerv(GetIntegerv { pname, data: Some(1) }))?;
        let (_, body, _) = wire::codec::split_message(reply.as_bytes())?;
        let value = GetIntegervReply::decode(body)?.data.and_then(|d| d.first().copied()).unwrap_or(0);
        Ok(usize::try_from(value).unwrap_or(0))
    }

    /// Values of one glGetActiveUniformBlockiv query.
    pub fn uniform_block_param_count(&mut self, program: u32, index: u32, pname: u32) -> Result<usize, CallError> {
        if pname != GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES {
            return self.pname_count(&ACTIVE_UNIFORM_BLOCK, pname);
        }
        let query = GetActiveUniformBlockiv {
            program,
            uniform_block_index: index,
            pname: GL_UNIFORM_BLOCK_ACTIVE_UNIFORMS,
            params: Some(1),
        };
        let reply = self.call(&Command::GetActiveUniformBlockiv(query))?;
        let (_, body, _) = wire::codec::split_message(reply.as_bytes())?;
        let n = GetActiveUniformBlockivReply::decode(body)?.params.and_then(|d| d.first().copied()).unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// An upper bound for glGetUniform*: the reply carries as many values as the
    /// uniform really has, and only those are copied to the program.
    pub fn uniform_value_count(&self, _program: u32, _location: i32) -> Result<usize, CallError> {
        Ok(MAX_UNIFORM_VALUES)
    }

    /// Elements of `elem` bytes that fit in `buf_size` bytes (the robust `glGetn*`).
    pub fn elems_in_bytes(&self, buf_size: i32, elem: usize) -> Result<usize, CallError> {
        Ok(usize::try_from(buf_size).unwrap_or(0) / elem.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GL_RGBA: u32 = 0x1908;
    const GL_UNSIGNED_BYTE: u32 = 0x1401;

    #[test]
    fn unpack_size_follows_the_pixel_store_shadow() {
        let mut ctx = Context::default();
        assert_eq!(ctx.unpack_image_2d(0x1907, GL_UNSIGNED_BYTE, 3, 2), Ok(21));
        apply_pixel_store(&mut ctx, GL_UNPACK_ALIGNMENT, 1);
        assert_eq!(ctx.unpack_image_2d(0x1907, GL_UNSIGNED_BYTE, 3, 2), Ok(18));
        // An invalid alignment is a GL error and leaves the state as it was.
        apply_pixel_store(&mut ctx, GL_UNPACK_ALIGNMENT, 3);
        assert_eq!(ctx.unpack.alignment, 1);
        apply_pixel_store(&mut ctx, GL_PACK_ROW_LENGTH, 10);
        assert_eq!(ctx.pack_image_2d(GL_RGBA, GL_UNSIGNED_BYTE, 2, 2), Ok(48));
    }

    #[test]
    fn bad_enums_and_values_become_gl_errors() {
        let ctx = Context::default();
        assert_eq!(ctx.unpack_image_2d(0xdead, GL_UNSIGNED_BYTE, 1, 1), Err(CallError::INVALID_ENUM));
        assert_eq!(ctx.unpack_image_2d(GL_RGBA, GL_UNSIGNED_BYTE, -1, 1), Err(CallError::INVALID_VALUE));
        assert_eq!(ctx.index_bytes(3, 0x1403), Ok(6));
    }

    #[test]
    fn pname_counts_from_the_tables() {
        let mut ctx = Context::default();
        assert_eq!(ctx.pname_count(&wire::pnames::GET, 0x0BA2), Ok(4)); // GL_VIEWPORT
        assert_eq!(ctx.pname_count(&wire::pnames::GET, 0xdead), Ok(1), "unknown state: one value");
        assert_eq!(ctx.pname_count(&wire::pnames::TEX_PARAMETER, 0xdead), Ok(0), "unknown parameter: nothing");
        // A count that needs the server fails cleanly without one.
        assert_eq!(ctx.pname_count(&wire::pnames::GET, 0x86A3), Err(CallError::NotConnected));
    }

    #[test]
    fn robust_queries_count_whole_elements() {
        let ctx = Context::default();
        assert_eq!(ctx.elems_in_bytes(10, 4), Ok(2));
        assert_eq!(ctx.elems_in_bytes(-4, 4), Ok(0));
    }
}
