//! The server executing on host GL, through a real socket: a `DeviceHost` on a thread,
//! a `client::Session` creating a context and sending command streams with
//! `SubmitCommands`. Every test here needs host GL: Mesa's EGL and llvmpipe
//! (`libegl-mesa0`, `libgl1-mesa-dri`; `scripts/setup.sh` installs them), reached
//! through EGL surfaceless.
//!
//! Each validation test sends a hostile command, reads the GL error it must raise with
//! glGetError, and shows that the session (and a second one) keeps working.

use std::ffi::CStr;
use std::sync::Once;
use std::time::Instant;

use client::Session;
use wire::codec::{DataRef, OutRef};
use wire::commands::*;
use wire::control::{ControlKind, CreateContextRequest, HandlePayload};
use wire::names::Namespace;
use wire::CommandBuf;

const GL_NO_ERROR: u32 = 0;
const GL_INVALID_ENUM: u32 = 0x0500;
const GL_INVALID_VALUE: u32 = 0x0501;
const GL_INVALID_OPERATION: u32 = 0x0502;
const GL_OUT_OF_MEMORY: u32 = 0x0505;
const GL_FRAMEBUFFER: u32 = 0x8D40;
const GL_RENDERBUFFER: u32 = 0x8D41;
const GL_RGBA8: u32 = 0x8058;
const GL_COLOR_ATTACHMENT0: u32 = 0x8CE0;
const GL_FRAMEBUFFER_COMPLETE: u32 = 0x8CD5;
const GL_COLOR_BUFFER_BIT: u32 = 0x4000;
const GL_RGBA: u32 = 0x1908;
const GL_UNSIGNED_BYTE: u32 = 0x1401;
const GL_UNSIGNED_SHORT: u32 = 0x1403;
const GL_FLOAT: u32 = 0x1406;
const GL_TRIANGLES: u32 = 0x0004;
const GL_TEXTURE_2D: u32 = 0x0DE1;
const GL_VIEWPORT: u32 = 0x0BA2;
const GL_COLOR: u32 = 0x1800;
const GL_ARRAY_BUFFER: u32 = 0x8892;
const GL_STATIC_DRAW: u32 = 0x88E4;
const GL_SYNC_GPU_COMMANDS_COMPLETE: u32 = 0x9117;
const GL_SYNC_FLUSH_COMMANDS_BIT: u32 = 0x1;
const GL_ALREADY_SIGNALED: u32 = 0x911A;
const GL_CONDITION_SATISFIED: u32 = 0x911C;
const GL_DEBUG_CALLBACK_USER_PARAM: u32 = 0x8245;
const GL_RENDERER: u32 = 0x1F01;

mod common;

use common::{TestServer, SECOND};

/// A server on host GL (Mesa).
fn start() -> TestServer {
    // As `server::serve` does at start: point libglvnd at the host driver before the
    // backend opens (this binary's tests all do it first, before any GL).
    static PREPARE: Once = Once::new();
    PREPARE.call_once(|| {
        backend_gles::prepare_process_env();
    });
    assert!(server::gles::host_backend().is_some(), "host GL is needed for these tests");
    common::start()
}

struct Client {
    session: Session,
    context: u64,
    /// The last object name this client chose. Names start far from the host's (which
    /// count from 1), so a name that reached the host unmapped would show.
    last_name: u32,
}

impl TestServer {
    fn client(&self) -> Client {
        let mut session = Session::connect_unix(&self.path, "gles-test").unwrap();
        let payload = CreateContextRequest::encode(0, 0, &[]).unwrap();
        let reply = session.call(ControlKind::CreateContext, &payload).unwrap();
        let context = HandlePayload::parse(&reply).unwrap().handle;
        Client { session, context, last_name: 5000 }
    }
}

impl Client {
    /// Sends `cmds` in one SubmitCommands and returns the replies, aligned.
    fn submit(&mut self, cmds: &[Command<'_>]) -> CommandBuf {
        let mut payload = self.context.to_le_bytes().to_vec();
        let mut stream = CommandBuf::new();
        for cmd in cmds {
            cmd.encode(&mut stream).unwrap();
        }
        payload.extend_from_slice(stream.as_bytes());
        let reply = self.session.call(ControlKind::SubmitCommands, &payload).unwrap();
        let mut aligned = CommandBuf::new();
        aligned.extend_raw(&reply);
        aligned
    }

    /// One command's reply.
    fn call(&mut self, cmd: Command<'_>) -> CommandBuf {
        self.submit(&[cmd])
    }

    fn error(&mut self) -> u32 {
        let b = self.call(Command::GetError(GetError {}));
        match decode_reply(b.as_bytes()).unwrap() {
            (Reply::GetError(r), []) => r.ret,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// `cmd` raises `error` and nothing else; the session then still answers.
    fn expect_error(&mut self, cmd: Command<'_>, error: u32) {
        self.call(cmd);
        assert_eq!(self.error(), error, "{:?}", cmd.opcode());
        assert_eq!(self.error(), GL_NO_ERROR);
        self.still_works();
    }

    fn still_works(&mut self) {
        let b = self.call(Command::Finish(Finish {}));
        assert!(matches!(decode_reply(b.as_bytes()).unwrap().0, Reply::Finish(_)));
    }

    /// A linked program of the two shaders' sources.
    fn program(&mut self, vertex: &CStr, fragment: &CStr) -> u32 {
        let ret = |b: CommandBuf| match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::CreateShader(r) => r.ret,
            Reply::CreateProgram(r) => r.ret,
            other => panic!("unexpected reply {other:?}"),
        };
        let program = ret(self.call(Command::CreateProgram(CreateProgram {})));
        for (kind, source) in [(0x8B31, vertex), (0x8B30, fragment)] {
            let shader = ret(self.call(Command::CreateShader(CreateShader { type_: kind })));
            let sources = [source];
            self.submit(&[
                Command::ShaderSource(ShaderSource {
                    shader,
                    count: 1,
                    string: wire::codec::StrList::Borrowed(&sources),
                }),
                Command::CompileShader(CompileShader { shader }),
                Command::AttachShader(AttachShader { program, shader }),
            ]);
        }
        self.submit(&[Command::LinkProgram(LinkProgram { program })]);
        program
    }

    /// Makes a program drawing white from attribute 0 the current one.
    fn use_white_program(&mut self) {
        let program = self.program(
            c"#version 300 es
            layout(location = 0) in vec4 p;
            void main() { gl_Position = p; }",
            c"#version 300 es
            precision mediump float;
            out vec4 color;
            void main() { color = vec4(1.0); }",
        );
        self.submit(&[Command::UseProgram(UseProgram { program })]);
    }

    /// A new object name of `ns`, chosen here as the ICD does (glGen* has no reply).
    fn gen(&mut self, ns: Namespace) -> u32 {
        self.last_name += 1;
        let name = [self.last_name];
        let replies = self.call(wire::names::gen_command(ns, 1, &name).unwrap());
        assert!(replies.is_empty(), "glGen* answers nothing");
        name[0]
    }

    /// A 4x4 RGBA8 renderbuffer as draw and read framebuffer; its names.
    fn framebuffer_4x4(&mut self) -> (u32, u32) {
        let fbo = self.gen(Namespace::Framebuffer);
        let rbo = self.gen(Namespace::Renderbuffer);
        let b = self.submit(&[
            Command::BindFramebuffer(BindFramebuffer { target: GL_FRAMEBUFFER, framebuffer: fbo }),
            Command::BindRenderbuffer(BindRenderbuffer { target: GL_RENDERBUFFER, renderbuffer: rbo }),
            Command::RenderbufferStorage(RenderbufferStorage {
                target: GL_RENDERBUFFER,
                internalformat: GL_RGBA8,
                width: 4,
                height: 4,
            }),
            Command::FramebufferRenderbuffer(FramebufferRenderbuffer {
                target: GL_FRAMEBUFFER,
                attachment: GL_COLOR_ATTACHMENT0,
                renderbuffertarget: GL_RENDERBUFFER,
                renderbuffer: rbo,
            }),
            Command::Viewport(Viewport { x: 0, y: 0, width: 4, height: 4 }),
            Command::CheckFramebufferStatus(CheckFramebufferStatus { target: GL_FRAMEBUFFER }),
        ]);
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::CheckFramebufferStatus(r) => assert_eq!(r.ret, GL_FRAMEBUFFER_COMPLETE),
            other => panic!("unexpected reply {other:?}"),
        }
        (fbo, rbo)
    }

    fn read_pixels(&mut self, cap: u32) -> Vec<u8> {
        let b = self.call(Command::ReadPixels(ReadPixels {
            x: 0,
            y: 0,
            width: 4,
            height: 4,
            format: GL_RGBA,
            type_: GL_UNSIGNED_BYTE,
            pixels: OutRef::Reply(cap),
        }));
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::ReadPixels(r) => r.pixels.unwrap_or_default().to_vec(),
            other => panic!("unexpected reply {other:?}"),
        }
    }
}

