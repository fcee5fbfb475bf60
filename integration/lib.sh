# Helpers for guest-side scenario scripts (bash). Sourced from $MW_LIB.
MW_SOCK=/run/memwarden-test.sock
MW_RECORDS="$MW_OUT/records.jsonl"

# Start memwardend in the background with the given extra arguments; wait
# until it has walked the tree and answers on its status socket.
mw_start() {
    "$MW_BIN/memwardend" --output "$MW_RECORDS" --socket "$MW_SOCK" "$@" 2>>"$MW_OUT/memwardend.log" &
    MW_PID=$!
    for _ in $(seq 1 100); do
        if [ -S "$MW_SOCK" ] && "$MW_BIN/memwardenctl" --socket "$MW_SOCK" status >/dev/null 2>&1; then
            echo "memwardend $MW_PID ready"
            return 0
        fi
        kill -0 "$MW_PID" 2>/dev/null || { echo "memwardend died at start" >&2; return 1; }
        sleep 0.1
    done
    echo "memwardend did not become ready" >&2
    return 1
}

mw_stop() {
    kill -TERM "$MW_PID"
    wait "$MW_PID"
    echo "memwardend exit status $?" | tee "$MW_OUT/memwardend.exit"
}

mw_status() {
    "$MW_BIN/memwardenctl" --socket "$MW_SOCK" status "$@"
}

# Resource figures of the running daemon: fds, inotify watches, RSS and locked KiB.
mw_footprint() {
    local fds watches rss lck anon
    fds=$(ls /proc/"$MW_PID"/fd | wc -l)
    watches=$(cat /proc/"$MW_PID"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:')
    rss=$(awk '/^VmRSS:/ {print $2}' /proc/"$MW_PID"/status)
    lck=$(awk '/^VmLck:/ {print $2}' /proc/"$MW_PID"/status)
    anon=$(awk '/^RssAnon:/ {print $2}' /proc/"$MW_PID"/status)
    echo "{\"label\":\"$1\",\"fds\":$fds,\"watches\":$watches,\"rss_kib\":$rss,\"anon_kib\":$anon,\"locked_kib\":$lck}" >>"$MW_OUT/footprint.jsonl"
    echo "footprint $1: fds=$fds watches=$watches rss=${rss}KiB anon=${anon}KiB locked=${lck}KiB"
}

# Wait until the records file has a line matching a pattern (grep -E), or time out.
mw_wait_record() {
    local pattern=$1 timeout=${2:-20}
    for _ in $(seq 1 $((timeout * 10))); do
        grep -qE "$pattern" "$MW_RECORDS" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for a record matching: $pattern" >&2
    return 1
}

# mw_until SECONDS CMD...: run CMD every 0.2 s until it succeeds; 1 if time runs out.
# The way to wait for a state (never for a fixed time): the bound is only a bound.
mw_until() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $end ]; then
            echo "timed out waiting for: $*" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The number of record lines so far; mw_wait_after LINE REGEX [SECONDS] waits
# for a record matching REGEX after line LINE.
mw_mark() { wc -l <"$MW_RECORDS"; }
mw_wait_after() {
    local line=$1 pattern=$2 timeout=${3:-20}
    _mw_after() { tail -n "+$((line + 1))" "$MW_RECORDS" | grep -qE "$pattern"; }
    mw_until "$timeout" _mw_after || { echo "timed out waiting for a record matching: $pattern" >&2; return 1; }
}

# mw_status_field KEY: a field of the status header (the daemon's counters).
mw_status_field() {
    mw_status --json | head -1 | python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"
}

# mw_events_settled CGROUP [RECORDS]: true when the memory_events records of
# CGROUP (a path from the root) add up to the kernel's memory.events counters,
# i.e. every event so far has reached the records.
mw_events_settled() {
    python3 - "$1" "${2:-$MW_RECORDS}" /sys/fs/cgroup <<'PY'
import json, sys
cg, recs, root = sys.argv[1:4]
with open(root + cg + "/memory.events") as f:
    want = {k: int(v) for k, v in (l.split() for l in f)}
got = {}
with open(recs, "rb") as f:
    for raw in f:
        try:
            r = json.loads(raw)
        except ValueError:
            continue
        if r.get("event") == "memory_events" and r.get("cgroup") == cg:
            for k, v in r.get("delta", {}).items():
                got[k] = got.get(k, 0) + v
sys.exit(0 if all(got.get(k, 0) == v for k, v in want.items()) else 1)
PY
}

# mw_status_lacks REGEX: the daemon's status listing has no cgroup matching REGEX.
mw_status_lacks() { ! mw_status --json | tail -n +2 | grep -qE "\"cgroup\":\"$1"; }
