//! libEGL_glwire: the libglvnd EGL vendor library. `extern "C"` shims only, each one
//! panic-free; the logic behind them lives in `client`.