#[test]
fn mesa_clear_and_read_back_through_a_session() {
    let server = start();
    let mut c = server.client();
    let b = c.call(Command::GetString(GetString { name: GL_RENDERER }));
    assert!(matches!(decode_reply(b.as_bytes()).unwrap().0, Reply::GetString(_)));
    c.framebuffer_4x4();
    c.submit(&[
        Command::ClearColor(ClearColor { red: 1.0, green: 0.0, blue: 0.0, alpha: 1.0 }),
        Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }),
    ]);
    let pixels = c.read_pixels(64);
    assert_eq!(pixels.len(), 64);
    assert!(pixels.chunks(4).all(|p| p == [255, 0, 0, 255]), "{pixels:?}");
    assert_eq!(c.error(), GL_NO_ERROR);
}

#[test]
fn mesa_offsets_need_their_buffer_bound() {
    let server = start();
    let mut c = server.client();
    c.framebuffer_4x4();
    let image = |pixels| {
        Command::TexImage2D(TexImage2D {
            target: GL_TEXTURE_2D,
            level: 0,
            internalformat: GL_RGBA as i32,
            width: 4,
            height: 4,
            border: 0,
            format: GL_RGBA,
            type_: GL_UNSIGNED_BYTE,
            pixels,
        })
    };
    c.expect_error(image(DataRef::Offset(64)), GL_INVALID_OPERATION);
    let read = |pixels| {
        Command::ReadPixels(ReadPixels {
            x: 0,
            y: 0,
            width: 4,
            height: 4,
            format: GL_RGBA,
            type_: GL_UNSIGNED_BYTE,
            pixels,
        })
    };
    c.expect_error(read(OutRef::Offset(0)), GL_INVALID_OPERATION);
    let elements = |indices| {
        Command::DrawElements(DrawElements { mode: GL_TRIANGLES, count: 3, type_: GL_UNSIGNED_SHORT, indices })
    };
    c.expect_error(elements(DataRef::Null), GL_INVALID_OPERATION);
    c.expect_error(elements(DataRef::Offset(4096)), GL_INVALID_OPERATION);
    c.expect_error(
        Command::DrawArraysIndirect(DrawArraysIndirect { mode: GL_TRIANGLES, indirect: 0 }),
        GL_INVALID_OPERATION,
    );
    c.expect_error(
        Command::VertexAttribPointer(VertexAttribPointer {
            index: 0,
            size: 4,
            type_: GL_FLOAT,
            normalized: 0,
            stride: 0,
            pointer: 0x7fff_dead_0000,
        }),
        GL_INVALID_OPERATION,
    );
    // With a buffer bound, the same offset is an offset, and allowed.
    let buffer = c.gen(Namespace::Buffer);
    c.submit(&[
        Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }),
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 64, data: None, usage: GL_STATIC_DRAW }),
        Command::VertexAttribPointer(VertexAttribPointer {
            index: 0,
            size: 4,
            type_: GL_FLOAT,
            normalized: 0,
            stride: 0,
            pointer: 16,
        }),
    ]);
    assert_eq!(c.error(), GL_NO_ERROR);
    // The rendering path still works after all that.
    c.submit(&[
        Command::ClearColor(ClearColor { red: 0.0, green: 1.0, blue: 0.0, alpha: 1.0 }),
        Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }),
    ]);
    assert!(c.read_pixels(64).chunks(4).all(|p| p == [0, 255, 0, 255]));
    // And so does another session.
    let mut other = server.client();
    other.framebuffer_4x4();
    other.still_works();
}

