#!/bin/bash
# Faults: what a node in trouble does to the agent, one case after another,
# with one memwardend (its PID must not change unless a case kills it):
#   8  a SIGHUP storm while a hog makes high events
#   2  webhooks that hang, are refused (closed port), answer 500
#   3  a cgroup (and a unit) removed between the event and a later step
#   1  D-Bus restarted and systemd re-executed while a restart job is in flight
#   7  the report directory full (a tiny tmpfs)
#   6  the policy directory deleted and replaced by garbage
#   4  a mkdir/rmdir flood by an unprivileged user that overflows inotify
#   5  a second instance under RLIMIT_NOFILE=256 with more cgroups than fit
#  10  the node out of memory while a kill policy acts
#   9  memwardend SIGKILLed holding throttles (cgroupfs, systemd) and a freeze,
#      then started again
# Each case ends in a snapshot (cases.jsonl, written by snap.py): the daemon
# alive and answering, every cgroup and unit the case made back to its
# original memory.high / MemoryHigh, not frozen; memory.events counters of
# every cgroup at its end (cg-final.jsonl) for the host's "every event
# accounted for". Waits are for states, each bounded; a case that goes wrong
# is recorded and the next one runs (no set -e), the host judges.
set -uo pipefail
. "$MW_LIB"

# Bounded waits as lib.sh's, but a wait gives up at once when memwardend is
# dead (outside case 9's deliberate kill): on a daemon that crashes, the
# remaining cases still run inside the 8 minutes.
MW_MAY_BE_DEAD=
mw_until() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $end ]; then
            echo "timed out waiting for: $*" >&2
            return 1
        fi
        if [ -z "$MW_MAY_BE_DEAD" ] && ! kill -0 "$MW_PID" 2>/dev/null; then
            echo "memwardend is dead: not waiting for: $*" >&2
            return 1
        fi
        sleep 0.2
    done
}

HOG="$MW_BIN/mw-hog"
CG=/sys/fs/cgroup
POL=/etc/mw-faults
RPT=/run/mw-reports
EXP="$MW_OUT/expect.txt"
CASES="$MW_OUT/cases.jsonl"
FINAL="$MW_OUT/cg-final.jsonl"
SNAP=/opt/mw/integration/scenarios/faults-snap.py
: >"$EXP"
exp() { echo "$1=$2" | tee -a "$EXP"; }
MiB=$((1 << 20))

