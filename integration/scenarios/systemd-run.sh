#!/bin/bash
# The classic case people try by hand: a hog in a transient unit made with
# systemd-run -p MemoryMax= -p MemoryHigh=; memwarden sees the high events
# and the pressure of that unit's cgroup.
set -euo pipefail
. "$MW_LIB"

mw_start
systemd-run --unit=mw-hog -p MemoryMax=256M -p MemoryHigh=40M "$MW_BIN/mw-hog" 52 0 1
mw_wait_record '"event":"memory_events","cgroup":"/system.slice/mw-hog.service"' 60
mw_wait_record '"event":"psi","cgroup":"/system.slice/mw-hog.service"' 30
systemctl show -p MemoryHigh -p MemoryMax mw-hog.service
systemctl stop mw-hog.service
echo "high_final=$(systemctl show -P MemoryHigh mw-hog.service >/dev/null; grep -h '^high' /sys/fs/cgroup/system.slice/mw-hog.service/memory.events 2>/dev/null | cut -d' ' -f2)" >"$MW_OUT/expect.txt"
mw_wait_record '"event":"cgroup_removed","cgroup":"/system.slice/mw-hog.service"' 20
mw_status --all >"$MW_OUT/status.txt"
mw_stop
