#!/bin/bash
# Churn: 200 transient scopes (with a MemoryMax, so they are watched) made
# and removed through systemd while memwarden runs. It must follow every one,
# leak no fd or watch, and its memory must return to where it was.
set -euo pipefail
. "$MW_LIB"

mw_start
# A first small round so that allocator and systemd caches are warm.
# (wait only for these: memwardend is a background job of this shell too)
pids=()
for i in $(seq 1 10); do systemd-run --quiet --scope --unit="warm-$i" -p MemoryMax=64M sleep 0.5 & pids+=($!); done
wait "${pids[@]}"
sleep 2
mw_footprint baseline
for batch in 0 1 2 3; do
    pids=()
    for i in $(seq $((batch * 50 + 1)) $((batch * 50 + 50))); do
        systemd-run --quiet --scope --unit="churn-$i" -p MemoryMax=64M sleep 2 &
        pids+=($!)
    done
    if [ "$batch" = 1 ]; then
        # Sample while many of these scopes are alive.
        for _ in $(seq 1 100); do
            [ "$(ls /sys/fs/cgroup/system.slice | grep -c '^churn-')" -ge 25 ] && break
            sleep 0.1
        done
        mw_footprint peak
    fi
    wait "${pids[@]}"
    if [ "$batch" = 1 ]; then
        sleep 3
        mw_footprint round1
    fi
done
sleep 3
mw_footprint after
mw_status --json >"$MW_OUT/status.jsonl"
mw_stop
