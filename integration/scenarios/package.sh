#!/bin/bash
# The Debian package as an admin meets it, offline: `apt-get install ./x.deb`
# (the .deb tests/run-tests.sh built, copied in by package.prepare; every
# dependency is in the guest image), the service enabled and running under
# its hardened unit, READY; the sandbox and capabilities as systemd and the
# kernel see them, and systemd-analyze security for it and for Debian 12's
# systemd-oomd.service on this systemd; the daemon's own capability drop when
# started by hand as root; the example policy copied into
# /etc/memwarden/policies.d firing on the demo workload, and a throttle
# through cgroupfs and through systemd on workloads of another user; a
# SIGSTOPped daemon caught by the watchdog and restarted by systemd; then
# `apt-get purge`: nothing left installed, running or throttled.
set -euo pipefail
. "$MW_LIB"

U=memwardend.service
PD=/etc/memwarden/policies.d
CG=/sys/fs/cgroup/mw-pkg-thr
kv() { echo "$1=$2" | tee -a "$MW_OUT/expect.txt"; }
active() { [ "$(systemctl is-active $U)" = active ]; }

systemctl --version | head -1 >"$MW_OUT/systemd-version.txt"
cp /opt/mw/deb/memwarden_*.deb /tmp/
deb=$(ls /tmp/memwarden_*.deb)
dpkg-deb -I "$deb" >"$MW_OUT/deb-info.txt"
apt-get install -y "$deb" >"$MW_OUT/apt-install.txt" 2>&1 || { tail -n 30 "$MW_OUT/apt-install.txt"; exit 1; }
kv enabled "$(systemctl is-enabled $U)"
mw_until 60 active || true
kv active "$(systemctl is-active $U)"
systemctl show -p StatusText -p MainPID -p NRestarts -p WatchdogUSec -p Nice -p MemoryMin -p MemoryLow \
    -p CapabilityBoundingSet -p NoNewPrivileges -p ProtectSystem -p PrivateNetwork $U | tee "$MW_OUT/show-install.txt"
pid=$(systemctl show -P MainPID $U)
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/"$pid"/status | tee "$MW_OUT/caps-unit.txt"
kv nice "$(awk '{print $19}' /proc/"$pid"/stat)"
kv ctl_status "$(memwardenctl status >/dev/null 2>&1 && echo ok || echo failed)"
memwardenctl status --json | head -1 >"$MW_OUT/status-unit.json" || true
ls -la $PD >"$MW_OUT/policies-d.txt"
man_pages=$(ls /usr/share/man/man8/memwardend.8.gz /usr/share/man/man1/memwardenctl.1.gz \
    /usr/share/man/man5/memwarden.policy.5.gz 2>/dev/null | wc -l)
kv man_pages "$man_pages"

# systemd-analyze security on this systemd: ours, and systemd-oomd's unit as
# Debian 12 ships it (loaded from /run, never started: no binary here).
systemd-analyze security --no-pager $U >"$MW_OUT/security-memwardend.txt" 2>&1 || true
install -m 644 /opt/mw/integration/scenarios/package.oomd.service /run/systemd/system/systemd-oomd.service
systemctl daemon-reload
systemd-analyze security --no-pager systemd-oomd.service >"$MW_OUT/security-oomd.txt" 2>&1 || true
rm -f /run/systemd/system/systemd-oomd.service
systemctl daemon-reload
tail -n 1 "$MW_OUT/security-memwardend.txt" "$MW_OUT/security-oomd.txt"

# The daemon's own drop, started by hand as root (full capabilities), with
# memory locked under an unlimited RLIMIT_MEMLOCK: it keeps the four.
(
    ulimit -l unlimited
    exec /usr/sbin/memwardend --output none --socket /run/mw-pkg-hand.sock --policy-dir '' --state-dir '' \
        --event-log '' --report-dir '' --no-bus 2>"$MW_OUT/by-hand.log"
) &
hand=$!
mw_until 60 memwardenctl --socket /run/mw-pkg-hand.sock status || true
grep -E '^Cap(Prm|Eff|Bnd):' /proc/$hand/status | tee "$MW_OUT/caps-by-hand.txt"
kill -TERM $hand
wait $hand || true

# Workloads of another user (nobody): a plain cgroup and a transient service.
mkdir -p $CG
echo 100M >$CG/memory.max
(echo $BASHPID >$CG/cgroup.procs && exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$MW_BIN/mw-hog" 40 0) &
hog=$!
systemd-run --quiet --unit=mw-pkg-unit -p User=nobody -p MemoryMax=100M "$MW_BIN/mw-hog" 40 0

# The example policy, copied as the README says, and one that throttles.
cp $PD/memwarden-demo.yaml.example $PD/memwarden-demo.yaml
cat >$PD/pkg-throttle.yaml <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: pkg-throttle}
spec:
  match: {cgroup: "/mw-pkg-thr"}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    for: 2s
    clearAfter: 1h
  actions:
    - {type: report}
    - {type: throttle, floor: 64Mi, step: 10%, interval: 2s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: pkg-unit-throttle}
