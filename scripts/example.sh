#!/usr/bin/env bash
# The main job on the bundled examples, no cluster needed: build the plugins and
# the host, then render the example services for the example devices.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

need_rust_wasm_target
scripts/build-plugins.sh >/dev/null
cargo build --locked --quiet -p naas
naas="$CARGO_TARGET_DIR/debug/naas"
wasm="$CARGO_TARGET_DIR/wasm32-wasip2/release"

step "naas describe --plugin access_ports.wasm"
"$naas" describe --plugin "$wasm/access_ports.wasm" | head -n 8

step "naas render --plugin access_ports.wasm -f examples/access-ports.yaml --devices examples/devices.yaml"
"$naas" render --plugin "$wasm/access_ports.wasm" -f examples/access-ports.yaml --devices examples/devices.yaml

step "naas render --plugin bgp_peering.wasm -f examples/bgp-peering.yaml --devices examples/devices.yaml"
"$naas" render --plugin "$wasm/bgp_peering.wasm" -f examples/bgp-peering.yaml --devices examples/devices.yaml
