//! The executor against the real host driver. Every test named `mesa_*` needs host GL:
//! Mesa's EGL and llvmpipe (`libegl-mesa0`, `libgl1-mesa-dri`; `scripts/setup.sh`
//! installs them), reached through EGL surfaceless. Commands travel the real path:
//! encoded, decoded by `wire`, executed, and their replies decoded.
//!
//! The `child_*` tests run only inside a child process a `mesa_*`/`host_*` test starts
//! with a prepared environment, to see how opening the host fails.

use std::ffi::CStr;
use std::process::Command as Process;
use std::sync::OnceLock;

use backend_gles::{Backend, BackendError, GlesContext, GLES_FUNCTIONS};
use wire::codec::{DataRef, OutRef, StrList};
use wire::commands::*;
use wire::names::Namespace;
use wire::CommandBuf;

const GL_NO_ERROR: u32 = 0;
const GL_ARRAY_BUFFER: u32 = 0x8892;
const GL_ELEMENT_ARRAY_BUFFER: u32 = 0x8893;
const GL_STATIC_DRAW: u32 = 0x88E4;
const GL_BUFFER_SIZE: u32 = 0x8764;
const GL_VERTEX_SHADER: u32 = 0x8B31;
const GL_FRAGMENT_SHADER: u32 = 0x8B30;
const GL_COMPILE_STATUS: u32 = 0x8B81;
const GL_LINK_STATUS: u32 = 0x8B82;
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
const GL_VERSION: u32 = 0x1F02;
const GL_EXTENSIONS: u32 = 0x1F03;
const GL_MAX_TEXTURE_SIZE: u32 = 0x0D33;
const GL_VIEWPORT: u32 = 0x0BA2;
const GL_SYNC_GPU_COMMANDS_COMPLETE: u32 = 0x9117;
const GL_SYNC_FLUSH_COMMANDS_BIT: u32 = 0x1;
const GL_ALREADY_SIGNALED: u32 = 0x911A;
const GL_CONDITION_SATISFIED: u32 = 0x911C;
const GL_MAP_READ_BIT: u32 = 0x1;

/// The process's backend, opened once (the environment is prepared before any GL).
fn backend() -> &'static Backend {
    static BACKEND: OnceLock<Backend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        backend_gles::prepare_process_env();
        Backend::open().unwrap_or_else(|e| panic!("host GL is needed for this test: {e}"))
    })
}

fn context() -> GlesContext {
    backend().new_context(None).expect("a host ES context")
}

/// Encodes `cmd`, decodes it as the server would, executes it; returns the replies.
fn call(cx: &mut GlesContext, cmd: Command<'_>) -> CommandBuf {
    let mut stream = CommandBuf::new();
    cmd.encode(&mut stream).expect("encodes");
    let (decoded, rest) = decode_command(stream.as_bytes()).expect("decodes");
    assert!(rest.is_empty());
    let mut replies = CommandBuf::new();
    // SAFETY: every command these tests send is valid for the context it runs on: host
    // names it created, capacities of the real sizes, inline data only with no buffer
    // bound, offsets only with one bound and in range.
    unsafe { cx.execute(&decoded, &mut replies) }.unwrap_or_else(|e| panic!("{:?}: {e}", cmd.opcode()));
    replies
}

macro_rules! reply {
    ($buf:expr, $variant:ident) => {
        match decode_reply($buf.as_bytes()).expect("reply decodes") {
            (Reply::$variant(r), rest) if rest.is_empty() => r,
            other => panic!("unexpected reply {other:?}"),
        }
    };
}

fn gl_error(cx: &mut GlesContext) -> u32 {
    let b = call(cx, Command::GetError(GetError {}));
    reply!(b, GetError).ret
}

/// One new host name of `ns` (the backend's glGen*; the server maps client names to these).
fn gen_one(cx: &mut GlesContext, ns: Namespace) -> u32 {
    let mut name = [0];
    cx.gen_names(ns, &mut name).unwrap();
    assert_ne!(name[0], 0);
    name[0]
}

fn compile(cx: &mut GlesContext, kind: u32, source: &CStr) -> u32 {
    let b = call(cx, Command::CreateShader(CreateShader { type_: kind }));
    let shader = reply!(b, CreateShader).ret;
    assert_ne!(shader, 0);
    let strings = [source];
    call(cx, Command::ShaderSource(ShaderSource { shader, count: 1, string: StrList::Borrowed(&strings) }));
    call(cx, Command::CompileShader(CompileShader { shader }));
    let b = call(cx, Command::GetShaderiv(GetShaderiv { shader, pname: GL_COMPILE_STATUS, params: Some(1) }));
    assert_eq!(reply!(b, GetShaderiv).params, Some(&[1][..]), "{source:?} compiles");
    shader
}

