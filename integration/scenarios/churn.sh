#!/bin/bash
# Churn: 200 transient scopes (with a MemoryMax, so they are watched) made
# and removed through systemd while memwarden runs. It must follow every one,
# leak no fd or watch, and its memory must return to where it was.
# Waits are for states: systemd-run is called 10 at a time (50 concurrent
# StartTransientUnit calls time out on a loaded 2-core machine), each batch
# waited for until its scopes are running; the scopes live until they are
# killed, and the footprints are taken once the daemon has dropped them.
set -euo pipefail
. "$MW_LIB"

SL=/sys/fs/cgroup/system.slice
# A scope is running once its cgroup holds its process.
scope_running() { local x; read -r x <"$SL/$1.scope/cgroup.procs"; }
# start_scopes PREFIX FROM TO: one scope each (sleep until killed), 10 calls
# to systemd-run at a time; returns once all of them run. Pids in $pids.
start_scopes() {
    local prefix=$1 i j
    pids=()
    for ((i = $2; i <= $3; i += 10)); do
        for ((j = i; j < i + 10 && j <= $3; j++)); do
            systemd-run --quiet --scope --unit="$prefix-$j" -p MemoryMax=64M sleep 3600 &
            pids+=($!)
        done
        for ((j = i; j < i + 10 && j <= $3; j++)); do
            mw_until 120 scope_running "$prefix-$j"
        done
    done
}
no_scopes() { ! ls "$SL" | grep -q "^$1-"; }
# stop_scopes PREFIX: kill them, wait until systemd and memwarden let them go.
stop_scopes() {
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    mw_until 120 no_scopes "$1"
    mw_until 60 mw_status_lacks "/system.slice/$1-"
}

mw_start
# A first small round so that allocator and systemd caches are warm.
start_scopes warm 1 10
stop_scopes warm
mw_footprint baseline
for batch in 0 1 2 3; do
    start_scopes churn $((batch * 50 + 1)) $((batch * 50 + 50))
    # All 50 of this round alive at once.
    if [ "$batch" = 1 ]; then mw_footprint peak; fi
    stop_scopes churn
    if [ "$batch" = 1 ]; then mw_footprint round1; fi
done
mw_footprint after
mw_status --json >"$MW_OUT/status.jsonl"
mw_stop
