#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each — default
# 20, the bounded run CI makes — starting from the seed corpora in fuzz/corpus, and
# fails if any target finds something: a panic or crash, an input slower than
# FUZZ_TIMEOUT, or memory past FUZZ_RSS_MB. Prints each target's executions as a table.
#
# Stable Rust: built with `--sanitizer none` (the address sanitizer needs nightly), in
# release mode with debug assertions and overflow checks on. Installs cargo-fuzz when
# it is missing. New inputs the fuzzer finds go to fuzz/corpus-work/TARGET, crashing
# ones to fuzz/artifacts/TARGET, logs to fuzz/logs (none of them committed).
#
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   FUZZ_RSS_MB    memory limit per target process (default 2048)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
rss=${FUZZ_RSS_MB:-2048}
per_input=${FUZZ_TIMEOUT:-10}
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

cd fuzz
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
echo "fuzz.sh: building ${targets[*]} (stable, --sanitizer none)"
# Built once, then the binaries run as they are: sources changing meanwhile do not
# change what is measured.
cargo fuzz build -O -a -s none
bin_dir=target/$(rustc -vV | sed -n 's/^host: //p')/release

mkdir -p corpus-work logs
failed=()
rows=()
for target in "${targets[@]}"; do
    mkdir -p "corpus-work/$target" "corpus/$target" "artifacts/$target"
    log="logs/$target.log"
    echo "fuzz.sh: $target for ${seconds}s"
    set +e
    # The first corpus directory receives what the fuzzer finds; the seeds stay as
    # they are.
    "$bin_dir/$target" "corpus-work/$target" "corpus/$target" \
        -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" -rss_limit_mb="$rss" \
        -timeout="$per_input" -print_final_stats=1 > "$log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$( (grep -Eo '^#[0-9]+[[:space:]]+DONE[[:space:]]+cov: [0-9]+' "$log" || true) | grep -Eo '[0-9]+$' | tail -1 || true)
    if [ -z "$execs" ]; then
        # No final stats (it crashed): the last status line's count.
        execs=$( (grep -Eo '^#[0-9]+' "$log" || true) | tail -1 | tr -d '#')
    fi
    if [ "$status" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $status)"
        failed+=("$target")
        echo "fuzz.sh: $target found something; from its log ($PWD/$log):" >&2
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written|Base64' "$log" >&2 || tail -30 "$log" >&2
    fi
    rows+=("$(printf '%-16s %14s %10s %8s  %s' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result")")
done

echo
printf '%-16s %14s %10s %8s  %s\n' target executions "execs/s" coverage result
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: found something in ${failed[*]}: the inputs are in fuzz/artifacts/" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets fuzzed for ${seconds}s each, nothing found"