#[test]
fn mesa_inline_data_must_cover_what_gl_reads() {
    let server = start();
    let mut c = server.client();
    let short = [0u8; 10];
    c.expect_error(
        Command::TexImage2D(TexImage2D {
            target: GL_TEXTURE_2D,
            level: 0,
            internalformat: GL_RGBA as i32,
            width: 4,
            height: 4,
            border: 0,
            format: GL_RGBA,
            type_: GL_UNSIGNED_BYTE,
            pixels: DataRef::Inline(&short),
        }),
        GL_INVALID_VALUE,
    );
    c.expect_error(
        Command::TexSubImage2D(TexSubImage2D {
            target: GL_TEXTURE_2D,
            level: 0,
            xoffset: 0,
            yoffset: 0,
            width: 64,
            height: 64,
            format: GL_RGBA,
            type_: GL_UNSIGNED_BYTE,
            pixels: DataRef::Inline(&short),
        }),
        GL_INVALID_VALUE,
    );
    c.expect_error(
        Command::DrawElements(DrawElements {
            mode: GL_TRIANGLES,
            count: 300,
            type_: GL_UNSIGNED_SHORT,
            indices: DataRef::Inline(&short),
        }),
        GL_INVALID_VALUE,
    );
    // Pname-sized inputs: an unknown pname, and too few values.
    c.expect_error(
        Command::TexParameteriv(TexParameteriv { target: GL_TEXTURE_2D, pname: 0xdead, params: &[1] }),
        GL_INVALID_ENUM,
    );
    c.expect_error(
        Command::ClearBufferfv(ClearBufferfv { buffer: GL_COLOR, drawbuffer: 0, value: &[1.0] }),
        GL_INVALID_VALUE,
    );
    c.expect_error(Command::GetIntegerv(GetIntegerv { pname: 0xdead, data: Some(4) }), GL_INVALID_ENUM);
}

#[test]
fn mesa_outputs_get_their_real_size_and_replies_the_clients() {
    let server = start();
    let mut c = server.client();
    c.framebuffer_4x4();
    let viewport = |c: &mut Client, cap| {
        let b = c.call(Command::GetIntegerv(GetIntegerv { pname: GL_VIEWPORT, data: cap }));
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::GetIntegerv(r) => r.data.map(<[i32]>::to_vec),
            other => panic!("unexpected reply {other:?}"),
        }
    };
    assert_eq!(viewport(&mut c, Some(4)), Some(vec![0, 0, 4, 4]));
    assert_eq!(viewport(&mut c, Some(2)), Some(vec![0, 0]));
    assert_eq!(viewport(&mut c, None), None);
    assert_eq!(c.read_pixels(8).len(), 8);
    assert_eq!(c.error(), GL_NO_ERROR);
    // No host address comes back.
    let b = c.call(Command::GetPointerv(GetPointerv { pname: GL_DEBUG_CALLBACK_USER_PARAM, params: Some(1) }));
    match decode_reply(b.as_bytes()).unwrap().0 {
        Reply::GetPointerv(r) => assert_eq!(r.params, Some(&[0][..])),
        other => panic!("unexpected reply {other:?}"),
    }
    c.still_works();
}

#[test]
fn mesa_syncs_are_client_ids_and_waits_are_bounded() {
    let server = start();
    let mut c = server.client();
    let b = c.call(Command::FenceSync(FenceSync { condition: GL_SYNC_GPU_COMMANDS_COMPLETE, flags: 0 }));
    let id = match decode_reply(b.as_bytes()).unwrap().0 {
        Reply::FenceSync(r) => r.ret,
        other => panic!("unexpected reply {other:?}"),
    };
    assert_eq!(id, 1, "the first sync of a context is id 1, not a host address");
    let start = Instant::now();
    let b = c.call(Command::ClientWaitSync(ClientWaitSync {
        sync: id,
        flags: GL_SYNC_FLUSH_COMMANDS_BIT,
        timeout: u64::MAX,
    }));
    match decode_reply(b.as_bytes()).unwrap().0 {
        Reply::ClientWaitSync(r) => assert!([GL_ALREADY_SIGNALED, GL_CONDITION_SATISFIED].contains(&r.ret)),
        other => panic!("unexpected reply {other:?}"),
    }
    assert!(start.elapsed() < 5 * SECOND);
    c.expect_error(
        Command::ClientWaitSync(ClientWaitSync { sync: 0x7fff_dead_0000, flags: 0, timeout: 0 }),
        GL_INVALID_VALUE,
    );
    c.expect_error(Command::DeleteSync(DeleteSync { sync: 0x7fff_dead_0000 }), GL_INVALID_VALUE);
    let is_sync = |c: &mut Client, sync| {
        let b = c.call(Command::IsSync(IsSync { sync }));
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::IsSync(r) => r.ret,
            other => panic!("unexpected reply {other:?}"),
        }
    };
    assert_eq!(is_sync(&mut c, id), 1);
    c.call(Command::DeleteSync(DeleteSync { sync: id }));
    assert_eq!(is_sync(&mut c, id), 0);
    assert_eq!(c.error(), GL_NO_ERROR);
}

#[test]
fn mesa_allocations_are_capped_and_errors_keep_one_flag() {
    let server = start();
    let mut c = server.client();
    let buffer = c.gen(Namespace::Buffer);
    c.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    c.expect_error(
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 1 << 40, data: None, usage: GL_STATIC_DRAW }),
        GL_OUT_OF_MEMORY,
    );
    c.expect_error(
        Command::BufferStorageEXT(BufferStorageEXT { target: GL_ARRAY_BUFFER, size: 1 << 40, data: None, flags: 0 }),
        GL_OUT_OF_MEMORY,
    );
    // A validator error, then a host error: one error flag, as Mesa has — the first is
    // returned and the later one dropped.
    c.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: 0 }));
    c.submit(&[
        Command::VertexAttribPointer(VertexAttribPointer {
            index: 0,
            size: 4,
            type_: GL_FLOAT,
            normalized: 0,
            stride: 0,
            pointer: 8,
        }),
        Command::Enable(Enable { cap: 0xdead }),
    ]);
    assert_eq!(c.error(), GL_INVALID_OPERATION);
    assert_eq!(c.error(), GL_NO_ERROR);
    // A host error, then a validator error: the host's came first and wins.
    c.submit(&[
        Command::Enable(Enable { cap: 0xdead }),
        Command::VertexAttribPointer(VertexAttribPointer {
            index: 0,
            size: 4,
            type_: GL_FLOAT,
            normalized: 0,
            stride: 0,
            pointer: 8,
        }),
    ]);
    assert_eq!(c.error(), GL_INVALID_ENUM);
    assert_eq!(c.error(), GL_NO_ERROR);
    c.still_works();
}

