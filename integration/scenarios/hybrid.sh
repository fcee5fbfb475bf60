#!/bin/bash
# A hybrid cgroup host with systemd as PID 1 (booted with
# systemd.unified_cgroup_hierarchy=0: the v1 controllers under /sys/fs/cgroup,
# a controller-less cgroup2 at /sys/fs/cgroup/unified), as older distributions
# and this project's build machines have it. memwardend finds the layout by
# itself; systemd units get v1 memory notifications, PSI from the unified
# hierarchy, and restart and kill through systemd.
set -euo pipefail
. "$MW_LIB"

grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo | tee "$MW_OUT/layout.txt"
grep ' /sys/fs/cgroup/unified ' /proc/self/mountinfo | tee -a "$MW_OUT/layout.txt"
POL=/etc/mw-hybrid
mkdir -p "$POL"
cp /opt/mw/policies/memwarden-demo.yaml "$POL/"
cat >"$POL/units.yaml" <<'EOF2'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: half-then-restart}
spec:
  match: {unit: mw-v1a.service}
  triggers:
    any: [{usage: {of: max, above: 50%}}]
  actions:
    - {type: notify}
    - {type: report}
    - {type: restart}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: squeezed-then-kill}
spec:
  match: {unit: mw-v1b.service}
  triggers:
    any: [{pressureLevel: {level: medium, count: 3, window: 10s}}]
  actions:
    - {type: notify}
    - {type: kill, after: 4s}
EOF2

mw_start --policy-dir "$POL" --report-dir "$MW_OUT/reports" --event-log "$MW_OUT/events.jsonl" --psi-stall 50ms
mw_status --json | head -1 >"$MW_OUT/status-start.json"

# 1. Usage of a unit's memory.limit_in_bytes (MemoryMax= on the legacy hierarchy)
#    crosses 50%: the threshold eventfd; notify, report, restart through systemd.
systemd-run --unit=mw-v1a -p MemoryMax=64M -p Restart=no "$MW_BIN/mw-hog" 40 0 1
pid_a=$(systemctl show -P MainPID mw-v1a.service)
echo "pid_a_before=$pid_a" >"$MW_OUT/expect.txt"
mw_wait_record '"event":"usage_threshold","cgroup":"/system.slice/mw-v1a.service"' 60
mw_wait_record '"cgroup":"/system.slice/mw-v1a.service".*"action":"restart".*"result":"done"' 60
new_main_pid() { local p; p=$(systemctl show -P MainPID "$1"); [ "$p" -gt 0 ] && [ "$p" != "$2" ]; }
mw_until 30 new_main_pid mw-v1a.service "$pid_a" || true
# The restarted unit's hog crosses the threshold again: its policy fires anew
# (every step within its cooldown). Wait for that second firing.
fired_twice() {
    [ "$(grep -cE '"event":"policy","cgroup":"/system.slice/mw-v1a.service".*"fired":true' "$MW_RECORDS")" -ge 2 ]
}
mw_until 60 fired_twice || true
echo "pid_a_after=$(systemctl show -P MainPID mw-v1a.service)" >>"$MW_OUT/expect.txt"
systemctl stop mw-v1a.service

# 2. Page-cache thrash in a 16M unit: pressure_level notifications, PSI from
#    the unit's cgroup in the unified hierarchy, KillUnit after 4 s.
systemd-run --unit=mw-v1b -p MemoryMax=16M /bin/sh -c \
    'while :; do dd if=/dev/zero of=/var/tmp/mw-big bs=1M count=48 conv=fsync 2>/dev/null; cat /var/tmp/mw-big >/dev/null; done'
mw_wait_record '"event":"pressure_level","cgroup":"/system.slice/mw-v1b.service"' 60
mw_wait_record '"cgroup":"/system.slice/mw-v1b.service".*"action":"kill".*"result":"done"' 60
unit_down() { ! systemctl -q is-active "$1"; }
mw_until 30 unit_down mw-v1b.service || true
systemctl show -p Result -p ActiveState mw-v1b.service | tee "$MW_OUT/v1b-show.txt"
rm -f /var/tmp/mw-big

# 3. The run command's demo workload on this layout.
/opt/mw/deploy/demo-workload.sh 4 2>&1 | tee "$MW_OUT/demo.txt"
mw_wait_record '"policy":"memwarden-demo".*"fired":true' 30 || true

mw_status --json >"$MW_OUT/status-end.jsonl"
mw_stop
