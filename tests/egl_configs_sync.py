"""EGL configs and fence syncs from an unmodified program (ctypes over the system libEGL
and libGLESv2, libglvnd). Runs the same natively on Mesa and through `glwire run`; the
lines starting with "same:" must match between the two (crates/glwire/tests/egl.rs
compares them), the other checks are asserted here. Exits 0 when every check passed.
Argument: "configs", "sync" or nothing for both."""
import ctypes
import sys
import threading

egl = ctypes.CDLL("libEGL.so.1")
gl = ctypes.CDLL("libGLESv2.so.2")
vp = ctypes.c_void_p
EGLint = ctypes.c_int32
EGLAttrib = ctypes.c_ssize_t
egl.eglGetPlatformDisplay.restype = vp
egl.eglGetPlatformDisplay.argtypes = [ctypes.c_uint, vp, vp]
egl.eglCreateContext.restype = vp
egl.eglQueryString.restype = ctypes.c_char_p
egl.eglGetProcAddress.restype = vp
egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
egl.eglCreateSync.restype = vp
egl.eglCreateSync.argtypes = [vp, ctypes.c_uint, ctypes.POINTER(EGLAttrib)]
egl.eglClientWaitSync.restype = EGLint
egl.eglClientWaitSync.argtypes = [vp, vp, EGLint, ctypes.c_uint64]
egl.eglWaitSync.argtypes = [vp, vp, EGLint]
egl.eglGetSyncAttrib.argtypes = [vp, vp, EGLint, ctypes.POINTER(EGLAttrib)]
egl.eglDestroySync.argtypes = [vp, vp]
egl.eglGetConfigAttrib.argtypes = [vp, vp, EGLint, ctypes.POINTER(EGLint)]
egl.eglGetConfigs.argtypes = [vp, vp, EGLint, ctypes.POINTER(EGLint)]
egl.eglChooseConfig.argtypes = [vp, ctypes.POINTER(EGLint), vp, EGLint, ctypes.POINTER(EGLint)]
egl.eglCreateContext.argtypes = [vp, vp, vp, ctypes.POINTER(EGLint)]
egl.eglMakeCurrent.argtypes = [vp, vp, vp, vp]
egl.eglDestroyContext.argtypes = [vp, vp]

EGL_NONE = 0x3038
EGL_SUCCESS = 0x3000
EGL_BAD_ATTRIBUTE = 0x3004
EGL_BAD_CONFIG = 0x3005
EGL_BAD_MATCH = 0x3009
EGL_BAD_PARAMETER = 0x300C
EGL_SURFACE_TYPE, EGL_PBUFFER_BIT = 0x3033, 0x1
EGL_RENDERABLE_TYPE, EGL_OPENGL_ES2_BIT, EGL_OPENGL_ES3_BIT = 0x3040, 0x4, 0x40
RED, GREEN, BLUE, ALPHA, DEPTH, STENCIL, SAMPLES = 0x3024, 0x3023, 0x3022, 0x3021, 0x3025, 0x3026, 0x3031
EGL_CONFIG_ID = 0x3028
EGL_SYNC_FENCE, EGL_SYNC_TYPE, EGL_SYNC_STATUS, EGL_SYNC_CONDITION = 0x30F9, 0x30F7, 0x30F1, 0x30F8
EGL_SIGNALED, EGL_SYNC_PRIOR_COMMANDS_COMPLETE, EGL_CONDITION_SATISFIED = 0x30F2, 0x30F0, 0x30F6
EGL_FOREVER = 0xFFFFFFFFFFFFFFFF

failures = []
section = sys.argv[1] if len(sys.argv) > 1 else "all"


