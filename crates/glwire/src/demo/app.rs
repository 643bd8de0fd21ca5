//! The demo's GLES 3 program: an ordinary application. It loads the system libEGL and
//! libGLESv2 at run time (libglvnd picks the driver — glwire here), draws a rotating
//! triangle into a framebuffer object for a number of frames, reads the last one back
//! and writes it as a PNG. It knows nothing of glwire but the EGL vendor string it
//! prints.

use std::ffi::{c_char, c_void, CStr};
use std::path::Path;
use std::time::Instant;

use khronos_egl as egl;

type Enum = u32;

/// The GLES functions the demo calls, from libGLESv2 like any program's.
struct Gl {
    _lib: libloading::Library,
    create_shader: unsafe extern "C" fn(Enum) -> u32,
    shader_source: unsafe extern "C" fn(u32, i32, *const *const c_char, *const i32),
    compile_shader: unsafe extern "C" fn(u32),
    get_shader_iv: unsafe extern "C" fn(u32, Enum, *mut i32),
    create_program: unsafe extern "C" fn() -> u32,
    attach_shader: unsafe extern "C" fn(u32, u32),
    link_program: unsafe extern "C" fn(u32),
    get_program_iv: unsafe extern "C" fn(u32, Enum, *mut i32),
    use_program: unsafe extern "C" fn(u32),
    get_uniform_location: unsafe extern "C" fn(u32, *const c_char) -> i32,
    uniform_1f: unsafe extern "C" fn(i32, f32),
    gen_buffers: unsafe extern "C" fn(i32, *mut u32),
    bind_buffer: unsafe extern "C" fn(Enum, u32),
    buffer_data: unsafe extern "C" fn(Enum, isize, *const c_void, Enum),
    gen_vertex_arrays: unsafe extern "C" fn(i32, *mut u32),
    bind_vertex_array: unsafe extern "C" fn(u32),
    vertex_attrib_pointer: unsafe extern "C" fn(u32, i32, Enum, u8, i32, *const c_void),
    enable_vertex_attrib_array: unsafe extern "C" fn(u32),
    gen_framebuffers: unsafe extern "C" fn(i32, *mut u32),
    bind_framebuffer: unsafe extern "C" fn(Enum, u32),
    gen_renderbuffers: unsafe extern "C" fn(i32, *mut u32),
    bind_renderbuffer: unsafe extern "C" fn(Enum, u32),
    renderbuffer_storage: unsafe extern "C" fn(Enum, Enum, i32, i32),
    framebuffer_renderbuffer: unsafe extern "C" fn(Enum, Enum, Enum, u32),
    check_framebuffer_status: unsafe extern "C" fn(Enum) -> Enum,
    viewport: unsafe extern "C" fn(i32, i32, i32, i32),
    clear_color: unsafe extern "C" fn(f32, f32, f32, f32),
    clear: unsafe extern "C" fn(u32),
    draw_arrays: unsafe extern "C" fn(Enum, i32, i32),
    read_pixels: unsafe extern "C" fn(i32, i32, i32, i32, Enum, Enum, *mut c_void),
    get_string: unsafe extern "C" fn(Enum) -> *const u8,
    get_error: unsafe extern "C" fn() -> Enum,
}

macro_rules! load {
    ($lib:expr, $name:literal) => {{
        // SAFETY: the symbol is the GLES function of that name, and the field's type is
        // its C signature from the Khronos headers.
        let sym = unsafe { $lib.get($name) }.map_err(|e| format!("libGLESv2 lacks {}: {e}", stringify!($name)))?;
        *sym
    }};
}

impl Gl {
    fn load() -> Result<Gl, String> {
        // SAFETY: loading the system GLES library runs its initialisers, as linking to
        // it would.
        let lib = unsafe { libloading::Library::new("libGLESv2.so.2") }
            .map_err(|e| format!("cannot load libGLESv2.so.2 ({e}): install libgles2"))?;
        Ok(Gl {
            create_shader: load!(lib, b"glCreateShader\0"),
            shader_source: load!(lib, b"glShaderSource\0"),
            compile_shader: load!(lib, b"glCompileShader\0"),
            get_shader_iv: load!(lib, b"glGetShaderiv\0"),
            create_program: load!(lib, b"glCreateProgram\0"),
            attach_shader: load!(lib, b"glAttachShader\0"),
            link_program: load!(lib, b"glLinkProgram\0"),
            get_program_iv: load!(lib, b"glGetProgramiv\0"),
            use_program: load!(lib, b"glUseProgram\0"),
            get_uniform_location: load!(lib, b"glGetUniformLocation\0"),
            uniform_1f: load!(lib, b"glUniform1f\0"),
            gen_buffers: load!(lib, b"glGenBuffers\0"),
            bind_buffer: load!(lib, b"glBindBuffer\0"),
            buffer_data: load!(lib, b"glBufferData\0"),
            gen_vertex_arrays: load!(lib, b"glGenVertexArrays\0"),
            bind_vertex_array: load!(lib, b"glBindVertexArray\0"),
            vertex_attrib_pointer: load!(lib, b"glVertexAttribPointer\0"),
            enable_vertex_attrib_array: load!(lib, b"glEnableVertexAttribArray\0"),
            gen_framebuffers: load!(lib, b"glGenFramebuffers\0"),
            bind_framebuffer: load!(lib, b"glBindFramebuffer\0"),
            gen_renderbuffers: load!(lib, b"glGenRenderbuffers\0"),
            bind_renderbuffer: load!(lib, b"glBindRenderbuffer\0"),
            renderbuffer_storage: load!(lib, b"glRenderbufferStorage\0"),
            framebuffer_renderbuffer: load!(lib, b"glFramebufferRenderbuffer\0"),
            check_framebuffer_status: load!(lib, b"glCheckFramebufferStatus\0"),
            viewport: load!(lib, b"glViewport\0"),
            clear_color: load!(lib, b"glClearColor\0"),
            clear: load!(lib, b"glClear\0"),
            draw_arrays: load!(lib, b"glDrawArrays\0"),
            read_pixels: load!(lib, b"glReadPixels\0"),
            get_string: load!(lib, b"glGetString\0"),
            get_error: load!(lib, b"glGetError\0"),
            _lib: lib,
        })
    }

