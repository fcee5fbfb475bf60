#!/bin/bash
# Install what is needed, build, and run every test: the unit suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the real-kernel
# integration suite in a qemu VM (see integration/README.md). Needs root (the
# VM image is built with debootstrap). Ends with "N passed, N failed".
# After the unit suite, with clang, the libFuzzer build: each fuzz target
# runs for FUZZ_SECONDS (8) from its corpus, each one test in the tally.
# --fuzz-only: that part alone (no install, no unit or VM suite).
# --list: install and set every build up as a run would, then list the tests
# each suite would run instead of running them (none built, no fuzzing);
# fails if a suite would run none. tests/either-order.sh uses it.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzz_only=false list=false
[ "${1:-}" = --fuzz-only ] && fuzz_only=true
[ "${1:-}" = --list ] && list=true
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
# meson test in builddir with args, then its tally; with --list only the
# count of what it would run. Either way a suite with no tests is a failure:
# a build set up without -Dtests=true has none, and meson calls that success.
suite() { # builddir [--setup NAME] meson-test-args...
    local dir=$1 n; shift
    local setup_name=
    [ "${1:-}" = --setup ] && setup_name=$2
    n=$(meson test -C "$dir" --list --no-rebuild "$@" 2>/dev/null | grep -c " / ")
    if [ "$n" = 0 ]; then
        echo "$dir: no tests for: meson test $* (set up without -Dtests=true?)" >&2
        failed=$((failed + 1))
        return
    fi
    if $list; then
        echo "would run: $dir $*: $n tests"
        passed=$((passed + 1))
        return
    fi
    meson test -C "$dir" "$@" --print-errorlogs
    tally "$dir" $setup_name
}

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
build() { # builddir: not for --list
    $list || ninja -C "$1"
}

if ! $fuzz_only; then
    if setup build-asan -Dtests=true -Db_sanitize=address,undefined -Db_lundef=false && build build-asan; then
        suite build-asan --suite unit
    else
        failed=$((failed + 1))
    fi
fi

# The README's two commands in either order, each on a clean copy of the tree.
if ! $fuzz_only && ! $list; then
    if tests/either-order.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

if $list; then
    :
elif command -v clang >/dev/null; then
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
    if setup build -Dtests=true -Db_sanitize=none && build build; then
        # The Debian package (lintian clean), which the package scenario installs.
        if $list; then
            :
        elif deploy/build-deb.sh build/deb; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
        suite build --suite integration
        # The unit suite again under valgrind's memcheck, on the plain build (the
        # python-driven host test runs the daemon itself: not under valgrind).
        if command -v valgrind >/dev/null; then
            suite build --setup valgrind --suite unit --no-suite python
        fi
    else
        failed=$((failed + 1))
    fi
fi

if $list; then
    echo "list: $passed suites with tests, $failed without"
    [ "$failed" = 0 ]
    exit
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
