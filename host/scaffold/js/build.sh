#!/usr/bin/env bash
# Builds the plugin as a WebAssembly component with jco componentize: build/__CRATE__.wasm
set -euo pipefail
cd "$(dirname "$0")"
[ -x node_modules/.bin/jco ] || npm install --no-audit --no-fund --loglevel=error >&2
mkdir -p build
# The template becomes a module so that the bundled component carries it.
node -e 'const fs=require("fs");fs.writeFileSync("templates/config.j2.js","export default "+JSON.stringify(fs.readFileSync("templates/config.j2","utf8"))+";\n")'
npx jco componentize app.js --bundle --bundle-config bundle.config.js \
  --wit wit --world-name plugin --disable all -o build/__CRATE__.wasm >&2
echo build/__CRATE__.wasm
