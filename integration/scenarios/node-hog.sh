#!/bin/bash
# The node-wide alarm with default daemon flags, against a real hog: the
# admin's policy (policies/node-low-memory.yaml's shape: a report at a soft
# watermark, a kill of the hungriest workload at a hard one) in the default
# policy directory, the hog in an unlimited transient scope of bench.slice
# (not watched by --watch limited: the policy makes it watched), beside two
# smaller workloads in the same slice. Once for a hog filling 80 MiB/s, once
# for one filling as fast as the guest allows. The hog and only the hog is
# killed, the report comes first, the kernel's OOM killer never fires.
set -euo pipefail
. "$MW_LIB"

HOG="$MW_BIN/mw-hog"
SOFT=512 HARD=128
oom_kills() { awk '/^oom_kill / {print $2}' /proc/vmstat; }
avail_mib() { awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo; }
echo "soft_mib=$SOFT" >>"$MW_OUT/expect.txt"
echo "hard_mib=$HARD" >>"$MW_OUT/expect.txt"
echo "mem_total_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" >>"$MW_OUT/expect.txt"
echo "swap_total_kib=$(awk '/^SwapTotal:/ {print $2}' /proc/meminfo)" >>"$MW_OUT/expect.txt"

POL=/etc/memwarden/policies.d # the default --policy-dir
mkdir -p "$POL"
cat >"$POL/node-low-memory.yaml" <<EOF2
apiVersion: memwarden/v1
kind: Policy
metadata: {name: node-memory-soft}
spec:
  match: {cgroup: "/"}
  triggers:
    any:
      - nodeAvailable: {below: ${SOFT}Mi}
  actions:
    - type: notify
    - {type: report, cooldown: 0s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: node-memory-hard}
spec:
  match: {cgroup: "/bench.slice/*"}
  select: {by: hungriest, count: 1}
  triggers:
    any:
      - nodeAvailable: {below: ${HARD}Mi}
  actions:
    - type: notify
    - {type: kill, cooldown: 0s}
---
# systemd-oomd's model: pressure on a slice, kill its most stalled child.
apiVersion: memwarden/v1
kind: Policy
metadata: {name: squeeze-children}
spec:
  match: {cgroup: /squeeze.slice}
  target: children
  select: {by: pressure, window: 10s}
  triggers:
    any:
      - pressure: {type: some, above: 5%, window: 4s}
  actions:
    - {type: kill, cooldown: 0s}
EOF2

# Two smaller workloads in the same slice, one in a sub-slice: they live on.
systemd-run --scope --unit=mw-keep --slice=bench.slice "$HOG" 30 0 2 >/dev/null &
KEEP=$!
systemd-run --scope --unit=mw-keep2 --slice=bench-sub.slice "$HOG" 20 0 2 >/dev/null &
KEEP2=$!
holds() { [ "$(cat "/sys/fs/cgroup/bench.slice/$1/memory.current" 2>/dev/null || echo 0)" -ge $(($2 << 20)) ]; }
mw_until 120 holds mw-keep.scope 29
mw_until 120 holds bench-sub.slice/mw-keep2.scope 19

# Default flags (the harness's --output and --socket only).
mw_start
mw_status --json | head -1 >"$MW_OUT/status-start.json"
echo "watched_start=$(mw_status --json | tail -n +2 | grep -c '"cgroup":"/bench.slice/')" >>"$MW_OUT/expect.txt"

# The lowest MemAvailable (KiB) while a hog runs, into FILE when told to stop:
# /proc/meminfo every 10 ms with bash builtins only (no fork per sample), to
# see how far it fell after the decision, while the kill took effect.
min_sampler() {
    local out=$1 min=999999999 k v u
    mkfifo "/run/mw-tick-$$-$BASHPID" && exec 9<>"/run/mw-tick-$$-$BASHPID"
    trap 'echo "$min" >"$out"; exit 0' TERM
    while :; do
        while read -r k v u; do
            if [ "$k" = MemAvailable: ]; then
                [ "$v" -lt "$min" ] && min=$v
                break
            fi
        done </proc/meminfo
        read -t 0.01 -u 9 || true
    done
}

