#!/usr/bin/env bash
# Records real glwire sessions — `glwire demo`'s program and a few piglit GLES tests —
# and turns them into seeds under fuzz/corpus (decode_validate and control).
#
# Each program runs under `glwire run` against a real `glwire serve` (host Mesa)
# through fuzz/record/proxy.py, which passes everything through but makes the client
# send its command stream on the socket (SubmitCommands), where it can be recorded.
# Needs what `glwire demo` needs (scripts/setup.sh) and, for the piglit part, piglit
# (Debian package `piglit`; skipped with a note when missing).
#
# Usage: bash fuzz/record/record.sh [CORPUS_DIR]   (default fuzz/corpus)
# GLWIRE=path/to/glwire uses that build (with its libEGL_glwire.so beside it) instead
# of building target/release/glwire.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=$(realpath -m "${1:-fuzz/corpus}")
if [ -z "${GLWIRE:-}" ]; then
    cargo build --release -q -p glwire -p icd
fi
glwire=$(realpath "${GLWIRE:-target/release/glwire}")
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -m 700 "$work/srv"
"$glwire" serve --socket "$work/srv/gpu0" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do [ -S "$work/srv/gpu0" ] && break; sleep 0.1; done
[ -S "$work/srv/gpu0" ] || { cat "$work/server.log" >&2; exit 1; }

# record NAME COMMAND...: one program through the proxy, then split into seeds.
record() {
    local name=$1; shift
    local out="$work/rec-$name" proxy
    python3 fuzz/record/proxy.py "$work/proxy.sock" "$work/srv/gpu0" "$out" 2> "$work/proxy.log" &
    proxy=$!
    for _ in $(seq 50); do [ -S "$work/proxy.sock" ] && break; sleep 0.1; done
    if timeout 120 "$glwire" run --socket "$work/proxy.sock" -- "$@" > "$work/$name.log" 2>&1; then
        status=ok
    else
        status="exit $?"
    fi
    kill "$proxy" 2>/dev/null || true
    wait "$proxy" 2>/dev/null || true
    rm -f "$work/proxy.sock"
    python3 fuzz/record/split.py "$out" "$name" "$corpus"
    echo "record: $name ($status): $(cat "$out"/*.c2s | wc -c) bytes to the server"
}

record demo "$glwire" demo-client --out "$work/demo.png" --frames 3 --size 64

piglit=/usr/lib/x86_64-linux-gnu/piglit
if [ -d "$piglit/bin" ]; then
    export PIGLIT_PLATFORM=surfaceless_egl
    # Each line: a test binary and its arguments (as piglit's quick profile runs it).
    while read -r test args; do
        if [ -x "$piglit/bin/$test" ]; then
            # shellcheck disable=SC2086 # the arguments are words
            record "$test" "$piglit/bin/$test" $args -auto -fbo
        fi
    done <<'TESTS'
arb_viewport_array-viewport-indices_gles3
arb_texture_view-texsubimage-levels_gles3
bufferstorage-persistent_gles3 draw
draw-vertices-half-float_gles2
khr_debug-object-label_gles3
invalid-es3-queries_gles2
minmax_gles2
ext_transform_feedback-structs_gles3 basic-struct run
fbo_discard_gles2
khr_compressed_astc-basic_gles2
arb_base_instance-drawarrays_gles3
TESTS
    for shader in \
        glsl-es-3.10/execution/cs-image-atomic-if-else.shader_test \
        glsl-es-3.10/execution/fs-simple-atomic-counter-inc-dec-read.shader_test \
        glsl-es-3.00/execution/varying-struct-copy-uniform-vs.shader_test \
        oes_geometry_shader/execution/nonuniform-vertex-count.shader_test; do
        name=$(basename "$shader" .shader_test)
        if [ -f "$piglit/tests/spec/$shader" ]; then
            record "$name" "$piglit/bin/shader_runner_gles3" "$piglit/tests/spec/$shader" -auto -fbo
        fi
    done
else
    echo "record: piglit is not installed; recorded the demo only"
fi
echo "record: $(ls "$corpus/decode_validate" | wc -l) decode_validate and $(ls "$corpus/control" | wc -l) control seeds"
