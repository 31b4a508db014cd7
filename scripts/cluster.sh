#!/usr/bin/env bash
# A local switchboard cluster in one command: Postgres and Redis from Debian's packages
# (installed if missing) on loopback ports under a temporary directory, and N switchboard nodes
# on consecutive ports, all sharing them. Stop everything with ctrl-c.
#
#   scripts/cluster.sh [--nodes N] [--port P] [--no-build]
#
#   --nodes N    how many nodes (default 3)
#   --port P     the first node's port (default 3000); node i listens on P+i-1
#   --no-build   use the release build already in target/ (cargo leptos build --release)
#
# Open any node in a browser (http://127.0.0.1:3000, :3001, …): users on different nodes chat
# as if on one server. Postgres and Redis ports, the data directory and each node's log are
# printed at start; the directory is removed on exit.
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
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[cluster]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Postgres and Redis from Debian -----------------------------------------------------------
bash scripts/setup.sh cluster
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# A free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

dir=$(mktemp -d /tmp/switchboard-cluster.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
  trap - EXIT INT TERM
  log "stopping"
  # Postgres runs under runuser, which does not pass signals on: stop it by its own pid
  # (SIGINT: fast shutdown).
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    kill -INT "$(head -1 "$dir/pg/data/postmaster.pid")" 2>/dev/null || true
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# Postgres will not run as root: as root, run it as Debian's `postgres` user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_port=$(free_port)
mkdir -p "$dir/pg"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/pg"
as_pg "$pg_bin/initdb" -D "$dir/pg/data" -U switchboard --auth=trust -E UTF8 >"$dir/pg/initdb.log"
as_pg "$pg_bin/postgres" -D "$dir/pg/data" -p "$pg_port" -k "$dir/pg" \
  -c listen_addresses=127.0.0.1 >"$dir/pg/postgres.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  as_pg "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
  sleep 0.1
done
as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U switchboard switchboard
database_url="postgres://switchboard@127.0.0.1:$pg_port/switchboard"
log "Postgres: $database_url (log: $dir/pg/postgres.log)"

redis_port=$(free_port)
mkdir -p "$dir/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$dir/redis" >"$dir/redis/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis_url="redis://127.0.0.1:$redis_port"
log "Redis: $redis_url (log: $dir/redis/redis.log)"

# --- The nodes --------------------------------------------------------------------------------
if [ "$nodes" = 0 ]; then
  log "Postgres and Redis ready (no nodes asked for); ctrl-c stops them"
  wait -n "${pids[@]}" || true
  exit 0
fi
if [ "$build" = 1 ]; then
  bash scripts/setup.sh app
  source scripts/env.sh
  cargo leptos build --release
fi
binary=target/release/switchboard
[ -x "$binary" ] || { echo "no $binary: run without --no-build" >&2; exit 1; }

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
