#!/usr/bin/env bash
# Builds the plugin as a WebAssembly component with componentize-py: build/__CRATE__.wasm
set -euo pipefail
cd "$(dirname "$0")"
version=0.25.1
if ! python3 -m pip show componentize-py 2>/dev/null | grep -qx "Version: $version"; then
  python3 -m pip install --quiet --root-user-action=ignore "componentize-py==$version" >&2
fi
componentize_py="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/componentize-py"
mkdir -p build
# The template becomes a module so that the component carries it.
python3 -c 'import json,sys; t=open("templates/config.j2",encoding="utf-8").read(); open("_template.py","w").write("TEMPLATE = "+json.dumps(t)+"\n")'
"$componentize_py" -d wit -w plugin componentize app -o build/__CRATE__.wasm >&2
echo build/__CRATE__.wasm
