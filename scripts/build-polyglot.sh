#!/usr/bin/env bash
# Builds the AccessPorts plugin written in Python (componentize-py) and in
# JavaScript (jco componentize) as WebAssembly components:
#
#   $CARGO_TARGET_DIR/polyglot/access_ports_py.wasm
#   $CARGO_TARGET_DIR/polyglot/access_ports_js.wasm
#
# Both use the Rust plugin's templates (plugins/access-ports/templates/*.j2,
# embedded at build time) and Rust's own Unicode tables (printed by
# scripts/polyglot/rust_chars.rs). Installs its tools when missing or of the
# wrong version (componentize-py from PyPI; jco from the committed
# package-lock.json with `npm ci`). Idempotent: a component is rebuilt only when
# its inputs (sources, templates, WIT, tool versions) changed; the hash of the
# inputs is kept next to it in `<name>.wasm.inputs`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source scripts/lib.sh

COMPONENTIZE_PY_VERSION=0.25.1
js_dir=plugins/access-ports-js
py_dir=plugins/access-ports-py

target_dir="$CARGO_TARGET_DIR"
[[ "$target_dir" == /* ]] || target_dir="$repo/$target_dir"
out="$target_dir/polyglot"
mkdir -p "$out"

# --- tools ------------------------------------------------------------------

py_scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
componentize_py="$py_scripts/componentize-py"
if [[ "$("$componentize_py" --version 2>/dev/null || true)" != "componentize-py $COMPONENTIZE_PY_VERSION" ]]; then
  step "pip install componentize-py==$COMPONENTIZE_PY_VERSION"
  python3 -m pip install --quiet "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

command -v node >/dev/null && command -v npm >/dev/null || need_apt nodejs npm
lock_hash="$(sha256sum "$js_dir/package-lock.json" | cut -d' ' -f1)"
stamp="$js_dir/node_modules/.naas-package-lock.sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  step "npm ci ($js_dir)"
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$stamp"
fi
jco="$repo/$js_dir/node_modules/.bin/jco"

# Rust's character classes ({:?} escaping, whitespace, controls).
gen="$out/gen"
mkdir -p "$gen"
rustc_version="$(rustc --version)"
chars_key="$(cat scripts/polyglot/rust_chars.rs <(echo "$rustc_version") | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$gen/rust_chars.txt" || "$(cat "$gen/rust_chars.key" 2>/dev/null)" != "$chars_key" ]]; then
  step "rustc scripts/polyglot/rust_chars.rs"
  rustc -O --edition 2024 scripts/polyglot/rust_chars.rs -o "$gen/rust_chars"
  "$gen/rust_chars" >"$gen/rust_chars.txt"
  echo "$chars_key" >"$gen/rust_chars.key"
fi

# --- builds -----------------------------------------------------------------

# inputs_hash VERSIONS FILE... : one hash of the tool versions and the files.
inputs_hash() {
  local versions="$1"
  shift
  {
    echo "$versions"
    for f in "$@"; do
      echo "== $f"
      cat "$f"
    done
  } | sha256sum | cut -d' ' -f1
}

common_inputs=(plugins/access-ports/templates/*.j2 wit/*.wit scripts/polyglot/rust_chars.rs
  scripts/polyglot/gen_modules.py scripts/build-polyglot.sh)

# up_to_date WASM HASH : whether WASM was built from inputs with HASH.
up_to_date() {
  [[ -f "$1" && -f "$1.inputs" && "$(cat "$1.inputs")" == "$2" ]]
}

# stage DIR : a fresh build directory.
stage() {
  rm -rf "$1"
  mkdir -p "$1"
}

py_wasm="$out/access_ports_py.wasm"
mapfile -t py_sources < <(find "$py_dir" -name '*.py' -not -path '*/__pycache__/*' | sort)
py_hash="$(inputs_hash "$COMPONENTIZE_PY_VERSION $(python3 --version) $rustc_version" "${py_sources[@]}" "${common_inputs[@]}")"
if up_to_date "$py_wasm" "$py_hash"; then
  echo "up to date: $py_wasm"
else
  step "componentize-py: $py_wasm"
  build="$out/build-py"
  stage "$build"
  cp -r "$py_dir/app.py" "$py_dir/access_ports" "$build/"
  rm -rf "$build/access_ports/__pycache__"
  python3 scripts/polyglot/gen_modules.py plugins/access-ports/templates "$gen/rust_chars.txt" \
    "$build/access_ports" "$build"
  # The bindings, for reading and type-checking only: componentize-py
  # generates its own copy while building.
  "$componentize_py" -d wit -w plugin bindings "$build/bindings" >/dev/null
  "$componentize_py" -d wit -w plugin componentize app -p "$build" -o "$py_wasm.tmp" >/dev/null
  mv "$py_wasm.tmp" "$py_wasm"
  echo "$py_hash" >"$py_wasm.inputs"
fi

js_wasm="$out/access_ports_js.wasm"
mapfile -t js_sources < <(find "$js_dir/src" -name '*.js' | sort)
js_hash="$(inputs_hash "$(node --version) $rustc_version" "${js_sources[@]}" "$js_dir/package-lock.json" \
  "$js_dir/bundle.config.js" "${common_inputs[@]}")"
if up_to_date "$js_wasm" "$js_hash"; then
  echo "up to date: $js_wasm"
else
  step "jco componentize: $js_wasm"
  build="$out/build-js"
  stage "$build"
  cp "${js_sources[@]}" "$build/"
  python3 scripts/polyglot/gen_modules.py plugins/access-ports/templates "$gen/rust_chars.txt" \
    "$build" "$build"
  rm -f "$build/_templates.py" "$build/_unicode.py"
  # --bundle: jco hands the engine one module, so the `./x.js` imports are
  # bundled first. --disable all: no WASI features (stdio, random, clocks,
  # http), so the component imports only what the engine itself needs.
  "$jco" componentize "$build/app.js" --bundle --bundle-config "$js_dir/bundle.config.js" \
    --wit wit --world-name plugin \
    --disable all -o "$js_wasm.tmp" >/dev/null
  mv "$js_wasm.tmp" "$js_wasm"
  echo "$js_hash" >"$js_wasm.inputs"
fi

for wasm in "$py_wasm" "$js_wasm"; do
  printf '%s\t%s bytes\n' "$wasm" "$(wc -c <"$wasm" | tr -d ' ')"
done
