"""An unmodified GLES 3 program with a share group across threads, through ctypes like
tests/egl_clear.py: context A (main thread) makes a buffer and a fence; context B,
created to share with A and current on a second thread, sees the buffer's bytes and
waits on A's fence; context C, not shared, does not see the buffer. Exits 0 when all hold."""
import ctypes
import sys
import threading

egl = ctypes.CDLL("libEGL.so.1")
gl = ctypes.CDLL("libGLESv2.so.2")
vp = ctypes.c_void_p
egl.eglGetDisplay.restype = vp
egl.eglCreateContext.restype = vp
egl.eglCreateContext.argtypes = [vp, vp, vp, vp]
gl.glFenceSync.restype = vp
gl.glClientWaitSync.argtypes = [vp, ctypes.c_uint, ctypes.c_uint64]
gl.glClientWaitSync.restype = ctypes.c_uint
gl.glMapBufferRange.restype = vp
gl.glMapBufferRange.argtypes = [ctypes.c_uint, ctypes.c_ssize_t, ctypes.c_ssize_t, ctypes.c_uint]
gl.glBufferData.argtypes = [ctypes.c_uint, ctypes.c_ssize_t, vp, ctypes.c_uint]
gl.glIsBuffer.restype = ctypes.c_ubyte

dpy = egl.eglGetDisplay(None)
if not egl.eglInitialize(vp(dpy), None, None):
    sys.exit("eglInitialize failed")
egl.eglBindAPI(0x30A0)
config, n = vp(), ctypes.c_int()
egl.eglChooseConfig(vp(dpy), (ctypes.c_int * 3)(0x3040, 0x40, 0x3038), ctypes.byref(config), 1, ctypes.byref(n))
attribs = (ctypes.c_int * 3)(0x3098, 3, 0x3038)
a = egl.eglCreateContext(dpy, config, None, attribs)
b = egl.eglCreateContext(dpy, config, a, attribs)
c = egl.eglCreateContext(dpy, config, None, attribs)
if not (a and b and c):
    sys.exit("eglCreateContext failed: 0x%x" % egl.eglGetError())
if not egl.eglMakeCurrent(vp(dpy), None, None, vp(a)):
    sys.exit("eglMakeCurrent failed: 0x%x" % egl.eglGetError())

ARRAY = 0x8892
name = ctypes.c_uint()
gl.glGenBuffers(1, ctypes.byref(name))
gl.glBindBuffer(ARRAY, name)
gl.glBufferData(ARRAY, 4, (ctypes.c_ubyte * 4)(1, 2, 3, 4), 0x88E4)
fence = gl.glFenceSync(0x9117, 0)
gl.glFlush()
results = {}


def on_thread(context, key):
    if not egl.eglMakeCurrent(vp(dpy), None, None, vp(context)):
        results[key] = "eglMakeCurrent failed: 0x%x" % egl.eglGetError()
        return
    seen = gl.glIsBuffer(name)
    data = None
    if seen:
        gl.glBindBuffer(ARRAY, name)
        p = gl.glMapBufferRange(ARRAY, 0, 4, 0x1)
        data = list((ctypes.c_ubyte * 4).from_address(p)) if p else None
        gl.glUnmapBuffer(ARRAY)
        wait = gl.glClientWaitSync(fence, 0, 1000000000)
        results[key] = (seen, data, wait, gl.glGetError())
    else:
        results[key] = (seen, data, None, gl.glGetError())
    egl.eglMakeCurrent(vp(dpy), None, None, None)


for context, key in ((b, "shared"), (c, "unshared")):
    t = threading.Thread(target=on_thread, args=(context, key))
    t.start()
    t.join()
print("shared:", results.get("shared"), "unshared:", results.get("unshared"))
ok = results.get("shared") in ((1, [1, 2, 3, 4], 0x911A, 0), (1, [1, 2, 3, 4], 0x911C, 0)) and \
    results.get("unshared") == (0, None, None, 0)
egl.eglMakeCurrent(vp(dpy), None, None, None)
egl.eglTerminate(vp(dpy))
sys.exit(0 if ok else 1)
