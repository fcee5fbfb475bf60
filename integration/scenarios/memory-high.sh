#!/bin/bash
# Core proof on the real kernel: a cgroup whose memory.high is below what a
# hog needs; every increment of the kernel's `high` counter must reach the
# records; cgroups created and removed during the run are picked up and
# dropped, with fds and watches back to the baseline afterwards.
set -euo pipefail
. "$MW_LIB"

cg=/sys/fs/cgroup/mwtest
mw_start
mw_footprint baseline

mkdir "$cg"
echo 40M >"$cg/memory.high"
echo 256M >"$cg/memory.max"
mw_wait_record '"event":"limits","cgroup":"/mwtest"'

( echo "$BASHPID" >"$cg/cgroup.procs"; exec "$MW_BIN/mw-hog" 52 0 1 ) &
hog=$!
mw_wait_record '"event":"memory_events","cgroup":"/mwtest"' 30
mw_wait_record '"event":"psi","cgroup":"/mwtest"' 30 || echo "no PSI record yet"
sleep 5
mw_status | tee "$MW_OUT/status-during.txt"
kill -9 "$hog"
wait "$hog" || true
sleep 1
echo "high_final=$(awk '$1 == "high" {print $2}' "$cg/memory.events")" >"$MW_OUT/expect.txt"
cat "$cg/memory.events"

# Churn: cgroups with limits (watched) and without, nested, made and removed.
for i in $(seq 1 40); do
    mkdir "$cg-churn-$i" "$cg-churn-$i/inner"
    [ $((i % 2)) = 0 ] && echo 100M >"$cg-churn-$i/memory.max"
done
sleep 1
mw_footprint churn-peak
for i in $(seq 1 40); do rmdir "$cg-churn-$i/inner" "$cg-churn-$i"; done
rmdir "$cg"
sleep 1
mw_footprint after
mw_stop
