#!/bin/bash
# Core proof on the real kernel: a cgroup whose memory.high is below what a
# hog needs; every increment of the kernel's `high` counter must reach the
# records; cgroups created and removed during the run are picked up and
# dropped, with fds and watches back to the baseline afterwards.
set -euo pipefail
. "$MW_LIB"

cg=/sys/fs/cgroup/mwtest
pol=/etc/mw-reload
mkdir -p "$pol"
write_policy() {
    cat >"$pol/mwtest.yaml.tmp" <<EOF
apiVersion: memwarden/v1
kind: Policy
metadata: {name: mwtest, description: "version $1"}
spec:
  match: {cgroup: /mwtest}
  triggers:
    any: [{memoryEvents: {counter: high, increase: 1, window: 10s}}]
    clearAfter: 60s
  actions: [{type: notify, dryRun: true}]
EOF
    mv "$pol/mwtest.yaml.tmp" "$pol/mwtest.yaml"
}
write_policy 0
mw_start --policy-dir "$pol"
mw_footprint baseline

mkdir "$cg"
echo 40M >"$cg/memory.high"
echo 256M >"$cg/memory.max"
mw_wait_record '"cgroup":"/mwtest",.*"memory_high":41943040'

( echo "$BASHPID" >"$cg/cgroup.procs"; exec "$MW_BIN/mw-hog" 52 0 1 ) &
hog=$!
mw_wait_record '"event":"memory_events","cgroup":"/mwtest"' 30
mw_wait_record '"event":"psi","cgroup":"/mwtest"' 30 || echo "no PSI record yet"
# Reloads under the stream of events: a changed file (inotify) and SIGHUP
# (reload plus rescan), 20 of each; no event may be lost, the policy's
# episode goes on (it fires once).
# Each reload is waited for (its count in the status header), so none is
# coalesced with the next however slow the machine is.
reloads_above() { [ "$(mw_status_field policy_reloads)" -gt "$1" ]; }
for i in $(seq 1 20); do
    n=$(mw_status_field policy_reloads)
    write_policy "$i"
    mw_until 30 reloads_above "$n"
    n=$(mw_status_field policy_reloads)
    kill -HUP "$MW_PID"
    mw_until 30 reloads_above "$n"
done
mw_status | tee "$MW_OUT/status-during.txt"
mw_status --json | head -1 >"$MW_OUT/status-header.json"
kill -9 "$hog"
wait "$hog" || true
# Every increment of the counter has reached the records.
mw_until 30 mw_events_settled /mwtest || true
echo "high_final=$(awk '$1 == "high" {print $2}' "$cg/memory.events")" >"$MW_OUT/expect.txt"
cat "$cg/memory.events"

# Churn: cgroups with limits (watched) and without, nested, made and removed.
for i in $(seq 1 40); do
    mkdir "$cg-churn-$i" "$cg-churn-$i/inner"
    if [ $((i % 2)) = 0 ]; then echo 100M >"$cg-churn-$i/memory.max"; fi
done
# All 80 followed, the 20 with a limit watched.
n_churn() { [ "$(mw_status --json | grep -c "\"cgroup\":\"/mwtest-churn-")" = 80 ] &&
            [ "$(mw_status --json | grep "\"cgroup\":\"/mwtest-churn-" | grep -c '"watched":true')" = 20 ]; }
mw_until 60 n_churn
mw_footprint churn-peak
for i in $(seq 1 40); do rmdir "$cg-churn-$i/inner" "$cg-churn-$i"; done
rmdir "$cg"
mw_until 60 mw_status_lacks /mwtest
mw_footprint after
mw_stop
