"""An unmodified X11 GLES program: Xlib makes a window of the visual EGL names, EGL
renders into it through eglGetDisplay(Display *) and eglCreateWindowSurface, and the
frames are read back from the X server with XGetImage. Then the window is resized: the
next frames follow its size. Run under `glwire run` with DISPLAY set (Xvfb)."""
import ctypes
import sys
import time

from egl_setup import egl, gl, vp

x11 = ctypes.CDLL("libX11.so.6")
x11.XOpenDisplay.restype = vp
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XDefaultRootWindow.restype = ctypes.c_ulong
x11.XDefaultRootWindow.argtypes = [vp]
x11.XCreateSimpleWindow.restype = ctypes.c_ulong
x11.XCreateSimpleWindow.argtypes = [vp, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                    ctypes.c_uint, ctypes.c_ulong, ctypes.c_ulong]
x11.XMapWindow.argtypes = [vp, ctypes.c_ulong]
x11.XResizeWindow.argtypes = [vp, ctypes.c_ulong, ctypes.c_uint, ctypes.c_uint]
x11.XSync.argtypes = [vp, ctypes.c_int]
x11.XGetImage.restype = vp
x11.XGetImage.argtypes = [vp, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                          ctypes.c_ulong, ctypes.c_int]
x11.XGetPixel.restype = ctypes.c_ulong
x11.XGetPixel.argtypes = [vp, ctypes.c_int, ctypes.c_int]
x11.XDestroyImage.argtypes = [vp]
x11.XDestroyWindow.argtypes = [vp, ctypes.c_ulong]
x11.XCloseDisplay.argtypes = [vp]
egl.eglGetDisplay.argtypes = [vp]
egl.eglCreateWindowSurface.restype = vp
egl.eglCreateWindowSurface.argtypes = [vp, vp, ctypes.c_ulong, vp]

EGL_NATIVE_VISUAL_ID = 0x302E
EGL_WIDTH, EGL_HEIGHT = 0x3057, 0x3056
GL_COLOR_BUFFER_BIT, GL_SCISSOR_TEST = 0x4000, 0x0C11
ALL_PLANES, Z_PIXMAP = 0xFFFFFFFF, 2


def check(ok, what):
    if not ok:
        sys.exit("%s failed: EGL error 0x%x" % (what, egl.eglGetError()))


def pixel(xdpy, win, x, y):
    """The window's pixel at (x, y), as (r, g, b) of a 24-bit TrueColor visual."""
    image = x11.XGetImage(xdpy, win, x, y, 1, 1, ALL_PLANES, Z_PIXMAP)
    if not image:
        sys.exit("XGetImage failed")
    p = x11.XGetPixel(image, 0, 0)
    x11.XDestroyImage(image)
    return ((p >> 16) & 255, (p >> 8) & 255, p & 255)


