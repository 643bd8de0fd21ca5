#!/usr/bin/env bash
# glmark2-es2 natively against Mesa's vendor and through glwire in one run, under a
# private Xvfb, side by side:
#   1. performance: glmark2's default scene list at 640x480, each scene
#      GLMARK2_DURATION seconds (default 5), all scenes in one glmark2 process per
#      side, as a user runs it; per-scene FPS and the glmark2 Score of both sides;
#   2. frames: `glmark2-es2 --validate --frame-end swap` on both sides (one frame per
#      scene, 800x600), each presented frame captured — natively by the LD_PRELOAD
#      shim scripts/swapcap.c, through glwire by `glwire run --capture` — and
#      compared pixel by pixel (scripts/glmark2_compare.py states the tolerance),
#      with glmark2's own Validation result of both sides beside it.
# Exits non-zero, saying why, when a scene does not run through glwire, glwire's
# score is below 90 % of native's, or a frame does not match. Installs
# glmark2-es2-x11 and xvfb if missing. Results (logs, frames, summary.txt) go to OUT
# (default ./glmark2-results).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=$(realpath -m "${1:-glmark2-results}")
duration=${GLMARK2_DURATION:-5}
# Performance rounds per side (each about 33 x duration seconds).
rounds=${GLMARK2_ROUNDS:-1}
if ! [[ $duration =~ ^[0-9]+(\.[0-9]+)?$ && $rounds =~ ^[1-9][0-9]*$ ]]; then
    echo "glmark2.sh: GLMARK2_DURATION must be a number of seconds and GLMARK2_ROUNDS a positive integer" >&2
    exit 2
fi
start=$(date +%s)
bash scripts/setup.sh

need=()
command -v glmark2-es2 >/dev/null 2>&1 || need+=(glmark2-es2-x11)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "glmark2.sh: installing ${need[*]}"
    sudo=${SUDO:-$( [ "$(id -u)" -ne 0 ] && echo sudo || true )}
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Build only when the binaries are missing or predate `glwire run --capture`: other
# work may be building in the same target directory, and the release build is slow.
glwire=$repo/target/release/glwire
if [ ! -x "$glwire" ] || [ ! -e "$repo/target/release/libEGL_glwire.so" ] \
    || ! "$glwire" run --help 2>/dev/null | grep -q -- '--capture'; then
    echo "glmark2.sh: building the release binaries"
    cargo build --release -p glwire -p icd
fi

# Only this script's own files are replaced: OUT may be a directory with other things.
mkdir -p "$out"
rm -rf "$out/frames" "$out/server" "$out"/perf-*.log* "$out"/validate-*.log* "$out"/list.log* \
    "$out/load.txt" "$out/scenes.txt" "$out/xvfb.display"
summary=$out/summary.txt
: > "$summary"
# Everything worth keeping is printed once and copied into the summary.
say() { echo "$@" | tee -a "$summary"; }

# The native side must not pick glwire's vendor (or any other) from the environment.
native_env=(env -u LD_PRELOAD __EGL_VENDOR_LIBRARY_FILENAMES=/usr/share/glvnd/egl_vendor.d/50_mesa.json)
# A hung run must not hang the script: generous bounds, far above normal run times
# (a validation run takes seconds; the benchmark's bound is set from its length).
run_timeout=300

# The native-capture shim, built from source with no -dev package (it declares the
# few EGL/GL prototypes it needs and opens the libraries at run time).
gcc -shared -fPIC -O2 -Wall -o "$out/swapcap.so" scripts/swapcap.c -ldl -lpthread

# Our own X server on a free display (-displayfd picks one and writes its number),
# killed however the script ends.
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$out/xvfb.display" >"$out/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$out/xvfb.display" ] && break; sleep 0.1; done
if [ ! -s "$out/xvfb.display" ]; then
    echo "glmark2.sh: Xvfb did not start:" >&2
    cat "$out/xvfb.log" >&2
    exit 1
fi
export DISPLAY=:$(head -n1 "$out/xvfb.display")
echo "glmark2.sh: Xvfb on $DISPLAY; results in $out"

# One render server for every glwire run, started here (not `glwire run`'s private
# one) so its log is kept apart and its survival checked at the end. Its directory
# must be private (mode 0700): serve refuses any other.
mkdir -m 700 "$out/server"
"$glwire" serve --socket "$out/server/gpu0" > "$out/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 100); do [ -S "$out/server/gpu0" ] && break; sleep 0.1; done
if [ ! -S "$out/server/gpu0" ]; then
    echo "glmark2.sh: the render server did not start:" >&2
    cat "$out/server.log" >&2
    exit 1
fi
through_glwire=("$glwire" run --socket "$out/server/gpu0")

# glmark2's exit status is recorded, not fatal: a crash shows as missing scenes.
run_logged() {
    local log=$1; shift
    local status=0
    timeout --kill-after=10 "$run_timeout" "$@" > "$log" 2>&1 || status=$?
    echo "$status" > "$log.status"
    [ "$status" -eq 0 ] || echo "glmark2.sh: exit status $status: $* (log $log)"
}

