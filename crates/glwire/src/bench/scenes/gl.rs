//! The GLES functions the scene program calls, loaded from the system libGLESv2 at run
//! time like any program's (libglvnd then routes them to the driver: Mesa natively,
//! glwire's ICD through `glwire run`).

use std::ffi::{c_char, c_void, CStr};

pub type Enum = u32;

pub const ARRAY_BUFFER: Enum = 0x8892;
pub const ELEMENT_ARRAY_BUFFER: Enum = 0x8893;
pub const STATIC_DRAW: Enum = 0x88E4;
pub const DYNAMIC_DRAW: Enum = 0x88E8;
pub const FLOAT: Enum = 0x1406;
pub const UNSIGNED_BYTE: Enum = 0x1401;
pub const UNSIGNED_SHORT: Enum = 0x1403;
pub const TRIANGLES: Enum = 0x0004;
pub const TRIANGLE_STRIP: Enum = 0x0005;
pub const TRIANGLE_FAN: Enum = 0x0006;
pub const TEXTURE_2D: Enum = 0x0DE1;
pub const TEXTURE0: Enum = 0x84C0;
pub const RGBA: Enum = 0x1908;
pub const RGBA8: Enum = 0x8058;
pub const TEXTURE_MIN_FILTER: Enum = 0x2801;
pub const TEXTURE_MAG_FILTER: Enum = 0x2800;
pub const TEXTURE_WRAP_S: Enum = 0x2802;
pub const TEXTURE_WRAP_T: Enum = 0x2803;
pub const NEAREST: i32 = 0x2600;
pub const LINEAR: i32 = 0x2601;
pub const REPEAT: i32 = 0x2901;
pub const CLAMP_TO_EDGE: i32 = 0x812F;
pub const COLOR_BUFFER_BIT: u32 = 0x4000;
pub const DEPTH_BUFFER_BIT: u32 = 0x0100;
pub const DEPTH_TEST: Enum = 0x0B71;
pub const LEQUAL: Enum = 0x0203;
pub const BLEND: Enum = 0x0BE2;
pub const SRC_ALPHA: Enum = 0x0302;
pub const ONE_MINUS_SRC_ALPHA: Enum = 0x0303;
pub const VERTEX_SHADER: Enum = 0x8B31;
pub const FRAGMENT_SHADER: Enum = 0x8B30;
pub const RENDERER: Enum = 0x1F01;

