#!/usr/bin/env bash
# Every test: unit and property tests of each crate, the generated-code drift check
# (xtask), the coverage report's round trip of every command, and a bounded run of
# every fuzz target (20 s each; it must find nothing). Ends with one line,
# `tests: N passed, M failed`, summed over every test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo xtask coverage | tail -n 3
bash scripts/fuzz.sh 20
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
