//! The answers a context may keep: queries whose reply cannot change in the context's
//! life — the implementation's limits and constants (`GL_MAX_*`, versions, the
//! extension list, shader precisions, the identification strings). The first such
//! query goes to the server; the context keeps the reply and answers the same query
//! itself afterwards, without a round trip.
//!
//! Only queries that cannot raise a GL error are kept (known pnames, valid enums, a
//! reply that carries an answer), so answering them locally never hides an error from
//! glGetError.
//!
//! It also follows the capabilities glEnable/glDisable switch ([`Enables`]), so
//! glIsEnabled and glGet* of them are answered without the server, and keeps the
//! state values it learnt ([`Learned`]): the viewport, the scissor box, the current
//! program and the active texture unit, each answered from the last reply or the last
//! command that set it exactly, and asked again after a command whose effect the
//! client cannot know (a glUseProgram of a program that may not have linked, a
//! viewport the host clamps). Buffer bindings and the pixel-store state come from the
//! context's own shadows (`Context::known_integers`).

use std::collections::HashMap;

use wire::commands::{decode_reply, Command, Reply};
use wire::CommandBuf;

/// Replies of constant queries, by the query's encoded bytes (opcode, pname and output
/// capacity all take part, so a reply is only reused for the very same question).
#[derive(Debug, Default)]
pub struct Constants {
    replies: HashMap<Vec<u8>, Vec<u8>>,
}

/// Most replies kept per context: constant queries are a few hundred at most.
const MAX_KEPT: usize = 4096;

impl Constants {
    /// The key of `cmd` when it is a constant query.
    pub fn key(cmd: &Command<'_>) -> Option<Vec<u8>> {
        if !is_constant(cmd) {
            return None;
        }
        let mut buf = CommandBuf::new();
        cmd.encode(&mut buf).ok()?;
        Some(buf.as_bytes().to_vec())
    }

    /// The kept reply to the query of key `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.replies.get(key).map(Vec::as_slice)
    }

    /// Keeps `reply` (the server's answer to the query of key `key`) when it is an
    /// answer: a NULL string or an empty output means the query failed and is asked
    /// again next time.
    pub fn keep(&mut self, key: Vec<u8>, reply: &[u8]) {
        if self.replies.len() >= MAX_KEPT || !answers(reply) {
            return;
        }
        self.replies.insert(key, reply.to_vec());
    }
}

/// True when the reply carries an answer.
fn answers(reply: &[u8]) -> bool {
    match decode_reply(reply) {
        Ok((Reply::GetString(r), [])) => r.ret.is_some(),
        Ok((Reply::GetStringi(r), [])) => r.ret.is_some(),
        Ok((Reply::GetIntegerv(r), [])) => r.data.is_some_and(|d| !d.is_empty()),
        Ok((Reply::GetInteger64v(r), [])) => r.data.is_some_and(|d| !d.is_empty()),
        Ok((Reply::GetFloatv(r), [])) => r.data.is_some_and(|d| !d.is_empty()),
        Ok((Reply::GetBooleanv(r), [])) => r.data.is_some_and(|d| !d.is_empty()),
        Ok((Reply::GetShaderPrecisionFormat(r), [])) => r.range.is_some() && r.precision.is_some(),
        _ => false,
    }
}

fn is_constant(cmd: &Command<'_>) -> bool {
    const GL_VERTEX_SHADER: u32 = 0x8B31;
    const GL_FRAGMENT_SHADER: u32 = 0x8B30;
    match cmd {
        Command::GetIntegerv(c) => constant_pname(c.pname),
        Command::GetInteger64v(c) => constant_pname(c.pname),
        Command::GetFloatv(c) => constant_pname(c.pname),
        Command::GetBooleanv(c) => constant_pname(c.pname),
        // GL_VENDOR, GL_RENDERER, GL_VERSION, GL_EXTENSIONS, GL_SHADING_LANGUAGE_VERSION
        Command::GetString(c) => matches!(c.name, 0x1F00..=0x1F03 | 0x8B8C),
        // GL_EXTENSIONS by index (an index past the list answers NULL: not kept).
        Command::GetStringi(c) => c.name == 0x1F03,
        Command::GetShaderPrecisionFormat(c) => {
            matches!(c.shadertype, GL_VERTEX_SHADER | GL_FRAGMENT_SHADER)
                && (0x8DF0..=0x8DF5).contains(&c.precisiontype)
        }
        _ => false,
    }
}

