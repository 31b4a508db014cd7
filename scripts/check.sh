#!/usr/bin/env bash
# Sets up what is missing, then runs every check switchboard has, stopping at the first failure:
# formatting, clippy for both halves, the Rust test suite, and the browser tests against a
# release build (which also proves wasm-opt accepts the WASM).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
source scripts/env.sh

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
started=$(date +%s)

if [[ "${CI:-}" == "true" ]]; then
  # A CI machine builds once from scratch: incremental caches only cost disk there.
  export CARGO_INCREMENTAL=0
fi

step "cargo fmt --check"
cargo fmt --all --check

step "clippy: server (ssr)"
cargo clippy --features ssr --all-targets -- -D warnings

step "clippy: browser (hydrate, wasm32)"
cargo clippy --target wasm32-unknown-unknown --features hydrate --all-targets -- -D warnings

step "cargo test (ssr)"
cargo test --features ssr

if [[ "${CI:-}" == "true" ]]; then
  # The release build below shares nothing with the debug one; free its disk first.
  rm -rf target/debug
fi

step "browser tests: cargo leptos end-to-end --release"
# The server under test gets a throw-away database, and a log-in limit per address high enough
# for one browser registering many test users from 127.0.0.1.
e2e_dir=$(mktemp -d)
# When Playwright fails, cargo-leptos 0.3.6 exits without stopping the server it started, which
# then holds the port and answers the next run's browser with a stale build. Stop whatever this
# run started (found by its throw-away database in the environment) on the way out.
stop_e2e_servers() {
  local env pid
  for env in /proc/[0-9]*/environ; do
    if grep -qsF "$e2e_dir/e2e.db" "$env" 2>/dev/null; then
      pid=${env#/proc/}; pid=${pid%/environ}
      [ "$pid" != "$$" ] && kill "$pid" 2>/dev/null || true
    fi
  done
}
trap 'stop_e2e_servers; rm -rf "$e2e_dir"' EXIT
e2e_port=$(awk -F'"' '/^site-addr/ { split($2, a, ":"); print a[2] }' Cargo.toml)
if (exec 3<>"/dev/tcp/127.0.0.1/${e2e_port:-3000}") 2>/dev/null; then
  echo "127.0.0.1:${e2e_port:-3000} is already in use (a server left from an earlier run?): the" \
    "browser tests would talk to it instead of this build. Stop it and run again." >&2
  exit 1
fi
export SWITCHBOARD_BIN="$PWD/target/release/switchboard"
export SWITCHBOARD_DATABASE_PATH="$e2e_dir/e2e.db"
export SWITCHBOARD_AUTH_LOGIN_ATTEMPTS_PER_ADDRESS=10000
# `cargo leptos end-to-end` exits 0 when its own build fails (cargo-leptos 0.3.6 returns early
# without an error), so build first: `cargo leptos build` does fail on a failed build. The
# end-to-end run then finds everything built.
cargo leptos build --release --precompress
cargo leptos end-to-end --release --precompress

step "load generator: every scenario once, tiny (benchmarks are run by hand: BENCHMARKS.md)"
# Against the release server just built (a debug server is too slow for the slow scenario's
# volume); a run that loses or repeats a delivery, or does not evict the stalled reader, fails.
cargo build --release --features ssr --example loadgen
target/release/examples/loadgen --size tiny --server target/release/switchboard

step "load generator against a 3-node cluster, tiny (Postgres and Redis from scripts/cluster.sh)"
services_log=$(mktemp)
bash scripts/cluster.sh --nodes 0 >"$services_log" 2>&1 &
services_pid=$!
# (Every command in an EXIT trap must succeed: `set -e` applies there too, and a failing one
# would turn a passing run into exit 1.)
trap 'kill "$services_pid" 2>/dev/null || true; wait "$services_pid" 2>/dev/null || true; stop_e2e_servers; rm -rf "$e2e_dir" "$services_log"' EXIT
for _ in $(seq 300); do
  grep -q "ready (no nodes" "$services_log" && break
  kill -0 "$services_pid" 2>/dev/null || break
  sleep 0.2
done
database_url=$(grep -o 'postgres://[^ ]*' "$services_log" | head -1)
redis_url=$(grep -o 'redis://[^ ]*' "$services_log" | head -1)
if [[ -z "$database_url" || -z "$redis_url" ]]; then
  cat "$services_log"
  echo "scripts/cluster.sh --nodes 0 did not start Postgres and Redis" >&2
  exit 1
fi
target/release/examples/loadgen --size tiny --scenario room,dm --server target/release/switchboard \
  --nodes 3 --database-url "$database_url" --redis-url "$redis_url"
kill "$services_pid"
wait "$services_pid" 2>/dev/null || true

step "all checks passed in $(( $(date +%s) - started ))s"
