#!/usr/bin/env bash
# Load: CLIENTS programs (default 32) render at the same time through one render server
# for SECONDS (default 300). Each client loops `glwire run -- glwire demo-client` (a GLES 3
# program: a rotating triangle, its last frame written as PNG), so sessions open and close
# all the time (each run is two sessions: `glwire run`'s probe of the socket, then the
# program's); LONG of them (default 2) render 100 times the frames per run, so their
# sessions stay open 2-3 times as long and stream far more commands. Every run must exit
# 0 and write the image a native run (host Mesa, no glwire) wrote at the start, byte for
# byte (the demo's PNG encoding is deterministic: two native runs are compared first).
#
# Meanwhile the server's RSS and thread count are sampled every second and printed every
# 10 s. At the end: runs, failures, RSS after the first wave / max / at the end, and
# whether it stayed bounded:
#   - leaving out a warm-up (the first fifth of the run, at most 60 s: glibc's malloc
#     arenas, 16 on 2 cores, fill while sessions come and go on fresh threads, and RSS
#     climbs 15-20 % in the first minute before it levels), the max RSS over the second
#     half of the rest is at most the max over its first half plus 10 % (a leak per
#     session would keep it climbing), and
#   - after every client has left, RSS is at most that first half's max plus 10 % (what
#     the sessions held was not piled up; glibc keeps much of the freed memory mapped, so
#     it does not go back to the idle figure);
# and the server must be left with no glwire-context or glwire-session thread, and the
# file descriptors it had before the first client.
#
# Exit status non-zero on a failed run, a wrong image, a server that died, threads or
# descriptors left behind, or unbounded RSS. Logs of failed runs and the server's log
# stay in the work directory printed at the start (removed when everything passed,
# unless LOAD_KEEP=1).
#
# Environment: LOAD_FRAMES (frames per short run, default 300), LOAD_LONG (long-lived
# clients, default 2), LOAD_LONG_FRAMES (default 30000; Mesa's llvmpipe holds memory for
# every frame until the read-back at the end, natively too — 5 million frames reach
# 1.2 GB — so many more make RSS swing with where the long runs are), LOAD_NO_BUILD=1
# (use the release binaries as they are; by default `cargo build --release -p glwire -p
# icd` runs first, which does nothing when they are up to date), LOAD_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
clients=${1:-32}
seconds=${2:-300}
frames=${LOAD_FRAMES:-300}
long=${LOAD_LONG:-2}
long_frames=${LOAD_LONG_FRAMES:-30000}
size=64
(( long <= clients )) || long=$clients
bin=$root/target/release/glwire
lib=$root/target/release/libEGL_glwire.so
if [[ ${LOAD_NO_BUILD:-} != 1 || ! -x $bin || ! -f $lib ]]; then
    cargo build --release -p glwire -p icd
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/glwire-load.XXXXXX")
chmod 700 "$work"
mkdir -m 700 "$work/glwire" "$work/out" "$work/results" "$work/logs"
socket=$work/glwire/gpu0
echo "load.sh: $clients clients ($long long-lived) for $seconds s; work directory $work"

server=
client_pids=()
passed=0
cleanup() {
    local pid
    for pid in "${client_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" 2>/dev/null || true
    fi
    if (( passed )) && [[ ${LOAD_KEEP:-} != 1 ]]; then
        rm -rf "$work"
    else
        echo "load.sh: logs kept in $work (server log: $work/server.log)"
    fi
}
trap cleanup EXIT

# References, rendered natively once: the images every run through glwire must write.
native() {
    EGL_PLATFORM=surfaceless __EGL_VENDOR_LIBRARY_FILENAMES=/usr/share/glvnd/egl_vendor.d/50_mesa.json \
        "$bin" demo-client --frames "$1" --size "$size" --out "$2" > "$work/logs/native-$1.log" 2>&1
}
native "$frames" "$work/ref-short.png"
native "$long_frames" "$work/ref-long.png"
native "$frames" "$work/ref-again.png"
if ! cmp -s "$work/ref-short.png" "$work/ref-again.png"; then
    echo "load.sh: two native runs wrote different PNG bytes; cannot compare by bytes" >&2
    exit 1
