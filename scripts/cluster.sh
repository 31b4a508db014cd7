#!/usr/bin/env bash
# A local switchboard cluster in one command: Postgres and Redis from Debian's packages
# (installed if missing) on loopback ports under a temporary directory, and N switchboard nodes
# on consecutive ports, all sharing them. Stop everything with ctrl-c.
#
#   scripts/cluster.sh [--nodes N] [--port P] [--no-build]
#
#   --nodes N    how many nodes (default 3)
#   --port P     the first node's port (default 3000); node i listens on P+i-1
#   --no-build   use the release build already in target/ (cargo leptos build --release);
#                with --nodes 0 a binary already there is always used, a missing one built
#                with cargo build unless this is given
#
# Open any node in a browser (http://127.0.0.1:3000, :3001, …): users on different nodes chat
# as if on one server. Postgres and Redis ports, the data directory and each node's log are
# printed at start; the directory is removed on exit. Postgres and Redis are started by the
# binary itself (`switchboard dev-services`), the same code the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=3
port=3000
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[cluster]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- The binary -------------------------------------------------------------------------------
# It runs the nodes, and `switchboard dev-services` runs Postgres and Redis for them.
binary=${CARGO_TARGET_DIR:-target}/release/switchboard
if [ "$build" = 1 ] && [ "$nodes" != 0 ]; then
  bash scripts/setup.sh app
  source scripts/env.sh
  cargo leptos build --release
elif [ "$build" = 1 ] && [ ! -x "$binary" ]; then
  # Postgres and Redis only: the server binary is enough, the web bundle is not needed.
  source scripts/env.sh
  cargo build --release --features ssr --bin switchboard
fi
[ -x "$binary" ] || { echo "no $binary: run without --no-build" >&2; exit 1; }

# --- Postgres and Redis from Debian -----------------------------------------------------------
bash scripts/setup.sh cluster

dir=$(mktemp -d /tmp/switchboard-cluster.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
  trap - EXIT INT TERM
  log "stopping"
  # dev-services stops Postgres and Redis on SIGTERM and removes their files.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A throwaway Postgres and Redis on free loopback ports (switchboard::devkit); it prints
# `postgres <url> <log>`, `redis <url>`, then `ready`.
"$binary" dev-services --postgres --redis >"$dir/services.out" 2>"$dir/services.log" &
services_pid=$!
pids+=("$services_pid")
for _ in $(seq 600); do
  grep -qx ready "$dir/services.out" && break
  kill -0 "$services_pid" 2>/dev/null || break
  sleep 0.1
done
grep -qx ready "$dir/services.out" || {
  log "Postgres and Redis did not start:"
  cat "$dir/services.log" >&2
  exit 1
}
database_url=$(awk '$1 == "postgres" { print $2 }' "$dir/services.out")
pg_log=$(awk '$1 == "postgres" { print $3 }' "$dir/services.out")
redis_url=$(awk '$1 == "redis" { print $2 }' "$dir/services.out")
log "Postgres: $database_url (log: $pg_log)"
log "Redis: $redis_url"

# --- The nodes --------------------------------------------------------------------------------
if [ "$nodes" = 0 ]; then
  log "Postgres and Redis ready (no nodes asked for); ctrl-c stops them"
  wait -n "${pids[@]}" || true
  exit 0
fi

# /readyz and /metrics answer on a node's port only with this token (server.admin_token).
admin_token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
log "admin token (Authorization: Bearer …) for /readyz, /metrics: $admin_token"
origins=""
for i in $(seq 0 $((nodes - 1))); do
  origins+="${origins:+,}http://127.0.0.1:$((port + i)),http://localhost:$((port + i))"
done
for i in $(seq 1 "$nodes"); do
  node_port=$((port + i - 1))
  SWITCHBOARD_SERVER_LISTEN="127.0.0.1:$node_port" \
  SWITCHBOARD_SERVER_SITE_ROOT=target/site \
  SWITCHBOARD_DATABASE_URL="$database_url" \
  SWITCHBOARD_CLUSTER_REDIS_URL="$redis_url" \
  SWITCHBOARD_CLUSTER_NODE_ID="node$i" \
  SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS="$origins" \
  SWITCHBOARD_SERVER_ADMIN_TOKEN="$admin_token" \
    "$binary" >"$dir/node$i.log" 2>&1 &
  pids+=($!)
  log "node$i: http://127.0.0.1:$node_port (log: $dir/node$i.log)"
done
for i in $(seq 1 "$nodes"); do
  node_port=$((port + i - 1))
  for _ in $(seq 300); do
    curl -fsS -H "Authorization: Bearer $admin_token" "http://127.0.0.1:$node_port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS -H "Authorization: Bearer $admin_token" "http://127.0.0.1:$node_port/readyz" >/dev/null || { log "node$i is not ready; its log:"; tail -20 "$dir/node$i.log"; exit 1; }
done
log "$nodes nodes ready; ctrl-c stops the cluster"
wait -n "${pids[@]}" || true
log "a process exited; stopping the rest"