/// A 4x4 RGBA8 renderbuffer as the draw and read framebuffer.
fn framebuffer_4x4(cx: &mut GlesContext) {
    let fbo = gen_one(cx, Namespace::Framebuffer);
    call(cx, Command::BindFramebuffer(BindFramebuffer { target: GL_FRAMEBUFFER, framebuffer: fbo }));
    let rbo = gen_one(cx, Namespace::Renderbuffer);
    call(cx, Command::BindRenderbuffer(BindRenderbuffer { target: GL_RENDERBUFFER, renderbuffer: rbo }));
    call(
        cx,
        Command::RenderbufferStorage(RenderbufferStorage {
            target: GL_RENDERBUFFER,
            internalformat: GL_RGBA8,
            width: 4,
            height: 4,
        }),
    );
    call(
        cx,
        Command::FramebufferRenderbuffer(FramebufferRenderbuffer {
            target: GL_FRAMEBUFFER,
            attachment: GL_COLOR_ATTACHMENT0,
            renderbuffertarget: GL_RENDERBUFFER,
            renderbuffer: rbo,
        }),
    );
    let b = call(cx, Command::CheckFramebufferStatus(CheckFramebufferStatus { target: GL_FRAMEBUFFER }));
    assert_eq!(reply!(b, CheckFramebufferStatus).ret, GL_FRAMEBUFFER_COMPLETE);
    call(cx, Command::Viewport(Viewport { x: 0, y: 0, width: 4, height: 4 }));
}

fn read_4x4(cx: &mut GlesContext) -> Vec<u8> {
    let b = call(
        cx,
        Command::ReadPixels(ReadPixels {
            x: 0,
            y: 0,
            width: 4,
            height: 4,
            format: GL_RGBA,
            type_: GL_UNSIGNED_BYTE,
            pixels: OutRef::Reply(64),
        }),
    );
    let pixels = reply!(b, ReadPixels).pixels.expect("pixels in the reply").to_vec();
    assert_eq!(pixels.len(), 64);
    pixels
}

#[test]
fn mesa_host_display_opens_surfaceless() {
    let display = backend().display();
    let info = display.info();
    assert!(!info.vendor.is_empty(), "{info:?}");
    assert!(info.major >= 1, "{info:?}");
    assert!(info.client_apis.contains("OpenGL_ES"), "{info:?}");
    assert!(info.has_extension("EGL_KHR_surfaceless_context"), "{info:?}");
    assert_eq!(info.vendor_file, std::path::PathBuf::from(backend_gles::host::DEFAULT_HOST_VENDOR));
}

#[test]
fn mesa_loader_finds_all_358_core_functions_and_the_extensions() {
    let fns = backend().fns();
    let missing: Vec<&str> = fns.missing().map(|f| f.name).collect();
    assert!(missing.is_empty(), "missing on this host: {missing:?}");
    assert_eq!(fns.present_count(), GLES_FUNCTIONS.len());
    let core = GLES_FUNCTIONS.iter().filter(|f| matches!(f.since, backend_gles::Since::Es(..))).count();
    assert_eq!(core, 358);
    assert!(fns.gl_texture_view_ext.is_some(), "an extension function");
}

#[test]
fn mesa_context_reports_the_host_renderer() {
    let cx = context();
    assert!(cx.host().is_current());
    let s = cx.renderer_strings().unwrap();
    assert!(s.renderer.contains("llvmpipe") || !s.renderer.is_empty(), "{s:?}");
    assert!(s.version.starts_with("OpenGL ES 3."), "{s:?}");
    assert!(s.shading_language_version.contains("OpenGL ES GLSL ES"), "{s:?}");
    assert_eq!(cx.host().version(), (3, 2), "llvmpipe gives ES 3.2");
}

