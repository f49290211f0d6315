#!/usr/bin/env bash
# Builds the plugin as a WebAssembly component: target/wasm32-wasip2/release/__CRATE__.wasm
set -euo pipefail
cd "$(dirname "$0")"
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2
out="${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/__CRATE__.wasm"
echo "$out"
