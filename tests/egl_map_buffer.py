"""An unmodified GLES 3 program mapping buffers, through ctypes like tests/egl_clear.py:
reads a range, writes part of a range (the rest must keep its bytes), flushes an
explicit-flush map, and uses persistent maps (GL_EXT_buffer_storage) that GL reads from
and writes into while they stay mapped. Prints each check; exits 0 when all hold."""
import ctypes
import sys

from egl_setup import display, context, egl, gl, make_current, vp

gl.glFlushMappedBufferRange.argtypes = [ctypes.c_uint, ctypes.c_ssize_t, ctypes.c_ssize_t]
gl.glCopyBufferSubData.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_ssize_t, ctypes.c_ssize_t, ctypes.c_ssize_t]
dpy, config = display()
make_current(dpy, context(dpy, config))

ARRAY, COPY_READ, COPY_WRITE = 0x8892, 0x8F36, 0x8F37
READ, WRITE, FLUSH_EXPLICIT, PERSISTENT, COHERENT = 0x1, 0x2, 0x10, 0x40, 0x80
BUFFER_MAPPED, MAP_POINTER = 0x88BC, 0x88BD
failures = []


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def buffer(target, data):
    name = ctypes.c_uint()
    gl.glGenBuffers(1, ctypes.byref(name))
    gl.glBindBuffer(target, name)
    gl.glBufferData(target, len(data), (ctypes.c_ubyte * len(data))(*data), 0x88E8)  # GL_DYNAMIC_READ
    return name.value


def read_back(target, offset, length):
    p = gl.glMapBufferRange(target, offset, length, READ)
    data = list((ctypes.c_ubyte * length).from_address(p)) if p else None
    gl.glUnmapBuffer(target)
    return data


a = buffer(ARRAY, range(16))
check("read map sees the buffer's bytes", read_back(ARRAY, 4, 4) == [4, 5, 6, 7])

p = gl.glMapBufferRange(ARRAY, 0, 8, WRITE)
mapped = ctypes.c_int()
gl.glGetBufferParameteriv(ARRAY, BUFFER_MAPPED, ctypes.byref(mapped))
pointer = vp()
gl.glGetBufferPointerv(ARRAY, MAP_POINTER, ctypes.byref(pointer))
check("the buffer is mapped, at the pointer the map returned", mapped.value == 1 and pointer.value == p)
ctypes.memmove(p + 2, bytes([200, 201]), 2)
check("unmap succeeds", gl.glUnmapBuffer(ARRAY) == 1)
check("a partial write keeps the other bytes", read_back(ARRAY, 0, 8) == [0, 1, 200, 201, 4, 5, 6, 7])

p = gl.glMapBufferRange(ARRAY, 8, 8, WRITE | FLUSH_EXPLICIT)
ctypes.memmove(p, bytes([90] * 8), 8)
gl.glFlushMappedBufferRange(ARRAY, 2, 2)
gl.glUnmapBuffer(ARRAY)
# The bytes written but not flushed are undefined (natively they often land too).
after = read_back(ARRAY, 6, 10)
check("an explicit flush sends the flushed range", after[0:2] == [6, 7] and after[4:6] == [90, 90])

gl.glMapBufferRange(ARRAY, 0, 4, READ)
gl.glMapBufferRange(ARRAY, 0, 4, READ)
check("mapping a mapped buffer is GL_INVALID_OPERATION", gl.glGetError() == 0x0502)
gl.glUnmapBuffer(ARRAY)

map_oes = ctypes.CFUNCTYPE(vp, ctypes.c_uint, ctypes.c_uint)(egl.eglGetProcAddress(b"glMapBufferOES"))
p = map_oes(ARRAY, 0x88B9)  # GL_WRITE_ONLY_OES
ctypes.memmove(p + 15, bytes([77]), 1)
gl.glUnmapBuffer(ARRAY)
check("glMapBufferOES maps the whole buffer for writing",
      read_back(ARRAY, 15, 1) == [77] and read_back(ARRAY, 0, 8) == [0, 1, 200, 201, 4, 5, 6, 7])

p = gl.glMapBufferRange(ARRAY, 0, 8, WRITE | 0x4)  # GL_MAP_INVALIDATE_RANGE_BIT
ctypes.memset(p, 0, 8)
gl.glUnmapBuffer(ARRAY)
check("zeros written into an invalidated range land", read_back(ARRAY, 0, 8) == [0] * 8)

storage = ctypes.CFUNCTYPE(None, ctypes.c_uint, ctypes.c_ssize_t, vp, ctypes.c_uint)(
    egl.eglGetProcAddress(b"glBufferStorageEXT"))
src, dst = ctypes.c_uint(), ctypes.c_uint()
gl.glGenBuffers(1, ctypes.byref(src))
gl.glGenBuffers(1, ctypes.byref(dst))
gl.glBindBuffer(COPY_READ, src)
storage(COPY_READ, 16, None, WRITE | PERSISTENT | COHERENT)
gl.glBindBuffer(COPY_WRITE, dst)
storage(COPY_WRITE, 16, None, READ | PERSISTENT | COHERENT)
w = gl.glMapBufferRange(COPY_READ, 0, 16, WRITE | PERSISTENT | COHERENT)
r = gl.glMapBufferRange(COPY_WRITE, 0, 16, READ | PERSISTENT | COHERENT)
ctypes.memmove(w, bytes(range(100, 116)), 16)
gl.glCopyBufferSubData(COPY_READ, COPY_WRITE, 0, 0, 16)
gl.glFinish()
check("persistent maps: GL reads the writes and the reads see GL's",
      list((ctypes.c_ubyte * 16).from_address(r)) == list(range(100, 116)))
error = gl.glGetError()
check("no GL error: 0x%x" % error, error == 0)
egl.eglMakeCurrent(vp(dpy), None, None, None)
egl.eglTerminate(vp(dpy))
sys.exit(1 if failures else 0)
