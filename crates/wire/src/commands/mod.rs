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
//! What the decoder guarantees, for every command: a known opcode; a size that is a
//! multiple of 8, within [`crate::codec::MAX_COMMAND_BYTES`] and inside the stream;
//! every byte accounted for; zero padding and zero unused offset fields (one encoding
//! per command). Per parameter:
//!
//! - arrays sized by the registry's `len`: exactly the count the call's arguments give
//!   (none when that count is negative); NULL only where annotated nullable;
//! - hand-sized arrays and inline `DataRef` bytes: inside the message, any length;
//! - strings: NUL-terminated, no inner NUL; a string's length argument is negative or
//!   its exact length; string lists: the count the arguments give, lengths adding up;
//! - EGL attribute lists: NULL or key/value pairs ended by `EGL_NONE` at a key;
//! - outputs: capacities that, together, fit one reply.
//!
//! What the server's validator must still check before anything reaches host GL:
//! enums and scalars; hand-sized lengths against its own pname tables and pixel-store
//! state (a pname it does not know is GL_INVALID_ENUM, never a host read past the
//! payload); `DataRef::Offset`, `OutRef::Offset` and plain offsets only with the right
//! buffer bound, inside it; NULL indices only with an element buffer bound; outputs
//! written through server scratch buffers of the real size, never NULL, with at most
//! the capacity returned (for glGetUniform*, exactly the uniform's values); handles
//! mapped to objects of the session, and replies carrying opaque ids, never host
//! pointers; attribute keys allowed per function (no fd- or pointer-valued ones).

mod generated;

pub use generated::*;

use crate::buf::Sink;
use crate::codec::EncodeError;

/// One command's own type (`Uniform4f`, `DrawElements<'a>`): what code generic over the
/// command can use without building a [`Command`] first. The client's typed submit
/// encodes a call's arguments straight from its own values this way (a `Command` built
/// in memory and then copied out by the encoder stalled on store forwarding, a
/// measurable share of a draw-heavy frame's encoding).
pub trait Message<'a>: Copy {
    const OPCODE: Opcode;
    /// It carries no inline data (arrays, strings, pixels): its message is its header
    /// and fixed arguments.
    const FIXED: bool;

    /// Encodes it (as [`Command::encode`] does).
    fn encode_to<S: Sink + ?Sized>(&self, buf: &mut S) -> Result<(), EncodeError>;

    /// It as a [`Command`].
    fn command(self) -> Command<'a>;

    /// Bytes of inline data it carries (as [`Command::inline_bytes`]).
    #[inline(always)]
    fn inline_bytes(&self) -> usize {
        if Self::FIXED {
            0
        } else {
            self.command().inline_bytes()
        }
    }
}

/// Code run with a command's own type (see [`visit`]).
pub trait MessageVisitor<'a> {
    type Out;
    fn visit<M: Message<'a>>(&mut self, message: M) -> Self::Out;
}

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
    /// The GLES extension that adds it; `None` for core GLES and for EGL.
    pub extension: Option<&'static str>,
    /// An array argument is sized by a hand rule (a pname table, the pixel-store
    /// state, an index type) the decoder cannot check: the server's validator must,
    /// before the host reads or writes it.
    pub hand_counted: bool,
    /// A GLES argument is a pointer-sized handle (GLsync, GLeglImageOES, a callback):
    /// a client value the server's validator must turn into a host one, or drop.
    pub handles: bool,
    /// glwire's own command between the ICD and the server (no GL entry point).
    pub private: bool,
}
