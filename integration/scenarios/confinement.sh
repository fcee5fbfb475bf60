#!/bin/bash
# Confinement: a hostile tenant names its cgroups after host units and
# kubelet's QoS cgroups, nests them deep, and memwarden must act on the
# tenant's cgroup (through cgroupfs), never on the host's unit of that name.
# Every D-Bus call to systemd is captured (busctl monitor --json=short).
#  1. a delegated container scope (systemd driver layout) with a mkdir'd child
#     kubelet.service holding a hog; a host kubelet.service; the tenant's
#     namespace policy throttles, freezes, kills the hog;
#  2. a lingering user's user@1000.service with its own web-1.service; a host
#     web-1.service; the admin's web-* policy throttles, then restarts;
#  3. a cgroup named kubepods inside a delegated scope (not a QoS cgroup) with a
#     300 MiB hog, a 100 MiB neighbour; nodeAvailable + select hungriest + kill;
#  4. a hog in a cgroup whose path is longer than 1023 bytes; kill;
#  5. KillUnit denied by a dbus-daemon policy on two real units; select
#     hungriest + kill: cgroupfs fallback, then the next candidate.
# Waits are for states (records, unit states), each bounded.
set -euo pipefail
. "$MW_LIB"

HOG="$MW_BIN/mw-hog"
CG=/sys/fs/cgroup
EXP="$MW_OUT/expect.txt"
FACTS="$MW_OUT/facts.txt"
: >"$EXP"
exp() { echo "$1=$2" | tee -a "$EXP"; }
# until SECONDS CMD...: run CMD every 0.5 s until it succeeds or time is up.
until_ok() {
    local end=$((SECONDS + $1)); shift
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || { echo "timed out: $*" >&2; return 1; }
        sleep 0.5
    done
}
mark() { wc -l <"$MW_RECORDS"; }
# wait_after LINE REGEX SECONDS: a record matching REGEX after line LINE.
wait_after() {
    local end=$((SECONDS + $3))
    until tail -n "+$(($1 + 1))" "$MW_RECORDS" | grep -qE "$2"; do
        [ $SECONDS -lt $end ] || { echo "timed out waiting for a record matching: $2" >&2; return 1; }
        sleep 0.5
    done
}
active() { [ "$(systemctl is-active "$1")" = active ]; }
usage_at_least() { [ "$(cat "$1/memory.current")" -ge $(($2 << 20)) ]; }
# Exit status of a background job, or "alive" (then killed) if it still runs after N s.
reap() { # pid seconds name
    local end=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.5; done
    if kill -0 "$1" 2>/dev/null; then
        exp "$3_exit" alive
        kill -9 "$1" 2>/dev/null || true
        wait "$1" || true
        return 0
    fi
    local rc=0
    wait "$1" || rc=$?
    exp "$3_exit" "$rc"
}
gubc() { # what systemd says a cgroup path is
    local out obj
    if out=$(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
                 GetUnitByControlGroup s "$1" 2>&1); then
        obj=$(echo "$out" | awk '{print $2}' | tr -d '"')
        echo "GetUnitByControlGroup $1 -> $(busctl get-property org.freedesktop.systemd1 "$obj" \
            org.freedesktop.systemd1.Unit Id) ControlGroup=$(systemctl show -P ControlGroup \
            "$(busctl get-property org.freedesktop.systemd1 "$obj" org.freedesktop.systemd1.Unit Id | cut -d'"' -f2)")" >>"$FACTS"
    else
        echo "GetUnitByControlGroup $1 -> error: $out" >>"$FACTS"
    fi
}
xattrs() {
    python3 -c 'import os,sys
for p in sys.argv[1:]:
    print("xattrs", p, {n: os.getxattr(p, n).decode() for n in os.listxattr(p)})' "$@" >>"$FACTS" 2>&1 || true
}

install -m 644 /opt/mw/deploy/org.memwarden1.conf /etc/dbus-1/system.d/org.memwarden1.conf
systemctl reload dbus.service
busctl monitor --json=short org.freedesktop.systemd1 >"$MW_OUT/busmon-systemd.jsonl" 2>"$MW_OUT/busmon.err" &
MON_PID=$!

