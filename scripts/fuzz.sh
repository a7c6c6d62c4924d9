#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Targets) and runs each for a number of seconds.
#
#   scripts/fuzz.sh [seconds] [target ...]      # default: 60 seconds, every target
#   scripts/fuzz.sh --build-only [target ...]
#
# Targets: cookie_header signed_cookie encrypted_cookie json session_id resp memcached.
# Everything is built and run under .build-fuzz/: the library modules are compiled with
# swiftc (-sanitize=fuzzer,address -enable-testing, module by module as in Package.swift),
# each target links its entry point, its checks (the Fuzzing/ files of the test targets, the
# same code the replay tests run) and the modules it needs. The committed seed corpus
# Fuzz/Corpus/<target> is copied into .build-fuzz/corpus/<target> (which keeps growing from
# run to run); Fuzz/Regressions/<target> is read as well. A crash input is copied into
# Fuzz/Regressions/<target>/. Per target one summary line gives the executions (libFuzzer's
# final "Done N runs in S second(s)"), the corpus size and the exit status. The script exits
# non-zero when a build fails or any target found a crash.
#
# FUZZ_SOURCES=<dir> builds the library from <dir>/Sources instead of the working tree's
# (for example a snapshot of the last commit: `git archive HEAD Sources scripts | tar -x -C <dir>`;
# scripts/ because some sources are links into scripts/sanitizers).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/.build-fuzz"
SOURCES="${FUZZ_SOURCES:-$ROOT}/Sources"
MODULES="$BUILD/modules"
ALL_TARGETS=(cookie_header signed_cookie encrypted_cookie json session_id resp memcached)
SWIFTC=${SWIFTC:-swiftc}
# -package-name: the modules share `package` declarations, as SwiftPM builds them.
COMMON_FLAGS=(-parse-as-library -swift-version 6 -O -wmo -g -sanitize=fuzzer,address -package-name SessionKit)

build_only=0
seconds=60
if [[ ${1:-} == --build-only ]]; then
    build_only=1
    shift
elif [[ ${1:-} =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${ALL_TARGETS[@]}")

# target -> directory of its checks, checks file, modules (in build order), -max_len
target_dir() {
    case $1 in
        cookie_header | signed_cookie | encrypted_cookie | json | session_id) echo Tests/SessionKitTests/Fuzzing ;;
        resp) echo Tests/SessionKitRedisTests/Fuzzing ;;
        memcached) echo Tests/SessionKitMemcachedTests/Fuzzing ;;
    esac
}
target_checks() {
    case $1 in
        cookie_header) echo CookieHeaderFuzz.swift ;;
        signed_cookie) echo SignedCookieFuzz.swift ;;
        encrypted_cookie) echo EncryptedCookieFuzz.swift ;;
        json) echo JSONFuzz.swift ;;
        session_id) echo SessionIDFuzz.swift ;;
        resp) echo RESPFuzz.swift ;;
        memcached) echo MemcachedFuzz.swift ;;
    esac
}
target_modules() {
    case $1 in
        cookie_header | signed_cookie | encrypted_cookie | json | session_id) echo SessionKitCrypto SessionKit ;;
        resp) echo SessionKitCrypto SessionKit SessionKitNetworking SessionKitRedis ;;
        memcached) echo SessionKitCrypto SessionKit SessionKitNetworking SessionKitMemcached ;;
    esac
}
target_max_len() {
    case $1 in
        session_id) echo 128 ;;  # IDs are 32 or 43 bytes
        cookie_header) echo 4096 ;;  # a few cookies with a short limit or a long header
        signed_cookie) echo 4200 ;;  # cookie values are at most 4064 bytes
        encrypted_cookie) echo 4200 ;;  # the same limit
        json) echo 4096 ;;
        resp | memcached) echo 4096 ;;  # several replies, values up to the small limits the checks use
    esac
}

for t in "${targets[@]}"; do
    if [[ -z $(target_dir "$t") ]]; then
        echo "unknown fuzz target '$t'; targets: ${ALL_TARGETS[*]}" >&2
        exit 2
    fi
done

mkdir -p "$MODULES" "$BUILD/bin" "$BUILD/logs"

# The modules each module imports (Package.swift's graph).
module_deps() {
    case $1 in
        SessionKit) echo SessionKitCrypto ;;
        SessionKitRedis) echo SessionKit SessionKitNetworking ;;
        SessionKitMemcached) echo SessionKit SessionKitNetworking SessionKitCrypto ;;
    esac
}

