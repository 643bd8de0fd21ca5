//! Which of a program's calls the context's typed submit (`Context::submit_typed`)
//! may encode straight from the call's own type, past the shadow and the draw-time
//! work of `submit`: the calls none of those look at, and draws and vertex-array binds
//! in the states where they have nothing to do. It owns only that list; the context
//! takes the path, and a test holds every opcode to `submit`'s bytes and state.

use wire::commands::Opcode;

/// What the typed submit does with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typed {
    /// Encodes it: nothing in the context follows it.
    Plain,
    /// A draw: encoded when a vertex array of the program's is bound (no attribute of
    /// the default one reads client memory then) and no buffer is mapped (nothing to
    /// write back first); otherwise `submit` does that work.
    Draw,
    /// glBindVertexArray: the bound vertex array noted, then encoded.
    BindVertexArray,
    /// `submit`.
    Other,
}

/// `op`'s path (evaluated at compile time for each call site).
pub(crate) const fn typed(op: Opcode) -> Typed {
    use Opcode as O;
    match op {
        O::Uniform1f | O::Uniform1fv | O::Uniform1i | O::Uniform1iv | O::Uniform1ui | O::Uniform1uiv => Typed::Plain,
        O::Uniform2f | O::Uniform2fv | O::Uniform2i | O::Uniform2iv | O::Uniform2ui | O::Uniform2uiv => Typed::Plain,
        O::Uniform3f | O::Uniform3fv | O::Uniform3i | O::Uniform3iv | O::Uniform3ui | O::Uniform3uiv => Typed::Plain,
        O::Uniform4f | O::Uniform4fv | O::Uniform4i | O::Uniform4iv | O::Uniform4ui | O::Uniform4uiv => Typed::Plain,
        O::UniformMatrix2fv | O::UniformMatrix3fv | O::UniformMatrix4fv => Typed::Plain,
        O::UniformMatrix2x3fv | O::UniformMatrix3x2fv | O::UniformMatrix2x4fv => Typed::Plain,
        O::UniformMatrix4x2fv | O::UniformMatrix3x4fv | O::UniformMatrix4x3fv => Typed::Plain,
        O::VertexAttrib1f | O::VertexAttrib2f | O::VertexAttrib3f | O::VertexAttrib4f => Typed::Plain,
        O::VertexAttrib1fv | O::VertexAttrib2fv | O::VertexAttrib3fv | O::VertexAttrib4fv => Typed::Plain,
        O::VertexAttribI4i | O::VertexAttribI4ui | O::VertexAttribI4iv | O::VertexAttribI4uiv => Typed::Plain,
        O::BlendColor | O::BlendEquation | O::BlendEquationSeparate | O::BlendFunc | O::BlendFuncSeparate => {
            Typed::Plain
        }
        O::Clear | O::ClearColor | O::ClearDepthf | O::ClearStencil | O::ColorMask => Typed::Plain,
        O::CullFace | O::DepthFunc | O::DepthMask | O::DepthRangef | O::FrontFace | O::Hint => Typed::Plain,
        O::LineWidth | O::PolygonOffset | O::SampleCoverage | O::TexParameterf | O::TexParameteri => Typed::Plain,
        O::StencilFunc | O::StencilFuncSeparate | O::StencilMask | O::StencilMaskSeparate => Typed::Plain,
        O::StencilOp | O::StencilOpSeparate => Typed::Plain,
        O::DrawArrays | O::DrawArraysInstanced | O::DrawElements | O::DrawElementsInstanced => Typed::Draw,
        O::DrawRangeElements => Typed::Draw,
        O::BindVertexArray => Typed::BindVertexArray,
        _ => Typed::Other,
    }
}