# ---- The tenant's layouts and the host's units ----
# A lingering user. The image has no pam_systemd, which would set
# XDG_RUNTIME_DIR for user@.service.
mkdir -p /etc/systemd/system/user@.service.d
printf '[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/%%i\n' >/etc/systemd/system/user@.service.d/xdg.conf
systemctl daemon-reload
useradd -m -u 1000 alice
loginctl enable-linger alice
until_ok 60 active user@1000.service
U=/user.slice/user-1000.slice/user@1000.service
until_ok 30 test -d "$CG$U/init.scope"

# Host units named like the tenant's cgroups.
systemd-run --quiet --unit=kubelet sleep infinity
systemd-run --quiet --unit=web-1 sleep infinity
until_ok 20 active kubelet.service
until_ok 20 active web-1.service
exp kubelet_pid_before "$(systemctl show -P MainPID kubelet.service)"
exp web1_pid_before "$(systemctl show -P MainPID web-1.service)"

# 1. A container of namespace tenant, systemd driver layout, delegated.
uid=5e1f0000-dead-beef-0000-000000000001
cid=e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7
mkdir -p "/var/log/pods/tenant_evil-0_$uid" /var/log/containers
touch "/var/log/containers/evil-0_tenant_app-$cid.log"
podslice="kubepods-burstable-pod${uid//-/_}.slice"
systemd-run --quiet --scope --unit="cri-containerd-$cid" --slice="$podslice" -p Delegate=yes sleep infinity &
SCOPE1_PID=$!
until_ok 30 active "cri-containerd-$cid.scope"
C1=$(systemctl show -P ControlGroup "cri-containerd-$cid.scope")
exp c1 "$C1"
# What a container runtime does in its delegated cgroup: processes in a leaf,
# controllers for the children, a child cgroup of its own (named kubelet.service).
mkdir "$CG$C1/init"
echo "$SCOPE1_PID" >"$CG$C1/init/cgroup.procs"
echo +memory >"$CG$C1/cgroup.subtree_control"
mkdir "$CG$C1/kubelet.service"
echo 200M >"$CG$C1/kubelet.service/memory.max"

# ---- Policies: the node admin's file and namespace tenant's own ----
avail_mib=$(( $(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024 ))
below=$((avail_mib - 250))
exp watermark_mib "$below"
POL=/etc/mw-confine
mkdir -p "$POL/tenant"
cat >"$POL/tenant/evil.yaml" <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: evil-squeeze}
spec:
  match: {pod: "evil-*"}
  triggers:
    any: [{usage: {of: max, above: 40%}}]
    for: 2s
    clearAfter: 2s
  actions:
    - {type: throttle, floor: 64Mi, step: 20%, interval: 2s}
    - {type: freeze, after: 5s}
    - {type: kill, after: 10s}
EOF
cat >"$POL/admin.yaml" <<EOF
apiVersion: memwarden/v1
kind: Policy
metadata: {name: web-confine}
spec:
  match: {unit: "web-*.service"}
  triggers:
    any: [{usage: {of: high, above: 90%}}]
    for: 2s
    clearAfter: 30s
  actions:
    - {type: notify}
    - {type: throttle, after: 2s, floor: 16Mi, step: 20%, interval: 2s}
    - {type: restart, after: 6s, cooldown: 30m}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: fake-kubepods}
spec:
  match: {cgroup: "/system.slice/mw-tenant3.scope/*"}
  select: {by: hungriest}
  triggers:
    any: [{nodeAvailable: {below: ${below}Mi}}]
    clearAfter: 2s
  actions:
    - {type: kill}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: long-path}
spec:
  match: {cgroup: "/mwlong/*"}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
  actions:
    - {type: kill}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: kill-fallback}
spec:
  match: {cgroup: "/mwsel.slice/*"}
  select: {by: hungriest}
  triggers:
    any: [{usage: {of: max, above: 15%}}]
    for: 3s
  actions:
    - {type: kill}
EOF
"$MW_BIN/memwardenctl" check "$POL"
mw_start --policy-dir "$POL" --report-dir "$MW_OUT/reports" --event-log "$MW_OUT/events.jsonl"
exp mw_pid "$MW_PID"

