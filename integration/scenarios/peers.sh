#!/bin/bash
# bench/peers in the guest: one memory daemon alone on a fresh boot (PEER,
# from the scenario's name: peers-earlyoom.sh sources this with
# PEER=earlyoom), configured from bench/peers/PEER/, through the same phases
# for every daemon (bench/peers/README.md):
#   idle     60 s with 200 cgroups: context switches, CPU, RSS, VmLck
#   limited  a transient service with MemoryHigh below its need and
#            MemoryMax above, growing 8 MiB every 100 ms: an inotify watcher
#            stamps the kernel's first `high`, the journal stamps the
#            daemon's first line, the watcher the hog's death
#   node     the same hog in an unlimited scope (4 GiB asked, the guest has
#            1 GiB, no swap): start to death, by whom, MemAvailable, the
#            kernel's oom_kill delta; meanwhile the daemon's status query,
#            every 0.5 s, answered within 5 s or not
# All times are the wall clock (the journal's receive time is on it too).
# The host (bench/peers/aggregate.py) reads the journal and the rest.
set -euo pipefail
. "$MW_LIB"

PEER=${PEER:?PEER is set by the peers-NAME.sh wrapper}
P=/opt/mw/peers # bench/peers, put on the disk by peers.prepare
G=$P/guest
HOG="$MW_BIN/mw-hog"
OUT=$MW_OUT
LIMITED_BOUND=${LIMITED_BOUND:-40} # s after the first `high` with no kill: "never"
NODE_BOUND=${NODE_BOUND:-180}
meta() { echo "$1=$2" >>"$OUT/meta.txt"; }
now() { date +%s.%N; }
avail_mib() { awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo; }
some10() { awk -F'[= ]' '/^some/ {print int($3)}' /proc/pressure/memory; }
avail_above() { [ "$(avail_mib)" -gt "$1" ]; }
pressure_below() { [ "$(some10)" -lt "$1" ]; }

meta peer "$PEER"
meta kernel "$(uname -r)"
meta mem_total_kib "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
meta swap_total_kib "$(awk '/^SwapTotal:/ {print $2}' /proc/meminfo)"
meta nproc "$(nproc)"
dpkg-query -W -f '${Package}\t${Version}\n' earlyoom systemd-oomd oomd nohang low-memory-monitor \
    psi-notify systemd linux-image-amd64 'linux-image-6*' >"$OUT/versions.tsv" 2>/dev/null || true
"$MW_BIN/memwardend" --version >"$OUT/memwarden-version.txt" 2>&1 || true

# Nothing of the peers runs before this scenario starts one: the image
# disables them all (integration/build-image.sh).
for u in earlyoom.service oomd.service nohang.service nohang-desktop.service low-memory-monitor.service \
    systemd-oomd.service systemd-oomd.socket; do
    echo "$u $(systemctl is-enabled "$u" 2>&1 || true) $(systemctl is-active "$u" 2>&1 || true)"
done >"$OUT/units-at-boot.txt"
echo "psi-notify.service(user) $(systemctl --global is-enabled psi-notify.service 2>&1 || true)" >>"$OUT/units-at-boot.txt"
pgrep -a -x 'earlyoom|oomd|nohang|low-memory-moni|psi-notify|systemd-oomd' >"$OUT/peers-at-boot.txt" || true

# 200 idle cgroups, each with a limit (so memwarden's --watch limited
# watches every one), made before the daemon starts.
mkdir -p /sys/fs/cgroup/mw-idle
echo +memory >/sys/fs/cgroup/mw-idle/cgroup.subtree_control
for i in $(seq 1 200); do
    mkdir -p "/sys/fs/cgroup/mw-idle/cg-$i"
    echo 1G >"/sys/fs/cgroup/mw-idle/cg-$i/memory.max"
done

# A bystander in bench.slice (16 MiB): it makes the slice exist before the
# daemons start (nohang's psi_path, systemd-oomd's ManagedOOM slice) and
# must outlive every phase.
keep_holds() { [ "$(cat /sys/fs/cgroup/bench.slice/peer-keep.scope/memory.current 2>/dev/null || echo 0)" -ge $((15 << 20)) ]; }
keeper() {
    systemd-run --scope --unit=peer-keep --slice=bench.slice "$HOG" 16 0 2 >/dev/null 2>&1 &
    KEEP=$!
    mw_until 120 keep_holds
}
keeper

STATUS_CMD=() # the daemon's own status query, if it has one
UNIT=
case $PEER in
earlyoom)
    install -m 644 "$P/earlyoom/earlyoom.default" /etc/default/earlyoom
    UNIT=earlyoom.service
    ;;
