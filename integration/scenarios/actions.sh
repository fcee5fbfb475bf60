#!/bin/bash
# Policies acting on real workloads, on the real kernel and systemd:
#  - throttle through systemd (SetUnitProperties MemoryHigh), given back when
#    the hog stops, and given back on SIGTERM; a why-report naming the hog;
#  - restart over D-Bus (new MainPID, the job's result from JobRemoved);
#  - freeze and thaw of a unit (FreezeUnit/ThawUnit) and of a plain cgroup
#    (cgroup.freeze, done at cgroup.events frozen 1), then kill (cgroup.kill);
#  - kill of a unit (KillUnit);
#  - notify: journal (MESSAGE_ID), D-Bus signal, a webhook to a loopback
#    server while another webhook's endpoint never answers; exec via the
#    helper with the event on stdin; a dry-run throttle that changes nothing.
set -euo pipefail
. "$MW_LIB"

HOG="$MW_BIN/mw-hog"
POL=/etc/mw-actions
mkdir -p "$POL"
cat >"$POL/actions.yaml" <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: thr}
spec:
  match: {unit: "mw-thr*.service"}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    for: 4s
    clearAfter: 3s
  actions:
    - {type: report}
    - {type: throttle, floor: 64Mi, step: 15%, interval: 2s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: rst}
spec:
  match: {unit: mw-restart.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    for: 2s
  actions:
    - {type: restart, cooldown: 1h}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: frz}
spec:
  match: {unit: mw-freeze.service}
  triggers:
    any: [{usage: {of: high, above: 50%}}]
    clearAfter: 2s
  actions:
    - {type: freeze}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: kil}
spec:
  match: {unit: mw-kill.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
  actions:
    - {type: kill}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: plain}
spec:
  match: {cgroup: /mwplain}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    clearAfter: 2s
  actions:
    - {type: freeze}
    - {type: kill, after: 6s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: thrplain}
spec:
  match: {cgroup: /mwthrplain}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    for: 3s
    clearAfter: 2s
  actions:
    - {type: throttle, floor: 64Mi, step: 20%, interval: 2s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: ntf}