/// The glGet pnames of GLES 3.2 (and the offered extensions) whose value is a property
/// of the implementation, not of any state a command changes.
fn constant_pname(pname: u32) -> bool {
    matches!(
        pname,
        0x0D33 // GL_MAX_TEXTURE_SIZE
            | 0x0D3A // GL_MAX_VIEWPORT_DIMS
            | 0x0D50 // GL_SUBPIXEL_BITS
            | 0x8073 // GL_MAX_3D_TEXTURE_SIZE
            | 0x80E8 // GL_MAX_ELEMENTS_VERTICES
            | 0x80E9 // GL_MAX_ELEMENTS_INDICES
            | 0x821B // GL_MAJOR_VERSION
            | 0x821C // GL_MINOR_VERSION
            | 0x821D // GL_NUM_EXTENSIONS
            | 0x826C // GL_MAX_DEBUG_GROUP_STACK_DEPTH
            | 0x826E // GL_MAX_UNIFORM_LOCATIONS
            | 0x82D9 // GL_MAX_VERTEX_ATTRIB_RELATIVE_OFFSET
            | 0x82DA // GL_MAX_VERTEX_ATTRIB_BINDINGS
            | 0x82E5 // GL_MAX_VERTEX_ATTRIB_STRIDE
            | 0x82E8 // GL_MAX_LABEL_LENGTH
            | 0x846D // GL_ALIASED_POINT_SIZE_RANGE
            | 0x846E // GL_ALIASED_LINE_WIDTH_RANGE
            | 0x84E8 // GL_MAX_RENDERBUFFER_SIZE
            | 0x84FD // GL_MAX_TEXTURE_LOD_BIAS
            | 0x851C // GL_MAX_CUBE_MAP_TEXTURE_SIZE
            | 0x86A2 // GL_NUM_COMPRESSED_TEXTURE_FORMATS
            | 0x86A3 // GL_COMPRESSED_TEXTURE_FORMATS
            | 0x87FE // GL_NUM_PROGRAM_BINARY_FORMATS
            | 0x87FF // GL_PROGRAM_BINARY_FORMATS
            | 0x8824 // GL_MAX_DRAW_BUFFERS
            | 0x8869 // GL_MAX_VERTEX_ATTRIBS
            | 0x8872 // GL_MAX_TEXTURE_IMAGE_UNITS
            | 0x88FF // GL_MAX_ARRAY_TEXTURE_LAYERS
            | 0x8904 // GL_MIN_PROGRAM_TEXEL_OFFSET
            | 0x8905 // GL_MAX_PROGRAM_TEXEL_OFFSET
            | 0x8A2B // GL_MAX_VERTEX_UNIFORM_BLOCKS
            | 0x8A2D // GL_MAX_FRAGMENT_UNIFORM_BLOCKS
            | 0x8A2E // GL_MAX_COMBINED_UNIFORM_BLOCKS
            | 0x8A2F // GL_MAX_UNIFORM_BUFFER_BINDINGS
            | 0x8A30 // GL_MAX_UNIFORM_BLOCK_SIZE
            | 0x8A31 // GL_MAX_COMBINED_VERTEX_UNIFORM_COMPONENTS
            | 0x8A33 // GL_MAX_COMBINED_FRAGMENT_UNIFORM_COMPONENTS
            | 0x8A34 // GL_UNIFORM_BUFFER_OFFSET_ALIGNMENT
            | 0x8B49 // GL_MAX_FRAGMENT_UNIFORM_COMPONENTS
            | 0x8B4A // GL_MAX_VERTEX_UNIFORM_COMPONENTS
            | 0x8B4B // GL_MAX_VARYING_COMPONENTS
            | 0x8B4C // GL_MAX_VERTEX_TEXTURE_IMAGE_UNITS
            | 0x8B4D // GL_MAX_COMBINED_TEXTURE_IMAGE_UNITS
            | 0x8C2B // GL_MAX_TEXTURE_BUFFER_SIZE
            | 0x8C80 // GL_MAX_TRANSFORM_FEEDBACK_SEPARATE_COMPONENTS
            | 0x8C8A // GL_MAX_TRANSFORM_FEEDBACK_INTERLEAVED_COMPONENTS
            | 0x8C8B // GL_MAX_TRANSFORM_FEEDBACK_SEPARATE_ATTRIBS
            | 0x8CDF // GL_MAX_COLOR_ATTACHMENTS
            | 0x8D57 // GL_MAX_SAMPLES
            | 0x8D6B // GL_MAX_ELEMENT_INDEX
            | 0x8DF8 // GL_SHADER_BINARY_FORMATS
            | 0x8DF9 // GL_NUM_SHADER_BINARY_FORMATS
            | 0x8DFA // GL_SHADER_COMPILER
            | 0x8DFB // GL_MAX_VERTEX_UNIFORM_VECTORS
            | 0x8DFC // GL_MAX_VARYING_VECTORS
            | 0x8DFD // GL_MAX_FRAGMENT_UNIFORM_VECTORS
            | 0x8E59 // GL_MAX_SAMPLE_MASK_WORDS
            | 0x8F38 // GL_MAX_IMAGE_UNITS
            | 0x90DD // GL_MAX_SHADER_STORAGE_BUFFER_BINDINGS
            | 0x90DE // GL_MAX_SHADER_STORAGE_BLOCK_SIZE
            | 0x90DF // GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT
            | 0x910E // GL_MAX_COLOR_TEXTURE_SAMPLES
            | 0x910F // GL_MAX_DEPTH_TEXTURE_SAMPLES
            | 0x9110 // GL_MAX_INTEGER_SAMPLES
            | 0x9111 // GL_MAX_SERVER_WAIT_TIMEOUT
            | 0x9122 // GL_MAX_VERTEX_OUTPUT_COMPONENTS
            | 0x9125 // GL_MAX_FRAGMENT_INPUT_COMPONENTS
            | 0x9143 // GL_MAX_DEBUG_MESSAGE_LENGTH
            | 0x9144 // GL_MAX_DEBUG_LOGGED_MESSAGES
            | 0x919F // GL_TEXTURE_BUFFER_OFFSET_ALIGNMENT
            | 0x92DC // GL_MAX_ATOMIC_COUNTER_BUFFER_BINDINGS
            | 0x9315 // GL_MAX_FRAMEBUFFER_WIDTH
            | 0x9316 // GL_MAX_FRAMEBUFFER_HEIGHT
            | 0x9317 // GL_MAX_FRAMEBUFFER_LAYERS
            | 0x9318 // GL_MAX_FRAMEBUFFER_SAMPLES
    )
}