systemd-oomd)
    # Debian's drop-ins back (the image masks them for the other scenarios).
    rm -f /etc/systemd/system/-.slice.d/10-oomd-root-slice-defaults.conf \
        /etc/systemd/system/user@.service.d/10-oomd-user-service-defaults.conf
    mkdir -p /etc/systemd/oomd.conf.d /etc/systemd/system/bench.slice.d
    install -m 644 "$P/systemd-oomd/oomd.conf" /etc/systemd/oomd.conf.d/zz-bench.conf
    install -m 644 "$P/systemd-oomd/bench.slice.conf" /etc/systemd/system/bench.slice.d/oomd.conf
    systemctl daemon-reload
    systemctl start systemd-oomd.socket
    UNIT=systemd-oomd.service
    STATUS_CMD=(oomctl dump)
    ;;
oomd)
    install -m 644 "$P/oomd/oomd.default" /etc/default/oomd
    install -m 644 "$P/oomd/oomd.json" /etc/oomd/oomd.json
    UNIT=oomd.service
    STATUS_CMD=(oomd --dump-stats)
    ;;
nohang)
    sed -i -f "$P/nohang/nohang.conf.sed" /etc/nohang/nohang.conf
    mkdir -p /run/systemd/system/nohang.service.d
    install -m 644 "$P/nohang/unbuffered.conf" /run/systemd/system/nohang.service.d/bench.conf
    systemctl daemon-reload
    cp /etc/nohang/nohang.conf "$OUT/nohang.conf.used"
    UNIT=nohang.service
    ;;
low-memory-monitor)
    install -m 644 "$P/low-memory-monitor/low-memory-monitor.conf" /etc/low-memory-monitor.conf
    mkdir -p /run/systemd/system/low-memory-monitor.service.d
    install -m 644 "$P/low-memory-monitor/debug.conf" /run/systemd/system/low-memory-monitor.service.d/bench.conf
    systemctl daemon-reload
    UNIT=low-memory-monitor.service
    ;;
psi-notify)
    mkdir -p /root/.config
    install -m 644 "$P/psi-notify/psi-notify.conf" /root/.config/psi-notify
    install -m 644 "$P/psi-notify/psi-notify.service" /run/systemd/system/psi-notify.service
    systemctl daemon-reload
    UNIT=psi-notify.service
    ;;
memwarden)
    mkdir -p /etc/memwarden/policies.d
    # Without the node policy first: idle with no node triggers.
    install -m 644 "$P/memwarden/policies.d/bench-limited.yaml" /etc/memwarden/policies.d/
    STATUS_CMD=("$MW_BIN/memwardenctl" --socket "$MW_SOCK" status)
    ;;
*)
    echo "unknown peer $PEER" >&2
    exit 2
    ;;
esac

# An independent receiver of the D-Bus signals (memwarden's PolicyEvent,
# low-memory-monitor's LowMemoryWarning): dbus-monitor stamps each with
# time=, the wall clock.
dbus-monitor --system "type='signal',interface='org.memwarden1.Manager'" \
    "type='signal',interface='org.freedesktop.LowMemoryMonitor'" >"$OUT/dbus-monitor.txt" 2>&1 &
DBUSMON=$!

meta t_daemon_start "$(now)"
if [ "$PEER" = memwarden ]; then
    mw_start # default flags (the harness adds --output and --socket)
    PID=$MW_PID
    meta unit ""
    ready() { mw_status --json | tail -n +2 | grep -c '"cgroup":"/mw-idle/cg-' | grep -qx 200; }
else
    systemctl start "$UNIT"
    mw_until 60 systemctl is-active --quiet "$UNIT"
    PID=$(systemctl show -p MainPID --value "$UNIT")
    meta unit "$UNIT"
    ready() { :; }
    case $PEER in
    earlyoom) ready() { journalctl -b -u earlyoom.service -o cat | grep -q 'mem total'; } ;;
    systemd-oomd) ready() { oomctl dump | grep -q '/bench.slice'; } ;;
    oomd) ready() { test -S /run/oomd/oomd-stats.socket; } ;;
    nohang) ready() { journalctl -b -u nohang.service -o cat | grep -qi 'monitoring has started'; } ;;
    low-memory-monitor) ready() { busctl --system status org.freedesktop.LowMemoryMonitor >/dev/null; } ;;
    esac