# ---- 1. kubelet.service inside the tenant's container ----
m=$(mark)
( echo "$BASHPID" >"$CG$C1/kubelet.service/cgroup.procs"; exec "$HOG" 120 0 4 ) &
H1=$!
wait_after "$m" "\"cgroup\":\"$C1/kubelet.service\".*\"action\":\"kill\"" 90 || true
reap "$H1" 10 hog1
exp kubelet_state "$(systemctl show -P ActiveState kubelet.service)"
exp kubelet_pid_after "$(systemctl show -P MainPID kubelet.service)"
exp kubelet_memory_high "$(systemctl show -P MemoryHigh kubelet.service)"
exp kubelet_freezer "$(systemctl show -P FreezerState kubelet.service)"
{
    echo "== facts: delegated container scope $C1"
    xattrs "$CG$C1" "$CG$C1/kubelet.service"
    gubc "$C1"
    gubc "$C1/kubelet.service"
} || true

# ---- 2. web-1.service in user@1000.service ----
# Through the user's own manager if it answers (its private socket), else
# made in the user's delegated subtree by hand.
W=$U/app.slice/web-1.service
if runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1000 systemd-run --user --quiet --unit=web-1 \
        -p MemoryHigh=40M "$HOG" 80 0 2 && until_ok 20 test -d "$CG$W"; then
    exp web_user_via systemd-run
    H2=
    # If the user manager has no memory controller to give, the limit by hand.
    [ -f "$CG$W/memory.high" ] || echo +memory >"$CG$U/cgroup.subtree_control" || true
    [ -f "$CG$W/memory.high" ] || echo +memory >"$CG$U/app.slice/cgroup.subtree_control" || true
    [ "$(cat "$CG$W/memory.high" 2>/dev/null)" != max ] || echo 40M >"$CG$W/memory.high" || true
else
    exp web_user_via mkdir
    echo +memory >"$CG$U/cgroup.subtree_control" || true
    mkdir -p "$CG$U/app.slice"
    echo +memory >"$CG$U/app.slice/cgroup.subtree_control" || true
    mkdir "$CG$W"
    echo 40M >"$CG$W/memory.high"
    ( echo "$BASHPID" >"$CG$W/cgroup.procs"; exec "$HOG" 80 0 2 ) &
    H2=$!
fi
m=$(mark)
wait_after "$m" "\"cgroup\":\"$W\".*\"action\":\"restart\"" 60 || true
sleep 2
exp web1_state "$(systemctl show -P ActiveState web-1.service)"
exp web1_pid_after "$(systemctl show -P MainPID web-1.service)"
exp web1_memory_high "$(systemctl show -P MemoryHigh web-1.service)"
exp web_user_memory_high "$(cat "$CG$W/memory.high" 2>/dev/null || echo gone)"
{
    echo "== facts: user manager"
    echo "user@1000.service Delegate=$(systemctl show -P Delegate user@1000.service) DelegateControllers=$(systemctl show -P DelegateControllers user@1000.service)"
    xattrs "$CG$U" "$CG$U/app.slice" "$CG$W" "$CG/user.slice/user-1000.slice"
    gubc "$U"
    gubc "$U/app.slice"
    gubc "$W"
    gubc "$U/init.scope"
    ls -ld "$CG$U" "$CG$U/cgroup.procs" "$CG$U/cgroup.subtree_control" >>"$FACTS" 2>&1
} || true
if [ -n "$H2" ]; then
    kill -9 "$H2" 2>/dev/null || true
    wait "$H2" || true
else
    runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user kill -s KILL web-1.service || true
fi
kill -9 "$SCOPE1_PID" 2>/dev/null || true

