#!/usr/bin/env bash
# Installs what switchboard needs to build and test, skipping whatever is already in place.
# Safe to run any number of times: a second run only checks, and takes seconds.
#
#   scripts/setup.sh app      toolchain for building and serving the app
#   scripts/setup.sh cluster  Postgres and Redis (Debian packages) for cluster mode, nothing else
#   scripts/setup.sh test     the app's toolchain, Postgres and Redis, Chromium, nginx and the
#                             Playwright packages (default)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/env.sh

# cargo-leptos 0.3.6 is the newest release that builds on rustc 1.95; `no_downloads` makes it use
# the tools on PATH instead of fetching binaries (nothing but the package registries is reachable).
CARGO_LEPTOS_VERSION=0.3.6

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

# npm ci in a folder only when its lockfile changed since the last install (stamp in node_modules).
npm_ci() {
  local dir=$1 stamp=$1/node_modules/.switchboard-lock-sha lock_sha
  lock_sha=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sha" ]; then
    log "npm ci in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    echo "$lock_sha" > "$stamp"
  fi
}

# --- Debian packages -----------------------------------------------------------------------
# Cluster mode's Postgres and Redis (scripts/cluster.sh, tests/cluster.rs and tests/store.rs start
# their own on loopback ports; the packages' own services are not used).
cluster_missing=()
if [ "$scope" = test ] || [ "$scope" = cluster ]; then
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || cluster_missing+=(postgresql)
  command -v redis-server >/dev/null || cluster_missing+=(redis-server)
fi
if [ "$scope" = cluster ]; then
  if [ ${#cluster_missing[@]} -gt 0 ]; then
    apt_install "${cluster_missing[@]}"
  fi
  exit 0
fi
if [ "$scope" = test ]; then
  missing=("${cluster_missing[@]}")
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # nginx in front of the server, for the deploy test (end2end/tests/nginx.spec.ts).
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  # Colour emoji for the browser (reactions in docs/screenshots/ are otherwise empty boxes).
  [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
fi

# --- wasm-opt ------------------------------------------------------------------------------
# binaryen from npm (tools/), first on PATH via scripts/env.sh. Debian's wasm-opt 108 accepts
# rustc 1.95's WASM but its output fails in the browser (WebAssembly.Table.set: invalid argument).
npm_ci tools

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
  npm_ci end2end
fi

log "ready: $(cargo leptos --version), wasm-bindgen $wasm_bindgen_want, $(wasm-opt --version)$([ "$scope" = test ] && printf ', %s' "$(/usr/bin/chromium --version 2>/dev/null)")"