# ---- helpers ----
# hog_in CGDIR ARGS...: a hog in a cgroup, a preferred OOM victim; pid in $!.
hog_in() {
    local dir=$1; shift
    ( echo 500 >/proc/self/oom_score_adj; echo "$BASHPID" >"$dir/cgroup.procs"; exec "$HOG" "$@" ) &
}
reap() { kill -9 "$@" 2>/dev/null; wait "$@" 2>/dev/null; return 0; }
watched() { mw_status --json | grep -F "\"cgroup\":\"$1\"," | grep -q '"watched":true'; }
# mkcg PATH MAX [HIGH]: a cgroup with limits, once memwarden watches it.
mkcg() {
    mkdir -p "$CG$1"
    [ -n "${3:-}" ] && echo "$3" >"$CG$1/memory.high"
    echo "$2" >"$CG$1/memory.max"
    mw_until 60 watched "$1" || echo "not watched: $1" >&2
}
usage_at_least() { [ "$(cat "$CG$1/memory.current")" -ge $(($2 * MiB)) ]; }
empty() { ! grep -q . "$CG$1/cgroup.procs"; }
high_is() { [ "$(cat "$CG$1/memory.high")" = "$2" ]; }
thawed() { [ "$(cat "$CG$1/cgroup.freeze")" = 0 ]; }
unit_high_is() { [ "$(systemctl show -P MemoryHigh "$1")" = "$2" ]; }
unit_running() { [ "$(systemctl show -P FreezerState "$1")" = running ]; }
active() { [ "$(systemctl is-active "$1")" = active ]; }
inactive() { ! systemctl -q is-active "$1"; }
main_pid() { systemctl show -P MainPID "$1"; }
status_ok() { timeout 20 "$MW_BIN/memwardenctl" --socket "${1:-$MW_SOCK}" status >/dev/null 2>&1; }
hdr() { mw_status --json 2>/dev/null | head -1 | python3 -c '
import json, sys
h = json.load(sys.stdin)
print(h.get(sys.argv[1], h.get("actions", {}).get(sys.argv[1], "")))' "$1" 2>/dev/null; }
reloads_above() { [ "$(hdr policy_reloads)" -gt "$1" ] 2>/dev/null; }
# settle_cg PATH ORIG: wait until memory.high is ORIG, not frozen, events in.
settle_cg() {
    mw_until 60 high_is "$1" "$2" || true
    mw_until 20 thawed "$1" || true
    mw_until 30 mw_events_settled "$1" || true
}
# final_cg PATH: its memory.events at its end, then remove it.
final_cg() {
    [ -d "$CG$1" ] || return 0
    mw_until 30 mw_events_settled "$1" || true
    python3 "$SNAP" final "$1" >>"$FINAL"
    mw_until 30 empty "$1" || true
    mw_until 10 rmdir "$CG$1" || echo "cannot remove $CG$1" >&2
    # Until memwarden has dropped it (or died of it: the next case sees that).
    mw_until 30 dropped "$1" || true
}
dropped() { ! kill -0 "$MW_PID" 2>/dev/null || { status_ok && mw_status_lacks "$1\""; }; }
# case_end NAME [cg:PATH=ORIG_HIGH]... [unit:NAME=ORIG_MEMORYHIGH]...
case_end() {
    local name=$1; shift
    MW_HELPERS=$(ps -o args= --ppid "$MW_PID" | grep -c '[-]-exec-helper') \
        python3 "$SNAP" case "$name" "$MW_PID" "$MW_SOCK" "$@" >>"$CASES"
    tail -1 "$CASES"
}
kill_comm() { # CGDIR COMM: SIGKILL the processes of that name in a cgroup, by pid
    local p c
    for p in $(cat "$1/cgroup.procs" 2>/dev/null); do
        c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        [ "$c" = "$2" ] && kill -9 "$p" 2>/dev/null
    done
    return 0
}

# ensure_daemon CASE: a case starts with memwardend running. If an earlier
# case killed it (a crash: the host fails that case on the PID), it is started
# again so that the remaining cases still say something.
ensure_daemon() {
    kill -0 "$MW_PID" 2>/dev/null && return 0
    wait "$MW_PID" 2>/dev/null
    exp "crashed_before_$1" "$?"
    rm -f "$MW_SOCK"
    mw_start --policy-dir "$POL" --report-dir "$RPT" --event-log "$MW_OUT/events.jsonl" --webhook-timeout 2s
}

# ---- policies, the daemon ----
mkdir -p "$POL" "$RPT"
# The report directory is a tiny tmpfs from the start (the daemon holds the
# directory open: a mount over it later would not be seen). Case 7 fills it.
mount -t tmpfs -o size=256k mw-reports "$RPT"
cat >"$POL/faults.yaml" <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: hup}
spec:
  match: {cgroup: /mwhup}
  triggers:
    any: [{memoryEvents: {counter: high, increase: 1, window: 10s}}]
    clearAfter: 60s
  actions: [{type: notify, dryRun: true}]
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: hooks}
spec:
  match: {cgroup: /mwhooks}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    clearAfter: 2s
  actions:
    - {type: notify, webhook: "http://127.0.0.1:8082/hang"}
    - {type: notify, webhook: "http://127.0.0.1:9/refused"}
    - {type: notify, webhook: "http://127.0.0.1:8081/status/500"}
    - {type: notify, webhook: "http://127.0.0.1:8081/ok"}
    - {type: exec, command: [/bin/sh, -c, "cat > /run/mw-hooks-exec.json"]}
    - {type: throttle, floor: 64Mi, step: 20%, interval: 1s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: gone}
spec:
  match: {cgroup: /mwgone}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    for: 1s
  actions:
    - {type: notify}
    - {type: kill, after: 8s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: gone-unit}
spec:
  match: {unit: mw-gone.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
  actions:
    - {type: notify}
    - {type: restart, after: 8s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: rst}
spec:
  match: {unit: mw-rst.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
  actions:
    - {type: restart, cooldown: 1h}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: rst-after}
spec:
  match: {unit: mw-rst2.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
  actions:
    - {type: kill}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: rpt}
spec:
  match: {cgroup: /mwrpt}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    clearAfter: 2s
  actions:
    - {type: report}
    - {type: notify, after: 2s}
    - {type: exec, after: 2s, command: [/bin/true]}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: armed}