/// glGetActiveUniformBlockiv(GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES) writes one index
/// per uniform of the block, whatever capacity the client claims: the server gives GL
/// room for all of them and replies with what the client asked for.
#[test]
fn mesa_uniform_block_indices_cannot_overflow_the_server() {
    const GL_UNIFORM_BLOCK_ACTIVE_UNIFORMS: u32 = 0x8A42;
    const GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES: u32 = 0x8A43;
    let server = start();
    let mut c = server.client();
    let program = c.program(
        c"#version 300 es
layout(std140) uniform Block { vec4 a; vec4 b; vec4 c; };
void main() { gl_Position = a + b + c; }",
        c"#version 300 es
precision mediump float;
out vec4 color;
void main() { color = vec4(1.0); }",
    );
    let query = |c: &mut Client, pname, cap| {
        let b = c.call(Command::GetActiveUniformBlockiv(GetActiveUniformBlockiv {
            program,
            uniform_block_index: 0,
            pname,
            params: cap,
        }));
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::GetActiveUniformBlockiv(r) => r.params.map(<[i32]>::to_vec),
            other => panic!("unexpected reply {other:?}"),
        }
    };
    assert_eq!(query(&mut c, GL_UNIFORM_BLOCK_ACTIVE_UNIFORMS, Some(1)), Some(vec![3]));
    // A hostile capacity of one for three indices: one comes back, nothing overflows.
    assert_eq!(query(&mut c, GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES, Some(1)).map(|v| v.len()), Some(1));
    let all = query(&mut c, GL_UNIFORM_BLOCK_ACTIVE_UNIFORM_INDICES, Some(3)).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(c.error(), GL_NO_ERROR);
    c.still_works();
}

/// glwire's own commands that write into and read from a host mapping are bounded by
/// the mapping: another buffer, an unmapped one, a range past the end or a read of a
/// write-only map is a GL error, and the session goes on.
#[test]
fn mesa_mapped_writes_stay_inside_the_mapping() {
    const GL_MAP_READ_BIT: u32 = 0x1;
    const GL_MAP_WRITE_BIT: u32 = 0x2;
    let server = start();
    let mut c = server.client();
    let buffer = c.gen(Namespace::Buffer);
    c.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    c.call(Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 64, data: None, usage: GL_STATIC_DRAW }));
    let write = |buffer, offset, data: &'static [u8]| {
        Command::WireWriteMapped(WireWriteMapped { buffer, offset, size: data.len() as i64, data })
    };
    c.expect_error(write(buffer, 0, &[1; 4]), GL_INVALID_OPERATION); // not mapped
    c.expect_error(write(buffer + 100, 0, &[1; 4]), GL_INVALID_VALUE); // no such buffer
    let map =
        |access| Command::MapBufferRange(MapBufferRange { target: GL_ARRAY_BUFFER, offset: 16, length: 16, access });
    c.call(map(GL_MAP_WRITE_BIT));
    assert_eq!(c.error(), GL_NO_ERROR);
    c.expect_error(write(buffer, 14, &[1; 4]), GL_INVALID_VALUE); // past the end
    c.expect_error(write(buffer, -1, &[1; 4]), GL_INVALID_VALUE);
    let read = Command::WireReadMapped(WireReadMapped { buffer, offset: 0, size: 4, data: Some(4) });
    c.expect_error(read, GL_INVALID_OPERATION); // a write-only map
    c.submit(&[write(buffer, 12, &[7; 4])]);
    assert_eq!(c.error(), GL_NO_ERROR);
    c.call(Command::UnmapBuffer(UnmapBuffer { target: GL_ARRAY_BUFFER }));
    let reply = c.call(map(GL_MAP_READ_BIT));
    let (Reply::MapBufferRange(r), _) = decode_reply(reply.as_bytes()).unwrap() else { panic!("not a map reply") };
    assert_eq!(r.ret.map(|b| b[12..].to_vec()), Some(vec![7; 4]), "the write landed at 16 + 12");
    c.still_works();
}

/// NULL pixels with no unpack buffer read nothing: glCompressedTexImage2D allocates
/// (no error), and glTexSubImage2D still gets GL's format checks from the host.
#[test]
fn mesa_null_pixels_allocate_and_are_still_checked() {
    const GL_COMPRESSED_RGB8_ETC2: u32 = 0x9274;
    let server = start();
    let mut c = server.client();
    let texture = c.gen(Namespace::Texture);
    c.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture }));
    c.call(Command::CompressedTexImage2D(CompressedTexImage2D {
        target: GL_TEXTURE_2D,
        level: 0,
        internalformat: GL_COMPRESSED_RGB8_ETC2,
        width: 8,
        height: 8,
        border: 0,
        image_size: 32,
        data: DataRef::Null,
    }));
    assert_eq!(c.error(), GL_NO_ERROR, "NULL compressed data allocates");
    c.call(Command::TexImage2D(TexImage2D {
        target: GL_TEXTURE_2D,
        level: 0,
        internalformat: GL_RGBA8 as i32,
        width: 4,
        height: 4,
        border: 0,
        format: GL_RGBA,
        type_: GL_UNSIGNED_BYTE,
        pixels: DataRef::Null,
    }));
    assert_eq!(c.error(), GL_NO_ERROR, "NULL pixels allocate");
    let sub = |format, type_| {
        Command::TexSubImage2D(TexSubImage2D {
            target: GL_TEXTURE_2D,
            level: 0,
            xoffset: 0,
            yoffset: 0,
            width: 4,
            height: 4,
            format,
            type_,
            pixels: DataRef::Null,
        })
    };
    // Float texels into an RGBA8 texture: the host's error, though nothing is read.
    c.expect_error(sub(GL_RGBA, GL_FLOAT), GL_INVALID_OPERATION);
    c.still_works();
}