#[test]
fn mesa_buffers_store_what_is_sent() {
    let mut cx = context();
    let buffer = gen_one(&mut cx, Namespace::Buffer);
    call(&mut cx, Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    let data = [7u8; 48];
    call(
        &mut cx,
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 48, data: Some(&data), usage: GL_STATIC_DRAW }),
    );
    let b = call(
        &mut cx,
        Command::GetBufferParameteriv(GetBufferParameteriv {
            target: GL_ARRAY_BUFFER,
            pname: GL_BUFFER_SIZE,
            params: Some(1),
        }),
    );
    assert_eq!(reply!(b, GetBufferParameteriv).params, Some(&[48][..]));
    let b = call(&mut cx, Command::IsBuffer(IsBuffer { buffer }));
    assert_eq!(reply!(b, IsBuffer).ret, 1);
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_shader_compiles_and_reports_its_log_length() {
    let mut cx = context();
    let shader =
        compile(&mut cx, GL_VERTEX_SHADER, c"#version 300 es\nin vec4 pos;\nvoid main() { gl_Position = pos; }\n");
    // The program passed NULL for the log: GL still gets scratch of `bufSize` bytes,
    // and the reply carries only the length.
    let b = call(
        &mut cx,
        Command::GetShaderInfoLog(GetShaderInfoLog { shader, buf_size: 256, length: Some(1), info_log: None }),
    );
    let r = reply!(b, GetShaderInfoLog);
    assert_eq!(r.info_log, None);
    assert!(r.length.is_some_and(|l| l.len() == 1 && l[0] >= 0), "{r:?}");
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_clear_and_read_back_a_4x4_framebuffer() {
    let mut cx = context();
    framebuffer_4x4(&mut cx);
    call(&mut cx, Command::ClearColor(ClearColor { red: 0.2, green: 0.4, blue: 0.6, alpha: 1.0 }));
    call(&mut cx, Command::Clear(Clear { mask: GL_COLOR_BUFFER_BIT }));
    let pixels = read_4x4(&mut cx);
    assert!(pixels.chunks(4).all(|p| p == [51, 102, 153, 255]), "{pixels:?}");
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_draws_with_buffer_offsets_and_client_indices() {
    let mut cx = context();
    framebuffer_4x4(&mut cx);
    let vs = compile(
        &mut cx,
        GL_VERTEX_SHADER,
        c"#version 300 es\nin vec2 pos;\nvoid main() { gl_Position = vec4(pos, 0.0, 1.0); }\n",
    );
    let fs = compile(
        &mut cx,
        GL_FRAGMENT_SHADER,
        c"#version 300 es\nprecision mediump float;\nuniform vec4 color;\nout vec4 o;\nvoid main() { o = color; }\n",
    );
    let b = call(&mut cx, Command::CreateProgram(CreateProgram {}));
    let program = reply!(b, CreateProgram).ret;
    call(&mut cx, Command::AttachShader(AttachShader { program, shader: vs }));
    call(&mut cx, Command::AttachShader(AttachShader { program, shader: fs }));
    call(&mut cx, Command::BindAttribLocation(BindAttribLocation { program, index: 0, name: c"pos" }));
    call(&mut cx, Command::LinkProgram(LinkProgram { program }));
    let b = call(&mut cx, Command::GetProgramiv(GetProgramiv { program, pname: GL_LINK_STATUS, params: Some(1) }));
    assert_eq!(reply!(b, GetProgramiv).params, Some(&[1][..]));
    call(&mut cx, Command::UseProgram(UseProgram { program }));
    let b = call(&mut cx, Command::GetUniformLocation(GetUniformLocation { program, name: c"color" }));
    let location = reply!(b, GetUniformLocation).ret;
    assert!(location >= 0);
    call(&mut cx, Command::Uniform4fv(Uniform4fv { location, count: 1, value: &[0.0, 1.0, 0.0, 1.0] }));

    // A quad covering the viewport, in a buffer: the attribute pointer is an offset.
    let quad: [f32; 8] = [-1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0];
    let bytes: Vec<u8> = quad.iter().flat_map(|v| v.to_le_bytes()).collect();
    let vbo = gen_one(&mut cx, Namespace::Buffer);
    call(&mut cx, Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer: vbo }));
    call(
        &mut cx,
        Command::BufferData(BufferData {
            target: GL_ARRAY_BUFFER,
            size: 32,
            data: Some(&bytes),
            usage: GL_STATIC_DRAW,
        }),
    );
    call(
        &mut cx,
        Command::VertexAttribPointer(VertexAttribPointer {
            index: 0,
            size: 2,
            type_: GL_FLOAT,
            normalized: 0,
            stride: 8,
            pointer: 0,
        }),
    );
    call(&mut cx, Command::EnableVertexAttribArray(EnableVertexAttribArray { index: 0 }));

    // Client-side indices (no element buffer bound): GL reads the command's payload.
    let indices: Vec<u8> = [0u16, 1, 2, 0, 2, 3].iter().flat_map(|i| i.to_le_bytes()).collect();
    call(
        &mut cx,
        Command::DrawElements(DrawElements {
            mode: GL_TRIANGLES,
            count: 6,
            type_: GL_UNSIGNED_SHORT,
            indices: DataRef::Inline(&indices),
        }),
    );
    let pixels = read_4x4(&mut cx);
    assert!(pixels.chunks(4).all(|p| p == [0, 255, 0, 255]), "{pixels:?}");

    // The same indices from an element buffer: the pointer is an offset into it.
    call(&mut cx, Command::Uniform4fv(Uniform4fv { location, count: 1, value: &[1.0, 0.0, 1.0, 1.0] }));
    let ebo = gen_one(&mut cx, Namespace::Buffer);
    call(&mut cx, Command::BindBuffer(BindBuffer { target: GL_ELEMENT_ARRAY_BUFFER, buffer: ebo }));
    let mut padded = vec![0u8; 4];
    padded.extend_from_slice(&indices);
    call(
        &mut cx,
        Command::BufferData(BufferData {
            target: GL_ELEMENT_ARRAY_BUFFER,
            size: padded.len() as i64,
            data: Some(&padded),
            usage: GL_STATIC_DRAW,
        }),
    );
    call(
        &mut cx,
        Command::DrawElements(DrawElements {
            mode: GL_TRIANGLES,
            count: 6,
            type_: GL_UNSIGNED_SHORT,
            indices: DataRef::Offset(4),
        }),
    );
    let pixels = read_4x4(&mut cx);
    assert!(pixels.chunks(4).all(|p| p == [255, 0, 255, 255]), "{pixels:?}");
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_strings_come_back() {
    let mut cx = context();
    let b = call(&mut cx, Command::GetString(GetString { name: GL_VERSION }));
    let version = reply!(b, GetString).ret.expect("a version string").to_string_lossy().into_owned();
    assert!(version.contains("OpenGL ES"), "{version}");
    let b = call(&mut cx, Command::GetStringi(GetStringi { name: GL_EXTENSIONS, index: 0 }));
    assert!(reply!(b, GetStringi).ret.is_some_and(|s| s.to_bytes().starts_with(b"GL_")));
    // An invalid enum: GL returns NULL, which travels as None.
    let b = call(&mut cx, Command::GetString(GetString { name: 0xdead }));
    assert_eq!(reply!(b, GetString).ret, None);
    assert_eq!(gl_error(&mut cx), 0x0500, "GL_INVALID_ENUM, kept for glGetError");
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_queries_fill_exactly_the_capacity() {
    let mut cx = context();
    let b = call(&mut cx, Command::GetIntegerv(GetIntegerv { pname: GL_MAX_TEXTURE_SIZE, data: Some(1) }));
    assert!(reply!(b, GetIntegerv).data.is_some_and(|d| d.len() == 1 && d[0] >= 2048));
    let b = call(&mut cx, Command::GetIntegerv(GetIntegerv { pname: GL_VIEWPORT, data: Some(4) }));
    assert!(reply!(b, GetIntegerv).data.is_some_and(|d| d.len() == 4));
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_hand_sized_null_output_is_refused_not_guessed() {
    let mut cx = context();
    let mut replies = CommandBuf::new();
    let cmd = Command::GetIntegerv(GetIntegerv { pname: GL_MAX_TEXTURE_SIZE, data: None });
    // SAFETY: the command is valid except for the NULL output, which `execute` refuses
    // before calling GL.
    let err = unsafe { cx.execute(&cmd, &mut replies) }.unwrap_err();
    assert!(matches!(err, BackendError::UnsizedOutput { function: "glGetIntegerv", param: "data" }), "{err}");
    assert!(replies.is_empty());
    let cmd = Command::ReadPixels(ReadPixels {
        x: 0,
        y: 0,
        width: 4,
        height: 4,
        format: GL_RGBA,
        type_: GL_UNSIGNED_BYTE,
        pixels: OutRef::Null,
    });
    // SAFETY: as above.
    let err = unsafe { cx.execute(&cmd, &mut replies) }.unwrap_err();
    assert!(matches!(err, BackendError::UnsizedOutput { function: "glReadPixels", .. }), "{err}");
}

#[test]
fn mesa_fence_round_trips_a_host_sync() {
    let mut cx = context();
    let b = call(&mut cx, Command::FenceSync(FenceSync { condition: GL_SYNC_GPU_COMMANDS_COMPLETE, flags: 0 }));
    let sync = reply!(b, FenceSync).ret;
    assert_ne!(sync, 0);
    let b = call(
        &mut cx,
        Command::ClientWaitSync(ClientWaitSync { sync, flags: GL_SYNC_FLUSH_COMMANDS_BIT, timeout: 1_000_000_000 }),
    );
    let status = reply!(b, ClientWaitSync).ret;
    assert!(status == GL_ALREADY_SIGNALED || status == GL_CONDITION_SATISFIED, "{status:#x}");
    call(&mut cx, Command::DeleteSync(DeleteSync { sync }));
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_map_buffer_range_answers_the_bytes_and_stays_mapped() {
    const GL_INVALID_OPERATION: u32 = 0x0502;
    const GL_MAP_WRITE_BIT: u32 = 0x2;
    const GL_MAP_INVALIDATE_RANGE_BIT: u32 = 0x4;
    let mut cx = context();
    let buffer = gen_one(&mut cx, Namespace::Buffer);
    call(&mut cx, Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));
    let data: Vec<u8> = (0..16).collect();
    call(
        &mut cx,
        Command::BufferData(BufferData { target: GL_ARRAY_BUFFER, size: 16, data: Some(&data), usage: GL_STATIC_DRAW }),
    );
    let map = |offset, length, access| {
        Command::MapBufferRange(MapBufferRange { target: GL_ARRAY_BUFFER, offset, length, access })
    };
    let b = call(&mut cx, map(4, 8, GL_MAP_READ_BIT));
    assert_eq!(reply!(b, MapBufferRange).ret, Some(&data[4..12]));
    // Still mapped on the host: a second map is GL's error and answers NULL.
    let b = call(&mut cx, map(0, 4, GL_MAP_READ_BIT));
    assert_eq!(reply!(b, MapBufferRange).ret, None);
    assert_eq!(gl_error(&mut cx), GL_INVALID_OPERATION);
    // glwireWriteMapped lands in the mapping; this one is read-only.
    let write = Command::WireWriteMapped(WireWriteMapped { buffer, offset: 0, size: 2, data: &[9, 9] });
    let mut replies = CommandBuf::new();
    // SAFETY: a decoded-shape command on this thread's current context.
    let err = unsafe { cx.execute(&write, &mut replies) }.unwrap_err();
    assert!(matches!(err, BackendError::GlError(GL_INVALID_OPERATION)), "{err}");
    call(&mut cx, Command::UnmapBuffer(UnmapBuffer { target: GL_ARRAY_BUFFER }));
    // An invalidating write map sends no bytes.
    let b = call(&mut cx, map(0, 16, GL_MAP_WRITE_BIT | GL_MAP_INVALIDATE_RANGE_BIT));
    assert_eq!(reply!(b, MapBufferRange).ret, Some(&[][..]));
    // SAFETY: as above.
    unsafe { cx.execute(&write, &mut replies) }.unwrap();
    call(&mut cx, Command::UnmapBuffer(UnmapBuffer { target: GL_ARRAY_BUFFER }));
    let b = call(&mut cx, map(0, 2, GL_MAP_READ_BIT));
    assert_eq!(reply!(b, MapBufferRange).ret, Some(&[9u8, 9][..]));
    assert_eq!(gl_error(&mut cx), GL_NO_ERROR);
}

#[test]
fn mesa_egl_commands_are_not_executed_here() {
    let mut cx = context();
    let mut replies = CommandBuf::new();
    let cmd = Command::EglReleaseThread(EglReleaseThread {});
    // SAFETY: refused before any host call.
    let err = unsafe { cx.execute(&cmd, &mut replies) }.unwrap_err();
    assert!(matches!(err, BackendError::NotGles("eglReleaseThread")), "{err}");
}

#[test]
fn mesa_contexts_on_one_thread_switch_and_share_across_threads() {
    let mut a = context();
    let buffer = gen_one(&mut a, Namespace::Buffer);
    call(&mut a, Command::BindBuffer(BindBuffer { target: GL_ARRAY_BUFFER, buffer }));

    // A second, unshared context on this thread: executing on it switches to it.
    let mut lone = context();
    let b = call(&mut lone, Command::IsBuffer(IsBuffer { buffer }));
    assert_eq!(reply!(b, IsBuffer).ret, 0, "not in this share group");
    assert!(lone.host().is_current() && !a.host().is_current());
    let b = call(&mut a, Command::IsBuffer(IsBuffer { buffer }));
    assert_eq!(reply!(b, IsBuffer).ret, 1);
    drop(lone);

    // A context on another thread, sharing with `a`, sees its buffer.
    let share = a.host().clone();
    let seen = std::thread::spawn(move || {
        let mut b = backend().new_context(Some(&share)).expect("a shared context");
        let r = call(&mut b, Command::IsBuffer(IsBuffer { buffer }));
        reply!(r, IsBuffer).ret
    })
    .join()
    .unwrap();
    assert_eq!(seen, 1);
    assert_eq!(gl_error(&mut a), GL_NO_ERROR);
}

/// Runs one `child_*` scenario in a fresh process, with the given environment on top
/// of a clean one (none of this process's prepared variables); returns its stdout.
fn run_child(scenario: &str, env: &[(&str, &str)]) -> String {
    let mut p = Process::new(std::env::current_exe().unwrap());
    p.args(["--exact", "child_open_error", "--nocapture", "--test-threads=1"])
        .env("GLWIRE_TEST_CHILD", scenario)
        .env_remove(backend_gles::host::GLVND_VENDOR_FILES_ENV)
        .env_remove(backend_gles::host::SERVER_MARKER_ENV)
        .env_remove(backend_gles::host::HOST_VENDOR_ENV);
    for (k, v) in env {
        p.env(k, v);
    }
    let out = p.output().unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// In a child process: opens the backend as the scenario says and prints the error.
#[test]
fn child_open_error() {
    let Ok(scenario) = std::env::var("GLWIRE_TEST_CHILD") else { return };
    if scenario != "unprepared" {
        backend_gles::prepare_process_env();
    }
    match Backend::open() {
        Ok(_) => println!("CHILD-RESULT: opened"),
        Err(e) => println!("CHILD-RESULT: {e}"),
    }
}

#[test]
fn host_open_refuses_an_unprepared_process() {
    let out = run_child("unprepared", &[]);
    assert!(out.contains("CHILD-RESULT: the render server's environment is not prepared"), "{out}");
}

#[test]
fn host_open_names_a_missing_vendor_file_and_the_setup_script() {
    let out = run_child("missing", &[(backend_gles::host::HOST_VENDOR_ENV, "/nonexistent/glwire-test.json")]);
    assert!(out.contains("CHILD-RESULT: host EGL vendor file /nonexistent/glwire-test.json not found"), "{out}");
    assert!(out.contains("scripts/setup.sh"), "{out}");
}

#[test]
fn host_open_reports_a_vendor_without_a_driver() {
    // A vendor file whose library does not exist: libglvnd loads no vendor at all,
    // as on a machine without Mesa's EGL.
    let dir = std::env::temp_dir().join(format!("glwire-backend-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("99_nothing.json");
    std::fs::write(&json, r#"{"file_format_version":"1.0.0","ICD":{"library_path":"libEGL_glwire_nothing.so.0"}}"#)
        .unwrap();
    let out = run_child("no-driver", &[(backend_gles::host::HOST_VENDOR_ENV, json.to_str().unwrap())]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("CHILD-RESULT: no host EGL driver offers a surfaceless display"), "{out}");
    assert!(out.contains("scripts/setup.sh"), "{out}");
}

/// Robust buffer access makes out-of-bounds buffer reads by a draw return zeros rather
/// than other memory: a second line of defence behind the validator's range checks.
#[test]
fn mesa_contexts_get_robust_access_when_the_host_offers_it() {
    const GL_CONTEXT_FLAGS: u32 = 0x821E;
    const GL_CONTEXT_FLAG_ROBUST_ACCESS_BIT: i32 = 0x4;
    let mut cx = context();
    let b = call(&mut cx, Command::GetIntegerv(GetIntegerv { pname: GL_CONTEXT_FLAGS, data: Some(1) }));
    let flags = reply!(b, GetIntegerv).data.unwrap()[0];
    assert_eq!(flags & GL_CONTEXT_FLAG_ROBUST_ACCESS_BIT != 0, cx.host().robust_access(), "{flags:#x}");
    if cx.renderer_strings().unwrap().renderer.contains("llvmpipe") {
        assert!(cx.host().robust_access(), "llvmpipe offers EGL_EXT_create_context_robustness");
    }
}