fi
meta pid "$PID"
if mw_until 20 ready; then meta ready 1; else meta ready 0; fi
if [ ${#STATUS_CMD[@]} -gt 0 ]; then
    meta status_cmd "${STATUS_CMD[*]}"
    timeout 10 "${STATUS_CMD[@]}" >"$OUT/status-start.txt" 2>&1 || true
else
    meta status_cmd ""
fi
cp /proc/"$PID"/cmdline "$OUT/cmdline.bin" 2>/dev/null || true

# 1. idle
idle() { # LABEL
    python3 "$G/proc-sample.py" "$1-start" "$PID" >>"$OUT/idle.jsonl"
    sleep 60 # the measurement window itself, not a wait for a state
    python3 "$G/proc-sample.py" "$1-end" "$PID" >>"$OUT/idle.jsonl"
}
if [ "$PEER" = memwarden ]; then
    idle memwarden-no-node-policy
    n=$(mw_status_field policy_reloads)
    install -m 644 "$P/memwarden/policies.d/bench-node.yaml" /etc/memwarden/policies.d/
    reloaded() { [ "$(mw_status_field policy_reloads)" -gt "$n" ]; }
    mw_until 60 reloaded
    mw_status --json | head -1 >"$OUT/status-policies.json"
    idle memwarden
else
    idle "$PEER"
fi

calm() {
    mw_until 120 avail_above 600 || true
    mw_until 120 pressure_below 5 || true
}
alive() { kill -0 "$PID" 2>/dev/null && echo 1 || echo 0; }
keep_alive() { kill -0 "$KEEP" 2>/dev/null && echo 1 || echo 0; }

# 2. cgroup-limited hog: needs 128 MiB, MemoryHigh 64M, MemoryMax 256M.
calm
meta limited_oom_kill_before "$(awk '/^oom_kill / {print $2}' /proc/vmstat)"
rm -f /run/peer-go
systemd-run --quiet --unit=peer-limited --slice=bench.slice -p MemoryHigh=64M -p MemoryMax=256M \
    -p MemorySwapMax=0 /bin/sh -c "while [ ! -e /run/peer-go ]; do sleep 0.05; done; exec $HOG 128 0 8 100"
LCG=/sys/fs/cgroup/bench.slice/peer-limited.service
mw_until 60 test -e "$LCG/memory.events"
python3 "$G/cg-watch.py" "$LCG" "$OUT/limited-watch.json" "$LIMITED_BOUND" &
WATCH=$!
mw_until 30 grep -q ready "$OUT/limited-watch.json"
meta limited_t_go "$(now)"
touch /run/peer-go
wait "$WATCH" || true
meta limited_t_watch_end "$(now)"
systemctl show -p ActiveState,Result,ExecMainCode,ExecMainStatus peer-limited.service >"$OUT/limited-unit.txt" 2>&1 || true
systemctl stop peer-limited.service 2>/dev/null || true
systemctl reset-failed peer-limited.service 2>/dev/null || true
meta limited_oom_kill_after "$(awk '/^oom_kill / {print $2}' /proc/vmstat)"
meta limited_daemon_alive "$(alive)"
meta limited_keep_alive "$(keep_alive)"
[ "$(keep_alive)" = 1 ] || keeper

# 3. node-wide hog, 4. the status query meanwhile. After the node is calm,
# 20 s more: longer than the 15 s each peer waits after it acted
# (low-memory-monitor's recovery interval, nohang's psi_post_action_delay,
# oomd's and systemd-oomd's post-action delay), so the last phase's action
# does not hold back this one's.
calm
sleep 20
status_loop() {
    echo -1000 >/proc/self/oom_score_adj
    while [ ! -e /run/peer-node-done ]; do
        local t0 t1 rc=0
        t0=$(now)
        timeout 5 "${STATUS_CMD[@]}" >/dev/null 2>&1 || rc=$?
        t1=$(now)
        echo "{\"t\":$t0,\"t_end\":$t1,\"rc\":$rc}" >>"$OUT/node-status.jsonl"
        sleep 0.5
    done
}
rm -f /run/peer-node-done
if [ ${#STATUS_CMD[@]} -gt 0 ]; then
    status_loop &
    SLOOP=$!
fi
python3 "$G/node-watch.py" "$OUT/node-watch.json" "$NODE_BOUND" \
    systemd-run --scope --quiet --unit=peer-node --slice=bench.slice "$HOG" 4096 0 8 100 || true
touch /run/peer-node-done
if [ -n "${SLOOP:-}" ]; then wait "$SLOOP" || true; fi
meta node_daemon_alive "$(alive)"
meta node_daemon_pid_after "$(if [ -n "$UNIT" ]; then systemctl show -p MainPID --value "$UNIT"; else echo "$MW_PID"; fi)"
meta node_keep_alive "$(keep_alive)"
calm
python3 "$G/proc-sample.py" end "$PID" >>"$OUT/idle.jsonl" || true
meta end_keep_alive "$(keep_alive)"

# Records, journal (JSON: the receive times), the kernel's log.
if [ "$PEER" = memwarden ]; then
    mw_status --json >"$OUT/status-end.json" 2>&1 || true
    mw_stop || true
    cp "$MW_RECORDS" "$OUT/records.jsonl" 2>/dev/null || true
    cp /var/log/memwarden/events.jsonl "$OUT/" 2>/dev/null || true
else
    systemctl stop "$UNIT" || true
fi
kill "$DBUSMON" 2>/dev/null || true
kill -9 "$KEEP" 2>/dev/null || true
journalctl -b -o json --no-pager >"$OUT/journal.json" 2>/dev/null || true
echo done >"$OUT/done"
