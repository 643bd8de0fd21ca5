//! The scene program (`glwire bench-client`): an ordinary GLES 3 program, like the
//! demo's. It loads the system libEGL and libGLESv2 at run time, so the same binary
//! runs natively (Mesa's vendor) and through glwire (`glwire run`). It renders one of
//! the built-in scenes offscreen into an EGL pbuffer — `eglSwapBuffers` each frame,
//! `glFinish` at the end — and prints one machine-readable line:
//!
//! `scene=draws frames=N seconds=T fps=F pixel=r,g,b,a …`
//!
//! One untimed warm-up frame comes first (llvmpipe compiles its shader variants at
//! the first draw). After the timed frames, the scene's frame 0 is rendered again and
//! its centre pixel read: the same image whatever the number of timed frames, so the
//! two sides' pixels can be compared. The line ends with `cpu=`, the seconds of CPU
//! the process (all its threads) used from its start.
//!
//! With `--bursts` the timed frames come in bursts the bench asks for on stdin, so
//! that a native and a glwire instance can take turns every fraction of a second (see
//! `Bursts`).

use std::ffi::CStr;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use khronos_egl as egl;

use super::gl::{self, Gl};

/// The built-in scenes, in the order the bench runs them.
pub const SCENES: [&str; 4] = ["draws", "upload", "readback", "mixed"];

/// How long the timed frames run: a count, or until a time has passed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    Frames(u32),
    Seconds(f64),
}

/// The burst protocol, one line each way per step:
/// - the program, once set up and warmed up: `ready`;
/// - the bench: `burst frames N` or `burst seconds S`; the program renders them,
///   waits for them with `glFinish` (counted in the burst's time) and answers
///   `burst frames=N seconds=T fps=F`;
/// - the bench closes stdin when done; the program renders its reference frame and
///   prints its result line, with the bursts' totals and `bursts=K`.
pub struct Bursts;

impl Bursts {
    pub const READY: &'static str = "ready";

    /// The request for one burst of `length`.
    pub fn request(length: Length) -> String {
        match length {
            Length::Frames(n) => format!("burst frames {n}"),
            Length::Seconds(s) => format!("burst seconds {s}"),
        }
    }

