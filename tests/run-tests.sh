#!/bin/bash
# Install what is needed, build, and run every test: the unit suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the real-kernel
# integration suite in a qemu VM (see integration/README.md). Needs root (the
# VM image is built with debootstrap). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh --tests || exit 1

setup() { # builddir, options...
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

passed=0 failed=0 skipped=0
tally() { # builddir
    local log="$1/meson-logs/testlog.json"
    [ -f "$log" ] || { failed=$((failed + 1)); return; }
    passed=$((passed + $(grep -c '"result": "OK"' "$log")))
    failed=$((failed + $(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")))
    skipped=$((skipped + $(grep -c '"result": "SKIP"' "$log")))
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false && ninja -C build-asan && \
    meson test -C build-asan --suite unit --print-errorlogs
tally build-asan

# The VM gets the plain build: sanitizers and mlockall do not mix.
setup build && ninja -C build && \
    meson test -C build --suite integration --print-errorlogs
tally build

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