/// OES_viewport_array state is four values per viewport: all of them come back.
#[test]
fn mesa_indexed_viewports_come_back_whole() {
    let server = start();
    let mut c = server.client();
    c.call(Command::ViewportIndexedfOES(ViewportIndexedfOES { index: 1, x: 1.0, y: 2.0, w: 3.0, h: 4.0 }));
    let b = c.call(Command::GetIntegeriV(GetIntegeriV { target: GL_VIEWPORT, index: 1, data: Some(4) }));
    let (Reply::GetIntegeriV(r), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
    assert_eq!(r.data, Some(&[1, 2, 3, 4][..]));
    assert_eq!(c.error(), GL_NO_ERROR);
}

/// Found by fuzzing Mesa through the validator: a viewport range whose `first + count`
/// wraps in 32 bits wrote far outside Mesa's array (the server crashed), and generating
/// zero names could spin forever in Mesa's name allocator. Both are refused or answered
/// before the host now; the session goes on.
#[test]
fn mesa_wrapping_viewport_ranges_and_empty_name_requests_never_reach_the_host() {
    let server = start();
    let mut c = server.client();
    let v = [0.0f32; 4];
    c.expect_error(
        Command::ViewportArrayvOES(ViewportArrayvOES { first: u32::MAX, count: 1, v: &v }),
        GL_INVALID_VALUE,
    );
    c.expect_error(
        Command::ScissorArrayvOES(ScissorArrayvOES { first: u32::MAX, count: 1, v: &[0, 0, 1, 1] }),
        GL_INVALID_VALUE,
    );
    c.expect_error(
        Command::DepthRangeArrayfvOES(DepthRangeArrayfvOES { first: u32::MAX - 2, count: 3, v: &[0.0; 6] }),
        GL_INVALID_VALUE,
    );
    c.expect_error(
        Command::ViewportIndexedfOES(ViewportIndexedfOES { index: 1 << 20, x: 0.0, y: 0.0, w: 1.0, h: 1.0 }),
        GL_INVALID_VALUE,
    );
    // A valid range still reaches the host.
    c.call(Command::ViewportArrayvOES(ViewportArrayvOES { first: 1, count: 1, v: &[1.0, 2.0, 3.0, 4.0] }));
    assert_eq!(c.error(), GL_NO_ERROR);
    c.call(Command::GenBuffers(GenBuffers { n: 0, buffers: &[] }));
    assert_eq!(c.error(), GL_NO_ERROR);
    c.expect_error(Command::GenTextures(GenTextures { n: -1, textures: &[] }), GL_INVALID_VALUE);
    c.still_works();
}

/// Found by fuzzing: glGetUniform* at the location of a uniform-block member made Mesa
/// read storage the member does not have (the server crashed). Only ordinary uniforms'
/// locations reach the host; others are GL_INVALID_OPERATION, as GL says for a location
/// that is no uniform's.
#[test]
fn mesa_uniform_reads_only_reach_ordinary_uniforms() {
    let server = start();
    let mut c = server.client();
    let program = c.program(
        c"#version 300 es
layout(std140) uniform B { vec4 a; vec4 b; };
uniform vec4 u;
void main() { gl_Position = a + b + u; }",
        c"#version 300 es
precision mediump float;
out vec4 o;
void main() { o = vec4(1.0); }",
    );
    let b = c.call(Command::GetUniformLocation(GetUniformLocation { program, name: c"u" }));
    let (Reply::GetUniformLocation(r), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
    let u = r.ret;
    assert!(u >= 0);
    for location in 0..8 {
        let b = c.call(Command::GetUniformfv(GetUniformfv { program, location, params: Some(16) }));
        let error = c.error();
        if location == u {
            let (Reply::GetUniformfv(r), _) = decode_reply(b.as_bytes()).unwrap() else { panic!("not the reply") };
            assert!(r.params.is_some_and(|p| p.len() >= 4), "{r:?}");
            assert_eq!(error, GL_NO_ERROR);
        } else {
            assert_eq!(error, GL_INVALID_OPERATION, "location {location}");
        }
    }
    c.still_works();
}

impl Client {
    /// A single-integer glGet.
    fn integer(&mut self, pname: u32) -> i32 {
        match decode_reply(self.call(Command::GetIntegerv(GetIntegerv { pname, data: Some(1) })).as_bytes()).unwrap().0
        {
            Reply::GetIntegerv(r) => r.data.unwrap()[0],
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// The boolean a glIs* answers.
    fn is(&mut self, cmd: Command<'_>) -> bool {
        let b = self.call(cmd);
        match decode_reply(b.as_bytes()).unwrap().0 {
            Reply::IsBuffer(r) => r.ret != 0,
            Reply::IsTexture(r) => r.ret != 0,
            Reply::IsVertexArray(r) => r.ret != 0,
            Reply::IsProgram(r) => r.ret != 0,
            Reply::IsRenderbuffer(r) => r.ret != 0,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// Another context of this session, in this one's share group when `share`.
    fn another_context(&mut self, share: bool) -> u64 {
        let payload = CreateContextRequest::encode(if share { self.context } else { 0 }, 0, &[]).unwrap();
        let reply = self.session.call(ControlKind::CreateContext, &payload).unwrap();
        HandlePayload::parse(&reply).unwrap().handle
    }
}

const GL_ARRAY_BUFFER_BINDING: u32 = 0x8894;
const GL_TEXTURE_BINDING_2D: u32 = 0x8069;
const GL_CURRENT_PROGRAM: u32 = 0x8B8D;
const GL_VERTEX_ARRAY_BINDING: u32 = 0x85B5;
const GL_BUFFER: u32 = 0x82E0;

/// Object names are the client's: it chooses them (glGen* answers nothing), every
/// query answers them, and the host's own names (which count from 1) are out of
/// reach: the client's names here start at 5001.
#[test]
fn mesa_object_names_are_the_clients_and_map_to_the_hosts() {
    let server = start();
    let mut c = server.client();
    let buffer = c.gen(Namespace::Buffer);
    c.call(Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    assert_eq!(c.integer(GL_ARRAY_BUFFER_BINDING), buffer as i32);
    assert!(c.is(Command::IsBuffer(IsBuffer { buffer })));
    // The host's buffer 1 exists (this one), yet no client name 1 does.
    assert!(!c.is(Command::IsBuffer(IsBuffer { buffer: 1 })));

    // ES's bind-to-create: a name never generated becomes an object when bound.
    c.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture: 77 }));
    assert_eq!(c.integer(GL_TEXTURE_BINDING_2D), 77);
    assert!(c.is(Command::IsTexture(IsTexture { texture: 77 })));
    assert_eq!(c.error(), GL_NO_ERROR);

    // Vertex arrays must be generated: an unknown name is GL's error, not the host's
    // object of that name.
    c.expect_error(Command::BindVertexArray(BindVertexArray { array: 1 }), GL_INVALID_OPERATION);
    let vao = c.gen(Namespace::VertexArray);
    c.call(Command::BindVertexArray(BindVertexArray { array: vao }));
    assert_eq!(c.integer(GL_VERTEX_ARRAY_BINDING), vao as i32);
    c.call(Command::BindVertexArray(BindVertexArray { array: 0 }));

    // Programs and shaders: the server names them, and answers its names.
    let program = c.program(
        c"#version 300 es\nvoid main() { gl_Position = vec4(0.0); }",
        c"#version 300 es\nprecision mediump float; out vec4 o; void main() { o = vec4(1.0); }",
    );
    c.call(Command::UseProgram(UseProgram { program }));
    assert_eq!(c.integer(GL_CURRENT_PROGRAM), program as i32);
    let b = c.call(Command::GetAttachedShaders(GetAttachedShaders {
        program,
        max_count: 2,
        count: Some(1),
        shaders: Some(2),
    }));
    let shaders = match decode_reply(b.as_bytes()).unwrap().0 {
        Reply::GetAttachedShaders(r) => r.shaders.unwrap().to_vec(),
        other => panic!("unexpected reply {other:?}"),
    };
    assert_eq!(shaders.len(), 2);
    for shader in shaders {
        let b = c.call(Command::IsShader(IsShader { shader }));
        assert!(matches!(decode_reply(b.as_bytes()).unwrap().0, Reply::IsShader(r) if r.ret != 0));
    }
    c.expect_error(Command::UseProgram(UseProgram { program: program + 1000 }), GL_INVALID_VALUE);

    // An attachment's name comes back as the client's.
    let (_, rbo) = c.framebuffer_4x4();
    let b = c.call(Command::GetFramebufferAttachmentParameteriv(GetFramebufferAttachmentParameteriv {
        target: GL_FRAMEBUFFER,
        attachment: GL_COLOR_ATTACHMENT0,
        pname: 0x8CD1, // GL_FRAMEBUFFER_ATTACHMENT_OBJECT_NAME
        params: Some(1),
    }));
    match decode_reply(b.as_bytes()).unwrap().0 {
        Reply::GetFramebufferAttachmentParameteriv(r) => assert_eq!(r.params.unwrap(), [rbo as i32]),
        other => panic!("unexpected reply {other:?}"),
    }

    // Labels find the object by the client's name.
    let label = [c"vertices"];
    c.call(Command::ObjectLabel(ObjectLabel {
        identifier: GL_BUFFER,
        name: buffer,
        length: -1,
        label: Some(label[0]),
    }));
    let b = c.call(Command::GetObjectLabel(GetObjectLabel {
        identifier: GL_BUFFER,
        name: buffer,
        buf_size: 16,
        length: None,
        label: Some(16),
    }));
    match decode_reply(b.as_bytes()).unwrap().0 {
        Reply::GetObjectLabel(r) => assert!(r.label.unwrap().starts_with(b"vertices\0")),
        other => panic!("unexpected reply {other:?}"),
    }
    assert_eq!(c.error(), GL_NO_ERROR);

    // Deleted names are gone; deleting a name that is no object is no error.
    c.call(Command::DeleteBuffers(DeleteBuffers { n: 2, buffers: &[buffer, 123_456] }));
    assert!(!c.is(Command::IsBuffer(IsBuffer { buffer })));
    assert_eq!(c.integer(GL_ARRAY_BUFFER_BINDING), 0);
    assert_eq!(c.error(), GL_NO_ERROR);

    // Another session's names are its own: the same client name is another object.
    let mut other = server.client();
    assert!(!other.is(Command::IsTexture(IsTexture { texture: 77 })));
    other.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture: 77 }));
    other.call(Command::DeleteTextures(DeleteTextures { n: 1, textures: &[77] }));
    assert!(c.is(Command::IsTexture(IsTexture { texture: 77 })));
    c.still_works();
}

/// A share group shares buffers, textures and programs by name, but each context has
/// its own vertex arrays and framebuffers, as in GL.
#[test]
fn mesa_share_groups_share_names_of_shared_objects_only() {
    let server = start();
    let mut c = server.client();
    let buffer = c.gen(Namespace::Buffer);
    let vao = c.gen(Namespace::VertexArray);
    c.submit(&[
        Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }),
        Command::BindVertexArray(BindVertexArray { array: vao }),
    ]);
    let first = c.context;
    let shared = c.another_context(true);
    let alone = c.another_context(false);
    c.context = shared;
    assert!(c.is(Command::IsBuffer(IsBuffer { buffer })));
    assert!(!c.is(Command::IsVertexArray(IsVertexArray { array: vao })));
    c.context = alone;
    assert!(!c.is(Command::IsBuffer(IsBuffer { buffer })));
    c.context = first;
    assert!(c.is(Command::IsVertexArray(IsVertexArray { array: vao })));
    assert_eq!(c.error(), GL_NO_ERROR);
}