# ---- 3. a cgroup named kubepods in a delegated scope ----
systemd-run --quiet --scope --unit=mw-tenant3 -p Delegate=yes sleep infinity &
SCOPE3_PID=$!
until_ok 30 active mw-tenant3.scope
T3=$CG/system.slice/mw-tenant3.scope
mkdir "$T3/init"
echo "$SCOPE3_PID" >"$T3/init/cgroup.procs"
echo +memory >"$T3/cgroup.subtree_control"
mkdir "$T3/kubepods" "$T3/neighbour"
# A limit each, as a runtime sets one (memwarden watches cgroups with limits).
echo 600M >"$T3/kubepods/memory.max"
echo 600M >"$T3/neighbour/memory.max"
m=$(mark)
( echo "$BASHPID" >"$T3/neighbour/cgroup.procs"; exec "$HOG" 100 0 8 ) &
H3N=$!
until_ok 30 usage_at_least "$T3/neighbour" 95 || true
( echo "$BASHPID" >"$T3/kubepods/cgroup.procs"; exec "$HOG" 300 0 8 ) &
H3=$!
wait_after "$m" '"cgroup":"/system.slice/mw-tenant3.scope/[^"]*".*"action":"kill"' 90 || true
reap "$H3" 10 hog3
sleep 3
kill -0 "$H3N" 2>/dev/null && exp neighbour_alive 1 || exp neighbour_alive 0
kill -9 "$H3N" 2>/dev/null || true
wait "$H3N" || true
kill -9 "$SCOPE3_PID" 2>/dev/null || true

# ---- 4. a path longer than 1023 bytes ----
long=/mwlong
mkdir "$CG$long"
for i in 1 2 3 4 5; do
    echo +memory >"$CG$long/cgroup.subtree_control"
    long="$long/$(printf 'L%.0s' $(seq 1 230))$i"
    mkdir "$CG$long"
done
echo +memory >"$CG$long/cgroup.subtree_control"
long="$long/hog"
mkdir "$CG$long"
echo 100M >"$CG$long/memory.max"
exp long_path "$long"
m=$(mark)
( echo "$BASHPID" >"$CG$long/cgroup.procs"; exec "$HOG" 60 0 4 ) &
H4=$!
wait_after "$m" '"policy":"long-path".*"action":"kill"' 45 || true
reap "$H4" 10 hog4

# ---- 5. KillUnit denied: the cgroupfs fallback, then the next candidate ----
cat >/etc/dbus-1/system.d/zz-mw-deny-killunit.conf <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root">
    <deny send_destination="org.freedesktop.systemd1"
          send_interface="org.freedesktop.systemd1.Manager" send_member="KillUnit"/>
  </policy>
</busconfig>
EOF
systemctl reload dbus.service
m=$(mark)
systemd-run --quiet --unit=mw-kfail --slice=mwsel -p MemoryMax=400M "$HOG" 150 0 4
until_ok 30 usage_at_least "$CG/mwsel.slice/mw-kfail.service" 145 || true
systemd-run --quiet --unit=mw-knext --slice=mwsel -p MemoryMax=400M "$HOG" 80 0 4
wait_after "$m" '"cgroup":"/mwsel.slice/mw-kfail.service".*"action":"kill"' 60 || true
wait_after "$m" '"cgroup":"/mwsel.slice/mw-knext.service".*"action":"kill"' 25 || true
until_ok 10 sh -c '! systemctl -q is-active mw-kfail.service' || true
exp kfail_state "$(systemctl show -P ActiveState mw-kfail.service)"
exp kfail_result "$(systemctl show -P Result mw-kfail.service)"
until_ok 5 sh -c '! systemctl -q is-active mw-knext.service' || true
exp knext_state "$(systemctl show -P ActiveState mw-knext.service)"
exp knext_result "$(systemctl show -P Result mw-knext.service)"
rm /etc/dbus-1/system.d/zz-mw-deny-killunit.conf
systemctl reload dbus.service

# ---- the end: who memwardend is on the bus, then stop capturing ----
busctl --no-pager --no-legend list --unique >"$MW_OUT/bus-names.txt" 2>&1 || true
mw_status --json >"$MW_OUT/status.json" || true
mw_stop
sleep 1
kill "$MON_PID" 2>/dev/null || true
wait "$MON_PID" || true
systemctl stop kubelet.service web-1.service mw-kfail.service mw-knext.service 2>/dev/null || true
systemctl reset-failed 2>/dev/null || true