spec:
  match: {cgroup: /mwarmed}
  triggers:
    any: [{usage: {of: max, above: 99%}}]
  actions: [{type: notify}]
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: hold-thr}
spec:
  match: {cgroup: /mwhold-thr}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    clearAfter: 2s
  actions:
    - {type: throttle, floor: 64Mi, step: 20%, interval: 1s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: hold-unit}
spec:
  match: {unit: mw-hold.service}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    clearAfter: 2s
  actions:
    - {type: throttle, floor: 64Mi, step: 20%, interval: 1s}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: hold-frz}
spec:
  match: {cgroup: /mwhold-frz}
  triggers:
    any: [{usage: {of: max, above: 30%}}]
    clearAfter: 2s
  actions:
    - {type: freeze}
EOF
"$MW_BIN/memwardenctl" check "$POL" || exit 1
cp -a "$POL" /run/mw-faults-good

install -m 644 /opt/mw/deploy/org.memwarden1.conf /etc/dbus-1/system.d/org.memwarden1.conf
systemctl reload dbus.service
python3 /opt/mw/integration/webhook-server.py 8081 8082 "$MW_OUT/webhooks.jsonl" &
WEB_PID=$!
mw_start --policy-dir "$POL" --report-dir "$RPT" --event-log "$MW_OUT/events.jsonl" --webhook-timeout 2s
MW_PID0=$MW_PID
exp mw_pid "$MW_PID"
mkcg /mwarmed 512M
# Status answers all along (cases 6 and 8 are where it could stop): every 0.5 s.
( while :; do
      t0=$(date +%s%N)
      if status_ok; then r=ok; else r=fail; fi
      echo "$(date +%s.%N) $r $(( ($(date +%s%N) - t0) / 1000000 ))"
      sleep 0.5
  done ) >"$MW_OUT/status-poll.txt" 2>/dev/null &
POLL_PID=$!

# ---- 8. SIGHUP storm while events come ----
echo "== case 8"
m=$(mw_mark)
mkcg /mwhup 256M 40M
hog_in "$CG/mwhup" 52 0 1
H=$!
mw_wait_after "$m" '"event":"memory_events","cgroup":"/mwhup"' 60 || true
r0=$(hdr policy_reloads)
exp hup_reloads_before "$r0"
for _ in $(seq 1 1000); do kill -HUP "$MW_PID" 2>/dev/null || break; done
exp hup_alive_after_storm "$(kill -0 "$MW_PID" 2>/dev/null && echo 1 || echo 0)"
mw_until 60 reloads_above "$r0" || true
exp hup_status_after_storm "$(status_ok && echo 1 || echo 0)"
reap "$H"
settle_cg /mwhup $((40 * MiB))
exp hup_reloads_after "$(hdr policy_reloads)"
case_end hup "cg:/mwhup=$((40 * MiB))"
final_cg /mwhup

# ---- 2. webhooks: hang, refused, HTTP 500; the other steps unaffected ----
echo "== case 2"
ensure_daemon 2
m=$(mw_mark)
mkcg /mwhooks 200M
hog_in "$CG/mwhooks" 100 0 4
H=$!
# The webhooks' own outcomes (via webhook alone; the step's record at once
# says journal,dbus,webhook).
hook_outcomes() { [ "$(tail -n "+$((m + 1))" "$MW_RECORDS" | grep '"cgroup":"/mwhooks"' \
    | grep -F '"via":"webhook"' | grep -cE '"result":"(done|failed)"')" -ge 4 ]; }
# Hanging: 4 attempts of 2 s and backoff (1 + 2 + 4 s) after the policy fires.
mw_until 120 hook_outcomes || true
mw_wait_after "$m" '"cgroup":"/mwhooks".*"action":"exec".*"result":"(done|failed)"' 30 || true
reap "$H"
settle_cg /mwhooks max
cp /run/mw-hooks-exec.json "$MW_OUT/hooks-exec.json" 2>/dev/null || true
case_end hooks "cg:/mwhooks=max"
final_cg /mwhooks

