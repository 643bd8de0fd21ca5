"""An unmodified GLES program drawing from client-side vertex arrays (no buffer bound:
GL reads the program's memory at draw time), through ctypes like tests/egl_clear.py.
Draws a full-screen quad in green with glDrawArrays and a red triangle with
glDrawElements from client-memory indices, reads pixels back, exits 0 when right."""
import ctypes
import sys

egl = ctypes.CDLL("libEGL.so.1")
gl = ctypes.CDLL("libGLESv2.so.2")
vp = ctypes.c_void_p
egl.eglGetDisplay.restype = vp
egl.eglCreateContext.restype = vp
gl.glCreateShader.restype = ctypes.c_uint
gl.glCreateProgram.restype = ctypes.c_uint

dpy = egl.eglGetDisplay(None)
if not egl.eglInitialize(vp(dpy), None, None):
    sys.exit("eglInitialize failed")
egl.eglBindAPI(0x30A0)
config, n = vp(), ctypes.c_int()
attribs = (ctypes.c_int * 3)(0x3040, 0x4, 0x3038)
egl.eglChooseConfig(vp(dpy), attribs, ctypes.byref(config), 1, ctypes.byref(n))
ctx = egl.eglCreateContext(vp(dpy), config, None, (ctypes.c_int * 3)(0x3098, 2, 0x3038))
if not ctx or not egl.eglMakeCurrent(vp(dpy), None, None, vp(ctx)):
    sys.exit("no context: 0x%x" % egl.eglGetError())

def shader(kind, src):
    s = gl.glCreateShader(kind)
    text = ctypes.c_char_p(src.encode())
    gl.glShaderSource(s, 1, ctypes.byref(text), None)
    gl.glCompileShader(s)
    return s

program = gl.glCreateProgram()
gl.glAttachShader(program, shader(0x8B31, "attribute vec2 pos; void main() { gl_Position = vec4(pos, 0.0, 1.0); }"))
gl.glAttachShader(program, shader(0x8B30, "precision mediump float; uniform vec4 color; void main() { gl_FragColor = color; }"))
gl.glBindAttribLocation(program, 0, b"pos")
gl.glLinkProgram(program)
gl.glUseProgram(program)
color = gl.glGetUniformLocation(program, b"color")

fbo, rb = ctypes.c_uint(), ctypes.c_uint()
gl.glGenFramebuffers(1, ctypes.byref(fbo))
gl.glBindFramebuffer(0x8D40, fbo)
gl.glGenRenderbuffers(1, ctypes.byref(rb))
gl.glBindRenderbuffer(0x8D41, rb)
gl.glRenderbufferStorage(0x8D41, 0x8058, 8, 8)
gl.glFramebufferRenderbuffer(0x8D40, 0x8CE0, 0x8D41, rb)
gl.glViewport(0, 0, 8, 8)

quad = (ctypes.c_float * 8)(-1, -1, 1, -1, -1, 1, 1, 1)
gl.glEnableVertexAttribArray(0)
gl.glVertexAttribPointer(0, 2, 0x1406, 0, 0, quad)
gl.glUniform4f(color, ctypes.c_float(0), ctypes.c_float(1), ctypes.c_float(0), ctypes.c_float(1))
gl.glDrawArrays(5, 0, 4)  # TRIANGLE_STRIP

# Lower-left triangle in red, by index, from client memory too.
tri = (ctypes.c_float * 6)(-1, -1, 1, -1, -1, 1)
indices = (ctypes.c_ushort * 3)(0, 1, 2)
gl.glVertexAttribPointer(0, 2, 0x1406, 0, 0, tri)
gl.glUniform4f(color, ctypes.c_float(1), ctypes.c_float(0), ctypes.c_float(0), ctypes.c_float(1))
gl.glDrawElements(4, 3, 0x1403, indices)

pixels = (ctypes.c_ubyte * (8 * 8 * 4))()
gl.glReadPixels(0, 0, 8, 8, 0x1908, 0x1401, pixels)
error = gl.glGetError()
low_left = list(pixels[0:4])
up_right = list(pixels[(7 * 8 + 7) * 4:(7 * 8 + 7) * 4 + 4])
print("lower left:", low_left, "upper right:", up_right, "error: 0x%x" % error)

# The attribute's pointer reads back as the program set it: its own memory, then an
# offset into a buffer.
pointer = vp()
gl.glGetVertexAttribPointerv(0, 0x8645, ctypes.byref(pointer))  # GL_VERTEX_ATTRIB_ARRAY_POINTER
client_pointer_ok = pointer.value == ctypes.addressof(tri)
buf = ctypes.c_uint()
gl.glGenBuffers(1, ctypes.byref(buf))
gl.glBindBuffer(0x8892, buf)
gl.glVertexAttribPointer(0, 2, 0x1406, 0, 0, vp(24))
gl.glGetVertexAttribPointerv(0, 0x8645, ctypes.byref(pointer))
offset_ok = pointer.value == 24
print("attribute pointer: client memory %s, buffer offset %s" % (client_pointer_ok, offset_ok))
egl.eglMakeCurrent(vp(dpy), None, None, None)
egl.eglTerminate(vp(dpy))
ok = low_left == [255, 0, 0, 255] and up_right == [0, 255, 0, 255] and error == 0
sys.exit(0 if ok and client_pointer_ok and offset_ok else 1)