    /// The length a request line asks for.
    pub fn parse_request(line: &str) -> Result<Length, String> {
        let bad = || format!("expected `burst frames N` or `burst seconds S`, got {line:?}");
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["burst", "frames", n] => n.parse().map(Length::Frames).map_err(|_| bad()),
            ["burst", "seconds", s] => match s.parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => Ok(Length::Seconds(s)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    /// The frames and seconds of a burst's answer line.
    pub fn parse_answer(line: &str) -> Option<(u32, f64)> {
        let mut frames = None;
        let mut seconds = None;
        let rest = line.strip_prefix("burst ")?;
        for kv in rest.split_whitespace() {
            match kv.split_once('=')? {
                ("frames", v) => frames = v.parse().ok(),
                ("seconds", v) => seconds = v.parse().ok(),
                _ => {}
            }
        }
        Some((frames?, seconds?))
    }
}

trait Scene {
    /// Renders frame `index` (the same image for the same index).
    fn frame(&mut self, gl: &Gl, index: u32);
    /// Extra `key=value` fields for the result line.
    fn extra(&self, _frames: u32) -> String {
        String::new()
    }
}

/// What EGL gave the program: kept to tear down in order.
struct Egl {
    egl: egl::DynamicInstance<egl::EGL1_5>,
    display: egl::Display,
    surface: egl::Surface,
    context: egl::Context,
}

impl Egl {
    /// A display without a window system (surfaceless when the client extensions
    /// offer it, else the default display), an ES 3 context and a pbuffer of
    /// `width`×`height`, made current.
    fn open(width: i32, height: i32) -> Result<Egl, String> {
        // SAFETY: loads the system libEGL (libglvnd), as an application linked to it
        // would.
        let egl = unsafe { egl::DynamicInstance::<egl::EGL1_5>::load_required() }
            .map_err(|e| format!("cannot load libEGL.so.1 with EGL 1.5 ({e}): install libegl1"))?;
        let client_exts = egl.query_string(None, egl::EXTENSIONS).map(|s| s.to_string_lossy().into_owned());
        let display = if client_exts.as_deref().unwrap_or("").contains("EGL_MESA_platform_surfaceless") {
            // SAFETY: EGL_PLATFORM_SURFACELESS_MESA takes EGL_DEFAULT_DISPLAY (NULL).
            unsafe { egl.get_platform_display(0x31DD, egl::DEFAULT_DISPLAY, &[egl::ATTRIB_NONE]) }
                .map_err(|e| format!("eglGetPlatformDisplay(surfaceless): {e}"))?
        } else {
            // SAFETY: EGL_DEFAULT_DISPLAY is always a valid argument.
            unsafe { egl.get_display(egl::DEFAULT_DISPLAY) }.ok_or("no EGL display")?
        };
        egl.initialize(display).map_err(|e| format!("eglInitialize: {e}"))?;
        egl.bind_api(egl::OPENGL_ES_API).map_err(|e| format!("eglBindAPI: {e}"))?;
        let wanted = [
            egl::RENDERABLE_TYPE,
            0x40, // EGL_OPENGL_ES3_BIT
            egl::SURFACE_TYPE,
            egl::PBUFFER_BIT,
            egl::RED_SIZE,
            8,
            egl::GREEN_SIZE,
            8,
            egl::BLUE_SIZE,
            8,
            egl::ALPHA_SIZE,
            8,
            egl::DEPTH_SIZE,
            24,
            egl::NONE,
        ];
        let config = egl.choose_first_config(display, &wanted).map_err(|e| format!("eglChooseConfig: {e}"))?;
        let config = config.ok_or("no ES 3 RGBA8 pbuffer config with a depth buffer")?;
        let surface = egl
            .create_pbuffer_surface(display, config, &[egl::WIDTH, width, egl::HEIGHT, height, egl::NONE])
            .map_err(|e| format!("eglCreatePbufferSurface: {e}"))?;
        let context = egl
            .create_context(display, config, None, &[egl::CONTEXT_CLIENT_VERSION, 3, egl::NONE])
            .map_err(|e| format!("eglCreateContext: {e}"))?;
        egl.make_current(display, Some(surface), Some(surface), Some(context))
            .map_err(|e| format!("eglMakeCurrent: {e}"))?;
        Ok(Egl { egl, display, surface, context })
    }

    fn vendor(&self) -> String {
        self.egl
            .query_string(Some(self.display), egl::VENDOR)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn swap(&self) -> Result<(), String> {
        self.egl.swap_buffers(self.display, self.surface).map_err(|e| format!("eglSwapBuffers: {e}"))
    }

    /// Releases everything; `eglTerminate` last (through glwire, `GLWIRE_STATS` makes
    /// it print the session's figures then).
    fn close(self) {
        let _ = self.egl.make_current(self.display, None, None, None);
        let _ = self.egl.destroy_surface(self.display, self.surface);
        let _ = self.egl.destroy_context(self.display, self.context);
        let _ = self.egl.terminate(self.display);
    }
}

/// Renders timed frames of `scene` for `length` (from frame `first` on) and waits for
/// them: their count and the seconds they took.
fn timed(s: &mut dyn Scene, egl: &Egl, gl: &Gl, length: Length, first: u32) -> Result<(u32, f64), String> {
    let start = Instant::now();
    let mut frames = 0u32;
    loop {
        let more = match length {
            Length::Frames(n) => frames < n,
            Length::Seconds(t) => start.elapsed() < Duration::from_secs_f64(t),
        };
        if !more {
            break;
        }
        frames += 1;
        s.frame(gl, first.wrapping_add(frames));
        egl.swap()?;
    }
    // SAFETY: no arguments.
    unsafe { (gl.finish)() };
    Ok((frames, start.elapsed().as_secs_f64()))
}

/// Serves the burst protocol (`Bursts`) on stdin and stdout: the bursts' total frames,
/// seconds and count.
fn bursts(s: &mut dyn Scene, egl: &Egl, gl: &Gl) -> Result<(u32, f64, u32), String> {
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock, line: &str| {
        writeln!(out, "{line}").and_then(|()| out.flush()).map_err(|e| format!("stdout: {e}"))
    };
    say(&mut out, Bursts::READY)?;
    let (mut frames, mut seconds, mut count) = (0u32, 0.0f64, 0u32);
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        let length = Bursts::parse_request(&line)?;
        let (n, t) = timed(s, egl, gl, length, frames)?;
        frames = frames.saturating_add(n);
        seconds += t;
        count += 1;
        let fps = if t > 0.0 { f64::from(n) / t } else { 0.0 };
        say(&mut out, &format!("burst frames={n} seconds={t:.6} fps={fps:.3}"))?;
    }
    Ok((frames, seconds, count))
}

/// Runs `scene` at `width`×`height` for `length` — or in bursts asked for on stdin
/// when `length` is `None` — and prints its result line.
pub fn run(scene: &str, length: Option<Length>, width: i32, height: i32) -> Result<(), String> {
    let egl = Egl::open(width, height)?;
    let gl = Gl::load()?;
    // SAFETY: plain integer arguments.
    unsafe { (gl.viewport)(0, 0, width, height) };
    let mut s: Box<dyn Scene> = match scene {
        "draws" => Box::new(Draws::new(&gl)?),
        "upload" => Box::new(Upload::new(&gl)?),
        "readback" => Box::new(Readback::new(&gl, width, height)?),
        "mixed" => Box::new(Mixed::new(&gl)?),
        other => return Err(format!("no scene {other:?} (scenes: {})", SCENES.join(", "))),
    };
    // The warm-up frame, untimed.
    s.frame(&gl, 0);
    egl.swap()?;
    // SAFETY: no arguments.
    unsafe { (gl.finish)() };
    let (frames, seconds, burst_count) = match length {
        Some(length) => {
            let (frames, seconds) = timed(s.as_mut(), &egl, &gl, length, 0)?;
            (frames, seconds, None)
        }
        None => {
            let (frames, seconds, count) = bursts(s.as_mut(), &egl, &gl)?;
            (frames, seconds, Some(count))
        }
    };
    // The reference image: frame 0 again, its centre pixel read back.
    s.frame(&gl, 0);
    let mut pixel = [0u8; 4];
    // SAFETY: a 1×1 RGBA/UNSIGNED_BYTE read into 4 live bytes.
    let error = unsafe {
        (gl.read_pixels)(width / 2, height / 2, 1, 1, gl::RGBA, gl::UNSIGNED_BYTE, pixel.as_mut_ptr().cast());
        (gl.get_error)()
    };
    if error != 0 {
        return Err(format!("scene {scene}: GL error {error:#x}"));
    }
    let vendor = egl.vendor().replace(char::is_whitespace, "_");
    let renderer = gl.string(gl::RENDERER).replace(char::is_whitespace, "_");
    let fps = if seconds > 0.0 { f64::from(frames) / seconds } else { 0.0 };
    let bursts = burst_count.map_or(String::new(), |n| format!(" bursts={n}"));
    let cpu = super::child::process_cpu(std::process::id()).as_secs_f64();
    println!(
        "scene={scene} frames={frames} seconds={seconds:.4} fps={fps:.2} pixel={},{},{},{} size={width}x{height}{} \
         vendor={vendor} renderer={renderer}{bursts} cpu={cpu:.3}",
        pixel[0],
        pixel[1],
        pixel[2],
        pixel[3],
        s.extra(frames)
    );
    drop(s);
    egl.close();
    Ok(())
}

/// A value in [0, 1) from an integer, the same on every run.
fn hash(n: u32) -> f32 {
    let h = n.wrapping_mul(2_654_435_761).rotate_right(13).wrapping_mul(0x9E37_79B9);
    (h >> 8) as f32 / (1u32 << 24) as f32
}

const VS_OFFSET: &CStr = c"#version 300 es
layout(location = 0) in vec2 a_pos;
uniform vec4 u_cell; // x, y offset; r, g colour
out vec4 v_color;
void main() {
    gl_Position = vec4(a_pos + u_cell.xy, 0.0, 1.0);
    v_color = vec4(u_cell.z, u_cell.w, 1.0 - u_cell.z, 1.0);
}";

const FS_COLOR: &CStr = c"#version 300 es
precision mediump float;
in vec4 v_color;
out vec4 frag;
void main() { frag = v_color; }";

/// Draw-call heavy: 10 000 small triangles, each after a `glUniform4f`.
struct Draws {
    program: u32,
    vao: u32,
    cell: i32,
}

const GRID: u32 = 100;

impl Draws {
    fn new(gl: &Gl) -> Result<Draws, String> {
        let program = gl.program(VS_OFFSET, FS_COLOR)?;
        let cell = gl.uniform(program, c"u_cell");
        let step = 2.0 / GRID as f32;
        // A triangle slightly larger than half a cell, so neighbours overlap a little.
        let tri = [-0.1 * step, -0.1 * step, 1.2 * step, -0.1 * step, -0.1 * step, 1.2 * step];
        let vbo = gl.buffer(gl::ARRAY_BUFFER, &tri, gl::STATIC_DRAW);
        let vao = gl.vertex_array(vbo, &[2]);
        Ok(Draws { program, vao, cell })
    }
}

impl Scene for Draws {
    fn frame(&mut self, gl: &Gl, index: u32) {
        let step = 2.0 / GRID as f32;
        // SAFETY: names made in `new`; plain scalar arguments.
        unsafe {
            (gl.clear_color)(0.1, 0.1, 0.12, 1.0);
            (gl.clear)(gl::COLOR_BUFFER_BIT);
            (gl.use_program)(self.program);
            (gl.bind_vertex_array)(self.vao);
            for cy in 0..GRID {
                for cx in 0..GRID {
                    let r = ((cx + index) % GRID) as f32 / GRID as f32;
                    let g = cy as f32 / GRID as f32;
                    (gl.uniform_4f)(self.cell, -1.0 + cx as f32 * step, -1.0 + cy as f32 * step, r, g);
                    (gl.draw_arrays)(gl::TRIANGLES, 0, 3);
                }
            }
        }
    }

    fn extra(&self, _frames: u32) -> String {
        format!(" draws_per_frame={}", GRID * GRID)
    }
}

const VS_TEXTURED: &CStr = c"#version 300 es
layout(location = 0) in vec2 a_pos;
layout(location = 1) in vec2 a_uv;
out vec2 v_uv;
void main() { gl_Position = vec4(a_pos, 0.0, 1.0); v_uv = a_uv; }";

const FS_TEXTURED: &CStr = c"#version 300 es
precision mediump float;
uniform sampler2D u_tex;
in vec2 v_uv;
out vec4 frag;
void main() { frag = texture(u_tex, v_uv); }";

/// Texture-upload heavy: a 512×512 RGBA8 `glTexSubImage2D` and a 1 MiB
/// `glBufferSubData` each frame (contents change every frame), and a textured quad.
struct Upload {
    program: u32,
    vao: u32,
    vbo: u32,
    texture: u32,
    /// Precomputed contents, frame `i` uses `[i % VARIANTS]`: the program's CPU time
    /// is not what is measured.
    images: Vec<Vec<u8>>,
    vertices: Vec<Vec<f32>>,
}

const TEX: i32 = 512;
const VARIANTS: usize = 8;
const UPLOAD_BYTES: usize = 1 << 20;

impl Upload {
    fn new(gl: &Gl) -> Result<Upload, String> {
        let program = gl.program(VS_TEXTURED, FS_TEXTURED)?;
        let images: Vec<Vec<u8>> = (0..VARIANTS)
            .map(|v| {
                let mut img = Vec::with_capacity((TEX * TEX * 4) as usize);
                for y in 0..TEX as u32 {
                    for x in 0..TEX as u32 {
                        let v = v as u32;
                        img.extend([
                            (x + v * 29 + 77) as u8,
                            (y + v * 53 + 31) as u8,
                            ((x ^ y) + v * 7 + 150) as u8,
                            255,
                        ]);
                    }
                }
                img
            })
            .collect();
        let quad = [-1.0f32, -1.0, 0.0, 0.0, 1.0, -1.0, 1.0, 0.0, -1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let vertices: Vec<Vec<f32>> = (0..VARIANTS)
            .map(|v| {
                let mut data = quad.to_vec();
                data.extend((quad.len()..UPLOAD_BYTES / 4).map(|i| (i + v) as f32 * 0.001));
                data
            })
            .collect();
        let vbo = gl.buffer(gl::ARRAY_BUFFER, &vertices[0], gl::DYNAMIC_DRAW);
        let vao = gl.vertex_array(vbo, &[2, 2]);
        let texture = gl.texture(TEX, &images[0], gl::NEAREST, gl::CLAMP_TO_EDGE);
        Ok(Upload { program, vao, vbo, texture, images, vertices })
    }
}

impl Scene for Upload {
    fn frame(&mut self, gl: &Gl, index: u32) {
        let v = index as usize % VARIANTS;
        let (img, data) = (&self.images[v], &self.vertices[v]);
        // SAFETY: `img` holds 512×512×4 bytes and `data` 1 MiB, what GL reads.
        unsafe {
            (gl.use_program)(self.program);
            (gl.active_texture)(gl::TEXTURE0);
            (gl.bind_texture)(gl::TEXTURE_2D, self.texture);
            (gl.tex_sub_image_2d)(gl::TEXTURE_2D, 0, 0, 0, TEX, TEX, gl::RGBA, gl::UNSIGNED_BYTE, img.as_ptr().cast());
            (gl.bind_buffer)(gl::ARRAY_BUFFER, self.vbo);
            (gl.buffer_sub_data)(gl::ARRAY_BUFFER, 0, size_of_val(data.as_slice()) as isize, data.as_ptr().cast());
            (gl.bind_vertex_array)(self.vao);
            (gl.draw_arrays)(gl::TRIANGLE_STRIP, 0, 4);
        }
    }

    fn extra(&self, _frames: u32) -> String {
        format!(" upload_bytes_per_frame={}", TEX * TEX * 4 + UPLOAD_BYTES as i32)
    }
}

const VS_ROTATE: &CStr = c"#version 300 es
layout(location = 0) in vec2 a_pos;
uniform vec4 u_rot; // cos, sin, x, y
out vec4 v_color;
uniform vec4 u_color;
void main() {
    gl_Position = vec4(mat2(u_rot.x, u_rot.y, -u_rot.y, u_rot.x) * a_pos + u_rot.zw, 0.0, 1.0);
    v_color = u_color;
}";

/// Readback heavy: a few triangles, then the whole frame read into the program's
/// memory with `glReadPixels` (and one pixel of it looked at).
struct Readback {
    program: u32,
    vao: u32,
    rot: i32,
    color: i32,
    pixels: Vec<u8>,
    width: i32,
    height: i32,
    /// Time spent in `glReadPixels`, and a sum of the pixels looked at.
    read: Duration,
    check: u64,
}

impl Readback {
    fn new(gl: &Gl, width: i32, height: i32) -> Result<Readback, String> {
        let program = gl.program(VS_ROTATE, FS_COLOR)?;
        let (rot, color) = (gl.uniform(program, c"u_rot"), gl.uniform(program, c"u_color"));
        let tri = [0.0f32, 0.6, -0.5, -0.4, 0.5, -0.4];
        let vbo = gl.buffer(gl::ARRAY_BUFFER, &tri, gl::STATIC_DRAW);
        let vao = gl.vertex_array(vbo, &[2]);
        let pixels = vec![0u8; (width * height * 4) as usize];
        Ok(Readback { program, vao, rot, color, pixels, width, height, read: Duration::ZERO, check: 0 })
    }
}

impl Scene for Readback {
    fn frame(&mut self, gl: &Gl, index: u32) {
        // SAFETY: names made in `new`; `pixels` holds width×height×4 bytes, what a
        // RGBA/UNSIGNED_BYTE read of the frame writes with a pack alignment of 4.
        unsafe {
            (gl.clear_color)(0.2, 0.1, 0.1, 1.0);
            (gl.clear)(gl::COLOR_BUFFER_BIT);
            (gl.use_program)(self.program);
            (gl.bind_vertex_array)(self.vao);
            for k in 0..3u32 {
                let angle = index as f32 * 0.03 + k as f32 * 2.1;
                let (s, c) = angle.sin_cos();
                (gl.uniform_4f)(self.rot, c, s, (k as f32 - 1.0) * 0.3, 0.0);
                (gl.uniform_4f)(self.color, 0.3 * k as f32, 0.9 - 0.3 * k as f32, 0.5, 1.0);
                (gl.draw_arrays)(gl::TRIANGLES, 0, 3);
            }
            let t = Instant::now();
            (gl.read_pixels)(
                0,
                0,
                self.width,
                self.height,
                gl::RGBA,
                gl::UNSIGNED_BYTE,
                self.pixels.as_mut_ptr().cast(),
            );
            self.read += t.elapsed();
        }
        let centre = ((self.height / 2 * self.width + self.width / 2) * 4) as usize;
        let p = &self.pixels[centre..centre + 4];
        self.check = self.check.wrapping_add(u64::from(u32::from_le_bytes([p[0], p[1], p[2], p[3]])));
    }

    fn extra(&self, frames: u32) -> String {
        // `read` also holds the warm-up and reference frames' reads.
        let reads = f64::from(frames + 2);
        format!(
            " read_ms={:.3} readback_bytes_per_frame={} check={}",
            self.read.as_secs_f64() * 1e3 / reads,
            self.pixels.len(),
            self.check
        )
    }
}

const VS_MIXED: &CStr = c"#version 300 es
layout(location = 0) in vec2 a_pos;
layout(location = 1) in vec4 a_attr;
uniform vec4 u_xform; // x, y, scale, depth
out vec4 v_attr;
void main() {
    gl_Position = vec4(a_pos * u_xform.z + u_xform.xy, u_xform.w, 1.0);
    v_attr = a_attr;
}";

const FS_FLAT: &CStr = c"#version 300 es
precision mediump float;
uniform vec4 u_color;
in vec4 v_attr;
out vec4 frag;
void main() { frag = u_color; }";

const FS_VERTEX_COLOR: &CStr = c"#version 300 es
precision mediump float;
uniform vec4 u_color;
in vec4 v_attr;
out vec4 frag;
void main() { frag = v_attr * u_color; }";

const FS_TINTED: &CStr = c"#version 300 es
precision mediump float;
uniform sampler2D u_tex;
uniform vec4 u_color;
in vec4 v_attr;
out vec4 frag;
void main() { frag = texture(u_tex, v_attr.xy) * u_color; }";

const FS_SCROLLED: &CStr = c"#version 300 es
precision mediump float;
uniform sampler2D u_tex;
uniform vec4 u_color; // uv offset, unused, alpha
in vec4 v_attr;
out vec4 frag;
void main() { frag = vec4(texture(u_tex, v_attr.xy * 2.0 + u_color.xy).rgb, u_color.w); }";

/// A mesh: its vertex array, how to draw it.
struct Mesh {
    vao: u32,
    mode: gl::Enum,
    count: i32,
    indexed: bool,
}

/// "Typical": a simple game frame. 4 programs, 4 textures, 3 meshes, 288 objects
/// (program changes, vertex array and texture binds, two uniform updates and a
/// blend toggle now and then per object), a particle buffer updated each frame, and a
/// blended overlay in the middle: 290 draws.
struct Mixed {
    programs: [(u32, i32, i32); 4],
    textures: [u32; 4],
    meshes: Vec<Mesh>,
    particles: Mesh,
    particle_vbo: u32,
    particle_data: Vec<f32>,
}

const OBJECTS_PER_PROGRAM: u32 = 72;
const PARTICLES: usize = 255;

/// A vertex: position, then colour/texture coordinates.
fn vertex(out: &mut Vec<f32>, x: f32, y: f32) {
    let (u, v) = (x * 0.5 + 0.5, y * 0.5 + 0.5);
    out.extend([x, y, u, v, 1.0 - u, 1.0]);
}

impl Mixed {
    fn new(gl: &Gl) -> Result<Mixed, String> {
        let mut programs = [(0, 0, 0); 4];
        for (slot, fs) in programs.iter_mut().zip([FS_FLAT, FS_VERTEX_COLOR, FS_TINTED, FS_SCROLLED]) {
            let p = gl.program(VS_MIXED, fs)?;
            *slot = (p, gl.uniform(p, c"u_xform"), gl.uniform(p, c"u_color"));
        }
        let mut textures = [0; 4];
        for (t, tex) in textures.iter_mut().enumerate() {
            let size = 64u32;
            let mut img = Vec::with_capacity((size * size * 4) as usize);
            for y in 0..size {
                for x in 0..size {
                    let texel = match t {
                        0 => {
                            if (x / 8 + y / 8) % 2 == 0 {
                                [230, 230, 230, 255]
                            } else {
                                [40, 40, 160, 255]
                            }
                        }
                        1 => [(x * 4) as u8, (y * 4) as u8, 128, 255],
                        2 => {
                            if (x / 4) % 2 == 0 {
                                [200, 60, 60, 200]
                            } else {
                                [60, 200, 60, 120]
                            }
                        }
                        _ => {
                            let n = (hash(x * 64 + y) * 255.0) as u8;
                            [n, n / 2, 255 - n, 255]
                        }
                    };
                    img.extend(texel);
                }
            }
            let (filter, wrap) = if t % 2 == 0 { (gl::LINEAR, gl::REPEAT) } else { (gl::NEAREST, gl::CLAMP_TO_EDGE) };
            *tex = gl.texture(size as i32, &img, filter, wrap);
        }
        let mut meshes = Vec::new();
        // A quad, drawn with indices.
        let mut quad = Vec::new();
        for (x, y) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
            vertex(&mut quad, x, y);
        }
        let vbo = gl.buffer(gl::ARRAY_BUFFER, &quad, gl::STATIC_DRAW);
        let vao = gl.vertex_array(vbo, &[2, 4]);
        gl.buffer(gl::ELEMENT_ARRAY_BUFFER, &[0u16, 1, 2, 2, 1, 3], gl::STATIC_DRAW);
        meshes.push(Mesh { vao, mode: gl::TRIANGLES, count: 6, indexed: true });
        // A triangle.
        let mut tri = Vec::new();
        for (x, y) in [(0.0, 1.0), (-0.9, -0.6), (0.9, -0.6)] {
            vertex(&mut tri, x, y);
        }
        let vbo = gl.buffer(gl::ARRAY_BUFFER, &tri, gl::STATIC_DRAW);
        meshes.push(Mesh { vao: gl.vertex_array(vbo, &[2, 4]), mode: gl::TRIANGLES, count: 3, indexed: false });
        // A disc: a fan of 16 segments.
        let mut disc = Vec::new();
        vertex(&mut disc, 0.0, 0.0);
        for k in 0..=16 {
            let (s, c) = (k as f32 * std::f32::consts::TAU / 16.0).sin_cos();
            vertex(&mut disc, c, s);
        }
        let vbo = gl.buffer(gl::ARRAY_BUFFER, &disc, gl::STATIC_DRAW);
        meshes.push(Mesh { vao: gl.vertex_array(vbo, &[2, 4]), mode: gl::TRIANGLE_FAN, count: 18, indexed: false });
        // Particles: a buffer rewritten every frame.
        let particle_data = vec![0.0f32; PARTICLES * 6];
        let particle_vbo = gl.buffer(gl::ARRAY_BUFFER, &particle_data, gl::DYNAMIC_DRAW);
        let particles = Mesh {
            vao: gl.vertex_array(particle_vbo, &[2, 4]),
            mode: gl::TRIANGLES,
            count: PARTICLES as i32,
            indexed: false,
        };
        // SAFETY: plain enums.
        unsafe {
            (gl.depth_func)(gl::LEQUAL);
            (gl.blend_func)(gl::SRC_ALPHA, gl::ONE_MINUS_SRC_ALPHA);
        }
        Ok(Mixed { programs, textures, meshes, particles, particle_vbo, particle_data })
    }

    fn draw(gl: &Gl, mesh: &Mesh) {
        // SAFETY: the vertex array's buffers hold `count` vertices (and indices).
        unsafe {
            (gl.bind_vertex_array)(mesh.vao);
            if mesh.indexed {
                (gl.draw_elements)(mesh.mode, mesh.count, gl::UNSIGNED_SHORT, std::ptr::null());
            } else {
                (gl.draw_arrays)(mesh.mode, 0, mesh.count);
            }
        }
    }
}

impl Scene for Mixed {
    fn frame(&mut self, gl: &Gl, index: u32) {
        let t = index as f32 * 0.05;
        // SAFETY: names made in `new`; plain scalar arguments; `particle_data` is the
        // buffer's size.
        unsafe {
            (gl.clear_color)(0.05, 0.07, 0.1, 1.0);
            (gl.clear)(gl::COLOR_BUFFER_BIT | gl::DEPTH_BUFFER_BIT);
            (gl.enable)(gl::DEPTH_TEST);
            (gl.active_texture)(gl::TEXTURE0);
            for (g, &(program, xform, color)) in self.programs.iter().enumerate() {
                (gl.use_program)(program);
                if g == 2 {
                    (gl.enable)(gl::BLEND);
                }
                for k in 0..OBJECTS_PER_PROGRAM {
                    let o = g as u32 * OBJECTS_PER_PROGRAM + k;
                    let x = hash(o * 3) * 1.8 - 0.9 + 0.05 * (t + o as f32).sin();
                    let y = hash(o * 3 + 1) * 1.8 - 0.9 + 0.05 * (t * 1.3 + o as f32).cos();
                    let scale = 0.03 + hash(o * 3 + 2) * 0.08;
                    let depth = hash(o * 7 + 5) * 1.8 - 0.9;
                    if g >= 2 {
                        (gl.bind_texture)(gl::TEXTURE_2D, self.textures[o as usize % 4]);
                    }
                    (gl.uniform_4f)(xform, x, y, scale, depth);
                    (gl.uniform_4f)(color, hash(o * 5), hash(o * 5 + 1), hash(o * 5 + 2) + t * 0.01, 0.8);
                    let blended = g < 2 && k % 12 == 0;
                    if blended {
                        (gl.enable)(gl::BLEND);
                    }
                    Self::draw(gl, &self.meshes[o as usize % 3]);
                    if blended {
                        (gl.disable)(gl::BLEND);
                    }
                }
                if g == 2 {
                    (gl.disable)(gl::BLEND);
                }
            }
            // Particles: small triangles around a moving centre, uploaded each frame.
            for (p, v) in self.particle_data.chunks_mut(6).enumerate() {
                let a = p as f32 * 0.37 + t;
                let r = 0.2 + 0.6 * hash(p as u32 / 3);
                let corner = (p % 3) as f32 * 0.02;
                v.copy_from_slice(&[a.cos() * r + corner, a.sin() * r - corner * 0.5, 1.0, hash(p as u32), 0.3, 1.0]);
            }
            (gl.bind_buffer)(gl::ARRAY_BUFFER, self.particle_vbo);
            let bytes = size_of_val(self.particle_data.as_slice()) as isize;
            (gl.buffer_sub_data)(gl::ARRAY_BUFFER, 0, bytes, self.particle_data.as_ptr().cast());
            let (program, xform, color) = self.programs[1];
            (gl.use_program)(program);
            (gl.uniform_4f)(xform, 0.0, 0.0, 1.0, -0.95);
            (gl.uniform_4f)(color, 1.0, 1.0, 1.0, 1.0);
            Self::draw(gl, &self.particles);
            // The overlay, blended over the middle.
            (gl.disable)(gl::DEPTH_TEST);
            (gl.enable)(gl::BLEND);
            let (program, xform, color) = self.programs[2];
            (gl.use_program)(program);
            (gl.bind_texture)(gl::TEXTURE_2D, self.textures[0]);
            (gl.uniform_4f)(xform, 0.0, 0.0, 0.15, 0.0);
            (gl.uniform_4f)(color, 1.0, 0.9, 0.7, 0.6);
            Self::draw(gl, &self.meshes[0]);
            (gl.disable)(gl::BLEND);
        }
    }

    fn extra(&self, _frames: u32) -> String {
        format!(" draws_per_frame={}", OBJECTS_PER_PROGRAM * 4 + 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_requests_and_answers_round_trip() {
        for length in [Length::Frames(0), Length::Frames(250), Length::Seconds(0.5), Length::Seconds(0.0)] {
            assert_eq!(Bursts::parse_request(&Bursts::request(length)), Ok(length));
        }
        assert_eq!(Bursts::parse_answer("burst frames=12 seconds=0.250000 fps=48.000"), Some((12, 0.25)));
    }

    #[test]
    fn bad_burst_lines_are_refused() {
        for bad in ["", "burst", "burst frames", "burst frames -1", "burst seconds -1", "burst seconds NaN", "go"] {
            let err = Bursts::parse_request(bad).unwrap_err();
            assert!(err.contains("expected `burst frames N`"), "{bad:?}: {err}");
        }
        assert_eq!(Bursts::parse_request("burst seconds inf").ok(), None);
        assert_eq!(Bursts::parse_answer("ready"), None);
        assert_eq!(Bursts::parse_answer("burst frames=x seconds=1"), None);
        assert_eq!(Bursts::parse_answer("burst seconds=1"), None);
    }
}
