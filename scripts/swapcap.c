/*
 * swapcap: an LD_PRELOAD shim that writes every frame a program presents with
 * eglSwapBuffers as $SWAPCAP_DIR/frame-NNNNNN.ppm (binary P6, RGB, rows top-down,
 * numbered from 1), read from the back buffer just before the real swap. It is the
 * native counterpart of `glwire run --capture DIR --every 1` (scripts/glmark2.sh
 * compares the two). Without SWAPCAP_DIR it only passes the calls through.
 *
 * Built without any -dev package (no EGL/GLES headers, no libEGL.so link symlink):
 *   gcc -shared -fPIC -O2 -o swapcap.so swapcap.c -ldl
 * so the few EGL/GL types, enums and prototypes it needs are declared here, and the
 * libraries are opened at run time (libEGL.so.1, libGLESv2.so.2: libglvnd's, which
 * dispatch to whichever vendor owns the current context).
 *
 * Why it also wraps dlsym: a program that links libEGL calls eglSwapBuffers through
 * its PLT, which LD_PRELOAD's definition below catches (the real one is found with
 * dlsym(RTLD_NEXT)). glmark2 does not: its glad loader dlopen()s libEGL.so.1 and
 * asks dlsym(handle, "eglSwapBuffers"), which searches only that library's scope and
 * never sees a preloaded one. So dlsym answers "eglSwapBuffers" (and
 * "eglGetProcAddress", whose answer for "eglSwapBuffers" is wrapped the same way)
 * with the hook here, remembering the real function it wraps. Every other name goes
 * to the real dlsym unchanged. (A dlsym(RTLD_NEXT, ...) made by the program itself
 * would be resolved relative to this shim; glmark2 makes none.)
 *
 * State it touches: GL_PACK_ALIGNMENT (set to 1 for tightly packed rows, restored),
 * and only when a framebuffer object is bound at swap time (none is, in glmark2) the
 * GL_FRAMEBUFFER binding, set to 0 for the read and restored. Nothing else is bound.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

typedef unsigned int EGLBoolean;
typedef int32_t EGLint;
typedef void *EGLDisplay;
typedef void *EGLSurface;
typedef unsigned int GLenum;
typedef int GLint;
typedef int GLsizei;
typedef unsigned int GLuint;

#define EGL_HEIGHT 0x3056
#define EGL_WIDTH 0x3057
#define GL_RGBA 0x1908
#define GL_UNSIGNED_BYTE 0x1401
#define GL_PACK_ALIGNMENT 0x0D05
#define GL_FRAMEBUFFER 0x8D40
#define GL_FRAMEBUFFER_BINDING 0x8CA6

typedef EGLBoolean (*swap_fn)(EGLDisplay, EGLSurface);
typedef void *(*gpa_fn)(const char *);
typedef EGLBoolean (*query_surface_fn)(EGLDisplay, EGLSurface, EGLint, EGLint *);
typedef void (*read_pixels_fn)(GLint, GLint, GLsizei, GLsizei, GLenum, GLenum, void *);
typedef void (*get_integerv_fn)(GLenum, GLint *);
typedef void (*pixel_storei_fn)(GLenum, GLint);
typedef void (*bind_framebuffer_fn)(GLenum, GLuint);
typedef void *(*dlsym_fn)(void *, const char *);

/* This shim's own exports (defined at the end). */
EGLBoolean eglSwapBuffers(EGLDisplay dpy, EGLSurface surface);
void *eglGetProcAddress(const char *name);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static swap_fn real_swap;    /* the eglSwapBuffers the hook calls */
static gpa_fn real_gpa;      /* the eglGetProcAddress the wrapper calls */
static unsigned long frames; /* frames presented so far (the file number) */

/* The real dlsym. glibc 2.34 moved it into libc (version GLIBC_2.34); older ones
 * have it as GLIBC_2.2.5 (x86-64's first version). dlvsym is not wrapped, so this
 * never comes back here. */
static void *call_real_dlsym(void *handle, const char *name) {
    static dlsym_fn real;
    if (!real) {
        real = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
        if (!real)
            real = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
        if (!real) {
            fprintf(stderr, "swapcap: cannot find the real dlsym\n");
            abort();
        }
    }
    return real(handle, name);
}

/* A symbol of a library opened once (RTLD_LOCAL: the program's own lookups are not
 * changed by it). */
static void *lib_sym(const char *lib, void **handle, const char *name) {
    if (!*handle)
        *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    return *handle ? call_real_dlsym(*handle, name) : NULL;
}

static void *egl_sym(const char *name) {
    static void *h;
    return lib_sym("libEGL.so.1", &h, name);
}

static void *gles_sym(const char *name) {
    static void *h;
    return lib_sym("libGLESv2.so.2", &h, name);
}

/* Reads the back buffer of `surface` (current on this thread: it is being swapped)
 * and writes it as the next frame file. Errors are reported, never fatal: the
 * program keeps running and the comparison notices the missing frame. */
