#!/usr/bin/env bash
# The chaos soak: simulated users drive SessionMiddleware over a real redis-server and a real
# memcached (behind a fault-injecting proxy) while the servers are killed and restarted,
# frozen, and their connections reset or stalled, and requests are cancelled.
#
#   scripts/soak.sh [seconds (default 300)] [redis|memcached|all (default all)] [users (default 300)] [seed (default 1)]
#                   [wholeSession|changedKeys (the save mode, default wholeSession)]
#
# Builds in release mode, then runs one store at a time. Prints progress, a report per store
# and a final line per store:
#   RESULT soak store=<redis|memcached> seconds=.. requests=.. faults=.. errors=.. violations=..
# Exits non-zero when a violation was found. Needs redis-server and memcached on PATH.
# SCRATCH overrides the build directory (default .build-soak-release).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
store="${2:-all}"
users="${3:-300}"
seed="${4:-1}"
mode="${5:-wholeSession}"
case "$store" in redis|memcached|all) ;; *) echo "usage: $0 [seconds] [redis|memcached|all] [users] [seed] [wholeSession|changedKeys]" >&2; exit 2 ;; esac
scratch="${SCRATCH:-.build-soak-release}"
swift build -c release --scratch-path "$scratch" --product SessionKitSoak
exec "$scratch/release/SessionKitSoak" "$seconds" "$store" "$users" "$seed" "$mode"
