#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs (idempotently),
# builds the Wasm plugins once (the Rust ones, and AccessPorts in Python and JavaScript),
# then runs every Rust test (unit, golden, hostile, CLI, polyglot) and the benchmarks in
# test mode (each bench body runs once; timings come from `cargo bench`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

need_rust_wasm_target
# Peers of the OCI tests (tests/oci.rs, host/benches/oci_load.rs): a registry
# (CNCF distribution), htpasswd and openssl for its auth + TLS variant, and oras.
need_apt docker-registry apache2-utils openssl
need_pip oras
scripts/build-plugins.sh
scripts/build-polyglot.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --all-targets --locked
