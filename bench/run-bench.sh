#!/bin/bash
# Run the agent benchmarks and print one JSON line per configuration.
#   run-bench.sh [IDLE_SECONDS] [EVENTS]    (defaults: 60 s idle, 2000 events)
# From the build directory's bench/ folder, or pass BUILDDIR in $BUILDDIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=${BUILDDIR:-$(cd "$here/.." && pwd)}
idle=${1:-60}
events=${2:-2000}
for n in 1000 10000; do
    "$builddir/bench/bench-agent" "$builddir/daemon/memwardend" "$n" "$idle" "$events"
done
# Latency from an event to each action's outcome (bench/bench-actions.c).
"$builddir/bench/bench-actions" "$builddir/daemon/memwardend" 1000 2>/dev/null
# cgroup v1 (hybrid/legacy hosts only; exits 77 elsewhere): real v1 memory cgroups of its own.
python3 "$here/bench-v1.py" "$builddir/daemon/memwardend" 1000 "$idle" 30 || [ $? = 77 ]
# /metrics: scrape time and size at 10,000 cgroups, RSS with metrics off and
# on, the event path's latency while scraping every second (bench-metrics.py).
python3 "$here/bench-metrics.py" "$builddir/daemon/memwardend" 10000 1000 30 || [ $? = 77 ]