fi

RUST_LOG=${RUST_LOG:-info} "$bin" serve --socket "$socket" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
if [[ ! -S $socket ]]; then
    echo "load.sh: the render server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi

status_field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$server/status" 2>/dev/null || echo 0; }
named_threads() { cat /proc/"$server"/task/*/comm 2>/dev/null | grep -c "^$1" || true; }
fds() { ls "/proc/$server/fd" 2>/dev/null | wc -l; }
base_fds=$(fds)
base_threads=$(status_field Threads)
echo "load.sh: server pid $server: RSS $(status_field VmRSS) kB, $base_threads threads, $base_fds fds before any client"

# One client: runs until the deadline, one result line per run in results/client-K.
client() {
    local k=$1 n=$2 ref=$3 r=0 png log rc t0
    while (( EPOCHSECONDS < end )); do
        t0=${EPOCHREALTIME/./}
        png=$work/out/client-$k-run-$r.png
        log=$work/logs/client-$k-run-$r.log
        rc=0
        "$bin" run --socket "$socket" -- "$bin" demo-client --frames "$n" --size "$size" --out "$png" \
            > "$log" 2>&1 || rc=$?
        if (( rc != 0 )); then
            echo "$r FAIL exit status $rc (log $log)" >> "$work/results/client-$k"
        elif ! cmp -s "$png" "$ref"; then
            echo "$r FAIL wrong image $png (reference $ref; log $log)" >> "$work/results/client-$k"
        else
            echo "$r ok $(((${EPOCHREALTIME/./} - t0) / 1000)) ms" >> "$work/results/client-$k"
            rm -f "$png" "$log"
        fi
        r=$((r + 1))
    done
}

start=$EPOCHSECONDS
end=$((start + seconds))
for k in $(seq 0 $((clients - 1))); do
    if (( k < long )); then
        client "$k" "$long_frames" "$work/ref-long.png" &
    else
        client "$k" "$frames" "$work/ref-short.png" &
    fi
    client_pids+=($!)
done

# Result lines whose second word is $1 (ok or FAIL).
count() { cat "$work"/results/client-* 2>/dev/null | awk -v w="$1" '$2 == w { n++ } END { print n + 0 }'; }
# Samples: elapsed seconds, RSS kB, threads.
samples=$work/samples
: > "$samples"
first_wave_rss=
first_wave_at=
next_print=10
died=0
while true; do
    running=0
    for pid in "${client_pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=$((running + 1)); done
    if ! kill -0 "$server" 2>/dev/null; then
        died=1
        break
    fi
    (( running > 0 )) || break
    t=$((EPOCHSECONDS - start))
    rss=$(status_field VmRSS)
    threads=$(status_field Threads)
    echo "$t $rss $threads" >> "$samples"
    if [[ -z $first_wave_rss ]]; then
        # The first wave: every short-lived client has finished a run.
        waved=0
        for k in $(seq "$long" $((clients - 1))); do
            [[ -s $work/results/client-$k ]] && waved=$((waved + 1))
        done
        if (( waved == clients - long )); then
            first_wave_rss=$rss
            first_wave_at=$t
            echo "load.sh: first wave done at ${t} s: RSS $rss kB, $threads threads"
        fi
    fi
    if (( t >= next_print )); then
        next_print=$((next_print + 10))
        printf 'load.sh: %4d s  runs %6d  failed %4d  server RSS %7d kB  threads %4d  fds %4d  clients %d\n' \
            "$t" "$(count ok)" "$(count FAIL)" "$rss" "$threads" "$(fds)" "$running"
    fi
    sleep 1
done
elapsed=$((EPOCHSECONDS - start))
if (( died )); then
    # No point in the clients going on against no server.
    for pid in "${client_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
fi
for pid in "${client_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
client_pids=()
runs=$(count ok)
failed=$(count FAIL)

problems=()
if (( died )) || ! kill -0 "$server" 2>/dev/null; then
    wait "$server" && rc=0 || rc=$?
    server=
    problems+=("the render server DIED during the run (exit status $rc)")
    tail -n 30 "$work/server.log" >&2
else
    # Everything the sessions held goes away within a few seconds of the last client.
    for _ in $(seq 50); do
        (( $(named_threads glwire-context) == 0 && $(named_threads glwire-session) == 0 )) \
            && (( $(fds) <= base_fds )) && break
        sleep 0.1
    done
    end_rss=$(status_field VmRSS)
    end_threads=$(status_field Threads)
    left_contexts=$(named_threads glwire-context)
    left_sessions=$(named_threads glwire-session)
    end_fds=$(fds)
    (( left_contexts == 0 )) || problems+=("$left_contexts glwire-context threads left after every client left")
    (( left_sessions == 0 )) || problems+=("$left_sessions glwire-session threads left after every client left")
    (( end_fds <= base_fds )) || problems+=("$end_fds descriptors open after every client left (before: $base_fds)")
fi
if (( failed > 0 )); then
    problems+=("$failed failed runs")
    for f in "$work"/results/client-*; do awk -v c="${f##*/}" '$2 == "FAIL" { print c " run " $0 }' "$f"; done |
        head -n 10 >&2 || true