# The scene list of a plain `glmark2-es2` run: --validate walks the same default list
# and names each benchmark by the options it sets, which is how the list spells them.
run_logged "$out/list.log" "${native_env[@]}" glmark2-es2 --validate
python3 scripts/glmark2_compare.py scenes "$out/list.log" > "$out/scenes.txt"
bench=()
while IFS= read -r s; do bench+=(-b "$s:duration=$duration"); done < "$out/scenes.txt"
nscenes=$(wc -l < "$out/scenes.txt")
echo "glmark2.sh: $nscenes scenes, ${duration} s each, 640x480"
run_timeout=$(awk -v n="$nscenes" -v d="$duration" 'BEGIN { printf "%d", 300 + 3 * n * d }')

# Rounds alternate native and glwire, so that a change in the machine's load (other
# work on a shared machine moves glmark2's figures by 2x) falls on both sides alike;
# with more than one, each figure is the side's best round (glmark2_compare.py).
t0=$(date +%s)
native_logs=() glwire_logs=()
for round in $(seq "$rounds"); do
    echo "load average before round $round native: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/load.txt"
    echo "glmark2.sh: performance, round $round/$rounds, native"
    run_logged "$out/perf-native-$round.log" "${native_env[@]}" glmark2-es2 --size 640x480 "${bench[@]}"
    native_logs+=("$out/perf-native-$round.log")
    echo "load average before round $round glwire: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/load.txt"
    echo "glmark2.sh: performance, round $round/$rounds, through glwire"
    run_logged "$out/perf-glwire-$round.log" "${through_glwire[@]}" -- glmark2-es2 --size 640x480 "${bench[@]}"
    glwire_logs+=("$out/perf-glwire-$round.log")
done
t2=$(date +%s)

# Frames: --validate draws one frame per scene; --frame-end swap makes that frame a
# presented one (glmark2's validation otherwise ends frames without swapping, and
# there would be nothing to capture). glmark2 still validates by reading pixels back.
mkdir -p "$out/frames/native" "$out/frames/glwire"
echo "glmark2.sh: frames, native (swapcap)"
run_logged "$out/validate-native.log" "${native_env[@]}" LD_PRELOAD="$out/swapcap.so" \
    SWAPCAP_DIR="$out/frames/native" glmark2-es2 --validate --frame-end swap
echo "glmark2.sh: frames, through glwire (glwire run --capture)"
run_logged "$out/validate-glwire.log" "${through_glwire[@]}" --capture "$out/frames/glwire" --every 1 \
    -- glmark2-es2 --validate --frame-end swap
t3=$(date +%s)

failures=()
# The shim must have seen every native frame, or the comparison is of nothing.
validated=$(grep -c 'Validation:' "$out/validate-native.log" || true)
captured=$(find "$out/frames/native" -name 'frame-*.ppm' | wc -l)
say "swapcap: $captured native frames captured for $validated validated scenes"
if [ "$captured" -eq 0 ] || [ "$captured" -ne "$validated" ]; then
    failures+=("the native capture shim captured $captured frames for $validated validated scenes")
fi

say ""
say "== performance: glmark2-es2 --size 640x480, ${duration} s per scene, $rounds round(s) ($((t2 - t0)) s) =="
say "$(nproc) CPUs; $(cat "$out/load.txt")"
# pipefail: the pipeline fails when the comparison does.
if ! python3 scripts/glmark2_compare.py perf "$out/scenes.txt" --native "${native_logs[@]}" --glwire "${glwire_logs[@]}" \
    | tee -a "$summary"; then
    failures+=("performance: see PERF above")
fi

say ""
say "== frames: glmark2-es2 --validate --frame-end swap, 800x600 ($((t3 - t2)) s) =="
if ! python3 scripts/glmark2_compare.py frames "$out/validate-native.log" "$out/validate-glwire.log" \
    "$out/frames/native" "$out/frames/glwire" "$out/frames/diff" | tee -a "$summary"; then
    failures+=("frames: see FRAMES above")
fi

# The server served every glwire run; it must still be up, and its log is where a
# refused command or a panic would show.
say ""
if kill -0 "$server" 2>/dev/null; then
    say "render server: still running after all glwire runs (log $out/server.log)"
else
    say "render server: DIED during the run (log $out/server.log)"
    failures+=("the render server died")
fi
if grep -qiE 'panic|error' "$out/server.log"; then
    say "render server log: $(grep -ciE 'panic|error' "$out/server.log") lines with panic/error, first:"
    grep -iE 'panic|error' "$out/server.log" | head -5 | tee -a "$summary"
fi
for side in native glwire; do
    for f in "$out"/perf-$side-*.log "$out"/validate-$side.log; do
        s=$(cat "$f.status")
        [ "$s" -eq 0 ] || { say "$(basename "$f"): glmark2 exit status $s"; [ $side = native ] || failures+=("$(basename "$f"): glmark2 exit status $s"); }
    done
done

say ""
say "total time: $(( $(date +%s) - start )) s"
if [ ${#failures[@]} -gt 0 ]; then
    say "VERDICT: FAIL"
    for f in "${failures[@]}"; do say "  - $f"; done
    exit 1
fi
say "VERDICT: PASS (every scene ran through glwire, score >= 90 % of native, frames match)"
