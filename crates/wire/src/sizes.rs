//! Byte sizes of the client memory a GL ES call reads or writes through a pointer,
//! computed from format/type/dimensions and pixel-store state. The client uses them to
//! know how many bytes to copy out of the application; the server uses them to check
//! that what a client sent is large enough.
//!
//! This module tracks no GL state (callers pass the pixel-store values they shadow) and
//! does not validate whether a combination is legal for a particular call beyond what
//! sizing needs: a pair the spec forbids for some call but whose size is well defined
//! still gets a size, and the server's validator rejects it. An error here means the
//! size itself is undefined, negative or not representable.
//!
//! Every function is total: bad input gives a [`SizeError`], never a panic, and all
//! arithmetic is checked.

// GLenum values, from Khronos gl.xml.

// Component types.
const GL_BYTE: u32 = 0x1400;
const GL_UNSIGNED_BYTE: u32 = 0x1401;
const GL_SHORT: u32 = 0x1402;
const GL_UNSIGNED_SHORT: u32 = 0x1403;
const GL_INT: u32 = 0x1404;
const GL_UNSIGNED_INT: u32 = 0x1405;
const GL_FLOAT: u32 = 0x1406;
const GL_HALF_FLOAT: u32 = 0x140B;
const GL_FIXED: u32 = 0x140C;
const GL_HALF_FLOAT_OES: u32 = 0x8D61;

// Packed pixel / vertex types.
const GL_UNSIGNED_SHORT_4_4_4_4: u32 = 0x8033;
const GL_UNSIGNED_SHORT_5_5_5_1: u32 = 0x8034;
const GL_UNSIGNED_SHORT_5_6_5: u32 = 0x8363;
const GL_UNSIGNED_INT_2_10_10_10_REV: u32 = 0x8368;
const GL_UNSIGNED_INT_24_8: u32 = 0x84FA;
const GL_UNSIGNED_INT_10F_11F_11F_REV: u32 = 0x8C3B;
const GL_UNSIGNED_INT_5_9_9_9_REV: u32 = 0x8C3E;
const GL_FLOAT_32_UNSIGNED_INT_24_8_REV: u32 = 0x8DAD;
const GL_INT_2_10_10_10_REV: u32 = 0x8D9F;

// Client pixel formats.
const GL_STENCIL_INDEX: u32 = 0x1901;
const GL_DEPTH_COMPONENT: u32 = 0x1902;
const GL_RED: u32 = 0x1903;
const GL_ALPHA: u32 = 0x1906;
const GL_RGB: u32 = 0x1907;
const GL_RGBA: u32 = 0x1908;
const GL_LUMINANCE: u32 = 0x1909;
const GL_LUMINANCE_ALPHA: u32 = 0x190A;
const GL_BGRA_EXT: u32 = 0x80E1;
const GL_RG: u32 = 0x8227;
const GL_RG_INTEGER: u32 = 0x8228;
const GL_DEPTH_STENCIL: u32 = 0x84F9;
const GL_RED_INTEGER: u32 = 0x8D94;
const GL_RGB_INTEGER: u32 = 0x8D98;
const GL_RGBA_INTEGER: u32 = 0x8D99;

// GLSL ES 3.2 uniform types: scalars, vectors and matrices.
const GL_FLOAT_VEC2: u32 = 0x8B50;
const GL_FLOAT_VEC3: u32 = 0x8B51;
const GL_FLOAT_VEC4: u32 = 0x8B52;
const GL_INT_VEC2: u32 = 0x8B53;
const GL_INT_VEC3: u32 = 0x8B54;
const GL_INT_VEC4: u32 = 0x8B55;
const GL_BOOL: u32 = 0x8B56;
const GL_BOOL_VEC2: u32 = 0x8B57;
const GL_BOOL_VEC3: u32 = 0x8B58;
const GL_BOOL_VEC4: u32 = 0x8B59;
const GL_FLOAT_MAT2: u32 = 0x8B5A;
const GL_FLOAT_MAT3: u32 = 0x8B5B;
const GL_FLOAT_MAT4: u32 = 0x8B5C;
const GL_FLOAT_MAT2X3: u32 = 0x8B65;
const GL_FLOAT_MAT2X4: u32 = 0x8B66;
const GL_FLOAT_MAT3X2: u32 = 0x8B67;
const GL_FLOAT_MAT3X4: u32 = 0x8B68;
const GL_FLOAT_MAT4X2: u32 = 0x8B69;
const GL_FLOAT_MAT4X3: u32 = 0x8B6A;
const GL_UNSIGNED_INT_VEC2: u32 = 0x8DC6;
const GL_UNSIGNED_INT_VEC3: u32 = 0x8DC7;
const GL_UNSIGNED_INT_VEC4: u32 = 0x8DC8;