def check(what, ok):
    print(("ok " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def error():
    return egl.eglGetError()


dpy = vp(egl.eglGetPlatformDisplay(0x31DD, None, None))  # EGL_PLATFORM_SURFACELESS_MESA
if not egl.eglInitialize(dpy, None, None):
    sys.exit("eglInitialize failed: 0x%x" % error())
print("EGL vendor:", egl.eglQueryString(dpy, 0x3053).decode())
extensions = egl.eglQueryString(dpy, 0x3055).decode().split()


def attrib(config, name):
    value = EGLint(-12345)
    if not egl.eglGetConfigAttrib(dpy, config, name, ctypes.byref(value)):
        return None
    return value.value


# ---- configs
n = EGLint()
if section not in ("configs", "sync", "all"):
    sys.exit("unknown section %r" % section)
egl.eglGetConfigs(dpy, None, 0, ctypes.byref(n))
configs = (vp * max(n.value, 1))()
egl.eglGetConfigs(dpy, configs, n, ctypes.byref(n))
es2 = [c for c in configs[: n.value] if attrib(c, EGL_RENDERABLE_TYPE) & EGL_OPENGL_ES2_BIT]
print("same: es2 configs: %d" % len(es2))
print("all configs: %d" % n.value)
check("configs have distinct ids", len({attrib(c, EGL_CONFIG_ID) for c in es2}) == len(es2))
check("eglGetConfigs leaves EGL_SUCCESS", error() == EGL_SUCCESS)


def choose(pairs):
    attribs = (EGLint * (len(pairs) + 1))(*pairs, EGL_NONE)
    count = EGLint()
    if not egl.eglChooseConfig(dpy, attribs, None, 0, ctypes.byref(count)):
        return None
    out = (vp * max(count.value, 1))()
    egl.eglChooseConfig(dpy, attribs, out, count, ctypes.byref(count))
    return list(out[: count.value])


pbuffer_es3 = [EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_ES3_BIT]
requests = {
    "rgba8 d24 s8": [RED, 8, GREEN, 8, BLUE, 8, ALPHA, 8, DEPTH, 24, STENCIL, 8],
    "rgb565": [RED, 5, GREEN, 6, BLUE, 5],
    "depth16": [DEPTH, 16],
    "msaa4": [SAMPLES, 4, RED, 8],
    "nothing": [],
}
for name, pairs in (requests.items() if section != "sync" else []):
    chosen = choose(pbuffer_es3 + pairs)
    if chosen is None:
        check("eglChooseConfig %s" % name, False)
        continue
    ids = [attrib(c, EGL_CONFIG_ID) for c in chosen]
    print("same: choose %s: %s" % (name, ids))
    asked = dict(zip(pairs[0::2], pairs[1::2]))
    at_least = all(attrib(c, k) >= v for c in chosen for k, v in asked.items())
    check("eglChooseConfig %s gives configs with at least the sizes asked (%d)" % (name, len(chosen)),
          len(chosen) > 0 and at_least)

rgba8 = choose(pbuffer_es3 + requests["rgba8 d24 s8"])[0]
if section != "sync":
    print("same: rgba8 d24 s8 first: %s" % [attrib(rgba8, a) for a in (RED, GREEN, BLUE, ALPHA, DEPTH, STENCIL)])
    check("the first RGBA8 D24S8 config has those sizes",
          [attrib(rgba8, a) for a in (RED, GREEN, BLUE, ALPHA, DEPTH, STENCIL)] == [8, 8, 8, 8, 24, 8])
    check("an unknown attribute is EGL_BAD_ATTRIBUTE",
          choose([0x1234, 1]) is None and error() == EGL_BAD_ATTRIBUTE)
    check("an unknown config is EGL_BAD_CONFIG", attrib(vp(0x7fff0000), RED) is None and error() == EGL_BAD_CONFIG)
    # A pbuffer renders in its config: a depth-less RGB565 request gets a surface
    # without depth (the same sizes as natively, whichever config sorts first).
    egl.eglCreatePbufferSurface.restype = vp
    egl.eglCreatePbufferSurface.argtypes = [vp, vp, ctypes.POINTER(EGLint)]
    egl.eglMakeCurrent.argtypes = [vp, vp, vp, vp]
    egl.eglCreateContext.argtypes = [vp, vp, vp, ctypes.POINTER(EGLint)]
    small = choose(pbuffer_es3 + [RED, 5, GREEN, 6, BLUE, 5, DEPTH, 0])[0]
    surface = egl.eglCreatePbufferSurface(dpy, small, (EGLint * 5)(0x3057, 4, 0x3056, 4, 0x3038))
    pctx = egl.eglCreateContext(dpy, small, None, (EGLint * 3)(0x3098, 3, 0x3038))
    if surface and pctx and egl.eglMakeCurrent(dpy, surface, surface, pctx):
        sizes = []
        for pname in (0x0D52, 0x0D53, 0x0D54, 0x0D56):  # GL_RED/GREEN/BLUE/DEPTH_BITS
            v = ctypes.c_int()
            gl.glGetIntegerv(pname, ctypes.byref(v))
            sizes.append(v.value)
        print("same: pbuffer of the rgb565 request renders with bits %s" % sizes)
        check("that pbuffer has no depth buffer", sizes[3] == 0)
        egl.eglMakeCurrent(dpy, None, None, None)
    else:
        check("a pbuffer in the rgb565 config: 0x%x" % error(), False)
if section == "configs":
    egl.eglTerminate(dpy)
    print("failures: %d" % len(failures))
    sys.exit(1 if failures else 0)

# ---- fence syncs
check("EGL_KHR_fence_sync is offered", "EGL_KHR_fence_sync" in extensions)
egl.eglBindAPI(0x30A0)
ctx = egl.eglCreateContext(dpy, rgba8, None, (EGLint * 3)(0x3098, 3, EGL_NONE))
if not ctx:
    sys.exit("eglCreateContext failed: 0x%x" % error())

no_attribs = (EGLAttrib * 1)(EGL_NONE)
check("a fence without a current context is EGL_BAD_MATCH",
      not egl.eglCreateSync(dpy, EGL_SYNC_FENCE, no_attribs) and error() == EGL_BAD_MATCH)
if not egl.eglMakeCurrent(dpy, None, None, vp(ctx)):
    sys.exit("eglMakeCurrent failed: 0x%x" % error())
gl.glClearColor(ctypes.c_float(0.5), ctypes.c_float(0.5), ctypes.c_float(0.5), ctypes.c_float(1.0))
gl.glFlush()

sync = egl.eglCreateSync(dpy, EGL_SYNC_FENCE, no_attribs)
check("eglCreateSync makes a fence", bool(sync) and error() == EGL_SUCCESS)
check("eglClientWaitSync is satisfied",
      egl.eglClientWaitSync(dpy, vp(sync), 0x1, EGL_FOREVER) == EGL_CONDITION_SATISFIED)
value = EGLAttrib()
for name, want in [(EGL_SYNC_TYPE, EGL_SYNC_FENCE), (EGL_SYNC_STATUS, EGL_SIGNALED),
                   (EGL_SYNC_CONDITION, EGL_SYNC_PRIOR_COMMANDS_COMPLETE)]:
    ok = egl.eglGetSyncAttrib(dpy, vp(sync), name, ctypes.byref(value))
    check("eglGetSyncAttrib 0x%x = 0x%x" % (name, want), ok == 1 and value.value == want)
check("an unknown sync attribute is EGL_BAD_ATTRIBUTE",
      not egl.eglGetSyncAttrib(dpy, vp(sync), 0x3057, ctypes.byref(value)) and error() == EGL_BAD_ATTRIBUTE)
if "EGL_KHR_wait_sync" in extensions:
    check("eglWaitSync", egl.eglWaitSync(dpy, vp(sync), 0) == 1)
    check("eglWaitSync with flags is EGL_BAD_PARAMETER",
          egl.eglWaitSync(dpy, vp(sync), 1) == 0 and error() == EGL_BAD_PARAMETER)
check("eglDestroySync", egl.eglDestroySync(dpy, vp(sync)) == 1 and error() == EGL_SUCCESS)

# The KHR names, through eglGetProcAddress, with EGLint attributes.
KHR_CREATE = ctypes.CFUNCTYPE(vp, vp, ctypes.c_uint, ctypes.POINTER(EGLint))
KHR_WAIT = ctypes.CFUNCTYPE(EGLint, vp, vp, EGLint, ctypes.c_uint64)
KHR_ATTRIB = ctypes.CFUNCTYPE(ctypes.c_uint, vp, vp, EGLint, ctypes.POINTER(EGLint))
KHR_DESTROY = ctypes.CFUNCTYPE(ctypes.c_uint, vp, vp)
procs = {name: egl.eglGetProcAddress(name.encode()) for name in
         ["eglCreateSyncKHR", "eglClientWaitSyncKHR", "eglGetSyncAttribKHR", "eglDestroySyncKHR"]}
check("eglGetProcAddress finds the KHR sync functions", all(procs.values()))
if all(procs.values()):
    create = KHR_CREATE(procs["eglCreateSyncKHR"])
    wait = KHR_WAIT(procs["eglClientWaitSyncKHR"])
    get = KHR_ATTRIB(procs["eglGetSyncAttribKHR"])
    destroy = KHR_DESTROY(procs["eglDestroySyncKHR"])
    sync = create(dpy, EGL_SYNC_FENCE, None)
    check("eglCreateSyncKHR makes a fence", bool(sync))
    check("eglClientWaitSyncKHR is satisfied", wait(dpy, vp(sync), 0, EGL_FOREVER) == EGL_CONDITION_SATISFIED)
    small = EGLint()
    check("eglGetSyncAttribKHR writes an EGLint",
          get(dpy, vp(sync), EGL_SYNC_STATUS, ctypes.byref(small)) == 1 and small.value == EGL_SIGNALED)
    check("eglDestroySyncKHR", destroy(dpy, vp(sync)) == 1)
    check("a destroyed sync is EGL_BAD_PARAMETER",
          wait(dpy, vp(sync), 0, 0) == 0 and error() == EGL_BAD_PARAMETER)
    bad = (EGLint * 3)(EGL_SYNC_STATUS, EGL_SIGNALED, EGL_NONE)
    check("a fence with attributes is EGL_BAD_ATTRIBUTE",
          not create(dpy, EGL_SYNC_FENCE, bad) and error() == EGL_BAD_ATTRIBUTE)
    check("an unknown sync type is EGL_BAD_ATTRIBUTE", not create(dpy, 0x1234, None) and error() == EGL_BAD_ATTRIBUTE)

# ---- per-thread errors, reset when read
check("a failed call sets the error", not egl.eglDestroySync(dpy, vp(0x10)))
seen = []
worker = threading.Thread(target=lambda: seen.append(egl.eglGetError()))
worker.start()
worker.join()
check("another thread does not see this thread's error", seen == [EGL_SUCCESS])
check("the error is this thread's", error() == EGL_BAD_PARAMETER)
check("and reset once read", error() == EGL_SUCCESS)
egl.eglDestroySync(dpy, vp(0x10))
egl.eglQueryString(dpy, 0x3053)
check("a success after a failure leaves EGL_SUCCESS", error() == EGL_SUCCESS)

egl.eglMakeCurrent(dpy, None, None, None)
egl.eglDestroyContext(dpy, vp(ctx))
egl.eglTerminate(dpy)
print("failures: %d" % len(failures))
sys.exit(1 if failures else 0)
