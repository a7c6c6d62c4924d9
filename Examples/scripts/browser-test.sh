#!/usr/bin/env bash
# The browser test of the Hummingbird demo: headless Chromium (Debian's chromium and
# chromium-driver, driven by selenium) against the demo on the in-memory and the Redis store.
#
# Installs nothing: it checks its prerequisites and says what is missing (ci-examples.sh
# installs them). Starts its own redis-server on a free loopback port, builds the demo (debug),
# runs Examples/scripts/browser_test.py, and ends with 'N passed, N failed'; exits non-zero on
# any failure. Screenshots and server logs: Examples/scripts/.artifacts/browser (ignored by git;
# set ARTIFACTS_DIR to change it).
#
# Environment: SESSIONKIT_PYTHON (default: the repository's .venv/bin/python, else python3),
# CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default /usr/bin/chromedriver).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
package="$root/Examples/Hummingbird/HummingbirdDemo"
export PATH="/opt/swift/usr/bin:$PATH"
artifacts="${ARTIFACTS_DIR:-$here/.artifacts/browser}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
chromedriver="${CHROMEDRIVER:-/usr/bin/chromedriver}"
python="${SESSIONKIT_PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python="python3"; fi
fi

fail() {
  echo "browser-test: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

missing=()
command -v swift >/dev/null 2>&1 || missing+=("swift (/opt/swift/usr/bin)")
[ -x "$chromium" ] || missing+=("chromium (apt-get install chromium)")
[ -x "$chromedriver" ] || missing+=("chromedriver (apt-get install chromium-driver)")
command -v redis-server >/dev/null 2>&1 || missing+=("redis-server (apt-get install redis-server)")
"$python" -c "import selenium" >/dev/null 2>&1 || missing+=("selenium for $python (pip install -r Examples/scripts/requirements.txt)")
if [ ${#missing[@]} -gt 0 ]; then
  fail "missing prerequisites: ${missing[*]}"
fi
echo "browser-test: $("$chromium" --version 2>/dev/null), $("$chromedriver" --version 2>/dev/null | cut -d' ' -f1-2), selenium $("$python" -c 'import selenium; print(selenium.__version__)'), $(redis-server --version | cut -d' ' -f1-3)"

echo "browser-test: building the Hummingbird demo"
swift build --package-path "$package" --product SessionKitHummingbirdDemo || fail "the demo does not build"
bin="$(swift build --package-path "$package" --show-bin-path)/SessionKitHummingbirdDemo"
[ -x "$bin" ] || fail "no demo binary at $bin"

# redis-server on a free loopback port, no persistence, stopped on exit.
redis_port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis_dir="$(mktemp -d)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$redis_dir" >"$redis_dir/redis.log" 2>&1 &
redis_pid=$!
cleanup() {
  kill "$redis_pid" 2>/dev/null
  wait "$redis_pid" 2>/dev/null
  rm -rf "$redis_dir"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  if "$python" - "$redis_port" <<'PY' 2>/dev/null; then break; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"*1\r\n$4\r\nPING\r\n")
sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
  sleep 0.1
done

mkdir -p "$artifacts"
"$python" "$here/browser_test.py" --demo "$bin" --redis-url "redis://127.0.0.1:$redis_port" \
  --artifacts "$artifacts" --chromium "$chromium" --chromedriver "$chromedriver"