run_hog() { # NAME PAUSE_MS STEP_MIB
    local name=$1 pause=$2 step=$3 line oom0 rc
    # Plenty of memory again, every policy idle, before each hog.
    mw_until 120 test "$(avail_mib)" -gt $((SOFT + 64))
    line=$(mw_mark)
    oom0=$(oom_kills)
    echo "${name}_avail_before_mib=$(avail_mib)" >>"$MW_OUT/expect.txt"
    echo "${name}_line=$line" >>"$MW_OUT/expect.txt"
    min_sampler "$MW_OUT/$name-min-avail-kib" &
    local sampler=$!
    # 4 GiB: far more than the guest has; only a kill ends it.
    systemd-run --scope --unit="mw-hog-$name" --slice=bench.slice "$HOG" 4096 0 "$step" "$pause" >/dev/null &
    local pid=$!
    mw_wait_after "$line" "\"cgroup\":\"/bench.slice/mw-hog-$name.scope\".*\"action\":\"kill\".*\"result\":\"(done|failed|refused)\"" 300 || true
    rc=0
    wait "$pid" || rc=$?
    echo "${name}_exit=$rc" >>"$MW_OUT/expect.txt"
    kill -TERM "$sampler"
    wait "$sampler" || true
    echo "${name}_min_avail_kib=$(cat "$MW_OUT/$name-min-avail-kib")" >>"$MW_OUT/expect.txt"
    echo "${name}_oom_kill_delta=$(( $(oom_kills) - oom0 ))" >>"$MW_OUT/expect.txt"
    mw_until 120 test "$(avail_mib)" -gt $((SOFT + 64))
    mw_wait_after "$line" '"event":"node".*"MemAvailable rose above' 60 || true
    # The soft policy's episode ends (clearAfter), so the next hog starts a new one.
    mw_wait_after "$line" '"event":"policy","cgroup":"/",.*"policy":"node-memory-soft".*"cleared":true' 120 || true
}

run_hog slow 100 8   # 8 MiB every 100 ms: 80 MiB/s
run_hog fast 0 64    # as fast as the guest allows

# 3. target: children, select by: pressure. The slice held at memory.high 64M:
#    the calm scope holds 44 MiB (the hungriest), then the staller wants 100 MiB
#    and is throttled at the slice's high (the most stalled). The staller is
#    killed, not the calm one, not the slice.
line=$(mw_mark)
echo "squeeze_line=$line" >>"$MW_OUT/expect.txt"
systemd-run --scope --unit=mw-calm --slice=squeeze.slice "$HOG" 44 0 4 >/dev/null &
CALM=$!
mw_until 120 test -e /sys/fs/cgroup/squeeze.slice/memory.high
systemctl set-property --runtime squeeze.slice MemoryHigh=64M
sq_holds() { [ "$(cat /sys/fs/cgroup/squeeze.slice/mw-calm.scope/memory.current 2>/dev/null || echo 0)" -ge $((43 << 20)) ]; }
mw_until 120 sq_holds
systemd-run --scope --unit=mw-staller --slice=squeeze.slice "$HOG" 100 0 1 >/dev/null &
STALLER=$!
mw_wait_after "$line" '"cgroup":"/squeeze.slice/mw-staller.scope".*"action":"kill".*"result":"(done|failed|refused)"' 240 || true
rc=0
wait "$STALLER" || rc=$?
echo "staller_exit=$rc" >>"$MW_OUT/expect.txt"
kill -0 "$CALM" && echo "calm_alive=1" >>"$MW_OUT/expect.txt"
kill -9 "$CALM" 2>/dev/null || true
wait "$CALM" 2>/dev/null || true

kill -0 "$KEEP" && echo "keep_alive=1" >>"$MW_OUT/expect.txt"
kill -0 "$KEEP2" && echo "keep2_alive=1" >>"$MW_OUT/expect.txt"
mw_status --json | head -1 >"$MW_OUT/status-end.json"
mw_stop
kill -9 "$KEEP" "$KEEP2" 2>/dev/null || true
wait "$KEEP" "$KEEP2" 2>/dev/null || true
cp /var/log/memwarden/events.jsonl "$MW_OUT/" 2>/dev/null || true
ls /var/lib/memwarden/reports >"$MW_OUT/reports.txt" 2>/dev/null || true
