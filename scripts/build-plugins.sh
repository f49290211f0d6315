#!/usr/bin/env bash
# Builds the Rust plugins (access-ports, bgp-peering, hostile) as WebAssembly
# components for wasm32-wasip2 and prints their paths and sizes.
#
# Idempotent. Respects CARGO_TARGET_DIR (default: <repo>/target).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

target_triple=wasm32-wasip2
plugins=(access-ports bgp-peering hostile)

if ! rustup target list --installed | grep -qx "$target_triple"; then
  echo "installing Rust target $target_triple" >&2
  rustup target add "$target_triple"
fi

packages=()
for p in "${plugins[@]}"; do
  packages+=(-p "$p")
done
cargo build --release --target "$target_triple" "${packages[@]}"

target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$repo/$target_dir" ;;
esac
out="$target_dir/$target_triple/release"

status=0
for p in "${plugins[@]}"; do
  wasm="$out/${p//-/_}.wasm"
  if [[ -f "$wasm" ]]; then
    printf '%s\t%s bytes\n' "$wasm" "$(wc -c <"$wasm" | tr -d ' ')"
  else
    echo "missing: $wasm" >&2
    status=1
  fi
done
exit "$status"