    fn string(&self, name: Enum) -> String {
        // SAFETY: glGetString returns NULL or a static NUL-terminated string.
        let p = unsafe { (self.get_string)(name) };
        if p.is_null() {
            return "?".into();
        }
        // SAFETY: non-NULL, NUL-terminated (above).
        unsafe { CStr::from_ptr(p.cast()) }.to_string_lossy().into_owned()
    }
}

const VERTEX: &CStr = c"#version 300 es
uniform float angle;
layout(location = 0) in vec2 position;
layout(location = 1) in vec3 color;
out vec3 v_color;
void main() {
    float c = cos(angle), s = sin(angle);
    gl_Position = vec4(mat2(c, s, -s, c) * position, 0.0, 1.0);
    v_color = color;
}";

const FRAGMENT: &CStr = c"#version 300 es
precision mediump float;
in vec3 v_color;
out vec4 frag;
void main() { frag = vec4(v_color, 1.0); }";

/// Interleaved position (x, y) and colour (r, g, b) of the triangle's corners.
const TRIANGLE: [f32; 15] = [0.0, 0.8, 1.0, 0.2, 0.2, -0.7, -0.5, 0.2, 1.0, 0.2, 0.7, -0.5, 0.2, 0.3, 1.0];

fn compile(gl: &Gl, kind: Enum, src: &CStr) -> Result<u32, String> {
    let ptr = src.as_ptr();
    // SAFETY: one NUL-terminated source string; a NULL length array means "to the NUL".
    unsafe {
        let shader = (gl.create_shader)(kind);
        (gl.shader_source)(shader, 1, &ptr, std::ptr::null());
        (gl.compile_shader)(shader);
        let mut ok = 0;
        (gl.get_shader_iv)(shader, 0x8B81, &mut ok); // GL_COMPILE_STATUS
        if ok == 0 {
            return Err(format!("shader {kind:#x} did not compile"));
        }
        Ok(shader)
    }
}

