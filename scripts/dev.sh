#!/usr/bin/env bash
# Sets up what is missing, then builds and serves switchboard at http://127.0.0.1:3000,
# Stop with ctrl-c. (`cargo leptos watch` rebuilds on every change.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
source scripts/env.sh
exec cargo leptos serve
