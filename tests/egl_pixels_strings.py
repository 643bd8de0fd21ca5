"""An unmodified GLES 3 program exercising the hand-sized calls, through ctypes like
tests/egl_clear.py: pixel-store state on upload and readback (row length, skips,
alignment), pixel buffer objects at offsets both ways, the glGet family with multi-value
state, strings that stay valid, string arrays with and without lengths, and a fence.
Prints each check; exits 0 when all hold."""
import ctypes
import sys

from egl_setup import display, context, gl, make_current, vp

gl.glGetString.restype = ctypes.c_void_p
gl.glGetStringi.restype = ctypes.c_void_p
gl.glCreateShader.restype = ctypes.c_uint
gl.glCreateProgram.restype = ctypes.c_uint
gl.glFenceSync.restype = vp
gl.glClientWaitSync.argtypes = [vp, ctypes.c_uint, ctypes.c_uint64]
gl.glClientWaitSync.restype = ctypes.c_uint
gl.glDeleteSync.argtypes = [vp]
gl.glReadPixels.argtypes = [ctypes.c_int] * 4 + [ctypes.c_uint, ctypes.c_uint, vp]
gl.glTexSubImage2D.argtypes = [ctypes.c_uint, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.c_uint, ctypes.c_uint, vp]
dpy, config = display()
make_current(dpy, context(dpy, config))

TEX2D, RGBA, UBYTE, FB, PACK, UNPACK = 0x0DE1, 0x1908, 0x1401, 0x8D40, 0x88EB, 0x88EC
failures = []


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def gen(f):
    name = ctypes.c_uint()
    f(1, ctypes.byref(name))
    return name.value


# An 8x8 RGBA8 texture as the framebuffer's colour.
tex = gen(gl.glGenTextures)
gl.glBindTexture(TEX2D, tex)
gl.glTexStorage2D(TEX2D, 1, 0x8058, 8, 8)
fbo = gen(gl.glGenFramebuffers)
gl.glBindFramebuffer(FB, fbo)
gl.glFramebufferTexture2D(FB, 0x8CE0, TEX2D, tex, 0)

# Upload a 2x2 block from the middle of a 4-pixel-wide client image: row length 4, skip
# 1 pixel and 1 row.
src = (ctypes.c_ubyte * (4 * 4 * 4))(*[(i * 7) % 251 for i in range(64)])
gl.glPixelStorei(0x0CF2, 4)  # UNPACK_ROW_LENGTH
gl.glPixelStorei(0x0CF4, 1)  # UNPACK_SKIP_PIXELS
gl.glPixelStorei(0x0CF3, 1)  # UNPACK_SKIP_ROWS
gl.glTexSubImage2D(TEX2D, 0, 0, 0, 2, 2, RGBA, UBYTE, ctypes.cast(src, vp))
for pname in (0x0CF2, 0x0CF4, 0x0CF3):
    gl.glPixelStorei(pname, 0)
out = (ctypes.c_ubyte * 16)()
gl.glReadPixels(0, 0, 2, 2, RGBA, UBYTE, ctypes.cast(out, vp))
want = [src[(r * 4 + p) * 4 + k] for r in (1, 2) for p in (1, 2) for k in range(4)]
check("upload honours row length and skips", list(out) == want)

# Read back with a pack row length of 3 pixels: rows land 12 bytes apart.
wide = (ctypes.c_ubyte * 24)(*([0xEE] * 24))
gl.glPixelStorei(0x0D02, 3)  # PACK_ROW_LENGTH
gl.glReadPixels(0, 0, 2, 2, RGBA, UBYTE, ctypes.cast(wide, vp))
gl.glPixelStorei(0x0D02, 0)
check("readback honours pack row length", list(wide[0:8]) == want[0:8] and list(wide[12:20]) == want[8:16]
      and list(wide[8:12]) == [0xEE] * 4)

