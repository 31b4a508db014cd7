#!/usr/bin/env bash
# Installs what switchboard needs to build and test, skipping whatever is already in place.
# Safe to run any number of times: a second run only checks, and takes seconds.
#
#   scripts/setup.sh app    toolchain for building and serving the app
#   scripts/setup.sh test   the above, plus Chromium and the Playwright packages (default)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Pinned tool versions. cargo-leptos 0.3.6 is the newest release that builds on rustc 1.95;
# `no_downloads` makes it use the tools on PATH instead of fetching binaries (no GitHub here).
CARGO_LEPTOS_VERSION=0.3.6
# The oldest wasm-opt we have seen accept rustc 1.95's WASM in a release build.
WASM_OPT_MIN=108

scope=${1:-test}
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Root runs apt directly; anyone else goes through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  log "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# --- Debian packages -----------------------------------------------------------------------
packages=()
wasm_opt_version() { wasm-opt --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1; }
if ! command -v wasm-opt >/dev/null || [ "$(wasm_opt_version)" -lt "$WASM_OPT_MIN" ]; then
  packages+=(binaryen)
fi
if [ "$scope" = test ] && ! [ -x /usr/bin/chromium ]; then
  packages+=(chromium)
fi
if [ ${#packages[@]} -gt 0 ]; then
  apt_install "${packages[@]}"
fi

# --- Rust target and cargo tools -----------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -qF " $CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes ~13 min on 2 cores)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly. No --locked: its own
# lockfile pins a crate version the registry no longer serves.
wasm_bindgen_want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
wasm_bindgen_have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$wasm_bindgen_have" != "$wasm_bindgen_want" ]; then
  log "installing wasm-bindgen-cli $wasm_bindgen_want (found: ${wasm_bindgen_have:-none})"
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_want" --force
fi

# --- Browser-test packages -----------------------------------------------------------------
if [ "$scope" = test ]; then
  # npm ci only when the lockfile changed since the last install (stamp inside node_modules).
  stamp=end2end/node_modules/.switchboard-lock-sha
  lock_sha=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sha" ]; then
    log "npm ci in end2end"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    echo "$lock_sha" > "$stamp"
  fi
fi

log "ready: $(cargo leptos --version), wasm-bindgen $wasm_bindgen_want, wasm-opt $(wasm_opt_version)$([ "$scope" = test ] && printf ', %s' "$(/usr/bin/chromium --version 2>/dev/null)")"