/// Renders `frames` frames and writes the last one to `out`.
pub fn render(out: &Path, frames: u32, size: u32) -> Result<(), String> {
    let size = size.clamp(16, 4096) as i32;
    // SAFETY: loads the system libEGL (libglvnd), as an application linked to it would.
    let egl = unsafe { egl::DynamicInstance::<egl::EGL1_4>::load_required() }
        .map_err(|e| format!("cannot load libEGL.so.1 ({e}): install libegl1"))?;
    // SAFETY: EGL_DEFAULT_DISPLAY is always a valid argument.
    let display = unsafe { egl.get_display(egl::DEFAULT_DISPLAY) }.ok_or("no EGL display")?;
    egl.initialize(display).map_err(|e| format!("eglInitialize: {e}"))?;
    egl.bind_api(egl::OPENGL_ES_API).map_err(|e| format!("eglBindAPI: {e}"))?;
    // A pbuffer-capable config: a surfaceless host has no window configs, and the demo
    // renders into its own framebuffer anyway.
    let wanted = [egl::RENDERABLE_TYPE, 0x40, egl::SURFACE_TYPE, egl::PBUFFER_BIT, egl::RED_SIZE, 8, egl::NONE];
    let config = egl.choose_first_config(display, &wanted).map_err(|e| format!("eglChooseConfig: {e}"))?;
    let config = config.ok_or("no ES 3 config")?;
    let context = egl
        .create_context(display, config, None, &[egl::CONTEXT_CLIENT_VERSION, 3, egl::NONE])
        .map_err(|e| format!("eglCreateContext: {e}"))?;
    // A pbuffer to end each frame on with eglSwapBuffers, as a program's frame loop does
    // (the frame itself goes to the framebuffer object below).
    let surface = egl
        .create_pbuffer_surface(display, config, &[egl::WIDTH, size, egl::HEIGHT, size, egl::NONE])
        .map_err(|e| format!("eglCreatePbufferSurface: {e}"))?;
    egl.make_current(display, Some(surface), Some(surface), Some(context))
        .map_err(|e| format!("eglMakeCurrent: {e}"))?;
    let vendor = egl.query_string(Some(display), egl::VENDOR).map(|s| s.to_string_lossy().into_owned());
    let gl = Gl::load()?;
    let mut pixels = vec![0u8; (size * size * 4) as usize];
    let start = Instant::now();
    // SAFETY: every call below gets arguments of the types and sizes its GLES
    // specification requires; pointers point to live buffers of the stated sizes.
    unsafe {
        let (vs, fs) = (compile(&gl, 0x8B31, VERTEX)?, compile(&gl, 0x8B30, FRAGMENT)?);
        let program = (gl.create_program)();
        (gl.attach_shader)(program, vs);
        (gl.attach_shader)(program, fs);
        (gl.link_program)(program);
        let mut linked = 0;
        (gl.get_program_iv)(program, 0x8B82, &mut linked); // GL_LINK_STATUS
        if linked == 0 {
            return Err("the demo's program did not link".into());
        }
        (gl.use_program)(program);
        let angle = (gl.get_uniform_location)(program, c"angle".as_ptr());
        let (mut vao, mut vbo, mut fbo, mut rbo) = (0, 0, 0, 0);
        (gl.gen_vertex_arrays)(1, &mut vao);
        (gl.bind_vertex_array)(vao);
        (gl.gen_buffers)(1, &mut vbo);
        (gl.bind_buffer)(0x8892, vbo); // GL_ARRAY_BUFFER
        (gl.buffer_data)(0x8892, size_of_val(&TRIANGLE) as isize, TRIANGLE.as_ptr().cast(), 0x88E4); // GL_STATIC_DRAW
        (gl.vertex_attrib_pointer)(0, 2, 0x1406, 0, 20, std::ptr::null()); // GL_FLOAT
        (gl.vertex_attrib_pointer)(1, 3, 0x1406, 0, 20, 8 as *const c_void);
        (gl.enable_vertex_attrib_array)(0);
        (gl.enable_vertex_attrib_array)(1);
        (gl.gen_framebuffers)(1, &mut fbo);
        (gl.bind_framebuffer)(0x8D40, fbo); // GL_FRAMEBUFFER
        (gl.gen_renderbuffers)(1, &mut rbo);
        (gl.bind_renderbuffer)(0x8D41, rbo); // GL_RENDERBUFFER
        (gl.renderbuffer_storage)(0x8D41, 0x8058, size, size); // GL_RGBA8
        (gl.framebuffer_renderbuffer)(0x8D40, 0x8CE0, 0x8D41, rbo); // GL_COLOR_ATTACHMENT0
        if (gl.check_framebuffer_status)(0x8D40) != 0x8CD5 {
            return Err("the demo's framebuffer is incomplete".into());
        }
        (gl.viewport)(0, 0, size, size);
        for frame in 0..frames.max(1) {
            (gl.clear_color)(0.08, 0.09, 0.12, 1.0);
            (gl.clear)(0x4000); // GL_COLOR_BUFFER_BIT
            (gl.uniform_1f)(angle, frame as f32 * 0.05);
            (gl.draw_arrays)(0x0004, 0, 3); // GL_TRIANGLES
            egl.swap_buffers(display, surface).map_err(|e| format!("eglSwapBuffers: {:#x}: {e}", e.native()))?;
        }
        (gl.read_pixels)(0, 0, size, size, 0x1908, 0x1401, pixels.as_mut_ptr().cast()); // RGBA, UNSIGNED_BYTE
        let error = (gl.get_error)();
        if error != 0 {
            return Err(format!("GL error {error:#x}"));
        }
    }
    let elapsed = start.elapsed();
    println!(
        "glwire demo: {frames} frames of {size}x{size} in {:.2} s ({:.0} fps)",
        elapsed.as_secs_f64(),
        f64::from(frames) / elapsed.as_secs_f64()
    );
    println!("  EGL vendor (client side): {}", vendor.as_deref().unwrap_or("?"));
    println!("  GL_RENDERER (server side): {}", gl.string(0x1F01));
    println!("  GL_VERSION: {}", gl.string(0x1F02));
    write_png(out, size as u32, &pixels)?;
    println!("  wrote {}", out.display());
    egl.make_current(display, None, None, None).map_err(|e| format!("eglMakeCurrent: {e}"))?;
    let _ = egl.destroy_surface(display, surface);
    let _ = egl.destroy_context(display, context);
    let _ = egl.terminate(display);
    Ok(())
}

/// Writes RGBA rows read bottom-up (GL's origin) as a top-down PNG.
fn write_png(path: &Path, size: u32, pixels: &[u8]) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| format!("{}: {e}", path.display()))?;
    let row = size as usize * 4;
    let flipped: Vec<u8> = pixels.chunks(row).rev().flatten().copied().collect();
    writer.write_image_data(&flipped).map_err(|e| format!("{}: {e}", path.display()))
}
