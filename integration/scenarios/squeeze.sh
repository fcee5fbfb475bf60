#!/bin/bash
# A node-wide squeeze: memory nearly exhausted in the whole VM. memwarden must
# keep answering (status within a bound) and recording, from locked memory,
# and must not be the OOM killer's pick.
set -euo pipefail
. "$MW_LIB"

mw_start
mw_footprint baseline
avail_mib=$(( $(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024 ))
echo "MemAvailable at start: $avail_mib MiB"
cg=/sys/fs/cgroup/squeeze
mkdir "$cg"
# A limit just under what is available: high events and pressure while the
# whole node is nearly out of memory.
echo $(( (avail_mib - 48) * 1024 * 1024 )) >"$cg/memory.high"
hogs=()
for i in 1 2 3 4; do
    ( echo "$BASHPID" >"$cg/cgroup.procs"; exec "$MW_BIN/mw-hog" $(( avail_mib / 4 )) 0 4 ) &
    hogs+=($!)
done
worst=0 answered=0 failed=0
for i in $(seq 1 20); do
    t0=$(date +%s%N)
    if timeout 10 "$MW_BIN/memwardenctl" --socket "$MW_SOCK" status >/dev/null; then
        answered=$((answered + 1))
    else
        failed=$((failed + 1))
    fi
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$ms" -gt "$worst" ] && worst=$ms
    sleep 0.5
done
grep -E '^(MemAvailable|MemFree)' /proc/meminfo
cat "$cg/memory.events"
mw_footprint squeezed
{
    echo "answered=$answered"
    echo "failed=$failed"
    echo "worst_ms=$worst"
    echo "mw_alive=$(kill -0 "$MW_PID" && echo yes || echo no)"
    echo "oom_score_adj=$(cat /proc/"$MW_PID"/oom_score_adj)"
} >"$MW_OUT/expect.txt"
kill -9 $(cat "$cg/cgroup.procs") 2>/dev/null || true
wait "${hogs[@]}" || true
empty() { ! grep -q . "$cg/cgroup.procs"; }
mw_until 30 empty || true
mw_until 10 rmdir "$cg"
mw_stop
