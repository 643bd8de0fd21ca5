//! The commands the server may hand to the host straight after decoding: no object
//! names to map, no validation rule beyond the decoder's (or only the cached
//! vertex-array check of a non-indexed draw), no storage to count, no reply to fix.
//! Deciding that once per opcode instead of asking every layer for every command is
//! what lets a draw-heavy frame (a uniform and a draw, thousands of times) run near
//! the host's own speed: these commands run straight from their bytes through the
//! backend's function for their opcode (`backend_gles::encoded_fn`, kept in the
//! table), never built into a `Command`. This module owns only the list; `gles` takes
//! the short path, and a test holds every listed opcode to the full path's answers.

use backend_gles::{encoded_fn, EncodedFn};
use wire::commands::Opcode;

/// What the short path does before handing the command to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    /// Nothing.
    Direct,
    /// Confirm (from the validator's cache) that no enabled vertex attribute reads
    /// client memory: a non-indexed draw reads only bound buffers then.
    ArraysDraw,
}

/// Asynchronous commands of scalars, or of arrays the registry sizes (checked by the
/// decoder), that name no object and that no validator rule, quota or reply rewrite
/// looks at. Binding, deleting, creating and pixel commands are deliberately absent.
const DIRECT: &[Opcode] = &[
    Opcode::ActiveTexture,
    Opcode::BlendColor,
    Opcode::BlendEquation,
    Opcode::BlendEquationSeparate,
    Opcode::BlendFunc,
    Opcode::BlendFuncSeparate,
    Opcode::Clear,
    Opcode::ClearColor,
    Opcode::ClearDepthf,
    Opcode::ClearStencil,
    Opcode::ColorMask,
    Opcode::CullFace,
    Opcode::DepthFunc,
    Opcode::DepthMask,
    Opcode::DepthRangef,
    Opcode::Disable,
    Opcode::Enable,
    Opcode::FrontFace,
    Opcode::Hint,
    Opcode::LineWidth,
    Opcode::PolygonOffset,
    Opcode::PixelStorei,
    Opcode::SampleCoverage,
    Opcode::Scissor,
    Opcode::StencilFunc,
    Opcode::StencilFuncSeparate,
    Opcode::StencilMask,
    Opcode::StencilMaskSeparate,
    Opcode::StencilOp,
    Opcode::StencilOpSeparate,
    Opcode::TexParameterf,
    Opcode::TexParameteri,
    Opcode::Uniform1f,
    Opcode::Uniform1fv,
    Opcode::Uniform1i,
    Opcode::Uniform1iv,
    Opcode::Uniform1ui,
    Opcode::Uniform1uiv,
    Opcode::Uniform2f,
    Opcode::Uniform2fv,
    Opcode::Uniform2i,
    Opcode::Uniform2iv,
    Opcode::Uniform2ui,
    Opcode::Uniform2uiv,
    Opcode::Uniform3f,
    Opcode::Uniform3fv,
    Opcode::Uniform3i,
    Opcode::Uniform3iv,
    Opcode::Uniform3ui,
    Opcode::Uniform3uiv,
    Opcode::Uniform4f,
    Opcode::Uniform4fv,
    Opcode::Uniform4i,
    Opcode::Uniform4iv,
    Opcode::Uniform4ui,
    Opcode::Uniform4uiv,
    Opcode::UniformMatrix2fv,
    Opcode::UniformMatrix2x3fv,
    Opcode::UniformMatrix2x4fv,
    Opcode::UniformMatrix3fv,
    Opcode::UniformMatrix3x2fv,
    Opcode::UniformMatrix3x4fv,
    Opcode::UniformMatrix4fv,
    Opcode::UniformMatrix4x2fv,
    Opcode::UniformMatrix4x3fv,
    Opcode::VertexAttrib1f,
    Opcode::VertexAttrib1fv,
    Opcode::VertexAttrib2f,
    Opcode::VertexAttrib2fv,
    Opcode::VertexAttrib3f,
    Opcode::VertexAttrib3fv,
    Opcode::VertexAttrib4f,
    Opcode::VertexAttrib4fv,
    Opcode::VertexAttribDivisor,
    Opcode::VertexAttribI4i,
    Opcode::VertexAttribI4iv,
    Opcode::VertexAttribI4ui,
    Opcode::VertexAttribI4uiv,
    Opcode::Viewport,
];

/// Non-indexed draws: their only rule is the vertex-array check.
const ARRAYS_DRAWS: &[Opcode] = &[Opcode::DrawArrays, Opcode::DrawArraysInstanced];

/// The table, indexed by opcode number (GLES opcodes are small and dense).
const TABLE_LEN: usize = 1024;

