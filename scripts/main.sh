#!/usr/bin/env bash
# The main job: build everything, render the built-in GLES 3 scene through glwire
# (`glwire demo`: a real program, a private render server, host Mesa; the last frame
# lands in glwire-demo.png), then print the wire coverage report (ending
# `covered N/358`) and measure the transport against its floors.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --workspace
cargo run --quiet --release -p glwire -- info
cargo run --quiet --release -p glwire -- demo --out glwire-demo.png
cargo xtask coverage | tail -n 3
cargo run --quiet --release -p glwire -- bench transport
