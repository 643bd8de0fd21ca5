#!/usr/bin/env bash
# Installs what glwire's build, demo and tests need on Debian or Ubuntu, and nothing
# that is already there. Safe to run any number of times; says what it installs.
set -euo pipefail

# Mesa's EGL/GLES (the host driver the render server uses, llvmpipe without a GPU),
# libglvnd's dispatch libraries (what programs link), and the tools the build uses.
PACKAGES=(
    libegl1          # libglvnd libEGL
    libgles2         # libglvnd libGLESv2
    libegl-mesa0     # Mesa's EGL vendor (50_mesa.json)
    libgl1-mesa-dri  # Mesa's drivers, llvmpipe among them
    pkg-config
    python3          # the tests' unmodified GLES program (tests/egl_clear.py)
    xvfb             # a real X server for the window tests (client/tests/x11_present.rs, glwire/tests/window.rs)
    libx11-6         # Xlib, which tests/egl_window.py (an unmodified X11 program) calls
)

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found: install Rust first (https://rustup.rs), then run this again" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all system packages present (${PACKAGES[*]})"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${missing[*]}, and this is not a Debian/Ubuntu system (no apt-get): install their equivalents by hand" >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "setup: missing ${missing[*]}; run as root or install sudo" >&2
        exit 1
    fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