/// A short-path command: what is checked first, its opcode, and the backend's function
/// that runs it from its body.
#[derive(Clone, Copy)]
pub struct Short {
    pub plain: Plain,
    pub opcode: Opcode,
    pub run: EncodedFn,
}

/// `op`'s entry; the build fails for an opcode the backend cannot run from its body.
const fn short(plain: Plain, op: Opcode) -> Option<Short> {
    match encoded_fn(op) {
        Some(run) => Some(Short { plain, opcode: op, run }),
        None => panic!("a short-path opcode the backend cannot run from its bytes (backend_gles::ENCODED)"),
    }
}

static TABLE: [Option<Short>; TABLE_LEN] = {
    let mut t = [None; TABLE_LEN];
    let mut i = 0;
    while i < DIRECT.len() {
        t[DIRECT[i] as usize] = short(Plain::Direct, DIRECT[i]);
        i += 1;
    }
    let mut i = 0;
    while i < ARRAYS_DRAWS.len() {
        t[ARRAYS_DRAWS[i] as usize] = short(Plain::ArraysDraw, ARRAYS_DRAWS[i]);
        i += 1;
    }
    t
};

/// Whether the opcode number `op` (a message header's) may take the short path: its
/// entry, or `None` for every number not on the short path, known or not.
#[inline]
pub fn plain_number(op: u32) -> Option<Short> {
    TABLE.get(op as usize).copied().flatten()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bumpalo::Bump;
    use wire::codec::arbitrary::Entropy;
    use wire::commands::sample;

    use super::*;
    use crate::names::{After, Names, Rewrite, SharedNames};

    fn plain(op: Opcode) -> Option<Plain> {
        plain_number(op as u32).map(|s| s.plain)
    }
    use crate::quota::SessionQuota;
    use crate::validate::tests::FakeHost;
    use crate::validate::{Fixup, Validator, ValidatorLimits, Verdict};

    /// Every opcode of the short path gets, on the full path, exactly what the short
    /// path does: names leave it unchanged, the validator runs it unchanged (a draw
    /// after its vertex-array check only), no quota counts it, no reply comes.
    #[test]
    fn the_short_path_matches_the_full_path() {
        let listed: Vec<Opcode> = Opcode::ALL.into_iter().filter(|&op| plain(op).is_some()).collect();
        assert_eq!(listed.len(), DIRECT.len() + ARRAYS_DRAWS.len(), "no opcode listed twice");
        for op in listed {
            let info = op.info();
            let name = info.name;
            assert!(
                backend_gles::ENCODED.contains(&op),
                "{name}: the backend cannot run it from its bytes (`execute_encoded`)"
            );
            let entry = plain_number(op as u32).unwrap();
            assert_eq!(entry.opcode, op, "{name}: numbered apart");
            assert!(
                std::ptr::fn_addr_eq(entry.run, backend_gles::encoded_fn(op).unwrap()),
                "{name}: another opcode's function"
            );
            assert!(
                !info.sync && !info.hand_counted && !info.handles && !info.private,
                "{name}: synchronous, hand-sized, a handle or private"
            );
            for seed in 0..64u8 {
                let arena = Bump::new();
                let entropy: Vec<u8> = (0..512u32).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
                let cmd = sample::command(op, &mut Entropy::new(&entropy), &arena);
                assert!(crate::quota::storage(&cmd).is_none(), "{name}: counted storage");
                assert!(!crate::validate::changes_vertex_arrays(&cmd), "{name}: changes vertex arrays");
                let mut names = Names::new(SharedNames::default(), SessionQuota::unlimited());
                let mut gen =
                    |_, _: &mut [u32]| -> Result<(), crate::error::ServerError> { panic!("{name}: generated names") };
                match names.rewrite(&cmd, &mut gen).unwrap() {
                    Rewrite::Run { cmd: renamed, list: None, after: After::Nothing } => {
                        assert_eq!(renamed, cmd, "{name}: names rewritten")
                    }
                    other => panic!("{name}: names gave {other:?}"),
                }
                let mut v = Validator::new(ValidatorLimits::default(), Arc::default(), Arc::default());
                let verdict = v.check(&mut FakeHost, &cmd);
                assert!(
                    matches!(verdict, Verdict::Run(ref c, Fixup::None) if *c == cmd),
                    "{name}: the validator gave {verdict:?}"
                );
                assert_eq!(
                    v.has_rule(&mut FakeHost, &cmd),
                    plain(op) == Some(Plain::ArraysDraw),
                    "{name}: a validation rule other than the vertex-array check"
                );
            }
        }
    }
}
