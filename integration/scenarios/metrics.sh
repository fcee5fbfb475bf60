#!/bin/bash
# /metrics, /healthz and the CLI for real: Debian's Prometheus server scrapes
# memwarden every second (with deploy/prometheus/memwarden-rules.yaml loaded)
# while a hog sits over memory.high in /mwmet and another is OOM-killed in a
# container cgroup laid out as kubelet does; a broken policy file, a webhook
# to a closed port and an inotify overflow give the other rules something to
# see. The host checks (metrics.check) that Prometheus's answer for
# memwarden_memory_events_total{event="high"} equals the kernel's counter,
# that every expression of the dashboard and of the rules returns data, that
# /healthz failed while the daemon was stopped and came back, and what the
# CLI printed. Every wait is for a state.
set -euo pipefail
. "$MW_LIB"

port=9743
prom=http://127.0.0.1:9090
cg=/sys/fs/cgroup/mwmet
rep=/var/lib/mw-metrics-reports
pol=/etc/mw-metrics
mkdir -p "$pol"
cat >"$pol/mwmet.yaml" <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: mwmet}
spec:
  match: {cgroup: /mwmet}
  triggers:
    any: [{memoryEvents: {counter: high, increase: 1, window: 10s}}]
    clearAfter: 60s
  actions:
    - {type: notify, webhook: "http://127.0.0.1:9/closed"}
    - {type: report}
    - {type: throttle, floor: 64M}  # above memory.high: at the floor from the start
EOF
"$MW_BIN/memwardenctl" check "$pol"

# A pod and its container as kubelet lays them out (cgroupfs names known
# from its log directories).
uid=5e6f7a8b-1234-4cde-9f01-23456789abcd
cid=aa11bb22cc33dd44ee55ff6677889900aa11bb22cc33dd44ee55ff6677889900
mkdir -p "/var/log/pods/shop_cart-0_$uid" /var/log/containers
touch "/var/log/containers/cart-0_shop_cart-$cid.log"

mw_start --policy-dir "$pol" --report-dir "$rep" --metrics-listen "127.0.0.1:$port"
mw_footprint metrics-on
curl -sf "http://127.0.0.1:$port/healthz"
curl -sf "http://127.0.0.1:$port/metrics" >"$MW_OUT/metrics-first.txt"

# Prometheus, as packaged, with our rules; scraping every second.
pd=/run/mw-prometheus
mkdir -p "$pd/data"
cp /opt/mw/deploy/prometheus/memwarden-rules.yaml "$pd/"
cat >"$pd/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [memwarden-rules.yaml]
scrape_configs:
  - job_name: memwarden
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOF
promtool check config "$pd/prometheus.yml"
prometheus --config.file="$pd/prometheus.yml" --storage.tsdb.path="$pd/data" \
    --web.listen-address=127.0.0.1:9090 >"$MW_OUT/prometheus.log" 2>&1 &
prom_pid=$!
promq() { curl -sf --data-urlencode "query=$1" "$prom/api/v1/query"; }
# promq_has QUERY: the query returns at least one series.
promq_has() {
    promq "$1" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)'
}
mw_until 240 curl -sf "$prom/-/ready"
mw_until 120 promq_has 'up{job="memwarden"} == 1'

"$MW_BIN/memwardenctl" --socket "$MW_SOCK" events --follow --cgroup /mwmet >"$MW_OUT/follow-mwmet.txt" &
follow=$!

# The hog over memory.high.
mkdir "$cg"
echo 40M >"$cg/memory.high"
echo 256M >"$cg/memory.max"
( echo "$BASHPID" >"$cg/cgroup.procs"; exec "$MW_BIN/mw-hog" 52 0 1 ) &
hog=$!
mw_wait_record '"event":"action","cgroup":"/mwmet",.*"action":"report","undo":false,"result":"done"' 120
# The recent records, while the decision and its steps are among the last
# 128 (PSI and node records follow them quickly).
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" events --cgroup /mwmet | tee "$MW_OUT/ctl-events.txt"
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" events --event action --policy mwmet >"$MW_OUT/ctl-events-action.txt"

# The container OOM-killed: memory.max below what its hog takes.
k=/sys/fs/cgroup/kubepods
ctr="$k/burstable/pod$uid/$cid"
mkdir -p "$ctr"
echo +memory >"$k/cgroup.subtree_control"
echo +memory >"$k/burstable/cgroup.subtree_control"
echo +memory >"$k/burstable/pod$uid/cgroup.subtree_control"
echo 24M >"$ctr/memory.max"
# Prometheus has a sample of the container's counter at 0 first, so that
# increase() sees the kill (a series that starts at 1 shows no increase).
mw_until 120 promq_has 'memwarden_memory_events_total{event="oom_kill",namespace="shop",pod="cart-0",container="cart"} == 0'
( echo "$BASHPID" >"$ctr/cgroup.procs"; exec "$MW_BIN/mw-hog" 64 0 4 ) &
oomhog=$!
wait "$oomhog" || echo "container hog ended $? (OOM-killed)"
cat "$ctr/memory.events"