const GL_SCISSOR_TEST: u32 = 0x0C11;

impl Client {
    /// A window surface of `width` x `height` bound to this client's context, and the
    /// consumer end of its frame ring.
    fn window_surface(&mut self, width: u32, height: u32) -> (u64, framechan::FrameConsumer) {
        let request = wire::control::CreateSurfaceRequest::new(width, height, 0);
        let (payload, mut fds) = self
            .session
            .call_for_fds(ControlKind::CreateWindowSurface, zerocopy::IntoBytes::as_bytes(&request))
            .unwrap();
        let surface = HandlePayload::parse(&payload).unwrap().handle;
        assert_eq!(fds.len(), 1, "the reply carries the frame ring");
        let frames = framechan::FrameConsumer::attach(fds.pop().unwrap(), Default::default()).unwrap();
        let bind =
            wire::control::MakeCurrentRequest { context: self.context, draw_surface: surface, read_surface: surface };
        self.session.call(ControlKind::MakeCurrent, zerocopy::IntoBytes::as_bytes(&bind)).unwrap();
        (surface, frames)
    }

    /// Clears the surface blue, then its top half (GL's upper rows) red, and swaps,
    /// asking for `next` as the surface's size.
    fn draw_and_swap(&mut self, width: i32, height: i32, next: (i32, i32)) {
        self.submit(&[
            Command::Viewport(Viewport { x: 0, y: 0, width, height }),
            Command::ClearColor(ClearColor { red: 0.0, green: 0.0, blue: 1.0, alpha: 1.0 }),
            Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }),
            Command::Enable(Enable { cap: GL_SCISSOR_TEST }),
            Command::Scissor(Scissor { x: 0, y: height / 2, width, height: height - height / 2 }),
            Command::ClearColor(ClearColor { red: 1.0, green: 0.0, blue: 0.0, alpha: 1.0 }),
            Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }),
            Command::Disable(Disable { cap: GL_SCISSOR_TEST }),
            Command::WireSwapBuffers(WireSwapBuffers { x: 0, y: 0, width: next.0, height: next.1 }),
        ]);
    }
}