// GLSL ES 3.2 opaque uniform types; glGetUniform reads each as one int.
const GL_SAMPLER_2D: u32 = 0x8B5E;
const GL_SAMPLER_3D: u32 = 0x8B5F;
const GL_SAMPLER_CUBE: u32 = 0x8B60;
const GL_SAMPLER_2D_SHADOW: u32 = 0x8B62;
const GL_SAMPLER_EXTERNAL_OES: u32 = 0x8D66;
const GL_SAMPLER_2D_ARRAY: u32 = 0x8DC1;
const GL_SAMPLER_BUFFER: u32 = 0x8DC2;
const GL_SAMPLER_2D_ARRAY_SHADOW: u32 = 0x8DC4;
const GL_SAMPLER_CUBE_SHADOW: u32 = 0x8DC5;
const GL_INT_SAMPLER_2D: u32 = 0x8DCA;
const GL_INT_SAMPLER_3D: u32 = 0x8DCB;
const GL_INT_SAMPLER_CUBE: u32 = 0x8DCC;
const GL_INT_SAMPLER_2D_ARRAY: u32 = 0x8DCF;
const GL_INT_SAMPLER_BUFFER: u32 = 0x8DD0;
const GL_UNSIGNED_INT_SAMPLER_2D: u32 = 0x8DD2;
const GL_UNSIGNED_INT_SAMPLER_3D: u32 = 0x8DD3;
const GL_UNSIGNED_INT_SAMPLER_CUBE: u32 = 0x8DD4;
const GL_UNSIGNED_INT_SAMPLER_2D_ARRAY: u32 = 0x8DD7;
const GL_UNSIGNED_INT_SAMPLER_BUFFER: u32 = 0x8DD8;
const GL_SAMPLER_CUBE_MAP_ARRAY: u32 = 0x900C;
const GL_SAMPLER_CUBE_MAP_ARRAY_SHADOW: u32 = 0x900D;
const GL_INT_SAMPLER_CUBE_MAP_ARRAY: u32 = 0x900E;
const GL_UNSIGNED_INT_SAMPLER_CUBE_MAP_ARRAY: u32 = 0x900F;
const GL_SAMPLER_2D_MULTISAMPLE: u32 = 0x9108;
const GL_INT_SAMPLER_2D_MULTISAMPLE: u32 = 0x9109;
const GL_UNSIGNED_INT_SAMPLER_2D_MULTISAMPLE: u32 = 0x910A;
const GL_SAMPLER_2D_MULTISAMPLE_ARRAY: u32 = 0x910B;
const GL_INT_SAMPLER_2D_MULTISAMPLE_ARRAY: u32 = 0x910C;
const GL_UNSIGNED_INT_SAMPLER_2D_MULTISAMPLE_ARRAY: u32 = 0x910D;
const GL_IMAGE_2D: u32 = 0x904D;
const GL_IMAGE_3D: u32 = 0x904E;
const GL_IMAGE_CUBE: u32 = 0x9050;
const GL_IMAGE_BUFFER: u32 = 0x9051;
const GL_IMAGE_2D_ARRAY: u32 = 0x9053;
const GL_IMAGE_CUBE_MAP_ARRAY: u32 = 0x9054;
const GL_INT_IMAGE_2D: u32 = 0x9058;
const GL_INT_IMAGE_3D: u32 = 0x9059;
const GL_INT_IMAGE_CUBE: u32 = 0x905B;
const GL_INT_IMAGE_BUFFER: u32 = 0x905C;
const GL_INT_IMAGE_2D_ARRAY: u32 = 0x905E;
const GL_INT_IMAGE_CUBE_MAP_ARRAY: u32 = 0x905F;
const GL_UNSIGNED_INT_IMAGE_2D: u32 = 0x9063;
const GL_UNSIGNED_INT_IMAGE_3D: u32 = 0x9064;
const GL_UNSIGNED_INT_IMAGE_CUBE: u32 = 0x9066;
const GL_UNSIGNED_INT_IMAGE_BUFFER: u32 = 0x9067;
const GL_UNSIGNED_INT_IMAGE_2D_ARRAY: u32 = 0x9069;
const GL_UNSIGNED_INT_IMAGE_CUBE_MAP_ARRAY: u32 = 0x906A;
const GL_UNSIGNED_INT_ATOMIC_COUNTER: u32 = 0x92DB;

/// Pixel-store state that shapes client memory (glPixelStorei). One value models either
/// the unpack state (uploads) or the pack state (glReadPixels); the caller picks which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelStore {
    /// Row alignment in bytes: 1, 2, 4 or 8.
    pub alignment: i32,
    /// Pixels per row in memory; 0 means "the call's width".
    pub row_length: i32,
    /// Rows per image in memory; 0 means "the call's height". 3D calls only.
    pub image_height: i32,
    /// Pixels skipped at the start of each row.
    pub skip_pixels: i32,
    /// Rows skipped at the start of each image.
    pub skip_rows: i32,
    /// Images skipped at the start. 3D calls only.
    pub skip_images: i32,
}

impl Default for PixelStore {
    /// The GL initial state: alignment 4, everything else 0.
    fn default() -> Self {
        Self { alignment: 4, row_length: 0, image_height: 0, skip_pixels: 0, skip_rows: 0, skip_images: 0 }
    }
}

/// Why a byte size could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// A dimension, count, offset or pixel-store value was negative.
    #[error("{what} must not be negative (got {value})")]
    Negative { what: &'static str, value: i32 },
    /// The format/type pair has no defined pixel size.
    #[error("no defined pixel size for format {format:#06x} with type {type_:#06x}")]
    UnknownFormatType { format: u32, type_: u32 },
    /// The type is not one this kind of call knows (index, vertex attribute).
    #[error("unknown type {0:#06x}")]
    UnknownType(u32),
    /// A vertex attribute component count outside 1..=4, or not 4 for a packed type.
    #[error("vertex attribute size {size} is not valid for type {type_:#06x}")]
    BadComponentCount { size: i32, type_: u32 },
    /// The size does not fit in `usize`.
    #[error("byte size overflows usize")]
    Overflow,
    /// The pack/unpack alignment is not 1, 2, 4 or 8.
    #[error("pixel-store alignment must be 1, 2, 4 or 8 (got {0})")]
    BadAlignment(i32),
}

// ---------------------------------------------------------------------------
// Checked arithmetic helpers.

fn non_negative(what: &'static str, value: i32) -> Result<usize, SizeError> {
    usize::try_from(value).map_err(|_| SizeError::Negative { what, value })
}

fn add(a: usize, b: usize) -> Result<usize, SizeError> {
    a.checked_add(b).ok_or(SizeError::Overflow)
}

fn sum(terms: &[usize]) -> Result<usize, SizeError> {
    terms.iter().try_fold(0, |acc, &t| add(acc, t))
}

/// Product of `factors`, zero as soon as any factor is zero, so a term that is not used
/// (e.g. skipped images in a 2D call) cannot report a spurious overflow.
fn product(factors: &[usize]) -> Result<usize, SizeError> {
    if factors.contains(&0) {
        return Ok(0);
    }
    factors.iter().try_fold(1usize, |acc, &f| acc.checked_mul(f).ok_or(SizeError::Overflow))
}

fn round_up(value: usize, multiple: usize) -> Result<usize, SizeError> {
    // `multiple` is a validated alignment (1, 2, 4 or 8), never zero.
    Ok(add(value, multiple - 1)? / multiple * multiple)
}

// ---------------------------------------------------------------------------
// Pixel formats and types.

