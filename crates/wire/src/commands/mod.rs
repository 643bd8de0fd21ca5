//! Every forwarded GLES 3.2 and EGL command: its opcode, fixed-argument layout, decoded
//! view, encoder, decoder and reply, all generated from the Khronos registry plus
//! `codegen/annotations.toml` into `generated.rs`.
//!
//! Framing (see `codec`): `[opcode u32][size u32][fixed args][payload pieces]`, each
//! part padded to 8 bytes. Fixed args hold scalars in parameter order; each pointer
//! parameter holds a `u32` element count (`NULL_LEN` for NULL, `OFFSET_LEN` plus a
//! `u64` offset for a bound-buffer offset) and its bytes follow as one payload piece.
//! Outputs travel as capacities in the command and as payload pieces in the reply.
//!
//! What the decoder checks: structure, every length against the stream, counts against
//! the registry's `len` expressions, strings and attribute lists well formed. What it
//! does not: whether an enum or a hand-sized length is legal for the call (the
//! server's validator does that with the GL state it tracks).

mod generated;

pub use generated::*;

/// Which API a command belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Gles,
    Egl,
}

/// How a command's pointer parameters are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// No pointers.
    Scalar = 0,
    /// Every pointer sized from the registry's `len` attributes.
    Len = 1,
    /// At least one pointer sized or shaped by hand-written rules.
    Hand = 2,
}

impl Sizing {
    pub fn label(self) -> &'static str {
        match self {
            Sizing::Scalar => "scalar",
            Sizing::Len => "len",
            Sizing::Hand => "hand",
        }
    }
}

/// What the generator knows about a command, for reports and dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandInfo {
    pub name: &'static str,
    pub api: Api,
    /// Needs a reply before the call returns.
    pub sync: bool,
    pub sizing: Sizing,
}