# A broken policy file: the reload fails, the last good set stays.
printf 'apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: Broken}\n' >"$pol/broken.yaml"
failed_reload() { [ "$(mw_status_field policy_reload_failures)" -ge 1 ]; }
mw_until 60 failed_reload
rm "$pol/broken.yaml"

# An inotify overflow: the daemon stopped, a mkdir/rmdir flood of plain
# cgroups (no memory controller below /mwflood) longer than its queue.
overflowed() { [ "$(mw_status_field overflows)" -ge 1 ]; }
mkdir /sys/fs/cgroup/mwflood
# Its watch first: a flood below a directory the daemon has not seen yet
# reaches nobody's queue.
flood_watched() { mw_status --json | grep -q '"cgroup":"/mwflood"'; }
mw_until 60 flood_watched
kill -STOP "$MW_PID"
python3 - /sys/fs/cgroup/mwflood <<'PY'
import os, sys
for i in range(12000):
    d = f"{sys.argv[1]}/f{i}"
    os.mkdir(d)
    os.rmdir(d)
PY
kill -CONT "$MW_PID"
mw_until 120 overflowed || echo "no inotify overflow"
rmdir /sys/fs/cgroup/mwflood

# /healthz: no answer while the daemon is stopped, healthy again after.
kill -STOP "$MW_PID"
if curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" >"$MW_OUT/healthz-stopped.txt"; then
    echo "healthz answered while stopped" >&2
fi
echo >>"$MW_OUT/healthz-stopped.txt"
kill -CONT "$MW_PID"
healthy() { [ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ]; }
mw_until 60 healthy
echo 200 >"$MW_OUT/healthz-after.txt"

kill -9 "$hog"
wait "$hog" || true
mw_until 60 mw_events_settled /mwmet
high=$(awk '$1 == "high" {print $2}' "$cg/memory.events")
echo "high_final=$high" >"$MW_OUT/expect.txt"
echo "oom_kill_container=$(awk '$1 == "oom_kill" {print $2}' "$ctr/memory.events")" >>"$MW_OUT/expect.txt"
# Prometheus has scraped the final value.
prom_high() {
    promq 'memwarden_memory_events_total{cgroup="/mwmet",event="high"}' >"$MW_OUT/prom-high.json"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["data"]["result"]; sys.exit(0 if r and r[0]["value"][1] == sys.argv[2] else 1)' \
        "$MW_OUT/prom-high.json" "$high"
}
mw_until 120 prom_high || echo "Prometheus's value differs"
curl -sf "http://127.0.0.1:$port/metrics" >"$MW_OUT/metrics-last.txt"

# Every expression of the dashboard and of the rules (its comparison taken
# off: the data under the alert), asked of Prometheus.
python3 - "$prom" /opt/mw/deploy/prometheus "$MW_OUT/exprs.jsonl" <<'PY'
import json, re, sys, urllib.parse, urllib.request
prom, d, out = sys.argv[1:4]
exprs = []
for p in json.load(open(d + "/memwarden-dashboard.json"))["panels"]:
    for t in p["targets"]:
        exprs.append(("dashboard", p["title"], t["expr"], t["expr"]))
rule = None
for line in open(d + "/memwarden-rules.yaml"):
    m = re.match(r"\s*- alert: (\S+)", line)
    if m:
        rule = m.group(1)
    m = re.match(r"\s*expr: (.*)", line)
    if m:
        e = m.group(1).strip()
        data = re.sub(r"\s*(==|>|<)\s*[0-9.]+", "", e)
        exprs.append(("rule", rule, e, data))
with open(out, "w") as f:
    for kind, name, e, q in exprs:
        url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        r = json.load(urllib.request.urlopen(url, timeout=30))
        f.write(json.dumps({"kind": kind, "name": name, "expr": e, "query": q,
                            "status": r["status"], "n": len(r["data"]["result"])}) + "\n")
alerts = json.load(urllib.request.urlopen(prom + "/api/v1/alerts", timeout=30))
json.dump(alerts, open(out.replace("exprs.jsonl", "alerts.json"), "w"))
PY
cat "$MW_OUT/exprs.jsonl"

# The CLI.
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" status | tee "$MW_OUT/ctl-status.txt"
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" events --cgroup /mwmet >"$MW_OUT/ctl-events-end.txt"
"$MW_BIN/memwardenctl" reports --report-dir "$rep" | tee "$MW_OUT/ctl-reports.txt"
first=$(ls "$rep" | grep -m1 'mwmet')
"$MW_BIN/memwardenctl" reports --report-dir "$rep" "$first" | tee "$MW_OUT/ctl-report.txt"
mw_footprint metrics-end
kill "$prom_pid"
wait "$prom_pid" || true
mw_stop
wait "$follow" || true
rmdir "$ctr" "$k/burstable/pod$uid" "$k/burstable" "$k" || true
rmdir "$cg" || true