# ---- 3. the cgroup goes away between the event and the later step ----
echo "== case 3"
ensure_daemon 3
m=$(mw_mark)
mkcg /mwgone 200M
mkdir -p "$CG/mwgone-park"
hog_in "$CG/mwgone" 100 0 4
H=$!
mw_wait_after "$m" '"cgroup":"/mwgone".*"action":"notify"' 60 || true
# The kill step is due 8 s after firing: move the hog out (its memory stays
# charged, the trigger holds) and remove the cgroup now.
echo "$H" >"$CG/mwgone-park/cgroup.procs"
mw_until 10 rmdir "$CG/mwgone" || true
exp gone_removed "$([ -d "$CG/mwgone" ] && echo 0 || echo 1)"
systemd-run --quiet --unit=mw-gone -p MemoryMax=200M "$HOG" 100 0 4
mw_wait_after "$m" '"cgroup":"/system.slice/mw-gone.service".*"action":"notify"' 60 || true
systemctl kill -s KILL mw-gone.service
mw_until 30 inactive mw-gone.service || true
systemctl reset-failed mw-gone.service 2>/dev/null || true
# Past the steps' due time (8 s after firing): what the records say then.
gone_due() { tail -n "+$((m + 1))" "$MW_RECORDS" | python3 -c '
import json, sys, time
recs = [json.loads(l) for l in sys.stdin]
f = [r for r in recs if r["event"] == "policy" and r.get("fired") and r["cgroup"] == "/system.slice/mw-gone.service"]
sys.exit(0 if f and time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6 > f[0]["mono_us"] + 12e6 else 1)'; }
mw_until 60 gone_due || true
exp gone_unit_state "$(systemctl show -P ActiveState mw-gone.service)"
reap "$H"
rmdir "$CG/mwgone-park" 2>/dev/null || true
exp gone_status_lacks "$(mw_status_lacks /mwgone\" && echo 1 || echo 0)"
case_end gone

# ---- 1. D-Bus restarted, systemd re-executed, a restart job in flight ----
echo "== case 1"
ensure_daemon 1
m=$(mw_mark)
# SIGWINCH is ignored: the stop part of the restart job lasts TimeoutStopSec.
systemd-run --quiet --unit=mw-rst -p MemoryMax=200M -p KillSignal=SIGWINCH -p TimeoutStopSec=12 \
    "$HOG" 80 0 4
mw_until 30 active mw-rst.service || true
exp rst_pid_before "$(main_pid mw-rst.service)"
mw_wait_after "$m" '"cgroup":"/system.slice/mw-rst.service".*"action":"restart".*"result":"started"' 60 || true
dbus_pid=$(main_pid dbus.service)
if ! systemctl restart dbus.service; then
    # If a restart is refused: killed, and back through dbus.socket.
    systemctl kill -s KILL dbus.service
    mw_until 30 active dbus.service || systemctl start dbus.service
fi
mw_until 30 active dbus.service || true
exp rst_dbus_restarted "$(active dbus.service && [ "$(main_pid dbus.service)" != "$dbus_pid" ] && echo 1 || echo 0)"
systemctl daemon-reexec
exp rst_pid1_answers "$(systemctl list-jobs >/dev/null 2>&1 && echo 1 || echo 0)"
# The restart job ends (TimeoutStopSec, then SIGKILL and the start).
new_pid() { local p; p=$(main_pid mw-rst.service); [ "$p" -gt 0 ] && [ "$p" != "$1" ]; }
mw_until 60 new_pid "$(grep '^rst_pid_before=' "$EXP" | cut -d= -f2)" || true
exp rst_pid_after "$(main_pid mw-rst.service)"
# After the restarts, a unit action through systemd must work again.
systemd-run --quiet --unit=mw-rst2 -p MemoryMax=200M "$HOG" 80 0 4
mw_wait_after "$m" '"cgroup":"/system.slice/mw-rst2.service".*"action":"kill".*"result":"(done|failed|refused|skipped)"' 60 || true
mw_until 30 inactive mw-rst2.service || true
exp rst2_result "$(systemctl show -P Result mw-rst2.service)"
# The in-flight restart: an outcome (done or failed), not left waiting.
mw_wait_after "$m" '"cgroup":"/system.slice/mw-rst.service".*"action":"restart".*"result":"(done|failed)"' 30 || true
exp rst_jobs_pending "$(hdr jobs)"
exp rst_bus_connected "$(hdr bus_connected)"
exp rst_name_owner "$(busctl --system status org.memwarden1 2>/dev/null | sed -n 's/^PID=//p')"
mw_until 10 mw_events_settled /system.slice/mw-rst.service || true
case_end dbus "unit:mw-rst.service=infinity"
python3 "$SNAP" final /system.slice/mw-rst.service >>"$FINAL" 2>/dev/null || true
systemctl kill -s KILL mw-rst.service 2>/dev/null; systemctl stop mw-rst.service 2>/dev/null
systemctl reset-failed mw-rst.service mw-rst2.service 2>/dev/null || true

# ---- 7. the report directory is full ----
echo "== case 7"
ensure_daemon 7
dd if=/dev/zero of="$RPT/filler" bs=4k 2>/dev/null || true
exp rpt_df "$(df -k --output=avail "$RPT" | tail -1 | tr -d ' ')"
m=$(mw_mark)
mkcg /mwrpt 200M
hog_in "$CG/mwrpt" 80 0 4
H=$!
mw_wait_after "$m" '"cgroup":"/mwrpt".*"action":"report".*"result":"(done|failed)"' 60 || true
mw_wait_after "$m" '"cgroup":"/mwrpt".*"action":"exec".*"result":"(done|failed)"' 60 || true
reap "$H"
settle_cg /mwrpt max
exp rpt_leftover "$(ls "$RPT" | grep -vc '^filler$')"
case_end report "cg:/mwrpt=max"
final_cg /mwrpt
rm -f "$RPT/filler"

# ---- 6. the policy directory deleted and replaced by garbage ----
echo "== case 6"
ensure_daemon 6
m=$(mw_mark)
explain() { "$MW_BIN/memwardenctl" --socket "$MW_SOCK" explain --json /mwarmed 2>&1 | grep -F '"cgroup":"/mwarmed"' | head -1; }
echo "before $(explain)" >>"$MW_OUT/explain-armed.txt"
r0=$(hdr policy_reloads)
rm -rf "$POL"
mw_until 10 reloads_above "$r0" || true
echo "removed $(explain)" >>"$MW_OUT/explain-armed.txt"
mkdir "$POL"
head -c 65536 /dev/urandom >"$POL/junk.yaml"
yes 'apiVersion: memwarden/v1' | head -c $((10 * MiB)) >"$POL/big.yaml"
python3 -c 'import sys; n = 20000; sys.stdout.write("a: " + "[" * n + "]" * n + "\n")' >"$POL/deep-flow.yaml"
python3 -c 'import sys; sys.stdout.write("".join("  " * i + "k%d:\n" % i for i in range(400)))' >"$POL/deep-block.yaml"
ln -s loop-b.yaml "$POL/loop-a.yaml"
ln -s loop-a.yaml "$POL/loop-b.yaml"
mkfifo "$POL/fifo.yaml"
mkdir -p "$POL/tenant"
ln -s ../../.. "$POL/tenant/up.yaml"
r1=$(hdr policy_reloads)
kill -HUP "$MW_PID"
mw_until 30 reloads_above "$r1" || true
echo "garbage $(explain)" >>"$MW_OUT/explain-armed.txt"
mw_status --json | head -1 >"$MW_OUT/status-garbage.json"
exp garbage_alive "$(kill -0 "$MW_PID" 2>/dev/null && echo 1 || echo 0)"
# The good policies back, for the cases that follow.
rm -rf "$POL"
cp -a /run/mw-faults-good "$POL"
r2=$(hdr policy_reloads)
kill -HUP "$MW_PID"
mw_until 30 reloads_above "$r2" || true
echo "restored $(explain)" >>"$MW_OUT/explain-armed.txt"
case_end policy-garbage

# ---- 4. an inotify overflow: a mkdir/rmdir flood by an unprivileged user ----
echo "== case 4"
ensure_daemon 4
m=$(mw_mark)
# No memory controller below it: thousands of memcgs would be costly to make
# and to free; plain cgroups are what the flood is about (the tree, inotify).
mkdir "$CG/mwflood"
chown 65534:65534 "$CG/mwflood"
ov0=$(hdr overflows)
exp flood_overflows_before "$ov0"
overflowed() { [ "$(hdr overflows)" -gt "$ov0" ]; }
flood() { # NAME N: N mkdir/rmdir pairs and N/100 kept, as nobody
    setpriv --reuid=65534 --regid=65534 --clear-groups python3 - "$CG/mwflood" "$1" "$2" <<'PY'
import os, sys
root, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    d = f"{root}/{name}-{i}"
    os.mkdir(d)
    if i % 100 == 0:
        os.mkdir(d + "/kept")
    else:
        os.rmdir(d)
PY
}
for round in 1 2; do
    exp flood_round "$round"
    # The last round with the daemon stopped: the queue fills for certain.
    if [ "$round" = 2 ]; then
        exp flood_stop_t "$(date +%s.%N)"
        kill -STOP "$MW_PID"
    fi
    flood "r$round-a" 6000 &
    F1=$!
    flood "r$round-b" 6000 &
    F2=$!
    wait "$F1" "$F2"
    if [ "$round" = 2 ]; then
        kill -CONT "$MW_PID"
        exp flood_cont_t "$(date +%s.%N)"
    fi
    mw_until 60 status_ok || true
    mw_until 10 overflowed && break
done
exp flood_overflows_after "$(hdr overflows)"
# The model afterwards: exactly the cgroups that exist.
flood_dirs() { (cd "$CG" && find mwflood -type d | sed 's|^|/|' | sort); }
flood_model() { mw_status --json | tail -n +2 | python3 -c '
import json, sys
for l in sys.stdin:
    c = json.loads(l).get("cgroup", "")
    if c == "/mwflood" or c.startswith("/mwflood/"):
        print(c)' | sort; }
flood_consistent() { [ "$(flood_dirs)" = "$(flood_model)" ]; }
mw_until 90 flood_consistent || true
(cd "$CG" && find . -type d | sed 's|^\.||; s|^$|/|' | sort) >"$MW_OUT/flood-tree-before.txt"
mw_status --json >"$MW_OUT/flood-status.jsonl"
(cd "$CG" && find . -type d | sed 's|^\.||; s|^$|/|' | sort) >"$MW_OUT/flood-tree-after.txt"
flood_dirs >"$MW_OUT/flood-dirs.txt"
flood_model >"$MW_OUT/flood-model.txt"
find "$CG/mwflood" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
rmdir "$CG/mwflood" 2>/dev/null || true
mw_until 60 mw_status_lacks /mwflood || true
exp flood_status_lacks "$(mw_status_lacks /mwflood && echo 1 || echo 0)"
case_end flood

# ---- 5. a second instance with RLIMIT_NOFILE=256 and more cgroups than fit ----
echo "== case 5"
ensure_daemon 5
NSOCK=/run/mw-nofile.sock
NREC="$MW_OUT/records-nofile.jsonl"
mkdir "$CG/mwfd"
echo +memory >"$CG/mwfd/cgroup.subtree_control"
mkdir "$CG/mwfd/early"
echo 40M >"$CG/mwfd/early/memory.high"
echo 256M >"$CG/mwfd/early/memory.max"
# Root keeps CAP_SYS_RESOURCE otherwise, and memwardend raises its own limit.
setpriv --bounding-set -sys_resource prlimit --nofile=256:256 \
    "$MW_BIN/memwardend" --output "$NREC" --socket "$NSOCK" --policy-dir '' --no-bus \
    --event-log '' --report-dir '' 2>>"$MW_OUT/memwardend-nofile.log" &
N_PID=$!
mw_until 60 status_ok "$NSOCK" || true
exp nofile_limit "$(awk '/Max open files/ {print $4}' /proc/$N_PID/limits)"
n_watched() { timeout 20 "$MW_BIN/memwardenctl" --socket "$NSOCK" status --json | grep -F '"cgroup":"/mwfd/early",' | grep -q '"watched":true'; }
mw_until 30 n_watched || true
mkdir "$CG"/mwfd/c{1..300}
for i in $(seq 1 300); do echo 64M >"$CG/mwfd/c$i/memory.max"; done
n_warned() { grep -q '"event":"warning".*RLIMIT_NOFILE\|"event":"warning".*EMFILE' "$NREC"; }
mw_until 60 n_warned || true
exp nofile_fds "$(ls /proc/$N_PID/fd 2>/dev/null | wc -l)"
exp nofile_status_at_limit "$(status_ok "$NSOCK" && echo 1 || echo 0)"
hog_in "$CG/mwfd/early" 52 0 1
H=$!
n_events() { grep -q '"event":"memory_events","cgroup":"/mwfd/early"' "$NREC"; }
mw_until 60 n_events || true
reap "$H"
mw_until 30 mw_events_settled /mwfd/early "$NREC" || true
exp nofile_events_settled "$(mw_events_settled /mwfd/early "$NREC" && echo 1 || echo 0)"
python3 "$SNAP" final /mwfd/early nofile >>"$FINAL"
# The main daemon saw all of it as well.
mw_until 30 mw_events_settled /mwfd/early || true
python3 "$SNAP" final /mwfd/early >>"$FINAL"
exp nofile_alive "$(kill -0 "$N_PID" 2>/dev/null && echo 1 || echo 0)"
exp nofile_status_end "$(status_ok "$NSOCK" && echo 1 || echo 0)"
kill -TERM "$N_PID" 2>/dev/null
rc=0; wait "$N_PID" || rc=$?
exp nofile_exit "$rc"
mw_until 30 empty /mwfd/early || true
rmdir "$CG"/mwfd/c* "$CG/mwfd/early" "$CG/mwfd"
case_end nofile

# ---- 10. the node out of memory while a kill policy acts ----
echo "== case 10"
ensure_daemon 10
avail_mib=$(( $(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024 ))
exp oom_avail_mib "$avail_mib"
below=$(( avail_mib / 4 ))
exp oom_watermark_mib "$below"
cat >"$POL/oom.yaml" <<EOF
apiVersion: memwarden/v1
kind: Policy
metadata: {name: oom}
spec:
  match: {cgroup: "/mwoom/*"}
  select: {by: hungriest}
  triggers:
    any: [{nodeAvailable: {below: ${below}Mi}}]
    clearAfter: 2s
  actions:
    - {type: kill}
EOF
mkdir "$CG/mwoom"
echo +memory >"$CG/mwoom/cgroup.subtree_control"
mkcg /mwoom/a 4G
mkcg /mwoom/b 4G
mkcg /mwoom/c 4G
r0=$(hdr policy_reloads)
kill -HUP "$MW_PID"
mw_until 30 reloads_above "$r0" || true
oom_armed() { "$MW_BIN/memwardenctl" --socket "$MW_SOCK" explain --json /mwoom/a | grep -q '"policy":"oom"'; }
mw_until 30 oom_armed || true
m=$(mw_mark)
dmesg >"$MW_OUT/dmesg-before-oom.txt"
# 1.5 times what is available, no swap: someone is killed. The biggest one
# first, to its full size, so that it is the hungriest when the others come.
hog_in "$CG/mwoom/a" $((avail_mib * 6 / 10)) 0 8
HA=$!
mw_until 120 usage_at_least /mwoom/a $((avail_mib * 6 / 10 - 8)) || true
hog_in "$CG/mwoom/b" $((avail_mib * 5 / 10)) 0 8
HB=$!
hog_in "$CG/mwoom/c" $((avail_mib * 4 / 10)) 0 8
HC=$!
# Over when at most one hog is left (what is left fits).
oom_over() {
    local n=0 p
    for p in "$HA" "$HB" "$HC"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
    [ "$n" -le 1 ]
}
mw_until 120 oom_over || true
for p in "$HA" "$HB" "$HC"; do
    rc=0
    if kill -0 "$p" 2>/dev/null; then rc=alive; kill -9 "$p"; fi
    wait "$p" 2>/dev/null || [ "$rc" = alive ] || rc=$?
    echo "oom_hog_$p=$rc" >>"$EXP"
done
exp oom_mw_alive "$(kill -0 "$MW_PID" 2>/dev/null && echo 1 || echo 0)"
exp oom_mw_score_adj "$(cat /proc/$MW_PID/oom_score_adj 2>/dev/null)"
mw_until 30 status_ok || true
dmesg >"$MW_OUT/dmesg-oom.txt"
for c in a b c; do settle_cg /mwoom/$c max; done
case_end oom "cg:/mwoom/a=max" "cg:/mwoom/b=max" "cg:/mwoom/c=max"
for c in a b c; do final_cg /mwoom/$c; done
rmdir "$CG/mwoom"
rm -f "$POL/oom.yaml"

# ---- 9. SIGKILLed while it holds throttles and a freeze, started again ----
echo "== case 9"
ensure_daemon 9
m=$(mw_mark)
mkcg /mwhold-thr 200M
mkcg /mwhold-frz 200M
systemd-run --quiet --unit=mw-hold -p MemoryMax=200M /bin/sh -c "$HOG 100 0 4; exec sleep infinity"
mw_until 60 watched /system.slice/mw-hold.service || true
hog_in "$CG/mwhold-thr" 100 0 4
HT=$!
hog_in "$CG/mwhold-frz" 100 0 4
HF=$!
mw_wait_after "$m" '"cgroup":"/mwhold-thr".*"action":"throttle".*"result":"done"' 60 || true
mw_wait_after "$m" '"cgroup":"/system.slice/mw-hold.service".*"action":"throttle".*"result":"done"' 60 || true
mw_wait_after "$m" '"cgroup":"/mwhold-frz".*"action":"freeze".*"result":"done"' 60 || true
exp hold_thr_high "$(cat "$CG/mwhold-thr/memory.high")"
exp hold_unit_high "$(systemctl show -P MemoryHigh mw-hold.service)"
exp hold_frz_freeze "$(cat "$CG/mwhold-frz/cgroup.freeze")"
MW_MAY_BE_DEAD=1
exp hold_kill_t "$(date +%s.%N)"
kill -KILL "$MW_PID"
wait "$MW_PID" 2>/dev/null
exp hold_killed_pid "$MW_PID"
exp hold_helpers_before "$(ps -eo args | grep -c '[-]-exec-helper')"
# Nothing holds the triggers now: the memory is given back (SIGKILL ends
# frozen tasks too on cgroup v2).
kill -9 "$HT" "$HF" 2>/dev/null
kill_comm "$CG/system.slice/mw-hold.service" mw-hog
mw_until 30 empty /mwhold-thr || true
mw_until 30 empty /mwhold-frz || true
empty /mwhold-thr && empty /mwhold-frz && wait "$HT" "$HF" 2>/dev/null
low_usage() { [ "$(cat "$CG/system.slice/mw-hold.service/memory.current")" -lt $((20 * MiB)) ]; }
mw_until 30 low_usage || true
exp hold_before_restart_thr "$(cat "$CG/mwhold-thr/memory.high")"
exp hold_before_restart_frz "$(cat "$CG/mwhold-frz/cgroup.freeze")"
rm -f "$MW_SOCK"
m=$(mw_mark)
mw_start --policy-dir "$POL" --report-dir "$RPT" --event-log "$MW_OUT/events.jsonl" --webhook-timeout 2s
MW_MAY_BE_DEAD=
exp mw_pid_restarted "$MW_PID"
exp hold_restarted_t "$(date +%s.%N)"
helpers() { ps -eo args | grep -c '[-]-exec-helper'; }
one_helper() { [ "$(helpers)" -le 1 ]; }
mw_until 20 one_helper || true
exp hold_helpers_after "$(helpers)"
all_undone() { high_is /mwhold-thr max && thawed /mwhold-frz && unit_high_is mw-hold.service infinity; }
mw_until 30 all_undone || true
case_end hold "cg:/mwhold-thr=max" "cg:/mwhold-frz=max" "unit:mw-hold.service=infinity"
mw_until 10 mw_events_settled /system.slice/mw-hold.service || true
python3 "$SNAP" final /system.slice/mw-hold.service >>"$FINAL" 2>/dev/null || true
systemctl stop mw-hold.service
# Thawed by hand if the new start did not, so that the cgroups can go.
echo 0 >"$CG/mwhold-frz/cgroup.freeze" 2>/dev/null
final_cg /mwhold-thr
final_cg /mwhold-frz

# ---- the end ----
kill "$POLL_PID" 2>/dev/null; wait "$POLL_PID" 2>/dev/null
mw_status --json >"$MW_OUT/status-end.jsonl"
final_cg /mwarmed
journalctl -k --no-pager >"$MW_OUT/kernel.log" 2>&1
mw_stop
kill "$WEB_PID" 2>/dev/null
umount "$RPT" 2>/dev/null
exit 0
