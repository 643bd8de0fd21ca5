"""An unmodified GLES 3 program with a share group across threads, through ctypes like
tests/egl_clear.py: context A (main thread) makes a buffer and a fence; context B,
created to share with A and current on a second thread, sees the buffer's bytes and
waits on A's fence; context C, not shared, does not see the buffer. Exits 0 when all hold."""
import ctypes
import sys
import threading

from egl_setup import display, context, egl, gl, make_current, vp

gl.glFenceSync.restype = vp
gl.glClientWaitSync.argtypes = [vp, ctypes.c_uint, ctypes.c_uint64]
gl.glClientWaitSync.restype = ctypes.c_uint
dpy, config = display()
a = context(dpy, config)
b = context(dpy, config, share=a)
c = context(dpy, config)
make_current(dpy, a)

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