spec:
  match: {unit: mw-notify.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
  actions:
    - {type: notify, webhook: "http://127.0.0.1:8082/hang"}
    - {type: notify, webhook: "http://127.0.0.1:8081/ok"}
    - {type: exec, command: [/bin/sh, -c, "cat > /run/mw-exec.json"]}
    - {type: throttle, floor: 32Mi, dryRun: true}
EOF

install -m 644 /opt/mw/deploy/org.memwarden1.conf /etc/dbus-1/system.d/org.memwarden1.conf
systemctl reload dbus.service
python3 /opt/mw/integration/webhook-server.py 8081 8082 "$MW_OUT/webhooks.jsonl" &
WEB_PID=$!
busctl monitor --system --match "type='signal',interface='org.memwarden1.Manager'" >"$MW_OUT/busmon.txt" 2>&1 &
MON_PID=$!

mw_start --policy-dir "$POL" --report-dir "$MW_OUT/reports" --event-log "$MW_OUT/events.jsonl" \
    --webhook-timeout 4s --no-psi
busctl --system status org.memwarden1 >"$MW_OUT/busname.txt" 2>&1 || true

# 1. Throttle through systemd; given back when the hog is gone (the unit stays).
# The hog holds until it is killed, once the steps have reached the floor.
systemd-run --unit=mw-thr1 -p MemoryMax=200M -p MemoryHigh=150M \
    /bin/sh -c "$HOG 100 0 4; exec sleep infinity"
mw_wait_record '"action":"throttle".*"result":"done"' 60
unit_high_is() { [ "$(systemctl show -P MemoryHigh "$1")" = "$2" ]; }
mw_until 120 unit_high_is mw-thr1.service $((64 << 20)) || true
echo "thr1_throttled=$(systemctl show -P MemoryHigh mw-thr1.service)" >>"$MW_OUT/expect.txt"
# kill_comm CGROUPDIR COMM: SIGKILL the processes of that name in a cgroup (by pid).
kill_comm() {
    local p c
    for p in $(cat "$1/cgroup.procs"); do
        c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        [ "$c" = "$2" ] && kill -9 "$p" 2>/dev/null
    done
    return 0
}
kill_comm /sys/fs/cgroup/system.slice/mw-thr1.service mw-hog
mw_wait_record '"action":"throttle","undo":true.*"result":"done"' 90
echo "thr1_restored=$(systemctl show -P MemoryHigh mw-thr1.service)" >>"$MW_OUT/expect.txt"
systemctl stop mw-thr1.service

# 2. Throttled at SIGTERM: given back before the daemon exits.
systemd-run --unit=mw-thr2 -p MemoryMax=200M -p MemoryHigh=150M "$HOG" 100 0 4
mw_wait_record '"cgroup":"/system.slice/mw-thr2.service".*"action":"throttle".*"result":"done"' 60
echo "thr2_throttled=$(systemctl show -P MemoryHigh mw-thr2.service)" >>"$MW_OUT/expect.txt"

# 3. Restart over D-Bus.
systemd-run --unit=mw-restart -p MemoryMax=200M "$HOG" 80 0 4
main_pid() { systemctl show -P MainPID "$1"; }
has_main_pid() { [ "$(main_pid "$1")" -gt 0 ]; }
mw_until 30 has_main_pid mw-restart.service
pid_before=$(main_pid mw-restart.service)
echo "restart_pid_before=$pid_before" >>"$MW_OUT/expect.txt"
mw_wait_record '"action":"restart".*"result":"done"' 60
new_main_pid() { local p; p=$(main_pid "$1"); [ "$p" -gt 0 ] && [ "$p" != "$2" ]; }
mw_until 30 new_main_pid mw-restart.service "$pid_before" || true
echo "restart_pid_after=$(main_pid mw-restart.service)" >>"$MW_OUT/expect.txt"
systemctl stop mw-restart.service

# 4. Freeze a unit, thaw it when the trigger clears (a higher MemoryHigh).
systemd-run --unit=mw-freeze -p MemoryHigh=100M "$HOG" 60 0 4
mw_wait_record '"action":"freeze".*"result":"done"' 60
echo "freeze_state=$(systemctl show -P FreezerState mw-freeze.service)" >>"$MW_OUT/expect.txt"
systemctl set-property --runtime mw-freeze.service MemoryHigh=500M
mw_wait_record '"action":"freeze","undo":true.*"result":"done"' 60
echo "thaw_state=$(systemctl show -P FreezerState mw-freeze.service)" >>"$MW_OUT/expect.txt"
systemctl stop mw-freeze.service

# 5. A plain cgroup: cgroup.freeze, then cgroup.kill.
mkdir /sys/fs/cgroup/mwplain
echo 100M >/sys/fs/cgroup/mwplain/memory.max
/bin/sh -c "echo \$\$ >/sys/fs/cgroup/mwplain/cgroup.procs; exec $HOG 60 0 4" &
PLAIN_PID=$!
mw_wait_record '"cgroup":"/mwplain".*"action":"freeze".*"result":"done"' 60
mw_wait_record '"cgroup":"/mwplain".*"action":"kill".*"result":"done"' 60
wait "$PLAIN_PID" && echo "plain_exit=0" >>"$MW_OUT/expect.txt" || echo "plain_exit=$?" >>"$MW_OUT/expect.txt"
mw_wait_record '"cgroup":"/mwplain".*"action":"freeze","undo":true' 30 || true
rmdir /sys/fs/cgroup/mwplain

# 5b. Throttle a plain cgroup: memory.high written by the writer thread (the
# kernel makes the writer reclaim; without swap it cannot, and gives up).
mkdir /sys/fs/cgroup/mwthrplain
echo 200M >/sys/fs/cgroup/mwthrplain/memory.max
/bin/sh -c "echo \$\$ >/sys/fs/cgroup/mwthrplain/cgroup.procs; exec $HOG 100 0 4" &
THR_PID=$!
mw_wait_record '"cgroup":"/mwthrplain".*"action":"throttle".*"result":"done"' 60
# Stepped down to the floor (64Mi), every interval while firing.
high_is() { [ "$(cat "$1/memory.high")" = "$2" ]; }
mw_until 60 high_is /sys/fs/cgroup/mwthrplain $((64 << 20)) || true
echo "thrplain_high=$(cat /sys/fs/cgroup/mwthrplain/memory.high)" >>"$MW_OUT/expect.txt"
kill -9 "$THR_PID"; wait "$THR_PID" || true
mw_wait_record '"cgroup":"/mwthrplain".*"action":"throttle","undo":true' 30
echo "thrplain_restored=$(cat /sys/fs/cgroup/mwthrplain/memory.high)" >>"$MW_OUT/expect.txt"
rmdir /sys/fs/cgroup/mwthrplain

# 6. Kill a unit through systemd.
systemd-run --unit=mw-kill -p MemoryMax=200M "$HOG" 80 0 4
mw_wait_record '"action":"kill".*"via":"systemd".*"result":"done"|"action":"kill".*"result":"done".*"via":"systemd"' 60
unit_down() { ! systemctl -q is-active "$1"; }
mw_until 30 unit_down mw-kill.service || true
echo "kill_result=$(systemctl show -P Result mw-kill.service)" >>"$MW_OUT/expect.txt"
systemctl reset-failed mw-kill.service 2>/dev/null || true

# 7. Notify: webhooks (one endpoint hangs), D-Bus signal, journal; exec; dry run.
systemd-run --unit=mw-notify -p MemoryMax=200M -p MemoryHigh=180M "$HOG" 80 0 4
mw_wait_record '"action":"notify".*"via":"webhook".*"result":"done"|"action":"notify".*"result":"done".*"via":"webhook"' 60
mw_wait_record '"action":"exec".*"result":"done"' 30
# The hanging endpoint: 4 attempts of 4 s plus backoff (1 + 2 + 4 s).
mw_wait_record '"action":"notify".*"result":"failed".*"via":"webhook"' 90
echo "notify_high=$(systemctl show -P MemoryHigh mw-notify.service)" >>"$MW_OUT/expect.txt"
cp /run/mw-exec.json "$MW_OUT/exec.json" || true
systemctl stop mw-notify.service

mw_status --json >"$MW_OUT/status.json"
mw_stop
echo "thr2_after_sigterm=$(systemctl show -P MemoryHigh mw-thr2.service)" >>"$MW_OUT/expect.txt"
systemctl stop mw-thr2.service
journalctl -o json --no-pager MESSAGE_ID=6d656d7761726465e000000000000020 >"$MW_OUT/journal-notify.json"
kill "$MON_PID" "$WEB_PID" 2>/dev/null || true
