#!/usr/bin/env bash
# The `http` benchmark suite: wrk against eight servers, side by side in one run.
#
#   (a) Hummingbird, no sessions               (e) Hummingbird + SessionKit, Redis
#   (b) Hummingbird + hummingbird-auth memory  (f) Hummingbird + SessionKit, signed cookies
#   (c) Vapor + SessionsMiddleware memory      (g) Vapor + SessionKit, in memory
#   (d) Hummingbird + SessionKit, in memory    (h) Vapor, no sessions
#
# Every server with sessions reads a counter from the session and writes it back on every
# request; wrk carries the session cookie (Benchmarks/Scripts/http-cookie.lua). Servers are
# release builds of the example packages. Rows run in ROUNDS interleaved rounds and each row
# keeps its best round, so a burst of load from elsewhere on a shared machine hurts no row more
# than the others. Prints req/s and p99 latency per row and ends with
#
#   RESULT http vs_hbauth=<d/b> vs_vapor=<g/c> vs_nosession=<d/a> vapor_vs_nosession=<g/h>
#
# Three more rows explain the ratios and are not part of the RESULT line:
#   (i) Vapor, no sessions, async handler: SessionKit's API is async, so (g)'s handler is async;
#       in Vapor 4 an async handler alone costs a good part of the no-session throughput.
#   (j) hummingbird-auth and (k) SessionKit, both in memory, with wrk sending no cookie: every
#       request then creates a new session (the workload of a client that drops cookies).
#
# Settings (environment): DURATION (seconds per measured run, default 8), WARMUP (seconds,
# default 2), ROUNDS (default 3), CONNECTIONS (default 32), THREADS (wrk threads, default 2),
# ROWS (subset, e.g. "a d"), SKIP_BUILD=1. Needs wrk and redis-server (apt-get install wrk
# redis-server). Raw results: Benchmarks/HTTP/.results/http.tsv.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
duration="${DURATION:-8}"
warmup="${WARMUP:-2}"
rounds="${ROUNDS:-3}"
connections="${CONNECTIONS:-32}"
threads="${THREADS:-2}"
rows="${ROWS:-a b c d e f g h i j k}"
results_dir="$root/Benchmarks/HTTP/.results"
hb_package="$root/Examples/Hummingbird/HummingbirdDemo"
vapor_package="$root/Examples/Vapor/VaporDemo"

missing=()
for tool in swift wrk redis-server python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "http-bench: missing ${missing[*]} (apt-get install wrk redis-server)" >&2
  exit 2
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "http-bench: building the servers (release)"
  swift build -c release --package-path "$hb_package" --product HummingbirdSessionBench || exit 1
  swift build -c release --package-path "$vapor_package" --product VaporSessionBench || exit 1
fi
hb_bin="$(swift build -c release --package-path "$hb_package" --show-bin-path)/HummingbirdSessionBench"
vapor_bin="$(swift build -c release --package-path "$vapor_package" --show-bin-path)/VaporSessionBench"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # port: waits until GET / answers
  python3 - "$1" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 60
while time.time() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
}

redis_port="$(free_port)"
redis_dir="$(mktemp -d)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$redis_dir" >"$redis_dir/redis.log" 2>&1 &
redis_pid=$!
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  kill "$redis_pid" 2>/dev/null
  wait "$redis_pid" 2>/dev/null
  rm -rf "$redis_dir"
}
trap cleanup EXIT
sleep 0.5

