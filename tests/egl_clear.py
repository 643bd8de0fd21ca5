"""An unmodified GLES program, in Python through ctypes: it loads the system libEGL and
libGLESv2 (libglvnd) like any program, clears a renderbuffer and reads it back.
Prints the pixel and exits 0 when it is the clear colour. `glwire run` tests use it."""
import ctypes
import sys

egl = ctypes.CDLL("libEGL.so.1")
gl = ctypes.CDLL("libGLESv2.so.2")
vp = ctypes.c_void_p
egl.eglGetDisplay.restype = vp
egl.eglCreateContext.restype = vp
egl.eglQueryString.restype = ctypes.c_char_p
gl.glGetString.restype = ctypes.c_char_p

dpy = egl.eglGetDisplay(None)
major, minor = ctypes.c_int(), ctypes.c_int()
if not egl.eglInitialize(vp(dpy), ctypes.byref(major), ctypes.byref(minor)):
    sys.exit("eglInitialize failed: 0x%x" % egl.eglGetError())
egl.eglBindAPI(0x30A0)
attribs = (ctypes.c_int * 7)(0x3040, 0x40, 0x3033, 0x1, 0x3024, 8, 0x3038)  # ES3, pbuffer, red 8
config, n = vp(), ctypes.c_int()
if not egl.eglChooseConfig(vp(dpy), attribs, ctypes.byref(config), 1, ctypes.byref(n)) or n.value == 0:
    sys.exit("eglChooseConfig failed: 0x%x" % egl.eglGetError())
ctx_attribs = (ctypes.c_int * 3)(0x3098, 3, 0x3038)
ctx = egl.eglCreateContext(vp(dpy), config, None, ctx_attribs)
if not ctx:
    sys.exit("eglCreateContext failed: 0x%x" % egl.eglGetError())
if not egl.eglMakeCurrent(vp(dpy), None, None, vp(ctx)):
    sys.exit("eglMakeCurrent failed: 0x%x" % egl.eglGetError())

print("EGL vendor:", egl.eglQueryString(vp(dpy), 0x3053).decode())
print("GL renderer:", (gl.glGetString(0x1F01) or b"?").decode())
fbo, rb = ctypes.c_uint(), ctypes.c_uint()
gl.glGenFramebuffers(1, ctypes.byref(fbo))
gl.glBindFramebuffer(0x8D40, fbo)
gl.glGenRenderbuffers(1, ctypes.byref(rb))
gl.glBindRenderbuffer(0x8D41, rb)
gl.glRenderbufferStorage(0x8D41, 0x8058, 4, 4)  # RGBA8
gl.glFramebufferRenderbuffer(0x8D40, 0x8CE0, 0x8D41, rb)
status = gl.glCheckFramebufferStatus(0x8D40)
gl.glClearColor(ctypes.c_float(0.2), ctypes.c_float(0.4), ctypes.c_float(0.6), ctypes.c_float(1.0))
gl.glClear(0x4000)
pixel = (ctypes.c_ubyte * 4)()
gl.glReadPixels(0, 0, 1, 1, 0x1908, 0x1401, pixel)
error = gl.glGetError()
print("framebuffer: 0x%x pixel: %s error: 0x%x" % (status, list(pixel), error))
egl.eglMakeCurrent(vp(dpy), None, None, None)
egl.eglTerminate(vp(dpy))
ok = status == 0x8CD5 and list(pixel) == [51, 102, 153, 255] and error == 0
sys.exit(0 if ok else 1)