spec:
  match: {unit: mw-pkg-unit.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    for: 2s
    clearAfter: 1h
  actions:
    - {type: throttle, floor: 64Mi, step: 10%, interval: 2s}
EOF
memwardenctl check $PD | tee "$MW_OUT/check.txt"
loaded() { memwardenctl explain /mw-pkg-thr 2>/dev/null | grep -q pkg-throttle; }
mw_until 60 loaded || echo "policies not loaded in time" >&2
/opt/mw/deploy/demo-workload.sh 4 2>&1 | tee "$MW_OUT/demo.txt"
ev=/var/log/memwarden/events.jsonl
demo_reported() { grep -q '"policy":"memwarden-demo".*"action":"report".*"result":"done"' $ev; }
mw_until 60 demo_reported || echo "no demo report" >&2
thr_cg() { [ "$(cat $CG/memory.high)" != max ]; }
thr_unit() { [ "$(systemctl show -P MemoryHigh mw-pkg-unit.service)" != infinity ]; }
mw_until 90 thr_cg || echo "cgroup not throttled" >&2
mw_until 90 thr_unit || echo "unit not throttled" >&2
kv high_cg_throttled "$(cat $CG/memory.high)"
kv high_unit_throttled "$(systemctl show -P MemoryHigh mw-pkg-unit.service)"
cp -r /var/lib/memwarden/reports "$MW_OUT/reports" 2>/dev/null || true
# Slices at a glance: the tree, and the throttled cgroup's line as JSON.
memwardenctl tree >"$MW_OUT/tree.txt" 2>&1 || true
memwardenctl --json tree /mw-pkg-thr >"$MW_OUT/tree-thr.jsonl" 2>&1 || true
memwardenctl --json tree /system.slice >"$MW_OUT/tree-system.jsonl" 2>&1 || true

# The watchdog: a stopped loop is caught (WatchdogSec=), the service restarted.
n0=$(systemctl show -P NRestarts $U)
pid0=$(systemctl show -P MainPID $U)
kv pid_before "$pid0"
kill -STOP "$pid0"
restarted() { [ "$(systemctl show -P NRestarts $U)" -gt "$n0" ] && active &&
    [ "$(systemctl show -P MainPID $U)" != "$pid0" ]; }
mw_until 300 restarted || echo "not restarted" >&2
kv pid_after "$(systemctl show -P MainPID $U)"
kv restarts "$(( $(systemctl show -P NRestarts $U) - n0 ))"
kv active_after_watchdog "$(systemctl is-active $U)"
# The new instance takes the throttles up again (the policy still holds).
mw_until 90 thr_cg || true
mw_until 90 thr_unit || true
kv high_cg_before_purge "$(cat $CG/memory.high)"
kv high_unit_before_purge "$(systemctl show -P MemoryHigh mw-pkg-unit.service)"
journalctl -u $U -o json --no-pager >"$MW_OUT/journal-memwardend.json"
cp $ev "$MW_OUT/events.jsonl"

# Purge: stopped (throttles given back at SIGTERM), removed, its state gone;
# the admin's own policy files stay (dpkg does not remove them).
apt-get purge -y memwarden >"$MW_OUT/apt-purge.txt" 2>&1 || { tail -n 30 "$MW_OUT/apt-purge.txt"; exit 1; }
kv load_state_after_purge "$(systemctl show -P LoadState $U)"
kv procs_after_purge "$(pgrep -x memwardend | wc -l)"
kv high_cg_after_purge "$(cat $CG/memory.high)"
kv high_unit_after_purge "$(systemctl show -P MemoryHigh mw-pkg-unit.service)"
kv frozen_after_purge "$(grep -l '^frozen 1' $(find /sys/fs/cgroup -name cgroup.events) 2>/dev/null | wc -l)"
left=
for p in /usr/sbin/memwardend /usr/bin/memwardenctl /lib/systemd/system/$U /usr/share/dbus-1/system.d/org.memwarden1.conf \
         /var/lib/memwarden /var/log/memwarden /run/memwarden /usr/share/man/man8/memwardend.8.gz $PD/README \
         $PD/memwarden-demo.yaml.example; do
    [ -e "$p" ] && left="$left $p"
done
kv left_after_purge "${left# }"
kv etc_after_purge "$(ls $PD 2>/dev/null | tr '\n' ' ')"
kv dpkg_status "$(dpkg-query -W -f='${db:Status-Status}' memwarden 2>/dev/null || echo not-known)"

kill $hog 2>/dev/null || true
wait $hog 2>/dev/null || true
systemctl stop mw-pkg-unit.service || true
rmdir $CG 2>/dev/null || true