declare -A label command
label[a]="Hummingbird, no sessions";                command[a]="$hb_bin nosession"
label[b]="Hummingbird + hummingbird-auth memory";   command[b]="$hb_bin hbauth"
label[c]="Vapor + SessionsMiddleware memory";       command[c]="$vapor_bin vapor-sessions"
label[d]="Hummingbird + SessionKit memory";         command[d]="$hb_bin sessionkit-memory"
label[e]="Hummingbird + SessionKit Redis";          command[e]="$hb_bin sessionkit-redis"
label[f]="Hummingbird + SessionKit signed cookie";  command[f]="$hb_bin sessionkit-cookie"
label[g]="Vapor + SessionKit memory";               command[g]="$vapor_bin sessionkit-memory"
label[h]="Vapor, no sessions";                      command[h]="$vapor_bin nosession"
label[i]="Vapor, no sessions, async handler";       command[i]="$vapor_bin nosession-async"
label[j]="Hummingbird + hummingbird-auth, no cookie"; command[j]="$hb_bin hbauth"
label[k]="Hummingbird + SessionKit, no cookie";     command[k]="$hb_bin sessionkit-memory"
declare -A best_rps best_p99 errors

# Converts wrk's latency ("812.00us", "1.52ms", "1.01s") to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

run_row() { # row round
  local row="$1" port out rps p99 bad
  port="$(free_port)"
  # shellcheck disable=SC2086
  ${command[$row]} "$port" $([ "$row" = e ] && echo "redis://127.0.0.1:$redis_port") >"$results_dir/server-$row.log" 2>&1 &
  server_pid=$!
  if ! wait_http "$port"; then
    echo "  ($row) the server did not start; see $results_dir/server-$row.log"
    kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
    errors[$row]="did not start"
    return
  fi
  local script=(-s "$here/http-cookie.lua")
  case "$row" in j | k) script=() ;; esac
  wrk -t"$threads" -c"$connections" -d"${warmup}s" "${script[@]}" "http://127.0.0.1:$port/" >/dev/null 2>&1
  out="$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "${script[@]}" "http://127.0.0.1:$port/" 2>&1)"
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
  echo "$out" >"$results_dir/wrk-$row-round$2.txt"
  rps="$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')"
  p99="$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")"
  bad="$(echo "$out" | awk '/Non-2xx or 3xx responses:/ { print $NF } /Socket errors:/ { print "socket errors" }')"
  [ -n "$bad" ] && errors[$row]="$(echo $bad)"
  printf '  round %s  (%s) %-40s %10s req/s  p99 %8s ms%s\n' "$2" "$row" "${label[$row]}" "$rps" "$p99" "${bad:+  errors: $(echo $bad)}"
  if [ -n "$rps" ] && awk -v a="$rps" -v b="${best_rps[$row]:-0}" 'BEGIN { exit !(a > b) }'; then
    best_rps[$row]="$rps"
    best_p99[$row]="$p99"
  fi
}

mkdir -p "$results_dir"
echo "http-bench: wrk -t$threads -c$connections, ${duration}s per run after ${warmup}s warm-up, $rounds rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  for row in $rows; do
    run_row "$row" "$round"
  done
done

tsv="$results_dir/http.tsv"
printf 'row\tserver\treq_per_s\tp99_ms\terrors\n' >"$tsv"
echo
printf '%-4s %-40s %12s %10s\n' row server "req/s" "p99 ms"
for row in $rows; do
  printf '%-4s %-40s %12s %10s%s\n' "($row)" "${label[$row]}" "${best_rps[$row]:--}" "${best_p99[$row]:--}" "${errors[$row]:+  errors: ${errors[$row]}}"
  printf '%s\t%s\t%s\t%s\t%s\n' "$row" "${label[$row]}" "${best_rps[$row]:-}" "${best_p99[$row]:-}" "${errors[$row]:-}" >>"$tsv"
done

ratio() {
  awk -v a="${best_rps[$1]:-0}" -v b="${best_rps[$2]:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'
}
echo
echo "raw results: $tsv"
echo "NOTE http vapor_vs_nosession_async=$(ratio g i) vs_hbauth_no_cookie=$(ratio k j)"
echo "RESULT http vs_hbauth=$(ratio d b) vs_vapor=$(ratio g c) vs_nosession=$(ratio d a) vapor_vs_nosession=$(ratio g h)"
