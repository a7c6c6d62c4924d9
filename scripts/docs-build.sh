#!/usr/bin/env bash
# Builds the DocC documentation of the public modules with the toolchain's `docc`, without
# the swift-docc-plugin (the root package has no dependencies), and fails on any warning.
#
#   bash scripts/docs-build.sh                        # archives in .build-docs/archives/<Module>.doccarchive
#   bash scripts/docs-build.sh --scratch-path .build  # reuse the root package's build (CI)
#   DOCS_OUTPUT=/some/dir bash scripts/docs-build.sh
#
# Steps: build the library (scratch path .build-docs), extract each module's symbol graph with
# `swift-symbolgraph-extract`, then run `docc convert --warnings-as-errors` on Sources/<Module>/<Module>.docc with that module's symbol
# graphs (its own and its extensions of other modules). SessionKitNetworking is an internal
# target, not a product, and nothing of it appears in the public API: it has no catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

modules=(SessionKitCrypto SessionKit SessionKitRedis SessionKitMemcached SessionKitTesting SessionKitTLS)
scratch=.build-docs
if [ "${1:-}" = "--scratch-path" ] && [ -n "${2:-}" ]; then
  scratch="$2"
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--scratch-path DIR]" >&2
  exit 2
fi
# Symbol graphs, logs and archives go to .build-docs whatever build is used.
work=.build-docs
graphs="$work/symbol-graphs"
output="${DOCS_OUTPUT:-$work/archives}"

command -v docc >/dev/null 2>&1 || { echo "docs-build: docc not found (it ships with the Swift toolchain)" >&2; exit 1; }

rm -rf "$graphs"
mkdir -p "$graphs" "$output" "$work"
echo "== docs-build: swift build --scratch-path $scratch"
for module in "${modules[@]}"; do
  if ! swift build --scratch-path "$scratch" --target "$module" >"$work/build-$module.log" 2>&1; then
    cat "$work/build-$module.log"
    echo "docs-build: swift build failed for $module" >&2
    exit 1
  fi
  tail -n 1 "$work/build-$module.log"
done
# Symbol graphs from the built modules (always complete, even when nothing was recompiled).
triple="$(swiftc -print-target-info | python3 -c 'import json, sys; print(json.load(sys.stdin)["target"]["triple"])')"
modules_dir="$(swift build --scratch-path "$scratch" --show-bin-path)/Modules"
echo "== docs-build: swift-symbolgraph-extract"
for module in "${modules[@]}"; do
  # -I Sources/CSessionKitOpenSSL: SessionKitTLS imports the system-library module declared there.
  swift-symbolgraph-extract -module-name "$module" -I "$modules_dir" -I Sources/CSessionKitOpenSSL -target "$triple" \
    -minimum-access-level public -output-dir "$graphs"
done

status=0
for module in "${modules[@]}"; do
  catalog="Sources/$module/$module.docc"
  [ -d "$catalog" ] || { echo "docs-build: $catalog is missing" >&2; status=1; continue; }
  # Only this module's graphs: its symbols, and its extensions of other modules' types.
  dir="$work/graphs-$module"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$graphs/$module.symbols.json" "$dir/"
  for extension in "$graphs/$module@"*.symbols.json; do
    [ -e "$extension" ] && cp "$extension" "$dir/"
  done
  echo "== docs-build: docc convert $catalog"
  log="$work/docc-$module.log"
  if docc convert "$catalog" \
      --additional-symbol-graph-dir "$dir" \
      --fallback-display-name "$module" \
      --fallback-bundle-identifier "org.sessionkit.$module" \
      --output-path "$output/$module.doccarchive" \
      --warnings-as-errors >"$log" 2>&1 \
    && ! grep -q -E 'warning:|error:' "$log"; then
    cat "$log"
  else
    cat "$log"
    echo "docs-build: $module has documentation warnings or errors" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "== docs-build: ${#modules[@]} modules, no warnings; archives in $output"
exit $status