# Compiles module $1 from $SOURCES/$1 unless its sources and the modules it imports are
# unchanged since the last build (a hash of their contents is kept next to the object).
built_modules=" "
build_module() {
    local module=$1 dep sources hash
    [[ $built_modules == *" $module "* ]] && return 0
    for dep in $(module_deps "$module"); do build_module "$dep" || return 1; done
    sources=$(find "$SOURCES/$module" -name '*.swift' | sort)
    # shellcheck disable=SC2086
    hash=$( (printf '%s\n' "${COMMON_FLAGS[*]}" $sources; cat $sources
        for dep in $(module_deps "$module"); do cat "$MODULES/$dep.hash"; done) | sha1sum | cut -d' ' -f1)
    if [[ -f $MODULES/$module.o && $(cat "$MODULES/$module.hash" 2>/dev/null) == "$hash" ]]; then
        built_modules+="$module "
        return 0
    fi
    echo "building module $module"
    rm -f "$MODULES/$module.hash"
    # shellcheck disable=SC2086
    if ! (cd "$MODULES" && nice "$SWIFTC" "${COMMON_FLAGS[@]}" -enable-testing -module-name "$module" -I "$MODULES" \
        -emit-module -emit-module-path "$MODULES/$module.swiftmodule" -c $sources -o "$MODULES/$module.o"); then
        echo "module $module failed to build" >&2
        return 1
    fi
    echo "$hash" >"$MODULES/$module.hash"
    built_modules+="$module "
}

build_target() {
    local t=$1 dir checks modules objects=() m files hash
    dir=$(target_dir "$t")
    checks=$(target_checks "$t")
    modules=$(target_modules "$t")
    for m in $modules; do
        build_module "$m" || return 1
        objects+=("$MODULES/$m.o")
    done
    files=("$ROOT/Fuzz/Targets/$t.swift" "$ROOT/$dir/FuzzViolation.swift" "$ROOT/$dir/$checks")
    hash=$( (cat "${files[@]}"; for m in $modules; do cat "$MODULES/$m.hash"; done) | sha1sum | cut -d' ' -f1)
    if [[ -x $BUILD/bin/$t && $(cat "$BUILD/bin/$t.hash" 2>/dev/null) == "$hash" ]]; then
        return 0
    fi
    echo "building target $t"
    rm -f "$BUILD/bin/$t.hash"
    # In bin/: the compiler leaves module files in the current directory.
    (cd "$BUILD/bin" && nice "$SWIFTC" "${COMMON_FLAGS[@]}" -module-name "Fuzz_$t" -I "$MODULES" \
        "${files[@]}" "${objects[@]}" -o "$BUILD/bin/$t" 2> >(grep -v "Cannot export local symbol" >&2)) || return 1
    echo "$hash" >"$BUILD/bin/$t.hash"
}

status=0
for t in "${targets[@]}"; do
    if ! build_target "$t"; then
        echo "target $t failed to build" >&2
        exit 1
    fi
done
[[ $build_only -eq 1 ]] && exit 0

summaries=()
for t in "${targets[@]}"; do
    corpus="$BUILD/corpus/$t"
    artifacts="$BUILD/artifacts/$t"
    log="$BUILD/logs/$t.log"
    regressions="$ROOT/Fuzz/Regressions/$t"
    mkdir -p "$corpus" "$artifacts" "$regressions"
    cp -n "$ROOT/Fuzz/Corpus/$t/"* "$corpus/" 2>/dev/null
    rm -f "$artifacts"/*
    echo "running $t for $seconds s (log: ${log#"$ROOT/"})"
    started=$(date +%s)
    "$BUILD/bin/$t" -max_len="$(target_max_len "$t")" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$regressions" >"$log" 2>&1
    rc=$?
    elapsed=$(($(date +%s) - started))
    crashes=0
    for crash in "$artifacts"/*; do
        [[ -f $crash ]] || continue
        cp "$crash" "$regressions/"
        crashes=$((crashes + 1))
        echo "  crash input saved as Fuzz/Regressions/$t/$(basename "$crash")"
    done
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
    if [[ $done_line =~ ^Done\ ([0-9]+)\ runs\ in\ ([0-9]+)\ second ]]; then
        runs=${BASH_REMATCH[1]}
        secs=${BASH_REMATCH[2]}
    else
        # No "Done" line when the run stopped at a crash: libFuzzer's final stats and the wall time.
        runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
        runs=${runs:-?}
        secs="$elapsed (wall)"
    fi
    files=$(find "$corpus" -type f | wc -l)
    result=ok
    if [[ $rc -ne 0 || $crashes -gt 0 ]]; then
        result=FAILED
        status=1
        grep -E 'ERROR|Fatal error|fatal error|SUMMARY' "$log" | head -5 | sed 's/^/  /'
    fi
    summary="$t: $result, $runs executions in $secs s, corpus $files files, exit status $rc, crashes $crashes"
    echo "$summary"
    summaries+=("$summary")
done

echo
echo "summary ($seconds s per target):"
printf '  %s\n' "${summaries[@]}"
exit $status
