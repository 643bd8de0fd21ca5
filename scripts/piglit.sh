#!/usr/bin/env bash
# piglit's OpenGL ES tests twice in one run — natively against Mesa's vendor, then
# through glwire — and the two side by side (scripts/piglit_gles.py). Installs piglit
# (Debian package `piglit`, about 2 GB) if it is missing. Results go to OUT (default
# ./piglit-results).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-piglit-results}")
bash scripts/setup.sh
if ! command -v piglit >/dev/null 2>&1; then
    echo "piglit.sh: installing piglit"
    ${SUDO:-$( [ "$(id -u)" -ne 0 ] && echo sudo )} apt-get install -y -qq piglit binutils
fi
cargo build --release -p glwire -p icd
glwire="${CARGO_TARGET_DIR:-target}/release/glwire"
mkdir -p "$out"
python3 scripts/piglit_gles.py list > "$out/tests.txt"
echo "piglit.sh: $(wc -l < "$out/tests.txt") GLES tests"
run() {
    piglit run -p surfaceless_egl -c -j 2 --timeout 120 -l dummy -o --test-list "$out/tests.txt" quick "$1" > "$1.log" 2>&1 || true
}
echo "piglit.sh: native run"
__EGL_VENDOR_LIBRARY_FILENAMES=/usr/share/glvnd/egl_vendor.d/50_mesa.json run "$out/native"
echo "piglit.sh: through glwire"
# One render server for the whole run, started here so its survival can be checked:
# every test of the run is a client of it.
# The socket's directory must be private (mode 0700): serve refuses any other.
rm -rf "$out/server" && mkdir -m 700 "$out/server"
"$glwire" serve --socket "$out/server/gpu0" > "$out/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do [ -S "$out/server/gpu0" ] && break; sleep 0.1; done
if [ ! -S "$out/server/gpu0" ]; then
    echo "piglit.sh: the render server did not start:" >&2
    cat "$out/server.log" >&2
    exit 1
fi
"$glwire" run --socket "$out/server/gpu0" -- bash -c "$(declare -f run); out='$out'; run '$out/glwire'"
if kill -0 "$server" 2>/dev/null; then
    echo "render server: still running after the whole run (pid $server, log $out/server.log)"
    kill -TERM "$server"
    wait "$server" || true
else
    wait "$server"
    echo "render server: DIED during the run (exit status $?; log $out/server.log)"
fi
python3 scripts/piglit_gles.py compare "$out/native" "$out/glwire"
