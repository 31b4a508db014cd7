#!/bin/bash
# Runs CI as the landing check does, N times, each from a fresh clone of this repository's
# HEAD, with `stress-ng --cpu 1` busy beside it: the "passes on a busy 2-core machine" check of
# issue 12. Each result is one line in $log (commit, exit code, seconds, load average).
#
#   scripts/ci-soak.sh [N] [log]      (defaults: 10, /tmp/ci-soak.log; stop early: touch $log.stop)
#
# SOAK_WARM=1 hands each passing run's `target/` to the next fresh clone (moved, not copied), so
# the dependencies are not compiled again: the source, node_modules and the crate itself are
# built fresh every run, and CI=true still deletes target/debug midway, as on a CI machine.
#
# Needs stress-ng (Debian `stress-ng`; not part of setup.sh, which installs what the product and
# its tests need). A passing run's clone is removed; a failing one is kept with its log.
set -euo pipefail
n=${1:-10}
log=${2:-/tmp/ci-soak.log}
repo=$(git rev-parse --show-toplevel)
command -v stress-ng >/dev/null || { echo "stress-ng is not installed (apt-get install stress-ng)" >&2; exit 1; }
for i in $(seq "$n"); do
  [ -e "$log.stop" ] && break
  dir=$(mktemp -d "/tmp/ci-soak-$i.XXXX")
  git clone -q "$repo" "$dir"
  if [ "${SOAK_WARM:-}" = 1 ] && [ -d "$log.target" ]; then mv "$log.target" "$dir/target"; fi
  commit=$(git -C "$dir" rev-parse --short HEAD)
  stress-ng --cpu 1 --timeout 7200s >/dev/null 2>&1 &
  stress=$!
  start=$(date +%s)
  rc=0
  (cd "$dir" && CI=true bash .ci/run) >"$dir.log" 2>&1 || rc=$?
  kill "$stress" 2>/dev/null || true
  wait "$stress" 2>/dev/null || true
  echo "run $i commit $commit rc=$rc $(( $(date +%s) - start ))s load=$(cut -d' ' -f1-3 /proc/loadavg) log=$dir.log" >>"$log"
  if [ "$rc" -eq 0 ]; then
    if [ "${SOAK_WARM:-}" = 1 ] && [ -d "$dir/target" ]; then rm -rf "$log.target"; mv "$dir/target" "$log.target"; fi
    rm -rf "$dir"
  fi
done
cat "$log"
