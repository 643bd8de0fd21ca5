//! The commands the server may hand to the host straight after decoding: no object
//! names to map, no validation rule beyond the decoder's (or only the cached
//! vertex-array check of a non-indexed draw), no storage to count, no reply to fix.
//! Deciding that once per opcode instead of asking every layer for every command is
//! what lets a draw-heavy frame (a uniform and a draw, thousands of times) run near
//! the host's own speed: these commands run straight from their bytes through the
//! backend's function for their opcode (`backend_gles::encoded_fn`, kept in the
//! table), never built into a `Command`.
//!
//! A second, shorter list ([`Lean`]) names decoded commands that need one step of the
//! full path, not all of them: binds (their object name mapped) and indexed draws (the
//! validator's check). A mesh-per-draw frame is mostly those besides uniforms.
//!
//! This module owns only the lists; `gles` takes the paths, and tests hold every listed
//! opcode to the full path's answers.

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

/// A decoded command's lean path: the one step of the full path it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lean {
    /// A bind of one object: its name mapped to the host's (`Names::rewrite_bind`; a name
    /// that maps to nothing takes the full path, where a bind may create the object),
    /// then noted by the validator (`Validator::note`), which has no rule for it.
    Bind,
    /// An indexed draw: the validator's check (indices within the element buffer, no
    /// vertex attribute reading client memory). It has no object name.
    IndexedDraw,
}

/// `op`'s lean path, if it has one. Binds: each maps one name, counts no storage, gets
/// no reply, and no validator rule looks at it. Indexed draws: no names, no storage, no
/// reply; the validator's rule is their check.
#[inline]
pub fn lean(op: Opcode) -> Option<Lean> {
    match op {
        Opcode::BindBuffer | Opcode::BindTexture | Opcode::BindVertexArray => Some(Lean::Bind),
        Opcode::DrawElements | Opcode::DrawElementsInstanced | Opcode::DrawRangeElements => Some(Lean::IndexedDraw),
        _ => None,
    }
}

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

    /// Every opcode of the lean path gets, on the full path, exactly what the lean path
    /// does: a bind's mapped name becomes the same host name (and one that maps to
    /// nothing is left to the full path), a draw's names stay; the validator runs a bind
    /// unchanged with no rule, and a draw unchanged after its rule or not at all; no
    /// quota counts either, no reply comes, nothing is done after the host call.
    #[test]
    fn the_lean_path_matches_the_full_path() {
        let listed: Vec<Opcode> = Opcode::ALL.into_iter().filter(|&op| lean(op).is_some()).collect();
        assert_eq!(listed.len(), 6);
        for op in listed {
            let info = op.info();
            let name = info.name;
            assert!(plain(op).is_none(), "{name}: on both paths");
            assert!(!info.sync && !info.private, "{name}: synchronous or private");
            for seed in 0..64u8 {
                let arena = Bump::new();
                let entropy: Vec<u8> = (0..512u32).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed)).collect();
                let cmd = sample::command(op, &mut Entropy::new(&entropy), &arena);
                assert!(crate::quota::storage(&cmd).is_none(), "{name}: counted storage");
                assert!(
                    !crate::gles::changes_buffer_sizes(&cmd) && !crate::gles::may_free_programs(&cmd),
                    "{name}: has steps after the host call"
                );
                let mut names = Names::new(SharedNames::default(), SessionQuota::unlimited());
                let mut host_names = 1000u32;
                let mut gen = |_, out: &mut [u32]| -> Result<(), crate::error::ServerError> {
                    for h in out {
                        host_names += 1;
                        *h = host_names;
                    }
                    Ok(())
                };
                let clients: Vec<(wire::names::Namespace, u32)> =
                    cmd.clone().names_mut().into_iter().flatten().map(|(ns, n)| (ns, *n)).collect();
                if lean(op) == Some(Lean::Bind) {
                    let [(ns, client)] = clients[..] else { panic!("{name}: not one name") };
                    assert_eq!(
                        names.rewrite_bind(&cmd).is_none(),
                        client != 0,
                        "{name}: a name that maps to nothing stays on the full path"
                    );
                    // Mapped (as glGen* would), then both paths give the same host name.
                    let gen_cmd = wire::names::gen_command(ns, 1, std::slice::from_ref(&client)).unwrap();
                    assert!(matches!(names.rewrite(&gen_cmd, &mut gen).unwrap(), Rewrite::Done));
                } else {
                    assert!(clients.is_empty(), "{name}: a draw with names");
                }
                let full = match names.rewrite(&cmd, &mut gen).unwrap() {
                    Rewrite::Run { cmd: renamed, list: None, after: After::Nothing } => renamed,
                    other => panic!("{name}: names gave {other:?}"),
                };
                let mut v = Validator::new(ValidatorLimits::default(), Arc::default(), Arc::default());
                let verdict = v.check(&mut FakeHost, &full);
                match lean(op) {
                    Some(Lean::Bind) => {
                        assert_eq!(names.rewrite_bind(&cmd), Some(full), "{name}: another host name");
                        assert!(!v.has_rule(&mut FakeHost, &full), "{name}: a validation rule");
                        assert!(
                            matches!(verdict, Verdict::Run(ref c, Fixup::None) if *c == full),
                            "{name}: the validator gave {verdict:?}"
                        );
                    }
                    _ => {
                        assert_eq!(full, cmd, "{name}: names rewritten");
                        assert!(
                            matches!(verdict, Verdict::Skip { .. })
                                || matches!(verdict, Verdict::Run(ref c, Fixup::None) if *c == cmd),
                            "{name}: the validator gave {verdict:?}"
                        );
                    }
                }
            }
        }
    }
}
