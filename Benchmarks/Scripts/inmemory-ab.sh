#!/usr/bin/env bash
# Runs two builds of InMemoryBenchmark alternately, so that both see the same machine:
#
#   Benchmarks/Scripts/inmemory-ab.sh BEFORE_BINARY AFTER_BINARY [runs] [seconds-per-run]
#
# Build each with `swift build -c release --package-path Benchmarks --product InMemoryBenchmark`
# in its own checkout (`git worktree add /tmp/base <commit>`). Per run and side it prints the
# 8-task row's round trips per second and the RESULT line; then, alternately again, the CPU
# time (perf stat -e task-clock) of 1,000,000 round trips over 8 tasks, setup included.
set -euo pipefail
before=$1 after=$2 runs=${3:-5} seconds=${4:-2}
ops=1000000
for i in $(seq 1 "$runs"); do
    for side in before after; do
        binary=${!side}
        out=$("$binary" "$seconds" 3)
        row8=$(awk -F'|' '$1+0 == 8 { gsub(/ /, "", $2); gsub(/ /, "", $3); print $2, $3 }' <<<"$out")
        result=$(grep '^RESULT' <<<"$out")
        echo "run $i $side: 8 tasks ${row8% *} /s (baseline ${row8#* } /s); $result; load $(cut -d' ' -f1 /proc/loadavg)"
    done
done
for i in $(seq 1 "$runs"); do
    for side in before after; do
        binary=${!side}
        ms=$(SK_BENCH_OPS=$ops SK_BENCH_TASKS=8 perf stat -x, -e task-clock "$binary" 2>&1 >/dev/null | awk -F, '/task-clock/ { print $1 }')
        printf 'cpu %d %s: %.0f ms task-clock for %d round trips, %.2f us each\n' "$i" "$side" "$ms" "$ops" "$(echo "$ms * 1000 / $ops" | bc -l)"
    done
done