# Pixel buffers at offsets: upload from an unpack PBO at offset 16, read into a pack
# PBO at offset 32, and map it.
pbo = gen(gl.glGenBuffers)
gl.glBindBuffer(UNPACK, pbo)
texels = (ctypes.c_ubyte * 32)(*([0] * 16 + [10, 20, 30, 40] * 4))
gl.glBufferData(UNPACK, 32, ctypes.cast(texels, vp), 0x88E4)
gl.glTexSubImage2D(TEX2D, 0, 4, 4, 2, 2, RGBA, UBYTE, vp(16))
gl.glBindBuffer(UNPACK, 0)
pack = gen(gl.glGenBuffers)
gl.glBindBuffer(PACK, pack)
gl.glBufferData(PACK, 64, None, 0x88E1)  # GL_STREAM_READ
gl.glReadPixels(4, 4, 2, 2, RGBA, UBYTE, vp(32))
p = gl.glMapBufferRange(PACK, 32, 16, 0x1)
check("pixel buffers at offsets, both ways", p is not None and list((ctypes.c_ubyte * 16).from_address(p)) ==
      [10, 20, 30, 40] * 4)
gl.glUnmapBuffer(PACK)
gl.glBindBuffer(PACK, 0)

# The glGet family: four values for GL_VIEWPORT, as integers, floats and booleans.
gl.glViewport(1, 2, 3, 4)
ints, floats, bools = (ctypes.c_int * 4)(), (ctypes.c_float * 4)(), (ctypes.c_ubyte * 4)()
gl.glGetIntegerv(0x0BA2, ints)
gl.glGetFloatv(0x0BA2, floats)
gl.glGetBooleanv(0x0BA2, bools)
check("glGet* of four-value state", list(ints) == [1, 2, 3, 4] and list(floats) == [1.0, 2.0, 3.0, 4.0]
      and list(bools) == [1, 1, 1, 1])

# Strings stay valid: the same pointer twice, and glGetStringi's names.
first, second = gl.glGetString(0x1F01), gl.glGetString(0x1F01)
n = ctypes.c_int()
gl.glGetIntegerv(0x821D, ctypes.byref(n))  # GL_NUM_EXTENSIONS
names = [ctypes.string_at(gl.glGetStringi(0x1F03, i)).decode() for i in range(n.value)]
joined = ctypes.string_at(gl.glGetString(0x1F03)).decode().split()
check("glGetString pointers stay valid", first == second and ctypes.string_at(first))
# The same extensions, though Mesa orders the two lists differently.
check("glGetStringi lists GL_EXTENSIONS", n.value > 0 and sorted(names) == sorted(joined))

# String arrays: a shader from three pieces, one with an explicit length that cuts it.
pieces = [b"#version 300 es\n", b"void main() { gl_Position = vec4(0.0); }\n", b"// trailing garbage XXXX"]
arr = (ctypes.c_char_p * 3)(*pieces)
lengths = (ctypes.c_int * 3)(-1, -1, 19)
vs = gl.glCreateShader(0x8B31)
gl.glShaderSource(vs, 3, arr, lengths)
gl.glCompileShader(vs)
status, length = ctypes.c_int(), ctypes.c_int()
gl.glGetShaderiv(vs, 0x8B81, ctypes.byref(status))
source = ctypes.create_string_buffer(256)
gl.glGetShaderSource(vs, 256, ctypes.byref(length), source)
check("shader source from a string array with lengths", status.value == 1 and
      source.value == b"".join(pieces[:2]) + b"// trailing garbage")

# A fence: signalled after glFinish.
fence = gl.glFenceSync(0x9117, 0)
gl.glFinish()
check("a fence is signalled after glFinish", gl.glClientWaitSync(fence, 0, 0) in (0x911A, 0x911C))
gl.glDeleteSync(fence)
error = gl.glGetError()
check("no GL error: 0x%x" % error, error == 0)
sys.exit(1 if failures else 0)
