# Helpers sourced by the scripts in this directory.

# Prints a visible step header.
step() { printf '\n==> %s\n' "$*"; }

# Builds go to a target directory that survives fresh clones on the same
# machine (CI clones main anew every run), unless the caller chose one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/naas/target}"

# A test binary keeps the path of the checkout it was built from
# (env!("CARGO_MANIFEST_DIR")), and cargo does not rebuild it when the same
# sources sit in another checkout with older timestamps: it would read the
# other checkout's test data. So when another checkout used the target
# directory last, this checkout's sources are touched, so that cargo compiles its
# crates anew (dependencies and incremental caches stay).
naas_checkout_owns_target() {
  local root mark
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
  mark="$CARGO_TARGET_DIR/.naas-checkout"
  if [[ -f $mark && $(cat "$mark") != "$root" ]]; then
    step "$CARGO_TARGET_DIR was last used by $(cat "$mark"): rebuilding this checkout's crates"
    find "$root" -name target -prune -o -name .git -prune -o -name '*.rs' -exec touch {} +
  fi
  mkdir -p "$CARGO_TARGET_DIR"
  printf '%s' "$root" >"$mark"
}
naas_checkout_owns_target

# rustup's Wasm targets, installed once: wasm32-wasip2 for plugins,
# wasm32-unknown-unknown for the template sandbox (host/build.rs).
need_rust_wasm_target() {
  local t
  for t in wasm32-wasip2 wasm32-unknown-unknown; do
    if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
      step "rustup target add $t"
      rustup target add "$t"
    fi
  done
}

# Debian packages, installed once: `need_apt PKG...` runs one `apt-get update`
# and one install, only when some package is missing.
need_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    step "apt-get install ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# PyPI packages for the python3 on PATH, installed once: `need_pip PKG...`
# (import names equal the package names).
need_pip() {
  local missing=() p
  for p in "$@"; do
    python3 -c "import $p" 2>/dev/null || missing+=("$p")
  done
  if ((${#missing[@]})); then
    step "pip install ${missing[*]}"
    # A Debian-managed python3 refuses plain installs (PEP 668).
    python3 -m pip install --quiet "${missing[@]}" ||
      python3 -m pip install --quiet --break-system-packages "${missing[@]}"
  fi
}