fi
(( runs > 0 )) || problems+=("no run finished")

max_rss=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$samples")
warm=$((elapsed / 5 < 60 ? elapsed / 5 : 60))
half=$(((warm + elapsed) / 2))
first_max=$(awk -v w="$warm" -v h="$half" 'BEGIN { m = 0 } $1 >= w && $1 < h && $2 > m { m = $2 } END { print m }' "$samples")
second_max=$(awk -v h="$half" 'BEGIN { m = 0 } $1 >= h && $2 > m { m = $2 } END { print m }' "$samples")
echo "load.sh: server RSS per minute (max / mean, MB):" \
    "$(awk '{ w = int($1 / 60); if ($2 > m[w]) m[w] = $2; s[w] += $2; n[w]++; if (w > last) last = w }
            END { for (w = 0; w <= last; w++) if (n[w]) printf "%s%.0f / %.0f", (w ? ", " : ""), m[w] / 1024, s[w] / n[w] / 1024 }' "$samples")"
# Run times in ms: median and max, of the short and of the long-lived clients.
durations() {
    local k
    for k in "$@"; do cat "$work/results/client-$k" 2>/dev/null || true; done |
        awk '$2 == "ok" { print $3 }' | sort -n |
        awk '{ a[NR] = $1 } END { if (NR) printf "%d runs, median %.1f s, max %.1f s", NR, a[int((NR + 1) / 2)] / 1000, a[NR] / 1000; else printf "no run" }'
}
echo "load.sh: $clients clients for ${elapsed} s: $runs runs passed, $failed failed"
echo "load.sh: short runs ($frames frames): $(durations $(seq "$long" $((clients - 1))));" \
    "long-lived ($long_frames frames): $( (( long > 0 )) && durations $(seq 0 $((long - 1))) || echo none)"
echo "load.sh: server RSS after the first wave ${first_wave_rss:-?} kB (at ${first_wave_at:-?} s), max $max_rss kB" \
    "(after a ${warm} s warm-up: first half $first_max kB, second half $second_max kB), at the end ${end_rss:-?} kB" \
    "with ${end_threads:-?} threads (${base_threads} before any client), ${end_fds:-?} fds (${base_fds} before)"
if [[ -z $first_wave_rss ]]; then
    problems+=("the first wave never finished")
else
    if (( second_max * 10 > first_max * 11 )); then
        problems+=("RSS kept growing: the second half's max $second_max kB is over the first half's $first_max kB + 10 %")
    fi
    if [[ -n ${end_rss:-} ]] && (( end_rss * 10 > first_max * 11 )); then
        problems+=("RSS at the end $end_rss kB is over the first half's max $first_max kB + 10 %")
    fi
fi
if (( ${#problems[@]} == 0 )); then
    echo "load.sh: RSS bounded; no context or session thread left; PASS"
    passed=1
    exit 0
fi
for p in "${problems[@]}"; do echo "load.sh: FAIL: $p" >&2; done
exit 1