static void capture(EGLDisplay dpy, EGLSurface surface, const char *dir) {
    static query_surface_fn query;
    static read_pixels_fn read_pixels;
    static get_integerv_fn get_integerv;
    static pixel_storei_fn pixel_storei;
    static bind_framebuffer_fn bind_framebuffer;
    if (!query) {
        query = (query_surface_fn)egl_sym("eglQuerySurface");
        read_pixels = (read_pixels_fn)gles_sym("glReadPixels");
        get_integerv = (get_integerv_fn)gles_sym("glGetIntegerv");
        pixel_storei = (pixel_storei_fn)gles_sym("glPixelStorei");
        bind_framebuffer = (bind_framebuffer_fn)gles_sym("glBindFramebuffer");
    }
    unsigned long n = ++frames;
    if (!query || !read_pixels || !get_integerv || !pixel_storei || !bind_framebuffer) {
        fprintf(stderr, "swapcap: frame %lu: EGL/GLES functions not found\n", n);
        return;
    }
    EGLint w = 0, h = 0;
    if (!query(dpy, surface, EGL_WIDTH, &w) || !query(dpy, surface, EGL_HEIGHT, &h) || w <= 0 || h <= 0) {
        fprintf(stderr, "swapcap: frame %lu: eglQuerySurface failed\n", n);
        return;
    }
    size_t row = (size_t)w * 4;
    unsigned char *rgba = malloc(row * (size_t)h);
    unsigned char *rgb = malloc((size_t)w * 3);
    if (!rgba || !rgb) {
        fprintf(stderr, "swapcap: frame %lu: out of memory\n", n);
        free(rgba);
        free(rgb);
        return;
    }
    GLint align = 4, fbo = 0;
    get_integerv(GL_PACK_ALIGNMENT, &align);
    get_integerv(GL_FRAMEBUFFER_BINDING, &fbo);
    if (fbo != 0)
        bind_framebuffer(GL_FRAMEBUFFER, 0);
    pixel_storei(GL_PACK_ALIGNMENT, 1);
    read_pixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    pixel_storei(GL_PACK_ALIGNMENT, align);
    if (fbo != 0)
        bind_framebuffer(GL_FRAMEBUFFER, (GLuint)fbo);

    char path[4096];
    snprintf(path, sizeof path, "%s/frame-%06lu.ppm", dir, n);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "swapcap: %s: %s\n", path, strerror(errno));
    } else {
        fprintf(f, "P6\n%d %d\n255\n", (int)w, (int)h);
        /* GL's rows are bottom-up; the file's (and glwire's PNGs') top-down. */
        for (EGLint y = h - 1; y >= 0; y--) {
            const unsigned char *src = rgba + (size_t)y * row;
            for (EGLint x = 0; x < w; x++) {
                rgb[x * 3 + 0] = src[x * 4 + 0];
                rgb[x * 3 + 1] = src[x * 4 + 1];
                rgb[x * 3 + 2] = src[x * 4 + 2];
            }
            fwrite(rgb, 3, (size_t)w, f);
        }
        if (fclose(f) != 0)
            fprintf(stderr, "swapcap: %s: %s\n", path, strerror(errno));
    }
    free(rgba);
    free(rgb);
}

static EGLBoolean hook_swap(EGLDisplay dpy, EGLSurface surface) {
    pthread_mutex_lock(&lock);
    if (!real_swap) {
        /* Called through the PLT before any dlsym: the next definition in the
         * global scope, or libglvnd's if the program opened libEGL privately. */
        real_swap = (swap_fn)call_real_dlsym(RTLD_NEXT, "eglSwapBuffers");
        if (!real_swap)
            real_swap = (swap_fn)egl_sym("eglSwapBuffers");
    }
    const char *dir = getenv("SWAPCAP_DIR");
    if (dir && *dir)
        capture(dpy, surface, dir);
    swap_fn swap = real_swap;
    pthread_mutex_unlock(&lock);
    if (!swap) {
        fprintf(stderr, "swapcap: the real eglSwapBuffers was not found\n");
        return 0;
    }
    return swap(dpy, surface);
}

static void *hook_gpa(const char *name) {
    pthread_mutex_lock(&lock);
    if (!real_gpa)
        real_gpa = (gpa_fn)egl_sym("eglGetProcAddress");
    gpa_fn gpa = real_gpa;
    pthread_mutex_unlock(&lock);
    void *p = gpa ? gpa(name) : NULL;
    if (p && p != (void *)eglSwapBuffers && name && strcmp(name, "eglSwapBuffers") == 0) {
        pthread_mutex_lock(&lock);
        if (!real_swap)
            real_swap = (swap_fn)p;
        pthread_mutex_unlock(&lock);
        return (void *)hook_swap;
    }
    return p;
}

/* Programs linked against libEGL call these through their PLT. */
EGLBoolean eglSwapBuffers(EGLDisplay dpy, EGLSurface surface) {
    return hook_swap(dpy, surface);
}

void *eglGetProcAddress(const char *name) {
    return hook_gpa(name);
}

/* Programs that dlopen libEGL find them through here (see the top comment). */
void *dlsym(void *restrict handle, const char *restrict name) {
    void *p = call_real_dlsym(handle, name);
    /* Our own definitions (dlsym(RTLD_DEFAULT, ...) finds them first) are not the
     * real functions: wrapping them would make the hook call itself. */
    if (!p || p == (void *)eglSwapBuffers || p == (void *)eglGetProcAddress)
        return p;
    if (strcmp(name, "eglSwapBuffers") == 0) {
        pthread_mutex_lock(&lock);
        if (!real_swap)
            real_swap = (swap_fn)p;
        pthread_mutex_unlock(&lock);
        return (void *)hook_swap;
    }
    if (strcmp(name, "eglGetProcAddress") == 0) {
        pthread_mutex_lock(&lock);
        if (!real_gpa)
            real_gpa = (gpa_fn)p;
        pthread_mutex_unlock(&lock);
        return (void *)hook_gpa;
    }
    return p;
}
