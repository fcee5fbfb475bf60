#!/bin/bash
# The README's two commands, deploy/run-agent.sh and tests/run-tests.sh, in
# both orders, each order on a clean copy of this tree (the files git knows
# of, as they are in the work tree: no build directories). The parts that can
# run here: the run command builds and starts the agent (MW_DEMO=0 and
# --version, so it exits at once); the test command sets every build up as a
# real run does and lists what each suite would run (--list), which must be
# the full suite: the unit tests, the VM scenarios and the valgrind setup.
# Run as tests/run-tests.sh does (root, the test dependencies installed).
# Exit 0 when both orders hold; the copies are removed unless KEEP=1.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d /tmp/memwarden-order.XXXXXX) || exit 1
bad=0

copy_tree() { # dir
    mkdir -p "$1"
    (cd "$src" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$src" --null -T - -cf - | tar -C "$1" -xf -
}

agent() { # dir label
    local out
    out=$(cd "$1" && MW_DEMO=0 deploy/run-agent.sh --version 2>"$scratch/$2-agent.log")
    if [ "$out" != "memwardend $(cd "$src" && sed -n "s/^ *version : '\(.*\)',/\1/p" meson.build)" ]; then
        echo "either-order: $2: run-agent.sh printed '$out', not the version (log: $scratch/$2-agent.log)"
        tail -n 20 "$scratch/$2-agent.log"
        bad=1
    fi
}

tests_list() { # dir label
    local log=$scratch/$2-tests.log was=$bad
    (cd "$1" && tests/run-tests.sh --list) >"$log" 2>&1
    local rc=$?
    # Each suite the real run has, with tests in it.
    for want in "build-asan --suite unit" "build --suite integration" "build --setup valgrind --suite unit"; do
        if ! grep -q "^would run: $want.*: [1-9][0-9]* tests" "$log"; then
            echo "either-order: $2: run-tests.sh would not run '$want' (log: $log)"
            bad=1
        fi
    done
    if [ $rc != 0 ]; then
        echo "either-order: $2: run-tests.sh --list exited $rc (log: $log)"
        bad=1
    fi
    [ $bad = "$was" ] || tail -n 20 "$log"
}

# Order 1: the run command first (build/ without tests), then the test command.
copy_tree "$scratch/agent-first"
agent "$scratch/agent-first" agent-first
tests_list "$scratch/agent-first" agent-first
# ... and the run command again on what the test command left.
agent "$scratch/agent-first" agent-first-again

# Order 2: the test command first (build/ with tests), then the run command.
copy_tree "$scratch/tests-first"
tests_list "$scratch/tests-first" tests-first
agent "$scratch/tests-first" tests-first
tests_list "$scratch/tests-first" tests-first-again

if [ $bad = 0 ]; then
    echo "either-order: both orders build, run the agent and list the full suite"
    [ "${KEEP:-}" = 1 ] || rm -rf "${scratch:?}"
    exit 0
fi
echo "either-order: logs kept in $scratch"
exit 1
