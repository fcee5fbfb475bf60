#!/bin/bash
# What the README's run command does, on a cgroup-v2 host with systemd: the
# agent on the real defaults with the example policies (policies/), then the
# demo workload (deploy/demo-workload.sh: a transient scope with
# MemoryHigh=32M thrashing the page cache); the example policy
# memwarden-demo fires on the kernel's memory.high events. (The same on the
# hybrid layout is part of the `hybrid` scenario, and tests/host-v1.py's
# machine runs it for real: see the README.)
set -euo pipefail
. "$MW_LIB"

mw_start --policy-dir /opt/mw/policies --report-dir "$MW_OUT/reports" --event-log "$MW_OUT/events.jsonl"
/opt/mw/deploy/demo-workload.sh 4 2>&1 | tee "$MW_OUT/demo.txt"
mw_wait_record '"policy":"memwarden-demo".*"action":"report".*"result":"done"' 30 || true
systemctl list-units --all --no-legend 'memwarden-demo*' >"$MW_OUT/units-after.txt" || true
mw_stop
