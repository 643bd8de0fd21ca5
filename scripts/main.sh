#!/usr/bin/env bash
# The main job, for now: build everything, then print the wire coverage report (every
# GLES 3.2 command's encoding, reply kind and a round trip of each). It ends with
# `covered N/358`. The end-to-end demo replaces it once the render server lands.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --workspace
cargo run --quiet --release -p glwire -- info
cargo xtask coverage