/// The non-indexed capabilities of GLES 3.2 and the extensions glwire offers that
/// glEnable/glDisable switch, with their initial values (only GL_DITHER starts on).
const CAPS: [u32; 14] = [
    0x0BE2, // GL_BLEND
    0x0B44, // GL_CULL_FACE
    0x0B71, // GL_DEPTH_TEST
    0x0BD0, // GL_DITHER
    0x8037, // GL_POLYGON_OFFSET_FILL
    0x8D69, // GL_PRIMITIVE_RESTART_FIXED_INDEX
    0x8C89, // GL_RASTERIZER_DISCARD
    0x809E, // GL_SAMPLE_ALPHA_TO_COVERAGE
    0x80A0, // GL_SAMPLE_COVERAGE
    0x8E51, // GL_SAMPLE_MASK
    0x0C11, // GL_SCISSOR_TEST
    0x0B90, // GL_STENCIL_TEST
    0x8C36, // GL_SAMPLE_SHADING
    0x8242, // GL_DEBUG_OUTPUT_SYNCHRONOUS
];
const GL_DITHER: u32 = 0x0BD0;

/// The context's capabilities, as its glEnable/glDisable set them (a known capability
/// cannot fail to switch, so the shadow is exact).
#[derive(Debug)]
pub struct Enables {
    on: [bool; CAPS.len()],
}