/// Components per pixel for a client pixel format (spec table 8.3).
fn format_components(format: u32) -> Option<usize> {
    match format {
        GL_RED | GL_RED_INTEGER | GL_DEPTH_COMPONENT | GL_STENCIL_INDEX | GL_LUMINANCE | GL_ALPHA => Some(1),
        GL_RG | GL_RG_INTEGER | GL_LUMINANCE_ALPHA | GL_DEPTH_STENCIL => Some(2),
        GL_RGB | GL_RGB_INTEGER => Some(3),
        GL_RGBA | GL_RGBA_INTEGER | GL_BGRA_EXT => Some(4),
        _ => None,
    }
}

/// Bytes of one component for an unpacked pixel type.
fn component_type_size(type_: u32) -> Option<usize> {
    match type_ {
        GL_UNSIGNED_BYTE | GL_BYTE => Some(1),
        GL_UNSIGNED_SHORT | GL_SHORT | GL_HALF_FLOAT | GL_HALF_FLOAT_OES => Some(2),
        GL_UNSIGNED_INT | GL_INT | GL_FLOAT => Some(4),
        _ => None,
    }
}

/// Bytes of one whole pixel for a packed pixel type.
fn packed_type_size(type_: u32) -> Option<usize> {
    match type_ {
        GL_UNSIGNED_SHORT_5_6_5 | GL_UNSIGNED_SHORT_4_4_4_4 | GL_UNSIGNED_SHORT_5_5_5_1 => Some(2),
        GL_UNSIGNED_INT_2_10_10_10_REV
        | GL_UNSIGNED_INT_10F_11F_11F_REV
        | GL_UNSIGNED_INT_5_9_9_9_REV
        | GL_UNSIGNED_INT_24_8 => Some(4),
        GL_FLOAT_32_UNSIGNED_INT_24_8_REV => Some(8),
        _ => None,
    }
}

/// Size of a pixel and of the "element" the alignment rule compares against: one
/// component for unpacked types, the whole pixel for packed types.
#[derive(Debug, Clone, Copy)]
struct PixelLayout {
    pixel: usize,
    element: usize,
}

fn pixel_layout(format: u32, type_: u32) -> Result<PixelLayout, SizeError> {
    let unknown = SizeError::UnknownFormatType { format, type_ };
    let components = format_components(format).ok_or(unknown)?;
    if let Some(pixel) = packed_type_size(type_) {
        // A packed type holds the whole pixel in one element, whatever the format's
        // component count; mismatches are the validator's business, not a sizing one.
        return Ok(PixelLayout { pixel, element: pixel });
    }
    // Depth+stencil data only has a layout through the packed 24_8 types.
    if format == GL_DEPTH_STENCIL {
        return Err(unknown);
    }
    let element = component_type_size(type_).ok_or(unknown)?;
    Ok(PixelLayout { pixel: components * element, element })
}

/// Bytes of one pixel of `format`/`type_` in client memory.
pub fn bytes_per_pixel(format: u32, type_: u32) -> Result<usize, SizeError> {
    pixel_layout(format, type_).map(|layout| layout.pixel)
}

// ---------------------------------------------------------------------------
// Images.

fn checked_alignment(alignment: i32) -> Result<usize, SizeError> {
    match alignment {
        1 | 2 | 4 | 8 => Ok(alignment as usize),
        _ => Err(SizeError::BadAlignment(alignment)),
    }
}

/// Bytes between the starts of consecutive rows (GL ES 3.2 §8.4.4.1): rows are padded to
/// `alignment` only when the element is smaller than it. (Element sizes and alignments
/// are powers of two, so a larger element already keeps rows aligned.)
fn row_stride(pixels_per_row: usize, layout: PixelLayout, alignment: usize) -> Result<usize, SizeError> {
    let unpadded = product(&[pixels_per_row, layout.pixel])?;
    if layout.element >= alignment {
        Ok(unpadded)
    } else {
        round_up(unpadded, alignment)
    }
}

/// Shared body of the 2D and 3D image sizes. `image_params` says whether `image_height`
/// and `skip_images` apply; when they do not they are ignored, not even checked.
fn image_span(
    format: u32,
    type_: u32,
    (width, height, depth): (i32, i32, i32),
    store: &PixelStore,
    image_params: bool,
) -> Result<usize, SizeError> {
    let width = non_negative("width", width)?;
    let height = non_negative("height", height)?;
    let depth = non_negative("depth", depth)?;
    let layout = pixel_layout(format, type_)?;
    let alignment = checked_alignment(store.alignment)?;
    let row_length = non_negative("row_length", store.row_length)?;
    let skip_pixels = non_negative("skip_pixels", store.skip_pixels)?;
    let skip_rows = non_negative("skip_rows", store.skip_rows)?;
    let (image_height, skip_images) = if image_params {
        (non_negative("image_height", store.image_height)?, non_negative("skip_images", store.skip_images)?)
    } else {
        (0, 0)
    };
    if width == 0 || height == 0 || depth == 0 {
        return Ok(0);
    }

    let pixels_per_row = if row_length > 0 { row_length } else { width };
    let rows_per_image = if image_height > 0 { image_height } else { height };
    let row_stride = row_stride(pixels_per_row, layout, alignment)?;

    // The span runs from the pointer to the last byte of the last row of the last image:
    // whole images and rows before it (skipped ones included), the skipped pixels of the
    // last row, then its `width` pixels. The last row is not padded to `alignment`.
    let images_before = add(skip_images, depth - 1)?;
    let rows_before = add(skip_rows, height - 1)?;
    sum(&[
        product(&[images_before, rows_per_image, row_stride])?,
        product(&[rows_before, row_stride])?,
        product(&[skip_pixels, layout.pixel])?,
        product(&[width, layout.pixel])?,
    ])
}

/// Bytes from the pointer that a 2D pixel call touches (glTexImage2D,
/// glTexSubImage2D, glReadPixels): `row_length`, `skip_pixels`, `skip_rows` and
/// `alignment` apply; `image_height` and `skip_images` are ignored, as the spec does
/// for 2D calls. Zero when `width` or `height` is 0.
pub fn image_size_2d(format: u32, type_: u32, width: i32, height: i32, store: &PixelStore) -> Result<usize, SizeError> {
    image_span(format, type_, (width, height, 1), store, false)
}

