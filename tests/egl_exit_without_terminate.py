"""A program that ends without eglTerminate, right after a large upload: 5 frames into
a 16x16 pbuffer, each cleared to its own grey and ended with eglSwapBuffers, the last
after 64 MiB of glBufferData; then it calls the C library's exit(0) at once, as a C
program returning from main does (no interpreter teardown to give a trace writer
time). `glwire run --record` must still keep every frame: the ICD flushes the trace
at exit."""
import ctypes
import sys

from egl_setup import egl, gl, vp, display, context

dpy, config = display()
ctx = context(dpy, config)
attribs = (ctypes.c_int * 5)(0x3057, 16, 0x3056, 16, 0x3038)  # EGL_WIDTH, EGL_HEIGHT
egl.eglCreatePbufferSurface.restype = vp
surface = egl.eglCreatePbufferSurface(vp(dpy), config, attribs)
if not surface or not egl.eglMakeCurrent(vp(dpy), vp(surface), vp(surface), vp(ctx)):
    sys.exit("pbuffer: 0x%x" % egl.eglGetError())
buf = ctypes.c_uint()
gl.glGenBuffers(1, ctypes.byref(buf))
gl.glBindBuffer(0x8892, buf)  # GL_ARRAY_BUFFER
big = ctypes.create_string_buffer(64 << 20)
for frame in range(5):
    grey = ctypes.c_float((frame + 1) / 5.0)
    gl.glClearColor(grey, grey, grey, ctypes.c_float(1.0))
    gl.glClear(0x4000)  # GL_COLOR_BUFFER_BIT
    if frame == 4:
        gl.glBufferData(0x8892, len(big), big, 0x88E4)  # GL_STATIC_DRAW
    if not egl.eglSwapBuffers(vp(dpy), vp(surface)):
        sys.exit("eglSwapBuffers: 0x%x" % egl.eglGetError())
print("5 frames, no eglTerminate", flush=True)
ctypes.CDLL(None).exit(0)
