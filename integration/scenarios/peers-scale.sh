#!/bin/bash
# bench/peers, scale (memwarden only): 2,000 real cgroups in the guest, each
# with a limit (all watched with the default flags): the first walk (the
# `started` record's walk_us), RSS and VmLck, and the event path on the real
# kernel: from the kernel's first `high` in one of them (inotify, in the
# guest) to memwarden's record of it, for 20 of them one after the other
# (bench/peers/guest/lat-watch.py).
set -euo pipefail
. "$MW_LIB"
P=/opt/mw/peers
echo "peer=memwarden-scale" >>"$MW_OUT/meta.txt"
echo "kernel=$(uname -r)" >>"$MW_OUT/meta.txt"
root=/sys/fs/cgroup/mw-scale
mkdir -p "$root"
echo +memory >"$root/cgroup.subtree_control"
for s in $(seq 1 20); do
    mkdir -p "$root/s-$s"
    echo +memory >"$root/s-$s/cgroup.subtree_control"
    for c in $(seq 1 100); do
        mkdir -p "$root/s-$s/c-$c"
        echo 1G >"$root/s-$s/c-$c/memory.max"
    done
done
n=$(find "$root" -mindepth 1 -type d | wc -l)
mw_start --policy-dir ''
mw_wait_record '"event":"started"' 120
all_seen() { [ "$(mw_status --json | tail -n +2 | grep -c '"cgroup":"/mw-scale/')" -ge "$n" ]; }
mw_until 120 all_seen
walk=$(grep -m1 '"event":"started"' "$MW_RECORDS" | sed -n 's/.*"walk_us":\([0-9]*\).*/\1/p')
rss=$(awk '/^VmRSS:/ {print $2}' /proc/"$MW_PID"/status)
lck=$(awk '/^VmLck:/ {print $2}' /proc/"$MW_PID"/status)
watches=$(cat /proc/"$MW_PID"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:' || true)
cgs=()
for s in $(seq 1 20); do
    echo 4M >"$root/s-$s/c-1/memory.high"
    cgs+=("$root/s-$s/c-1")
done
# The limit change is an event of its own: its record first, then measure.
mw_until 60 grep -q '"cgroup":"/mw-scale/s-20/c-1",.*"memory_high":4194304' "$MW_RECORDS" || true
python3 "$P/guest/lat-watch.py" "$MW_RECORDS" "$MW_BIN/mw-hog" "$MW_OUT/lat.json" "${cgs[@]}"
python3 - "$MW_OUT/lat.json" "$n" "${walk:-0}" "$rss" "$lck" "$watches" >"$MW_OUT/scale.jsonl" <<'PY'
import json, sys
lat = json.load(open(sys.argv[1]))
n, walk, rss, lck, watches = map(int, sys.argv[2:7])
lat.update({"cgroups": n, "walk_us": walk, "rss_kib": rss, "lck_kib": lck, "watches": watches})
print(json.dumps(lat))
PY
cat "$MW_OUT/scale.jsonl"
mw_stop
