#!/bin/bash
# Install what is needed, build, and run every test: the unit suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the real-kernel
# integration suite in a qemu VM (see integration/README.md). Needs root (the
# VM image is built with debootstrap). Ends with "N passed, N failed".
# After the unit suite, with clang, the libFuzzer build: each fuzz target
# runs for FUZZ_SECONDS (8) from its corpus, each one test in the tally.
# --fuzz-only: that part alone (no install, no unit or VM suite).
set -uo pipefail
cd "$(dirname "$0")/.."
fuzz_only=false
[ "${1:-}" = --fuzz-only ] && fuzz_only=true
$fuzz_only || deploy/install-deps.sh --tests || exit 1

setup() { # builddir, options...
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

passed=0 failed=0 skipped=0
tally() { # builddir [setup]
    local log="$1/meson-logs/testlog${2:+-$2}.json"
    [ -f "$log" ] || { failed=$((failed + 1)); return; }
    passed=$((passed + $(grep -c '"result": "OK"' "$log")))
    failed=$((failed + $(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")))
    skipped=$((skipped + $(grep -c '"result": "SKIP"' "$log")))
}

# Each target for FUZZ_SECONDS; new inputs go to a scratch directory (the
# first corpus directory is where libFuzzer writes), never into the tree.
fuzz() { # builddir
    local dir=$1 scratch t c log bad=0
    scratch=$(mktemp -d /tmp/memwarden-fuzz.XXXXXX) || { failed=$((failed + 1)); return; }
    for t in tests/fuzz/fuzz-*.c; do
        t=$(basename "$t" .c)
        [ "$t" = fuzz-main ] && continue
        c=tests/fuzz/corpus/${t#fuzz-}
        log=$scratch/$t.log
        mkdir -p "$scratch/$t"
        if "$dir/tests/$t" -max_total_time="${FUZZ_SECONDS:-8}" -timeout=10 -print_final_stats=1 \
               -artifact_prefix="$scratch/$t-" "$scratch/$t" "$c" >"$log" 2>&1; then
            passed=$((passed + 1))
            echo "fuzz $t: OK, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs"
        else
            failed=$((failed + 1)) bad=1
            echo "fuzz $t: FAILED (crash input: $(ls "$scratch/$t"-* 2>/dev/null | head -1))"
            tail -n 40 "$log"
        fi
    done
    if [ $bad = 0 ]; then
        rm -rf "${scratch:?}"
    else
        echo "fuzz: logs and crash inputs kept in $scratch"
    fi
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if ! $fuzz_only; then
    setup build-asan -Dtests=true -Db_sanitize=address,undefined -Db_lundef=false && ninja -C build-asan && \
        meson test -C build-asan --suite unit --print-errorlogs
    tally build-asan
fi

if command -v clang >/dev/null; then
    if CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false && \
            ninja -C build-fuzz; then
        fuzz build-fuzz
    else
        failed=$((failed + 1))
    fi
else
    echo "clang not installed: no fuzz build" >&2
fi

if ! $fuzz_only; then
    # The VM gets the plain build: sanitizers and mlockall do not mix. -Dtests=true:
    # the run command (deploy/run-agent.sh) may have set build/ up without tests.
    setup build -Dtests=true -Db_sanitize=none && ninja -C build && \
        meson test -C build --suite integration --print-errorlogs
    tally build
    # The unit suite again under valgrind's memcheck, on the plain build (the
    # python-driven host test runs the daemon itself: not under valgrind).
    if command -v valgrind >/dev/null; then
        meson test -C build --setup valgrind --suite unit --no-suite python --print-errorlogs
        tally build valgrind
    fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
