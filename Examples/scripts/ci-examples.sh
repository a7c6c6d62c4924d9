#!/usr/bin/env bash
# CI for the example packages: installs what they need on a fresh Debian machine (chromium,
# chromium-driver, redis-server from apt; selenium into the repository's .venv), builds the
# Hummingbird and Vapor examples, runs the Vapor example's tests and the browser test.
# Every step is run even when an earlier one failed; the time of each is printed at the end.
# Exits non-zero when any step failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
export PATH="/opt/swift/usr/bin:$PATH"

summary=()
failed=0
step() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "== ci-examples: $name"
  if "$@"; then
    summary+=("$(printf '%-40s %5ss  ok' "$name" $((SECONDS - start)))")
  else
    summary+=("$(printf '%-40s %5ss  FAILED' "$name" $((SECONDS - start)))")
    failed=1
  fi
}

install_apt() {
  local need=()
  [ -x /usr/bin/chromium ] || need+=(chromium)
  [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  if [ ${#need[@]} -eq 0 ]; then
    echo "already installed: chromium, chromium-driver, redis-server"
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
}

install_pip() {
  [ -x .venv/bin/python ] || python3 -m venv .venv || return 1
  .venv/bin/pip install -q --disable-pip-version-check -r Examples/scripts/requirements.txt
}

step "apt-get install chromium chromium-driver" install_apt
step "pip install selenium (.venv)" install_pip
step "build Examples/Hummingbird (demo)" swift build --package-path Examples/Hummingbird/HummingbirdDemo --product SessionKitHummingbirdDemo
step "build Examples/Vapor (demo)" swift build --package-path Examples/Vapor/VaporDemo --product SessionKitVaporDemo
step "test Examples/Vapor" swift test --package-path Examples/Vapor/VaporDemo
step "browser test (Hummingbird demo)" env SESSIONKIT_PYTHON="$root/.venv/bin/python" bash Examples/scripts/browser-test.sh

echo "== ci-examples: times on this machine"
printf '%s\n' "${summary[@]}"
echo "total ${SECONDS}s"
exit $failed
