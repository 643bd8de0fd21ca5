#!/usr/bin/env bash
# The main job, for now: build everything, print the wire coverage report (every GLES
# 3.2 command's encoding, reply kind and a round trip of each, ending `covered N/358`),
# then run a private render server and measure the transport against its floors. The
# end-to-end demo replaces this once the server executes GL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --workspace
cargo run --quiet --release -p glwire -- info
cargo xtask coverage
cargo run --quiet --release -p glwire -- bench transport