/// The first pixel of the first and of the last row of a published frame, BGRA.
fn corners(frame: &framechan::FrameGuard<'_>) -> ([u8; 4], [u8; 4]) {
    let g = *frame.geometry();
    let px = frame.pixels();
    let last = (g.height as usize - 1) * g.stride as usize;
    (px[..4].try_into().unwrap(), px[last..last + 4].try_into().unwrap())
}

/// A window surface's swap publishes the frame into its ring, top row first, in BGRA;
/// a swap that carries a new size resizes the surface: the old ring is retired, and
/// the next frame comes in a new generation of the new size.
#[test]
fn mesa_window_surfaces_publish_frames_and_follow_resizes() {
    const RED: [u8; 4] = [0, 0, 255, 255];
    const BLUE: [u8; 4] = [255, 0, 0, 255];
    let server = start();
    let mut c = server.client();
    let (surface, mut frames) = c.window_surface(64, 48);
    c.draw_and_swap(64, 48, (64, 48));
    {
        let frame = frames.wait_frame(std::time::Duration::from_secs(5)).unwrap();
        assert_eq!((frame.geometry().width, frame.geometry().height), (64, 48));
        assert_eq!(corners(&frame), (RED, BLUE), "top row first");
        frame.release().unwrap();
    }
    // The window became 100x30: this frame is still 64x48, the next one 100x30.
    c.draw_and_swap(64, 48, (100, 30));
    let generation = frames.generation();
    {
        let frame = frames.wait_frame(std::time::Duration::from_secs(5)).unwrap();
        assert_eq!((frame.geometry().width, frame.geometry().height), (64, 48));
        frame.release().unwrap();
    }
    assert!(frames.wait_frame(std::time::Duration::from_secs(1)).is_err(), "the old ring is retired");
    let (_, mut fds) = c
        .session
        .call_for_fds(ControlKind::SurfaceFrames, zerocopy::IntoBytes::as_bytes(&HandlePayload { handle: surface }))
        .unwrap();
    let mut frames =
        framechan::FrameConsumer::attach_newer(fds.pop().unwrap(), Default::default(), generation).unwrap();
    c.draw_and_swap(100, 30, (100, 30));
    let frame = frames.wait_frame(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!((frame.geometry().width, frame.geometry().height), (100, 30));
    assert_eq!(corners(&frame), (RED, BLUE));
    frame.release().unwrap();
    assert_eq!(c.error(), GL_NO_ERROR);
    // A pbuffer has no frame ring to ask for.
    let pbuffer = wire::control::CreateSurfaceRequest::new(8, 8, 0);
    let id = c.session.call(ControlKind::CreateSurface, zerocopy::IntoBytes::as_bytes(&pbuffer)).unwrap();
    assert!(c.session.call_for_fds(ControlKind::SurfaceFrames, &id).is_err());
}

impl Client {
    fn stats(&mut self) -> wire::control::StatsReply {
        let reply = self.session.call(ControlKind::QueryStats, &[]).unwrap();
        wire::control::StatsReply::parse(&reply).unwrap()
    }
}

/// A session's object names and GL memory (buffers, textures, renderbuffers by their
/// estimated size) are counted against its quotas: past one, the call is
/// GL_OUT_OF_MEMORY and the host is not asked; deleting gives the room back; the stats
/// show the counts.
#[test]
fn mesa_sessions_are_held_to_their_object_and_memory_quotas() {
    backend_gles::prepare_process_env();
    let server = common::start_with(|config, _| {
        config.limits.max_objects = 6;
        config.limits.max_gl_bytes = 1 << 20;
    });
    let mut c = server.client();
    let a = c.gen(Namespace::Buffer);
    let b = c.gen(Namespace::Buffer);
    let data = |size: i64| {
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size, data: None, usage: GL_STATIC_DRAW })
    };
    c.submit(&[Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: a }), data(600 << 10)]);
    assert_eq!(c.error(), GL_NO_ERROR);
    assert_eq!((c.stats().objects, c.stats().gl_bytes), (2, 600 << 10));
    // Another 600 KiB in b is over the 1 MiB quota; a's resize to 900 KiB is not.
    c.submit(&[Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: b }), data(600 << 10)]);
    assert_eq!(c.error(), GL_OUT_OF_MEMORY);
    c.submit(&[Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: a }), data(900 << 10)]);
    assert_eq!(c.error(), GL_NO_ERROR);
    assert_eq!(c.stats().gl_bytes, 900 << 10);
    // A 1024x1024 RGBA texture (4 MiB) is over, and never reaches the host.
    let texture = c.gen(Namespace::Texture);
    let image = Command::TexImage2D(TexImage2D {
        target: GL_TEXTURE_2D,
        level: 0,
        internalformat: GL_RGBA as i32,
        width: 1024,
        height: 1024,
        border: 0,
        format: GL_RGBA,
        type_: GL_UNSIGNED_BYTE,
        pixels: DataRef::Null,
    });
    c.submit(&[Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture }), image]);
    assert_eq!(c.error(), GL_OUT_OF_MEMORY);
    // Deleting a frees its bytes; the texture then fits... up to its 4 MiB: no.
    c.call(Command::DeleteBuffers(DeleteBuffers { n: 1, buffers: &[a] }));
    assert_eq!((c.stats().objects, c.stats().gl_bytes), (2, 0));
    // Names: 2 live, 4 more fit, the next is over (glGen* and bind-to-create alike).
    c.last_name += 1;
    let names: Vec<u32> = (c.last_name..c.last_name + 4).collect();
    c.last_name += 4;
    c.call(Command::GenRenderbuffers(GenRenderbuffers { n: 4, renderbuffers: &names }));
    assert_eq!(c.error(), GL_NO_ERROR);
    assert_eq!(c.stats().objects, 6);
    c.call(Command::GenQueries(GenQueries { n: 1, ids: &[99_999] }));
    assert_eq!(c.error(), GL_OUT_OF_MEMORY);
    c.call(Command::BindTexture(BindTexture { target: GL_TEXTURE_2D, texture: 88_888 }));
    assert_eq!(c.error(), GL_OUT_OF_MEMORY);
    // Renderbuffer storage counts too: 256x256 RGBA8 is 256 KiB.
    c.submit(&[
        Command::BindRenderbuffer(BindRenderbuffer { target: GL_RENDERBUFFER, renderbuffer: names[0] }),
        Command::RenderbufferStorage(RenderbufferStorage {
            target: GL_RENDERBUFFER,
            internalformat: GL_RGBA8,
            width: 256,
            height: 256,
        }),
    ]);
    assert_eq!(c.error(), GL_NO_ERROR);
    assert_eq!(c.stats().gl_bytes, 256 << 10);
    c.still_works();
}

