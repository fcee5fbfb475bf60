#!/bin/bash
# Node-wide triggers on the real kernel: MemAvailable below a watermark
# (two hogs take most of the VM's memory; `select: hungriest` kills the
# bigger one only), and the node's PSI trigger on
# /proc/pressure/memory (a hog throttled under memory.high stalls).
set -euo pipefail
. "$MW_LIB"

HOG="$MW_BIN/mw-hog"
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
# The watermark: 250 MiB below what is available now; the hogs take 300 + 100
# MiB: once the bigger one is gone, MemAvailable is above it again.
below=$(( avail_kb / 1024 - 250 ))
echo "watermark_mib=$below" >>"$MW_OUT/expect.txt"
POL=/etc/mw-node
mkdir -p "$POL"
cat >"$POL/node.yaml" <<EOF2
apiVersion: memwarden/v1
kind: Policy
metadata: {name: low-available}
spec:
  match: {cgroup: "/mwnode/*"}
  select: {by: hungriest}
  triggers:
    any: [{nodeAvailable: {below: ${below}Mi}}]
    clearAfter: 2s
  actions:
    - {type: notify}
    - {type: report}
    - {type: kill, after: 3s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: node-pressure}
spec:
  match: {cgroup: /mwpsi}
  triggers:
    any: [{nodePressure: {type: some, above: 5%, window: 4s}}]
  actions:
    - {type: notify}
EOF2

mkdir /sys/fs/cgroup/mwnode /sys/fs/cgroup/mwpsi
echo +memory >/sys/fs/cgroup/mwnode/cgroup.subtree_control
mkdir /sys/fs/cgroup/mwnode/big /sys/fs/cgroup/mwnode/small
echo 600M >/sys/fs/cgroup/mwnode/big/memory.max
echo 600M >/sys/fs/cgroup/mwnode/small/memory.max
echo 40M >/sys/fs/cgroup/mwpsi/memory.high
mw_start --policy-dir "$POL" --report-dir "$MW_OUT/reports" --event-log "$MW_OUT/events.jsonl" --no-bus
mw_status --json | head -1 >"$MW_OUT/status-start.json"

# 1. MemAvailable: hogs of 100 and 300 MiB in /mwnode/small and /mwnode/big;
#    the policy fires on the hungriest only, reports, kills it.
/bin/sh -c "echo \$\$ >/sys/fs/cgroup/mwnode/small/cgroup.procs; exec $HOG 100 0 8" &
SMALL_HOG=$!
# The small one holds its 100 MiB before the big one starts (a state, not a time).
holds() { [ "$(cat "/sys/fs/cgroup/mwnode/$1/memory.current")" -ge $(($2 << 20)) ]; }
mw_until 120 holds small 95
/bin/sh -c "echo \$\$ >/sys/fs/cgroup/mwnode/big/cgroup.procs; exec $HOG 300 0 8" &
NODE_HOG=$!
echo "node_hog_pid=$NODE_HOG" >>"$MW_OUT/expect.txt"
mw_wait_record '"event":"node".*"MemAvailable fell below' 90
mw_wait_record '"cgroup":"/mwnode/big".*"action":"kill".*"result":"done"' 60
wait "$NODE_HOG" && echo "node_hog_exit=0" >>"$MW_OUT/expect.txt" || echo "node_hog_exit=$?" >>"$MW_OUT/expect.txt"
mw_wait_record '"event":"node".*"MemAvailable rose above' 30
mw_wait_record '"cgroup":"/mwnode/big".*"event":"policy".*"cleared":true|"event":"policy","cgroup":"/mwnode/big".*"cleared":true' 30
kill -0 "$SMALL_HOG" && echo "small_hog_alive=1" >>"$MW_OUT/expect.txt"
kill -9 "$SMALL_HOG"; wait "$SMALL_HOG" || true

# 2. Node PSI: a hog held under memory.high stalls the node.
/bin/sh -c "echo \$\$ >/sys/fs/cgroup/mwpsi/cgroup.procs; exec $HOG 60 0 1" &
PSI_HOG=$!
mw_wait_record '"event":"node".*"memory pressure on the node"' 60
mw_wait_record '"cgroup":"/mwpsi".*"action":"notify"' 60
kill -9 "$PSI_HOG"; wait "$PSI_HOG" || true
mw_status --json | head -1 >"$MW_OUT/status-end.json"
mw_stop
rmdir /sys/fs/cgroup/mwnode/big /sys/fs/cgroup/mwnode/small /sys/fs/cgroup/mwnode /sys/fs/cgroup/mwpsi