/// Declares the function table and its loader in one list.
macro_rules! gl_functions {
    ($($field:ident = $name:literal : fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        pub struct Gl {
            _lib: libloading::Library,
            $(pub $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        impl std::fmt::Debug for Gl {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("Gl")
            }
        }

        impl Gl {
            pub fn load() -> Result<Gl, String> {
                // SAFETY: loading the system GLES library runs its initialisers, as
                // linking to it would.
                let lib = unsafe { libloading::Library::new("libGLESv2.so.2") }
                    .map_err(|e| format!("cannot load libGLESv2.so.2 ({e}): install libgles2"))?;
                Ok(Gl {
                    $($field: {
                        // SAFETY: the symbol is the GLES function of that name, and the
                        // field's type is its C signature from the Khronos headers.
                        let sym = unsafe { lib.get::<unsafe extern "C" fn($($arg),*) $(-> $ret)?>($name) }
                            .map_err(|e| format!("libGLESv2 lacks {}: {e}", stringify!($field)))?;
                        *sym
                    },)*
                    _lib: lib,
                })
            }
        }
    };
}

gl_functions! {
    create_shader = b"glCreateShader\0": fn(Enum) -> u32;
    shader_source = b"glShaderSource\0": fn(u32, i32, *const *const c_char, *const i32);
    compile_shader = b"glCompileShader\0": fn(u32);
    get_shader_iv = b"glGetShaderiv\0": fn(u32, Enum, *mut i32);
    get_shader_info_log = b"glGetShaderInfoLog\0": fn(u32, i32, *mut i32, *mut c_char);
    create_program = b"glCreateProgram\0": fn() -> u32;
    attach_shader = b"glAttachShader\0": fn(u32, u32);
    link_program = b"glLinkProgram\0": fn(u32);
    get_program_iv = b"glGetProgramiv\0": fn(u32, Enum, *mut i32);
    use_program = b"glUseProgram\0": fn(u32);
    get_uniform_location = b"glGetUniformLocation\0": fn(u32, *const c_char) -> i32;
    uniform_4f = b"glUniform4f\0": fn(i32, f32, f32, f32, f32);
    gen_buffers = b"glGenBuffers\0": fn(i32, *mut u32);
    bind_buffer = b"glBindBuffer\0": fn(Enum, u32);
    buffer_data = b"glBufferData\0": fn(Enum, isize, *const c_void, Enum);
    buffer_sub_data = b"glBufferSubData\0": fn(Enum, isize, isize, *const c_void);
    gen_vertex_arrays = b"glGenVertexArrays\0": fn(i32, *mut u32);
    bind_vertex_array = b"glBindVertexArray\0": fn(u32);
    vertex_attrib_pointer = b"glVertexAttribPointer\0": fn(u32, i32, Enum, u8, i32, *const c_void);
    enable_vertex_attrib_array = b"glEnableVertexAttribArray\0": fn(u32);
    gen_textures = b"glGenTextures\0": fn(i32, *mut u32);
    bind_texture = b"glBindTexture\0": fn(Enum, u32);
    active_texture = b"glActiveTexture\0": fn(Enum);
    tex_image_2d = b"glTexImage2D\0": fn(Enum, i32, i32, i32, i32, i32, Enum, Enum, *const c_void);
    tex_sub_image_2d = b"glTexSubImage2D\0": fn(Enum, i32, i32, i32, i32, i32, Enum, Enum, *const c_void);
    tex_parameter_i = b"glTexParameteri\0": fn(Enum, Enum, i32);
    viewport = b"glViewport\0": fn(i32, i32, i32, i32);
    clear_color = b"glClearColor\0": fn(f32, f32, f32, f32);
    clear = b"glClear\0": fn(u32);
    enable = b"glEnable\0": fn(Enum);
    disable = b"glDisable\0": fn(Enum);
    blend_func = b"glBlendFunc\0": fn(Enum, Enum);
    depth_func = b"glDepthFunc\0": fn(Enum);
    draw_arrays = b"glDrawArrays\0": fn(Enum, i32, i32);
    draw_elements = b"glDrawElements\0": fn(Enum, i32, Enum, *const c_void);
    read_pixels = b"glReadPixels\0": fn(i32, i32, i32, i32, Enum, Enum, *mut c_void);
    finish = b"glFinish\0": fn();
    get_error = b"glGetError\0": fn() -> Enum;
    get_string = b"glGetString\0": fn(Enum) -> *const u8;
}

impl Gl {
    pub fn string(&self, name: Enum) -> String {
        // SAFETY: glGetString returns NULL or a static NUL-terminated string.
        let p = unsafe { (self.get_string)(name) };
        if p.is_null() {
            return "?".into();
        }
        // SAFETY: non-NULL, NUL-terminated (above).
        unsafe { CStr::from_ptr(p.cast()) }.to_string_lossy().into_owned()
    }

    fn shader(&self, kind: Enum, src: &CStr) -> Result<u32, String> {
        let ptr = src.as_ptr();
        // SAFETY: one NUL-terminated source string (a NULL length array means "to the
        // NUL"); the log buffer is as large as the length passed.
        unsafe {
            let shader = (self.create_shader)(kind);
            (self.shader_source)(shader, 1, &ptr, std::ptr::null());
            (self.compile_shader)(shader);
            let mut ok = 0;
            (self.get_shader_iv)(shader, 0x8B81, &mut ok); // GL_COMPILE_STATUS
            if ok == 0 {
                let mut log = [0u8; 1024];
                let mut len = 0;
                (self.get_shader_info_log)(shader, log.len() as i32, &mut len, log.as_mut_ptr().cast());
                let len = (len.max(0) as usize).min(log.len());
                return Err(format!("shader did not compile: {}", String::from_utf8_lossy(&log[..len])));
            }
            Ok(shader)
        }
    }

    /// Compiles and links a program of a vertex and a fragment shader.
    pub fn program(&self, vertex: &CStr, fragment: &CStr) -> Result<u32, String> {
        let (vs, fs) = (self.shader(VERTEX_SHADER, vertex)?, self.shader(FRAGMENT_SHADER, fragment)?);
        // SAFETY: names from the calls above; the status pointer is a live i32.
        unsafe {
            let program = (self.create_program)();
            (self.attach_shader)(program, vs);
            (self.attach_shader)(program, fs);
            (self.link_program)(program);
            let mut linked = 0;
            (self.get_program_iv)(program, 0x8B82, &mut linked); // GL_LINK_STATUS
            if linked == 0 {
                return Err("a scene's program did not link".into());
            }
            Ok(program)
        }
    }

    pub fn uniform(&self, program: u32, name: &CStr) -> i32 {
        // SAFETY: a NUL-terminated name.
        unsafe { (self.get_uniform_location)(program, name.as_ptr()) }
    }

    /// A buffer holding `data` (bound to `target` afterwards).
    pub fn buffer<T>(&self, target: Enum, data: &[T], usage: Enum) -> u32 {
        let mut name = 0;
        // SAFETY: `data` is live for `size_of_val(data)` bytes.
        unsafe {
            (self.gen_buffers)(1, &mut name);
            (self.bind_buffer)(target, name);
            (self.buffer_data)(target, size_of_val(data) as isize, data.as_ptr().cast(), usage);
        }
        name
    }

    /// A vertex array over `vbo` with interleaved attributes: location `i` has
    /// `sizes[i]` floats, `stride` floats per vertex.
    pub fn vertex_array(&self, vbo: u32, sizes: &[i32]) -> u32 {
        let stride: i32 = sizes.iter().sum::<i32>() * 4;
        let mut vao = 0;
        // SAFETY: offsets into the bound buffer, passed as GL passes them (pointers).
        unsafe {
            (self.gen_vertex_arrays)(1, &mut vao);
            (self.bind_vertex_array)(vao);
            (self.bind_buffer)(ARRAY_BUFFER, vbo);
            let mut offset = 0usize;
            for (i, &n) in sizes.iter().enumerate() {
                (self.vertex_attrib_pointer)(i as u32, n, FLOAT, 0, stride, offset as *const c_void);
                (self.enable_vertex_attrib_array)(i as u32);
                offset += n as usize * 4;
            }
        }
        vao
    }

    /// An RGBA8 texture of `size`×`size` texels from `pixels` (bound afterwards).
    pub fn texture(&self, size: i32, pixels: &[u8], filter: i32, wrap: i32) -> u32 {
        assert!(pixels.len() >= (size * size * 4) as usize);
        let mut tex = 0;
        // SAFETY: `pixels` holds the size×size×4 bytes GL reads (checked above, with
        // an unpack alignment of 4 for RGBA8 rows).
        unsafe {
            (self.gen_textures)(1, &mut tex);
            (self.bind_texture)(TEXTURE_2D, tex);
            (self.tex_image_2d)(
                TEXTURE_2D,
                0,
                RGBA8 as i32,
                size,
                size,
                0,
                RGBA,
                UNSIGNED_BYTE,
                pixels.as_ptr().cast(),
            );
            (self.tex_parameter_i)(TEXTURE_2D, TEXTURE_MIN_FILTER, filter);
            (self.tex_parameter_i)(TEXTURE_2D, TEXTURE_MAG_FILTER, filter);
            (self.tex_parameter_i)(TEXTURE_2D, TEXTURE_WRAP_S, wrap);
            (self.tex_parameter_i)(TEXTURE_2D, TEXTURE_WRAP_T, wrap);
        }
        tex
    }
}