impl Default for Enables {
    fn default() -> Self {
        Enables { on: CAPS.map(|c| c == GL_DITHER) }
    }
}

impl Enables {
    /// Follows a command that may switch a capability.
    pub fn follow(&mut self, cmd: &Command<'_>) {
        let (cap, on) = match cmd {
            Command::Enable(c) => (c.cap, true),
            Command::Disable(c) => (c.cap, false),
            _ => return,
        };
        if let Some(i) = CAPS.iter().position(|&c| c == cap) {
            self.on[i] = on;
        }
    }

    /// The reply to `cmd` when it asks about a known capability (glIsEnabled, or a
    /// glGet* of it with room for the answer).
    pub fn answer(&self, cmd: &Command<'_>, out: &mut CommandBuf) -> bool {
        use wire::commands::{GetBooleanvReply, GetIntegervReply, IsEnabledReply};
        let value = |cap: u32| CAPS.iter().position(|&c| c == cap).map(|i| self.on[i]);
        let encoded = match *cmd {
            Command::IsEnabled(c) => value(c.cap).map(|v| IsEnabledReply { ret: u8::from(v) }.encode(out)),
            Command::GetIntegerv(c) if c.data.is_some_and(|n| n >= 1) => {
                value(c.pname).map(|v| GetIntegervReply { data: Some(&[i32::from(v)]) }.encode(out))
            }
            Command::GetBooleanv(c) if c.data.is_some_and(|n| n >= 1) => {
                value(c.pname).map(|v| GetBooleanvReply { data: Some(&[u8::from(v)]) }.encode(out))
            }
            _ => None,
        };
        matches!(encoded, Some(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::commands::{Disable, Enable, GetIntegerv, GetIntegervReply, GetString, GetStringReply, IsEnabled};

    #[test]
    fn enables_follow_enable_and_disable_of_known_caps() {
        let mut e = Enables::default();
        let is = |e: &Enables, cap| {
            let mut out = CommandBuf::new();
            e.answer(&Command::IsEnabled(IsEnabled { cap }), &mut out).then(|| match decode_reply(out.as_bytes()) {
                Ok((Reply::IsEnabled(r), _)) => r.ret,
                other => panic!("{other:?}"),
            })
        };
        assert_eq!((is(&e, 0x0BE2), is(&e, GL_DITHER)), (Some(0), Some(1)));
        e.follow(&Command::Enable(Enable { cap: 0x0BE2 }));
        e.follow(&Command::Disable(Disable { cap: GL_DITHER }));
        assert_eq!((is(&e, 0x0BE2), is(&e, GL_DITHER)), (Some(1), Some(0)));
        // Unknown capabilities are the server's (it raises GL_INVALID_ENUM).
        e.follow(&Command::Enable(Enable { cap: 0x1234 }));
        assert_eq!(is(&e, 0x1234), None);
        let mut out = CommandBuf::new();
        assert!(e.answer(&Command::GetIntegerv(GetIntegerv { pname: 0x0BE2, data: Some(1) }), &mut out));
        assert!(!e.answer(&Command::GetIntegerv(GetIntegerv { pname: 0x0BE2, data: None }), &mut out));
    }

    #[test]
    fn only_answered_constant_queries_are_kept() {
        let mut kept = Constants::default();
        let limit = Command::GetIntegerv(GetIntegerv { pname: 0x0D33, data: Some(1) });
        let key = Constants::key(&limit).unwrap();
        let mut reply = CommandBuf::new();
        GetIntegervReply { data: Some(&[16384]) }.encode(&mut reply).unwrap();
        kept.keep(key.clone(), reply.as_bytes());
        assert_eq!(kept.get(&key), Some(reply.as_bytes()));
        // Another capacity is another question.
        let other = Constants::key(&Command::GetIntegerv(GetIntegerv { pname: 0x0D33, data: Some(4) })).unwrap();
        assert!(kept.get(&other).is_none());
        // State is never kept; a failed answer is not kept either.
        assert!(Constants::key(&Command::GetIntegerv(GetIntegerv { pname: 0x0BA2, data: Some(4) })).is_none());
        let vendor = Constants::key(&Command::GetString(GetString { name: 0x1F00 })).unwrap();
        let mut null = CommandBuf::new();
        GetStringReply { ret: None }.encode(&mut null).unwrap();
        kept.keep(vendor.clone(), null.as_bytes());
        assert!(kept.get(&vendor).is_none());
    }
}

/// `GL_VIEWPORT`, `GL_SCISSOR_BOX`, `GL_CURRENT_PROGRAM`, `GL_ACTIVE_TEXTURE`.
const GL_VIEWPORT: u32 = 0x0BA2;
const GL_SCISSOR_BOX: u32 = 0x0C10;
const GL_CURRENT_PROGRAM: u32 = 0x8B8D;
const GL_ACTIVE_TEXTURE: u32 = 0x84E0;
const GL_TEXTURE0: u32 = 0x84C0;
/// Texture units every GLES 3 implementation has (GL_MAX_COMBINED_TEXTURE_IMAGE_UNITS
/// is at least 32): glActiveTexture of one of them cannot fail.
const SURE_UNITS: u32 = 32;

/// State values known exactly, from the server's last answer or a command whose
/// effect cannot differ from what the client computes.
#[derive(Debug, Default)]
pub struct Learned {
    viewport: Option<[i32; 4]>,
    scissor: Option<[i32; 4]>,
    program: Option<i32>,
    active_texture: Option<i32>,
}

impl Learned {
    /// The known value of `pname`.
    pub fn get(&self, pname: u32) -> Option<&[i32]> {
        match pname {
            GL_VIEWPORT => self.viewport.as_ref().map(|v| &v[..]),
            GL_SCISSOR_BOX => self.scissor.as_ref().map(|v| &v[..]),
            GL_CURRENT_PROGRAM => self.program.as_ref().map(std::slice::from_ref),
            GL_ACTIVE_TEXTURE => self.active_texture.as_ref().map(std::slice::from_ref),
            _ => None,
        }
    }

    /// Keeps the server's answer to glGetIntegerv(`pname`).
    pub fn learn(&mut self, pname: u32, values: &[i32]) {
        match (pname, values) {
            (GL_VIEWPORT, &[a, b, c, d]) => self.viewport = Some([a, b, c, d]),
            (GL_SCISSOR_BOX, &[a, b, c, d]) => self.scissor = Some([a, b, c, d]),
            (GL_CURRENT_PROGRAM, &[p]) => self.program = Some(p),
            (GL_ACTIVE_TEXTURE, &[t]) => self.active_texture = Some(t),
            _ => {}
        }
    }

    /// Follows a command about to be sent.
    pub fn follow(&mut self, cmd: &Command<'_>) {
        match *cmd {
            // The host clamps the size to GL_MAX_VIEWPORT_DIMS: asked again.
            Command::Viewport(_) => self.viewport = None,
            // A negative size is GL_INVALID_VALUE and changes nothing.
            Command::Scissor(s) if s.width >= 0 && s.height >= 0 => {
                self.scissor = Some([s.x, s.y, s.width, s.height]);
            }
            Command::UseProgram(u) => self.program = (u.program == 0).then_some(0),
            Command::ActiveTexture(a) => {
                let sure = a.texture.checked_sub(GL_TEXTURE0).is_some_and(|u| u < SURE_UNITS);
                self.active_texture = sure.then_some(a.texture as i32);
            }
            _ => {}
        }
    }

    /// The context was made current with a surface: a context's first one sets its
    /// viewport and scissor box to the surface's size.
    pub fn surface_bound(&mut self) {
        self.viewport = None;
        self.scissor = None;
    }
}