/// The validator remembers which vertex arrays read only buffers (so switching meshes
/// costs no host queries), and never takes one for another: a vertex array with an
/// enabled attribute reading client memory is refused every time it is bound, also
/// after a bind the host refused, and a deleted name the host reuses is looked at
/// afresh.
#[test]
fn mesa_vertex_arrays_reading_client_memory_are_refused_whichever_is_bound() {
    let server = start();
    let mut c = server.client();
    c.framebuffer_4x4();
    c.use_white_program();
    let draw = Command::DrawArrays(DrawArrays { mode: GL_TRIANGLES, first: 0, count: 3 });
    let bind = |array| Command::BindVertexArray(BindVertexArray { array });
    let enable = Command::EnableVertexAttribArray(EnableVertexAttribArray { index: 0 });
    // `clean` reads a buffer; in `dirty`, the default vertex array (where ES allows
    // client arrays, so the host would read address 0), attribute 0 is enabled with
    // no buffer.
    let (clean, dirty) = (c.gen(Namespace::VertexArray), 0);
    let buffer = c.gen(Namespace::Buffer);
    c.submit(&[
        bind(clean),
        Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }),
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 48, data: None, usage: GL_STATIC_DRAW }),
        Command::VertexAttribPointer(VertexAttribPointer {
            index: 0,
            size: 4,
            type_: GL_FLOAT,
            normalized: 0,
            stride: 0,
            pointer: 0,
        }),
        enable,
        draw,
        bind(dirty),
        enable,
    ]);
    assert_eq!(c.error(), GL_NO_ERROR, "a draw from a buffer");
    for _ in 0..2 {
        c.expect_error(draw, GL_INVALID_OPERATION);
        c.submit(&[bind(clean), draw]);
        assert_eq!(c.error(), GL_NO_ERROR, "the clean one again");
        c.submit(&[bind(dirty)]);
    }
    // A bind the host refuses (a name never made) leaves `dirty` bound.
    c.expect_error(bind(9999), GL_INVALID_OPERATION);
    c.expect_error(draw, GL_INVALID_OPERATION);
    // Deleted, then a new vertex array (the host may give it the same name) that
    // reads client memory.
    c.submit(&[Command::DeleteVertexArrays(DeleteVertexArrays { n: 1, arrays: &[clean] })]);
    let fresh = c.gen(Namespace::VertexArray);
    c.submit(&[bind(fresh), enable]);
    assert_eq!(c.error(), GL_NO_ERROR);
    c.expect_error(draw, GL_INVALID_OPERATION);
    c.still_works();
}

/// Indexed draws remember each vertex array's element buffer and its size (no host
/// query per draw), and never draw past the buffer: the remembered size follows
/// glBufferData growing and shrinking it, rebinding, and other vertex arrays.
#[test]
fn mesa_element_buffer_sizes_are_remembered_and_kept_true() {
    const GL_ELEMENT_ARRAY_BUFFER: u32 = 0x8893;
    let server = start();
    let mut c = server.client();
    c.framebuffer_4x4();
    c.use_white_program();
    let draw = |offset: u64| {
        Command::DrawElements(DrawElements {
            mode: GL_TRIANGLES,
            count: 3,
            type_: GL_UNSIGNED_SHORT,
            indices: DataRef::Offset(offset),
        })
    };
    let bind = |array| Command::BindVertexArray(BindVertexArray { array });
    let data = |size| {
        Command::BufferData(BufferData { target: GL_ELEMENT_ARRAY_BUFFER, size, data: None, usage: GL_STATIC_DRAW })
    };
    let (a, b) = (c.gen(Namespace::VertexArray), c.gen(Namespace::VertexArray));
    let (small, large) = (c.gen(Namespace::Buffer), c.gen(Namespace::Buffer));
    // `a`'s element buffer holds 8 bytes (6 are drawn from offset 0 or 2), `b`'s 64.
    c.submit(&[
        bind(a),
        Command::BindBuffer(BindBuffer { target: GL_ELEMENT_ARRAY_BUFFER, buffer: small }),
        data(8),
        bind(b),
        Command::BindBuffer(BindBuffer { target: GL_ELEMENT_ARRAY_BUFFER, buffer: large }),
        data(64),
        bind(a),
        draw(2),
        bind(b),
        draw(40),
    ]);
    assert_eq!(c.error(), GL_NO_ERROR, "draws inside both buffers");
    for _ in 0..2 {
        c.submit(&[bind(a)]);
        c.expect_error(draw(4), GL_INVALID_OPERATION);
        c.submit(&[bind(b), draw(40)]);
        assert_eq!(c.error(), GL_NO_ERROR, "b's larger buffer is b's");
    }
    // `a`'s buffer grows, then shrinks below one draw.
    c.submit(&[bind(a), data(64), draw(40)]);
    assert_eq!(c.error(), GL_NO_ERROR, "after growing");
    c.submit(&[data(4)]);
    c.expect_error(draw(0), GL_INVALID_OPERATION);
    // The same buffer resized through another binding point still counts.
    c.submit(&[
        Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: small }),
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 64, data: None, usage: GL_STATIC_DRAW }),
        draw(40),
    ]);
    assert_eq!(c.error(), GL_NO_ERROR, "grown through GL_ARRAY_BUFFER");
    c.submit(&[Command::BufferData(BufferData {
        target: GL_ARRAY_BUFFER,
        size: 2,
        data: None,
        usage: GL_STATIC_DRAW,
    })]);
    c.expect_error(draw(0), GL_INVALID_OPERATION);
    // Another element buffer bound to `a`.
    c.submit(&[Command::BindBuffer(BindBuffer { target: GL_ELEMENT_ARRAY_BUFFER, buffer: large }), draw(40)]);
    assert_eq!(c.error(), GL_NO_ERROR, "a's new element buffer");
    c.still_works();
}
