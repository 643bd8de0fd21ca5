"""An unmodified GLES 2 program sharing a texture level through an EGLImage, through
ctypes like tests/egl_clear.py (the steps of piglit's egl-gl_oes_egl_image, checked):
eglCreateImageKHR from mip level 1 of a texture, glEGLImageTargetTexture2DOES into a
second texture, which then has that level's size, and glEGLImageTargetTexStorageEXT into
a third; a wrong target, an attribute list and an unknown image
are GL errors (natively, Mesa takes any pointer as an image and crashes on the unknown
one: the server is what refuses it); eglDestroyImageKHR. Prints each check; exits 0
when all hold."""
import ctypes
import sys

from egl_setup import egl, gl, make_current, vp

egl.eglGetPlatformDisplay.restype = vp
egl.eglGetPlatformDisplay.argtypes = [ctypes.c_uint, vp, vp]
egl.eglQueryString.restype = ctypes.c_char_p
failures = []


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


check("EGL_EXT_platform_base is a client extension", b"EGL_EXT_platform_base" in egl.eglQueryString(None, 0x3055))
dpy = egl.eglGetPlatformDisplay(0x31DD, None, None)  # EGL_PLATFORM_SURFACELESS_MESA
if not egl.eglInitialize(vp(dpy), None, None):
    sys.exit("eglInitialize failed: 0x%x" % egl.eglGetError())
check("the display offers EGL images", b"EGL_KHR_gl_texture_2D_image" in egl.eglQueryString(vp(dpy), 0x3055))
egl.eglBindAPI(0x30A0)
ctx = egl.eglCreateContext(dpy, None, None, (ctypes.c_int * 3)(0x3098, 2, 0x3038))  # configless ES 2
make_current(dpy, ctx)

TEX2D = 0x0DE1
a = ctypes.c_uint()
gl.glGenTextures(1, ctypes.byref(a))
gl.glBindTexture(TEX2D, a)
gl.glTexImage2D(TEX2D, 0, 0x1908, 256, 256, 0, 0x1908, 0x1401, None)
gl.glTexImage2D(TEX2D, 1, 0x1908, 128, 128, 0, 0x1908, 0x1401, None)
gl.glTexParameteri(TEX2D, 0x813D, 1)  # GL_TEXTURE_MAX_LEVEL

create = ctypes.CFUNCTYPE(vp, vp, vp, ctypes.c_uint, vp, vp)(egl.eglGetProcAddress(b"eglCreateImageKHR"))
destroy = ctypes.CFUNCTYPE(ctypes.c_uint, vp, vp)(egl.eglGetProcAddress(b"eglDestroyImageKHR"))
target = ctypes.CFUNCTYPE(None, ctypes.c_uint, vp)(egl.eglGetProcAddress(b"glEGLImageTargetTexture2DOES"))
level1 = (ctypes.c_int * 3)(0x30BC, 1, 0x3038)  # EGL_GL_TEXTURE_LEVEL_KHR 1
image = create(dpy, ctx, 0x30B1, a.value, ctypes.cast(level1, vp))  # EGL_GL_TEXTURE_2D_KHR
check("eglCreateImageKHR from texture level 1", bool(image) and egl.eglGetError() == 0x3000)

b = ctypes.c_uint()
gl.glGenTextures(1, ctypes.byref(b))
gl.glBindTexture(TEX2D, b)
target(0x9009, image)  # GL_TEXTURE_CUBE_MAP_ARRAY
check("a wrong target is GL_INVALID_ENUM", gl.glGetError() == 0x0500)
target(TEX2D, vp(0x7777))
check("an unknown image is GL_INVALID_VALUE", gl.glGetError() == 0x0501)
target(TEX2D, image)
w, h = ctypes.c_int(), ctypes.c_int()
gl.glGetTexLevelParameteriv(TEX2D, 0, 0x1000, ctypes.byref(w))
gl.glGetTexLevelParameteriv(TEX2D, 0, 0x1001, ctypes.byref(h))
check("the second texture has level 1's size: %dx%d" % (w.value, h.value), (w.value, h.value) == (128, 128))
storage = ctypes.CFUNCTYPE(None, ctypes.c_uint, vp, vp)(egl.eglGetProcAddress(b"glEGLImageTargetTexStorageEXT"))
c = ctypes.c_uint()
gl.glGenTextures(1, ctypes.byref(c))
gl.glBindTexture(TEX2D, c)
storage(TEX2D, image, ctypes.cast((ctypes.c_int * 2)(0x1234, 0), vp))
check("EXT_EGL_image_storage refuses a non-empty attribute list", gl.glGetError() == 0x0501)
storage(TEX2D, image, None)
immutable = ctypes.c_int()
gl.glGetTexParameteriv(TEX2D, 0x912F, ctypes.byref(immutable))  # GL_TEXTURE_IMMUTABLE_FORMAT
check("EXT_EGL_image_storage makes an immutable texture", immutable.value == 1 and gl.glGetError() == 0)
check("eglDestroyImageKHR", destroy(dpy, image) == 1)
check("destroying it twice is EGL_BAD_PARAMETER", destroy(dpy, image) == 0 and egl.eglGetError() == 0x300C)
error = gl.glGetError()
check("no GL error: 0x%x" % error, error == 0)
sys.exit(1 if failures else 0)