/// Where the rows of a 2D image lie from the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    /// Offset of the first row's first pixel (skipped rows and pixels before it).
    pub first: usize,
    /// Bytes of one row's pixels.
    pub bytes: usize,
    /// Bytes between the starts of consecutive rows.
    pub stride: usize,
    pub count: usize,
}

/// The rows a 2D pixel call reads or writes, under the same rules as
/// [`image_size_2d`]: GL touches only these bytes, never the padding or the skipped
/// pixels between them, so a readback copied to the program must leave those alone.
pub fn image_rows_2d(format: u32, type_: u32, width: i32, height: i32, store: &PixelStore) -> Result<Rows, SizeError> {
    let width = non_negative("width", width)?;
    let height = non_negative("height", height)?;
    let layout = pixel_layout(format, type_)?;
    let alignment = checked_alignment(store.alignment)?;
    let row_length = non_negative("row_length", store.row_length)?;
    let skip_pixels = non_negative("skip_pixels", store.skip_pixels)?;
    let skip_rows = non_negative("skip_rows", store.skip_rows)?;
    let pixels_per_row = if row_length > 0 { row_length } else { width };
    let stride = row_stride(pixels_per_row, layout, alignment)?;
    let first = add(product(&[skip_rows, stride])?, product(&[skip_pixels, layout.pixel])?)?;
    let count = if width == 0 { 0 } else { height };
    Ok(Rows { first, bytes: product(&[width, layout.pixel])?, stride, count })
}

/// Bytes from the pointer that a 3D pixel call touches (glTexImage3D,
/// glTexSubImage3D): all pixel-store values apply, including `image_height` and
/// `skip_images` (also when `depth` is 1). Zero when any dimension is 0.
pub fn image_size_3d(
    format: u32,
    type_: u32,
    width: i32,
    height: i32,
    depth: i32,
    store: &PixelStore,
) -> Result<usize, SizeError> {
    image_span(format, type_, (width, height, depth), store, true)
}

// ---------------------------------------------------------------------------
// Indices and vertex attributes.

/// Bytes of one index for glDrawElements-style calls.
pub fn index_size(type_: u32) -> Result<usize, SizeError> {
    match type_ {
        GL_UNSIGNED_BYTE => Ok(1),
        GL_UNSIGNED_SHORT => Ok(2),
        GL_UNSIGNED_INT => Ok(4),
        _ => Err(SizeError::UnknownType(type_)),
    }
}

/// Bytes of `count` indices of `type_`.
pub fn index_bytes(count: i32, type_: u32) -> Result<usize, SizeError> {
    let count = non_negative("count", count)?;
    product(&[count, index_size(type_)?])
}

/// Bytes of one vertex of a glVertexAttribPointer / glVertexAttribIPointer attribute
/// with `size` components of `type_`. Packed 2_10_10_10 types are one 4-byte element
/// and need `size` 4.
pub fn vertex_attrib_element_size(size: i32, type_: u32) -> Result<usize, SizeError> {
    let bad_size = SizeError::BadComponentCount { size, type_ };
    if !(1..=4).contains(&size) {
        return Err(bad_size);
    }
    match type_ {
        GL_INT_2_10_10_10_REV | GL_UNSIGNED_INT_2_10_10_10_REV if size == 4 => Ok(4),
        GL_INT_2_10_10_10_REV | GL_UNSIGNED_INT_2_10_10_10_REV => Err(bad_size),
        _ => {
            let component = vertex_component_size(type_).ok_or(SizeError::UnknownType(type_))?;
            // `size` is 1..=4 here, so this neither truncates nor overflows.
            Ok(component * size as usize)
        }
    }
}

fn vertex_component_size(type_: u32) -> Option<usize> {
    match type_ {
        GL_BYTE | GL_UNSIGNED_BYTE => Some(1),
        GL_SHORT | GL_UNSIGNED_SHORT | GL_HALF_FLOAT | GL_HALF_FLOAT_OES => Some(2),
        GL_INT | GL_UNSIGNED_INT | GL_FIXED | GL_FLOAT => Some(4),
        _ => None,
    }
}

/// Bytes from an attribute's base pointer that vertices `first..first + count` read.
/// `stride` 0 means tightly packed. Zero when `count` is 0. The last vertex is not
/// padded to the stride, so this is the exact span.
pub fn vertex_array_span(size: i32, type_: u32, stride: i32, first: i32, count: i32) -> Result<usize, SizeError> {
    let element = vertex_attrib_element_size(size, type_)?;
    let stride = non_negative("stride", stride)?;
    let first = non_negative("first", first)?;
    let count = non_negative("count", count)?;
    if count == 0 {
        return Ok(0);
    }
    let stride = if stride == 0 { element } else { stride };
    let last = add(first, count - 1)?;
    add(product(&[last, stride])?, element)
}

// ---------------------------------------------------------------------------
// Uniforms.

/// `(components, bytes per component)` that glGetUniform* writes for one element of a
/// GLSL ES 3.2 uniform of `type_`, or `None` for an unknown type. Every component is 4
/// bytes: booleans come back as int/uint/float, and samplers and images as one int.
pub fn uniform_type_components(type_: u32) -> Option<(usize, usize)> {
    let components = match type_ {
        GL_FLOAT | GL_INT | GL_UNSIGNED_INT | GL_BOOL => 1,
        GL_FLOAT_VEC2 | GL_INT_VEC2 | GL_UNSIGNED_INT_VEC2 | GL_BOOL_VEC2 => 2,
        GL_FLOAT_VEC3 | GL_INT_VEC3 | GL_UNSIGNED_INT_VEC3 | GL_BOOL_VEC3 => 3,
        GL_FLOAT_VEC4 | GL_INT_VEC4 | GL_UNSIGNED_INT_VEC4 | GL_BOOL_VEC4 => 4,
        GL_FLOAT_MAT2 => 4,
        GL_FLOAT_MAT2X3 | GL_FLOAT_MAT3X2 => 6,
        GL_FLOAT_MAT2X4 | GL_FLOAT_MAT4X2 => 8,
        GL_FLOAT_MAT3 => 9,
        GL_FLOAT_MAT3X4 | GL_FLOAT_MAT4X3 => 12,
        GL_FLOAT_MAT4 => 16,
        t if is_opaque_uniform_type(t) => 1,
        _ => return None,
    };
    Some((components, 4))
}

