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