def frame(dpy, surface, width, height):
    """Blue below, red in the upper half (GL's upper rows), then swap."""
    gl.glViewport(0, 0, width, height)
    gl.glDisable(GL_SCISSOR_TEST)
    gl.glClearColor(ctypes.c_float(0.0), ctypes.c_float(0.0), ctypes.c_float(1.0), ctypes.c_float(1.0))
    gl.glClear(GL_COLOR_BUFFER_BIT)
    gl.glEnable(GL_SCISSOR_TEST)
    gl.glScissor(0, height // 2, width, height - height // 2)
    gl.glClearColor(ctypes.c_float(1.0), ctypes.c_float(0.0), ctypes.c_float(0.0), ctypes.c_float(1.0))
    gl.glClear(GL_COLOR_BUFFER_BIT)
    check(egl.eglSwapBuffers(vp(dpy), vp(surface)), "eglSwapBuffers")


def size(dpy, surface):
    w, h = ctypes.c_int(), ctypes.c_int()
    check(egl.eglQuerySurface(vp(dpy), vp(surface), EGL_WIDTH, ctypes.byref(w)), "eglQuerySurface")
    check(egl.eglQuerySurface(vp(dpy), vp(surface), EGL_HEIGHT, ctypes.byref(h)), "eglQuerySurface")
    return w.value, h.value


def main():
    xdpy = x11.XOpenDisplay(None)
    if not xdpy:
        sys.exit("cannot open the X display (is DISPLAY set?)")
    dpy = egl.eglGetDisplay(vp(xdpy))
    check(dpy, "eglGetDisplay(Display *)")
    check(egl.eglInitialize(vp(dpy), None, None), "eglInitialize")
    egl.eglBindAPI(0x30A0)
    config, n = vp(), ctypes.c_int()
    # EGL_RENDERABLE_TYPE ES3, EGL_SURFACE_TYPE window, 8-bit RGB
    attribs = (ctypes.c_int * 11)(0x3040, 0x40, 0x3033, 0x4, 0x3024, 8, 0x3023, 8, 0x3022, 8, 0x3038)
    check(egl.eglChooseConfig(vp(dpy), attribs, ctypes.byref(config), 1, ctypes.byref(n)) and n.value, "eglChooseConfig")
    visual = ctypes.c_int()
    check(egl.eglGetConfigAttrib(vp(dpy), config, EGL_NATIVE_VISUAL_ID, ctypes.byref(visual)), "eglGetConfigAttrib")
    print("native visual:", hex(visual.value))
    win = x11.XCreateSimpleWindow(xdpy, x11.XDefaultRootWindow(xdpy), 0, 0, 96, 64, 0, 0, 0)
    x11.XMapWindow(xdpy, win)
    x11.XSync(xdpy, 0)
    surface = egl.eglCreateWindowSurface(vp(dpy), config, win, None)
    check(surface, "eglCreateWindowSurface")
    ctx = egl.eglCreateContext(vp(dpy), config, None, (ctypes.c_int * 3)(0x3098, 3, 0x3038))
    check(ctx, "eglCreateContext")
    check(egl.eglMakeCurrent(vp(dpy), vp(surface), vp(surface), vp(ctx)), "eglMakeCurrent")
    check(egl.eglSwapInterval(vp(dpy), 1), "eglSwapInterval")
    if "--until-lost" in sys.argv:
        # Some objects for the server to hold (a 64x64 RGBA texture, a 4 KiB buffer),
        # then swap until a swap fails (the test kills the server or this program).
        names = (ctypes.c_uint * 2)()
        gl.glGenTextures(1, names)
        gl.glBindTexture(0x0DE1, names[0])
        gl.glTexImage2D(0x0DE1, 0, 0x1908, 64, 64, 0, 0x1908, 0x1401, None)
        gl.glGenBuffers(1, ctypes.byref(names, 4))
        gl.glBindBuffer(0x8892, names[1])
        gl.glBufferData(0x8892, 4096, None, 0x88E4)
        print("looping", flush=True)
        while True:
            gl.glClear(GL_COLOR_BUFFER_BIT)
            if not egl.eglSwapBuffers(vp(dpy), vp(surface)):
                print("swap failed: EGL error 0x%x" % egl.eglGetError(), flush=True)
                sys.exit(3)
    print("size:", size(dpy, surface))
    frame(dpy, surface, 96, 64)
    x11.XSync(xdpy, 0)
    print("top-left:", pixel(xdpy, win, 0, 0), "bottom-left:", pixel(xdpy, win, 0, 63))

    x11.XResizeWindow(xdpy, win, 150, 40)
    x11.XSync(xdpy, 0)
    # The resize reaches glwire's own X connection as an event; a few frames later the
    # surface has the window's size.
    deadline = time.time() + 2
    while size(dpy, surface) != (150, 40) and time.time() < deadline:
        frame(dpy, surface, *size(dpy, surface))
        time.sleep(0.01)
    print("resized:", size(dpy, surface))
    frame(dpy, surface, 150, 40)
    x11.XSync(xdpy, 0)
    print("after resize top-right:", pixel(xdpy, win, 149, 0), "bottom-right:", pixel(xdpy, win, 149, 39))

    # Interval 0: swaps do not wait for the X server.
    check(egl.eglSwapInterval(vp(dpy), 0), "eglSwapInterval(0)")
    start = time.time()
    for _ in range(30):
        frame(dpy, surface, 150, 40)
    print("30 frames at interval 0 in %.3f s" % (time.time() - start))
    check(egl.eglMakeCurrent(vp(dpy), None, None, None), "eglMakeCurrent(none)")
    check(egl.eglDestroySurface(vp(dpy), vp(surface)), "eglDestroySurface")
    check(egl.eglDestroyContext(vp(dpy), vp(ctx)), "eglDestroyContext")
    egl.eglTerminate(vp(dpy))
    x11.XDestroyWindow(xdpy, win)
    x11.XCloseDisplay(xdpy)
    print("ok")


main()