/// Sampler, image and atomic-counter types: their uniform value is a single integer.
fn is_opaque_uniform_type(type_: u32) -> bool {
    matches!(
        type_,
        GL_SAMPLER_2D
            | GL_SAMPLER_3D
            | GL_SAMPLER_CUBE
            | GL_SAMPLER_2D_SHADOW
            | GL_SAMPLER_EXTERNAL_OES
            | GL_SAMPLER_2D_ARRAY
            | GL_SAMPLER_BUFFER
            | GL_SAMPLER_2D_ARRAY_SHADOW
            | GL_SAMPLER_CUBE_SHADOW
            | GL_INT_SAMPLER_2D
            | GL_INT_SAMPLER_3D
            | GL_INT_SAMPLER_CUBE
            | GL_INT_SAMPLER_2D_ARRAY
            | GL_INT_SAMPLER_BUFFER
            | GL_UNSIGNED_INT_SAMPLER_2D
            | GL_UNSIGNED_INT_SAMPLER_3D
            | GL_UNSIGNED_INT_SAMPLER_CUBE
            | GL_UNSIGNED_INT_SAMPLER_2D_ARRAY
            | GL_UNSIGNED_INT_SAMPLER_BUFFER
            | GL_SAMPLER_CUBE_MAP_ARRAY
            | GL_SAMPLER_CUBE_MAP_ARRAY_SHADOW
            | GL_INT_SAMPLER_CUBE_MAP_ARRAY
            | GL_UNSIGNED_INT_SAMPLER_CUBE_MAP_ARRAY
            | GL_SAMPLER_2D_MULTISAMPLE
            | GL_INT_SAMPLER_2D_MULTISAMPLE
            | GL_UNSIGNED_INT_SAMPLER_2D_MULTISAMPLE
            | GL_SAMPLER_2D_MULTISAMPLE_ARRAY
            | GL_INT_SAMPLER_2D_MULTISAMPLE_ARRAY
            | GL_UNSIGNED_INT_SAMPLER_2D_MULTISAMPLE_ARRAY
            | GL_IMAGE_2D
            | GL_IMAGE_3D
            | GL_IMAGE_CUBE
            | GL_IMAGE_BUFFER
            | GL_IMAGE_2D_ARRAY
            | GL_IMAGE_CUBE_MAP_ARRAY
            | GL_INT_IMAGE_2D
            | GL_INT_IMAGE_3D
            | GL_INT_IMAGE_CUBE
            | GL_INT_IMAGE_BUFFER
            | GL_INT_IMAGE_2D_ARRAY
            | GL_INT_IMAGE_CUBE_MAP_ARRAY
            | GL_UNSIGNED_INT_IMAGE_2D
            | GL_UNSIGNED_INT_IMAGE_3D
            | GL_UNSIGNED_INT_IMAGE_CUBE
            | GL_UNSIGNED_INT_IMAGE_BUFFER
            | GL_UNSIGNED_INT_IMAGE_2D_ARRAY
            | GL_UNSIGNED_INT_IMAGE_CUBE_MAP_ARRAY
            | GL_UNSIGNED_INT_ATOMIC_COUNTER
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_skip_and_stride_like_the_span() {
        const GL_RGBA: u32 = 0x1908;
        const GL_UNSIGNED_BYTE: u32 = 0x1401;
        const GL_RGB: u32 = 0x1907;
        let store = PixelStore { row_length: 3, skip_pixels: 1, skip_rows: 2, ..PixelStore::default() };
        let rows = image_rows_2d(GL_RGBA, GL_UNSIGNED_BYTE, 2, 2, &store).unwrap();
        assert_eq!(rows, Rows { first: 2 * 12 + 4, bytes: 8, stride: 12, count: 2 });
        let span = image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 2, 2, &store).unwrap();
        assert_eq!(rows.first + (rows.count - 1) * rows.stride + rows.bytes, span);
        // RGB rows of 5 pixels pad to the default alignment of 4.
        let rows = image_rows_2d(GL_RGB, GL_UNSIGNED_BYTE, 5, 3, &PixelStore::default()).unwrap();
        assert_eq!((rows.bytes, rows.stride), (15, 16));
    }
    use proptest::prelude::*;

    fn store(alignment: i32) -> PixelStore {
        PixelStore { alignment, ..PixelStore::default() }
    }

    #[test]
    fn pixel_store_default_is_gl_initial_state() {
        let s = PixelStore::default();
        assert_eq!(s.alignment, 4);
        assert_eq!((s.row_length, s.image_height, s.skip_pixels, s.skip_rows, s.skip_images), (0, 0, 0, 0, 0));
    }

    #[test]
    fn bytes_per_pixel_unpacked() {
        assert_eq!(bytes_per_pixel(GL_RGBA, GL_UNSIGNED_BYTE), Ok(4));
        assert_eq!(bytes_per_pixel(GL_RGB, GL_FLOAT), Ok(12));
        assert_eq!(bytes_per_pixel(GL_RG, GL_HALF_FLOAT_OES), Ok(4));
        assert_eq!(bytes_per_pixel(GL_RGBA_INTEGER, GL_SHORT), Ok(8));
        assert_eq!(bytes_per_pixel(GL_LUMINANCE_ALPHA, GL_UNSIGNED_BYTE), Ok(2));
        assert_eq!(bytes_per_pixel(GL_ALPHA, GL_UNSIGNED_BYTE), Ok(1));
        assert_eq!(bytes_per_pixel(GL_BGRA_EXT, GL_UNSIGNED_BYTE), Ok(4));
        assert_eq!(bytes_per_pixel(GL_DEPTH_COMPONENT, GL_UNSIGNED_INT), Ok(4));
        assert_eq!(bytes_per_pixel(GL_STENCIL_INDEX, GL_UNSIGNED_BYTE), Ok(1));
        // Not a legal upload pair, but its size is well defined.
        assert_eq!(bytes_per_pixel(GL_LUMINANCE, GL_FLOAT), Ok(4));
    }

    #[test]
    fn bytes_per_pixel_packed_is_whole_pixel() {
        assert_eq!(bytes_per_pixel(GL_RGB, GL_UNSIGNED_SHORT_5_6_5), Ok(2));
        assert_eq!(bytes_per_pixel(GL_RGBA, GL_UNSIGNED_SHORT_4_4_4_4), Ok(2));
        assert_eq!(bytes_per_pixel(GL_RGBA, GL_UNSIGNED_SHORT_5_5_5_1), Ok(2));
        assert_eq!(bytes_per_pixel(GL_RGBA, GL_UNSIGNED_INT_2_10_10_10_REV), Ok(4));
        assert_eq!(bytes_per_pixel(GL_RGB, GL_UNSIGNED_INT_10F_11F_11F_REV), Ok(4));
        assert_eq!(bytes_per_pixel(GL_RGB, GL_UNSIGNED_INT_5_9_9_9_REV), Ok(4));
        assert_eq!(bytes_per_pixel(GL_DEPTH_STENCIL, GL_UNSIGNED_INT_24_8), Ok(4));
        assert_eq!(bytes_per_pixel(GL_DEPTH_STENCIL, GL_FLOAT_32_UNSIGNED_INT_24_8_REV), Ok(8));
    }

    #[test]
    fn bytes_per_pixel_unknown() {
        let err = |format, type_| Err(SizeError::UnknownFormatType { format, type_ });
        assert_eq!(bytes_per_pixel(0, GL_UNSIGNED_BYTE), err(0, GL_UNSIGNED_BYTE));
        assert_eq!(bytes_per_pixel(GL_RGBA, 0), err(GL_RGBA, 0));
        assert_eq!(bytes_per_pixel(GL_RGBA, GL_FIXED), err(GL_RGBA, GL_FIXED));
        // A packed type still needs a known format.
        assert_eq!(bytes_per_pixel(0xFFFF, GL_UNSIGNED_SHORT_5_6_5), err(0xFFFF, GL_UNSIGNED_SHORT_5_6_5));
        // Depth+stencil has no unpacked layout.
        assert_eq!(bytes_per_pixel(GL_DEPTH_STENCIL, GL_UNSIGNED_BYTE), err(GL_DEPTH_STENCIL, GL_UNSIGNED_BYTE));
    }

    #[test]
    fn rgb_ubyte_3x2_alignment() {
        // 9-byte rows: padded to 12 at alignment 4, last row unpadded: 12 + 9.
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_BYTE, 3, 2, &store(4)), Ok(21));
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_BYTE, 3, 2, &store(1)), Ok(18));
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_BYTE, 3, 2, &store(2)), Ok(19));
        // 16 + 16 + 9.
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_BYTE, 3, 3, &store(8)), Ok(41));
    }

    #[test]
    fn alignment_applies_only_to_smaller_elements() {
        // RGB float: 12-byte rows, 4-byte elements. At alignment 4 no padding: 12 + 12.
        assert_eq!(image_size_2d(GL_RGB, GL_FLOAT, 1, 2, &store(4)), Ok(24));
        // At alignment 8 the element is smaller, rows pad to 16: 16 + 12.
        assert_eq!(image_size_2d(GL_RGB, GL_FLOAT, 1, 2, &store(8)), Ok(28));
        // RGB ushort: 6-byte rows padded to 8: 8 + 6.
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_SHORT, 1, 2, &store(4)), Ok(14));
    }

    #[test]
    fn row_length_and_skips() {
        // Rows of 5 RGB pixels = 15 bytes, padded to 16.
        let mut s = PixelStore { row_length: 5, ..PixelStore::default() };
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_BYTE, 3, 2, &s), Ok(16 + 9));
        // Skip 1 pixel (3 bytes) and 2 rows (32 bytes): 35 + 16 + 9.
        s.skip_pixels = 1;
        s.skip_rows = 2;
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_BYTE, 3, 2, &s), Ok(60));
        // Skips without row_length use the width: rows 12; 3 + 24 + 12 + 9.
        let s = PixelStore { skip_pixels: 1, skip_rows: 2, ..PixelStore::default() };
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_BYTE, 3, 2, &s), Ok(48));
    }

    #[test]
    fn three_d_image_height_and_skip_images() {
        // RGBA ubyte 2x3x2: rows 8 bytes, images of 4 rows = 32 bytes.
        let s = PixelStore { image_height: 4, skip_images: 1, ..PixelStore::default() };
        // 1 skipped image + 1 whole image + 2 rows + 8 bytes.
        assert_eq!(image_size_3d(GL_RGBA, GL_UNSIGNED_BYTE, 2, 3, 2, &s), Ok(88));
        // The 2D variant ignores image_height and skip_images: 2 rows + 8.
        assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 2, 3, &s), Ok(24));
        // Without image_height, images are `height` rows: 24 + 24 + 16 + 8.
        let s = PixelStore { skip_images: 1, ..PixelStore::default() };
        assert_eq!(image_size_3d(GL_RGBA, GL_UNSIGNED_BYTE, 2, 3, 2, &s), Ok(72));
        // skip_images still applies to a 3D call of depth 1: 24 + 16 + 8.
        assert_eq!(image_size_3d(GL_RGBA, GL_UNSIGNED_BYTE, 2, 3, 1, &s), Ok(48));
    }

    #[test]
    fn packed_image_sizes() {
        // 5_6_5: 2-byte element < alignment 4, rows of 6 bytes padded to 8: 8 + 6.
        assert_eq!(image_size_2d(GL_RGB, GL_UNSIGNED_SHORT_5_6_5, 3, 2, &store(4)), Ok(14));
        // 24_8: 4 bytes per pixel, rows 12: 12 + 12.
        assert_eq!(image_size_2d(GL_DEPTH_STENCIL, GL_UNSIGNED_INT_24_8, 3, 2, &store(4)), Ok(24));
        // 8-byte element >= alignment 8: rows 24, no padding: 24 + 24.
        assert_eq!(image_size_2d(GL_DEPTH_STENCIL, GL_FLOAT_32_UNSIGNED_INT_24_8_REV, 3, 2, &store(8)), Ok(48));
    }

    #[test]
    fn zero_dimensions_are_empty() {
        let s = PixelStore { skip_pixels: 7, skip_rows: 7, skip_images: 7, ..PixelStore::default() };
        assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 0, 5, &s), Ok(0));
        assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 5, 0, &s), Ok(0));
        assert_eq!(image_size_3d(GL_RGBA, GL_UNSIGNED_BYTE, 5, 5, 0, &s), Ok(0));
    }

    #[test]
    fn negative_values_are_errors() {
        let neg = |what, value| Err(SizeError::Negative { what, value });
        let s = PixelStore::default();
        assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, -1, 1, &s), neg("width", -1));
        assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 1, -2, &s), neg("height", -2));
        assert_eq!(image_size_3d(GL_RGBA, GL_UNSIGNED_BYTE, 1, 1, i32::MIN, &s), neg("depth", i32::MIN));
        let s = PixelStore { skip_rows: -1, ..PixelStore::default() };
        assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 1, 1, &s), neg("skip_rows", -1));
        // A 2D call ignores the image parameters entirely, bad values included.
        let s = PixelStore { skip_images: -1, image_height: -1, ..PixelStore::default() };
        assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 1, 1, &s), Ok(4));
        assert_eq!(image_size_3d(GL_RGBA, GL_UNSIGNED_BYTE, 1, 1, 1, &s), neg("image_height", -1));
    }

    #[test]
    fn bad_alignment_is_error() {
        for a in [0, 3, 5, 16, -4] {
            assert_eq!(image_size_2d(GL_RGBA, GL_UNSIGNED_BYTE, 1, 1, &store(a)), Err(SizeError::BadAlignment(a)));
        }
    }

    #[test]
    fn overflow_is_error_not_panic() {
        let s = PixelStore::default();
        let max = i32::MAX;
        assert_eq!(image_size_3d(GL_RGBA, GL_FLOAT, max, max, max, &s), Err(SizeError::Overflow));
        if usize::BITS == 64 {
            // Rows of 2^35 bytes times 2^31 rows exceed 2^64.
            assert_eq!(image_size_2d(GL_RGBA, GL_FLOAT, max, max, &s), Err(SizeError::Overflow));
            // ...but a single huge row fits exactly.
            assert_eq!(image_size_2d(GL_RGBA, GL_FLOAT, max, 1, &s), Ok(max as usize * 16));
        }
        let s = PixelStore {
            skip_pixels: max,
            skip_rows: max,
            skip_images: max,
            row_length: max,
            image_height: max,
            alignment: 8,
        };
        assert_eq!(image_size_3d(GL_RGBA, GL_FLOAT, 1, 1, 1, &s), Err(SizeError::Overflow));
    }

    #[test]
    fn indices() {
        assert_eq!(index_size(GL_UNSIGNED_BYTE), Ok(1));
        assert_eq!(index_size(GL_UNSIGNED_SHORT), Ok(2));
        assert_eq!(index_size(GL_UNSIGNED_INT), Ok(4));
        assert_eq!(index_size(GL_FLOAT), Err(SizeError::UnknownType(GL_FLOAT)));
        assert_eq!(index_bytes(6, GL_UNSIGNED_SHORT), Ok(12));
        assert_eq!(index_bytes(0, GL_UNSIGNED_INT), Ok(0));
        assert_eq!(index_bytes(-1, GL_UNSIGNED_BYTE), Err(SizeError::Negative { what: "count", value: -1 }));
        assert_eq!(index_bytes(3, GL_BYTE), Err(SizeError::UnknownType(GL_BYTE)));
    }

    /// GL_DOUBLE: a desktop GL type that GL ES does not have.
    const GL_DOUBLE_FOR_TEST: u32 = 0x140A;

    #[test]
    fn vertex_element_sizes() {
        assert_eq!(vertex_attrib_element_size(3, GL_FLOAT), Ok(12));
        assert_eq!(vertex_attrib_element_size(4, GL_UNSIGNED_BYTE), Ok(4));
        assert_eq!(vertex_attrib_element_size(2, GL_FIXED), Ok(8));
        assert_eq!(vertex_attrib_element_size(3, GL_HALF_FLOAT), Ok(6));
        assert_eq!(vertex_attrib_element_size(1, GL_SHORT), Ok(2));
        assert_eq!(vertex_attrib_element_size(4, GL_INT_2_10_10_10_REV), Ok(4));
        assert_eq!(vertex_attrib_element_size(4, GL_UNSIGNED_INT_2_10_10_10_REV), Ok(4));
        let bad = |size, type_| Err(SizeError::BadComponentCount { size, type_ });
        assert_eq!(vertex_attrib_element_size(3, GL_INT_2_10_10_10_REV), bad(3, GL_INT_2_10_10_10_REV));
        assert_eq!(vertex_attrib_element_size(0, GL_FLOAT), bad(0, GL_FLOAT));
        assert_eq!(vertex_attrib_element_size(5, GL_FLOAT), bad(5, GL_FLOAT));
        assert_eq!(vertex_attrib_element_size(2, GL_DOUBLE_FOR_TEST), Err(SizeError::UnknownType(GL_DOUBLE_FOR_TEST)));
    }

    #[test]
    fn vertex_spans() {
        // Tightly packed vec3: 4 vertices of 12 bytes.
        assert_eq!(vertex_array_span(3, GL_FLOAT, 0, 0, 4), Ok(48));
        // Stride 20, vertices 2..5: last vertex starts at 4 * 20, then 12 bytes.
        assert_eq!(vertex_array_span(3, GL_FLOAT, 20, 2, 3), Ok(92));
        // Stride smaller than the element (overlapping vertices) is still exact.
        assert_eq!(vertex_array_span(4, GL_FLOAT, 4, 0, 3), Ok(24));
        assert_eq!(vertex_array_span(3, GL_FLOAT, 20, 100, 0), Ok(0));
        assert_eq!(vertex_array_span(3, GL_FLOAT, -4, 0, 1), Err(SizeError::Negative { what: "stride", value: -4 }));
        if usize::BITS == 64 {
            let max = i32::MAX as usize;
            assert_eq!(vertex_array_span(4, GL_FLOAT, i32::MAX, i32::MAX, i32::MAX), Ok((2 * max - 1) * max + 16));
        }
    }

    #[test]
    fn uniform_types() {
        assert_eq!(uniform_type_components(GL_FLOAT), Some((1, 4)));
        assert_eq!(uniform_type_components(GL_FLOAT_VEC4), Some((4, 4)));
        assert_eq!(uniform_type_components(GL_UNSIGNED_INT_VEC3), Some((3, 4)));
        assert_eq!(uniform_type_components(GL_BOOL_VEC2), Some((2, 4)));
        assert_eq!(uniform_type_components(GL_FLOAT_MAT3), Some((9, 4)));
        assert_eq!(uniform_type_components(GL_FLOAT_MAT2X3), Some((6, 4)));
        assert_eq!(uniform_type_components(GL_FLOAT_MAT4X3), Some((12, 4)));
        assert_eq!(uniform_type_components(GL_SAMPLER_2D), Some((1, 4)));
        assert_eq!(uniform_type_components(GL_UNSIGNED_INT_IMAGE_CUBE_MAP_ARRAY), Some((1, 4)));
        assert_eq!(uniform_type_components(GL_RGBA), None);
    }

    #[test]
    fn error_messages_show_enums_in_hex() {
        let e = SizeError::UnknownFormatType { format: GL_RGBA, type_: 0x1234 };
        assert_eq!(e.to_string(), "no defined pixel size for format 0x1908 with type 0x1234");
        assert_eq!(SizeError::UnknownType(0xBEEF).to_string(), "unknown type 0xbeef");
    }

    const FORMATS: &[u32] = &[
        GL_RED,
        GL_RED_INTEGER,
        GL_RG,
        GL_RG_INTEGER,
        GL_RGB,
        GL_RGB_INTEGER,
        GL_RGBA,
        GL_RGBA_INTEGER,
        GL_DEPTH_COMPONENT,
        GL_DEPTH_STENCIL,
        GL_STENCIL_INDEX,
        GL_LUMINANCE_ALPHA,
        GL_LUMINANCE,
        GL_ALPHA,
        GL_BGRA_EXT,
    ];

    const TYPES: &[u32] = &[
        GL_UNSIGNED_BYTE,
        GL_BYTE,
        GL_UNSIGNED_SHORT,
        GL_SHORT,
        GL_UNSIGNED_INT,
        GL_INT,
        GL_HALF_FLOAT,
        GL_HALF_FLOAT_OES,
        GL_FLOAT,
        GL_FIXED,
        GL_UNSIGNED_SHORT_5_6_5,
        GL_UNSIGNED_SHORT_4_4_4_4,
        GL_UNSIGNED_SHORT_5_5_5_1,
        GL_UNSIGNED_INT_2_10_10_10_REV,
        GL_INT_2_10_10_10_REV,
        GL_UNSIGNED_INT_10F_11F_11F_REV,
        GL_UNSIGNED_INT_5_9_9_9_REV,
        GL_UNSIGNED_INT_24_8,
        GL_FLOAT_32_UNSIGNED_INT_24_8_REV,
    ];

    /// Mostly real enums, sometimes arbitrary ones.
    fn gl_enum(known: &'static [u32]) -> impl Strategy<Value = u32> {
        prop_oneof![3 => proptest::sample::select(known), 1 => any::<u32>()]
    }

    /// Mostly small values (so successes are exercised), sometimes any i32.
    fn int() -> impl Strategy<Value = i32> {
        prop_oneof![3 => -2..64i32, 1 => any::<i32>()]
    }

    fn pixel_store() -> impl Strategy<Value = PixelStore> {
        let alignment = prop_oneof![4 => proptest::sample::select(&[1, 2, 4, 8][..]), 1 => int()];
        (alignment, int(), int(), int(), int(), int()).prop_map(|(a, rl, ih, sp, sr, si)| PixelStore {
            alignment: a,
            row_length: rl,
            image_height: ih,
            skip_pixels: sp,
            skip_rows: sr,
            skip_images: si,
        })
    }

    proptest! {
        #[test]
        fn images_never_panic(
            format in gl_enum(FORMATS),
            type_ in gl_enum(TYPES),
            (w, h, d) in (int(), int(), int()),
            store in pixel_store(),
        ) {
            let _ = bytes_per_pixel(format, type_);
            let two_d = image_size_2d(format, type_, w, h, &store);
            let three_d = image_size_3d(format, type_, w, h, d, &store);
            // A 2D call is a 3D call of depth 1 without the image parameters.
            let flat = PixelStore { image_height: 0, skip_images: 0, ..store };
            prop_assert_eq!(two_d, image_size_3d(format, type_, w, h, 1, &flat));
            // Without overlapping rows or images (row_length < width, image_height <
            // height), skips and padding only ever add bytes to the tight size.
            let no_overlap = store.row_length == 0 && store.image_height == 0;
            if let (true, Ok(size), Ok(bpp)) = (no_overlap, three_d, bytes_per_pixel(format, type_)) {
                let tight = (w as u128) * (h as u128) * (d as u128) * (bpp as u128);
                prop_assert!(size as u128 >= tight);
            }
        }

        #[test]
        fn tight_images_are_width_height_depth_bpp(
            format in proptest::sample::select(FORMATS),
            type_ in proptest::sample::select(TYPES),
            (w, h, d) in (0..50i32, 0..50i32, 0..50i32),
        ) {
            if let Ok(bpp) = bytes_per_pixel(format, type_) {
                let size = image_size_3d(format, type_, w, h, d, &PixelStore { alignment: 1, ..PixelStore::default() });
                prop_assert_eq!(size, Ok(w as usize * h as usize * d as usize * bpp));
            }
        }

        #[test]
        fn indices_and_vertices_never_panic(
            type_ in gl_enum(TYPES),
            (size, stride, first, count) in (int(), int(), int(), int()),
        ) {
            let _ = index_bytes(count, type_);
            let _ = vertex_array_span(size, type_, stride, first, count);
            let _ = uniform_type_components(type_);
        }
    }
}
