//! GL object namespaces, as the wire names them: which namespace an object name
//! belongs to, which namespaces a share group shares, and which commands make an
//! object out of a name nobody generated. The commands' accessors for their names
//! (`Command::names_mut`, `Command::name_list`) are generated from `[names]` in the
//! annotations. It does not map names (the server's `names` does) nor choose them (the
//! client's `names` does).

use crate::commands::Command;

/// A GL object namespace. Shaders and programs share one, as they do in GL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    Buffer,
    Texture,
    Renderbuffer,
    Sampler,
    /// Shaders and programs.
    Program,
    Framebuffer,
    VertexArray,
    Query,
    TransformFeedback,
    Pipeline,
}

impl Namespace {
    pub const ALL: [Namespace; 10] = [
        Namespace::Buffer,
        Namespace::Texture,
        Namespace::Renderbuffer,
        Namespace::Sampler,
        Namespace::Program,
        Namespace::Framebuffer,
        Namespace::VertexArray,
        Namespace::Query,
        Namespace::TransformFeedback,
        Namespace::Pipeline,
    ];

    /// True for the namespaces an EGL share group shares; the rest (container
    /// objects and queries) belong to one context.
    pub const fn shared(self) -> bool {
        matches!(
            self,
            Namespace::Buffer | Namespace::Texture | Namespace::Renderbuffer | Namespace::Sampler | Namespace::Program
        )
    }

    /// A dense index, for tables indexed by namespace.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The name a command binds when GLES makes an object of a name that was never
/// generated (buffers, textures, renderbuffers and framebuffers keep ES 2.0's
/// bind-to-create; other objects must come from glGen*). `None` for other commands
/// and for name 0.
pub fn binds_to_create(cmd: &Command<'_>) -> Option<(Namespace, u32)> {
    let (ns, name) = match cmd {
        Command::BindBuffer(c) => (Namespace::Buffer, c.buffer),
        Command::BindBufferBase(c) => (Namespace::Buffer, c.buffer),
        Command::BindBufferRange(c) => (Namespace::Buffer, c.buffer),
        Command::BindTexture(c) => (Namespace::Texture, c.texture),
        Command::BindRenderbuffer(c) => (Namespace::Renderbuffer, c.renderbuffer),
        Command::BindFramebuffer(c) => (Namespace::Framebuffer, c.framebuffer),
        _ => return None,
    };
    (name != 0).then_some((ns, name))
}

/// True for the glGen* commands, whose name list the client chose for objects the
/// server must make (as opposed to glDelete*, whose list names objects to drop).
pub fn generates(cmd: &Command<'_>) -> bool {
    matches!(
        cmd,
        Command::GenBuffers(_)
            | Command::GenTextures(_)
            | Command::GenRenderbuffers(_)
            | Command::GenSamplers(_)
            | Command::GenFramebuffers(_)
            | Command::GenVertexArrays(_)
            | Command::GenQueries(_)
            | Command::GenTransformFeedbacks(_)
            | Command::GenProgramPipelines(_)
    )
}

/// The glGen* command that makes objects of `ns` for the client's `names` (`None`
/// for shaders and programs, which are not generated).
pub fn gen_command(ns: Namespace, n: i32, names: &[u32]) -> Option<Command<'_>> {
    use crate::commands::*;
    use Namespace as N;
    Some(match ns {
        N::Buffer => Command::GenBuffers(GenBuffers { n, buffers: names }),
        N::Texture => Command::GenTextures(GenTextures { n, textures: names }),
        N::Renderbuffer => Command::GenRenderbuffers(GenRenderbuffers { n, renderbuffers: names }),
        N::Sampler => Command::GenSamplers(GenSamplers { count: n, samplers: names }),
        N::Framebuffer => Command::GenFramebuffers(GenFramebuffers { n, framebuffers: names }),
        N::VertexArray => Command::GenVertexArrays(GenVertexArrays { n, arrays: names }),
        N::Query => Command::GenQueries(GenQueries { n, ids: names }),
        N::TransformFeedback => Command::GenTransformFeedbacks(GenTransformFeedbacks { n, ids: names }),
        N::Pipeline => Command::GenProgramPipelines(GenProgramPipelines { n, pipelines: names }),
        N::Program => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{BindTexture, DeleteTextures, GenQueries, Opcode};

    #[test]
    fn index_is_dense() {
        for (i, ns) in Namespace::ALL.into_iter().enumerate() {
            assert_eq!(ns.index(), i);
        }
    }

    #[test]
    fn every_generating_command_carries_a_name_list() {
        let arena = bumpalo::Bump::new();
        let entropy = [1u8; 256];
        let mut gens = 0;
        for op in Opcode::ALL {
            let cmd =
                crate::commands::sample::command(op, &mut crate::codec::arbitrary::Entropy::new(&entropy), &arena);
            if generates(&cmd) {
                gens += 1;
                assert!(cmd.name_list().is_some(), "{}", op.info().name);
            }
        }
        assert_eq!(gens, 9);
    }

    #[test]
    fn accessors_see_the_names() {
        let mut bind = Command::BindTexture(BindTexture { target: 0x0DE1, texture: 7 });
        assert_eq!(binds_to_create(&bind), Some((Namespace::Texture, 7)));
        let [first, second] = bind.names_mut();
        let (ns, name) = first.unwrap();
        assert_eq!((ns, *name), (Namespace::Texture, 7));
        *name = 9;
        assert!(second.is_none());
        assert_eq!(bind, Command::BindTexture(BindTexture { target: 0x0DE1, texture: 9 }));

        let del = Command::DeleteTextures(DeleteTextures { n: 2, textures: &[3, 4] });
        assert_eq!(del.name_list(), Some((Namespace::Texture, &[3u32, 4][..])));
        let host = [30, 40];
        assert_eq!(del.with_name_list(&host), Command::DeleteTextures(DeleteTextures { n: 2, textures: &host }));
        let gen = Command::GenQueries(GenQueries { n: 1, ids: &[5] });
        assert!(generates(&gen));
        assert_eq!(gen.name_list(), Some((Namespace::Query, &[5u32][..])));
    }

    #[test]
    fn gen_command_generates_its_namespace() {
        for ns in Namespace::ALL {
            match gen_command(ns, 1, &[7]) {
                Some(cmd) => {
                    assert!(generates(&cmd));
                    assert_eq!(cmd.name_list(), Some((ns, &[7u32][..])));
                }
                None => assert_eq!(ns, Namespace::Program),
            }
        }
    }
}
