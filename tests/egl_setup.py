"""Shared start of the test programs: the system libEGL and libGLESv2 through ctypes, as
any program loads them, and an initialized default display with an ES 3 config."""
import ctypes
import sys

egl = ctypes.CDLL("libEGL.so.1")
gl = ctypes.CDLL("libGLESv2.so.2")
vp = ctypes.c_void_p
egl.eglGetDisplay.restype = vp
egl.eglCreateContext.restype = vp
egl.eglCreateContext.argtypes = [vp, vp, vp, vp]
egl.eglGetProcAddress.restype = vp
gl.glMapBufferRange.restype = vp
gl.glMapBufferRange.argtypes = [ctypes.c_uint, ctypes.c_ssize_t, ctypes.c_ssize_t, ctypes.c_uint]
gl.glUnmapBuffer.restype = ctypes.c_ubyte
gl.glBufferData.argtypes = [ctypes.c_uint, ctypes.c_ssize_t, vp, ctypes.c_uint]
gl.glIsBuffer.restype = ctypes.c_ubyte
ES3_ATTRIBS = (ctypes.c_int * 3)(0x3098, 3, 0x3038)  # EGL_CONTEXT_CLIENT_VERSION 3


def display():
    """The default display, initialized, with the GLES API bound, and an ES 3 config."""
    dpy = egl.eglGetDisplay(None)
    if not egl.eglInitialize(vp(dpy), None, None):
        sys.exit("eglInitialize failed: 0x%x" % egl.eglGetError())
    egl.eglBindAPI(0x30A0)
    config, n = vp(), ctypes.c_int()
    # EGL_RENDERABLE_TYPE ES3, EGL_SURFACE_TYPE pbuffer (surfaceless displays have no windows)
    attribs = (ctypes.c_int * 5)(0x3040, 0x40, 0x3033, 0x1, 0x3038)
    if not egl.eglChooseConfig(vp(dpy), attribs, ctypes.byref(config), 1, ctypes.byref(n)) or n.value == 0:
        sys.exit("eglChooseConfig failed: 0x%x" % egl.eglGetError())
    return dpy, config


def context(dpy, config, share=None):
    """A new ES 3 context (sharing with `share` when given)."""
    ctx = egl.eglCreateContext(dpy, config, share, ES3_ATTRIBS)
    if not ctx:
        sys.exit("eglCreateContext failed: 0x%x" % egl.eglGetError())
    return ctx


def make_current(dpy, ctx):
    if not egl.eglMakeCurrent(vp(dpy), None, None, vp(ctx)):
        sys.exit("eglMakeCurrent failed: 0x%x" % egl.eglGetError())
