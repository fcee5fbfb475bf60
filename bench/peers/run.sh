#!/bin/bash
# bench/peers: memwarden beside earlyoom, systemd-oomd, oomd, nohang,
# low-memory-monitor and psi-notify, in one run, published.
#
#   bench/peers/run.sh BUILDDIR [DAEMON...]
#
# Boots a fresh guest per daemon (integration/run-scenario.sh BUILDDIR
# peers-DAEMON, each under the VM lock on its own, so other VM users can
# take turns), then memwarden's scale boot (peers-scale), then the fake-tree
# scale on this host (bench-agent at 10,000 and 50,000 cgroups), and writes
# docs/benchmarks.md, its plots and bench/peers/results/ (aggregate.py).
# Takes 40-60 minutes under TCG. Not part of CI. Needs root (the VM harness)
# and gnuplot (gnuplot-nox) for the plots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
builddir=$(cd "${1:?usage: run.sh BUILDDIR [DAEMON...]}" && pwd)
shift
daemons=("$@")
[ ${#daemons[@]} -gt 0 ] || daemons=(earlyoom systemd-oomd oomd nohang low-memory-monitor psi-notify memwarden scale)
ninja -C "$builddir" >/dev/null
run="$builddir/peers-run"
mkdir -p "$run"
lock=${MW_VM_LOCK:-/tmp/memwarden-vm.lock}
python3 - "$run/run.json" "$top" <<'PY'
import json, subprocess, sys, time
git = subprocess.run(["git", "-C", sys.argv[2], "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "git": git}, open(sys.argv[1], "w"))
PY
failed=()
for d in "${daemons[@]}"; do
    echo "peers: $d"
    if MW_VM_TIMEOUT=${MW_VM_TIMEOUT:-900} flock "$lock" "$top/integration/run-scenario.sh" "$builddir" "peers-$d"; then
        :
    else
        failed+=("$d")
    fi
    rm -rf "${run:?}/$d"
    if [ -d "$builddir/integration-runs/peers-$d/results" ]; then
        cp -r "$builddir/integration-runs/peers-$d/results" "$run/$d"
    fi
done
# The fake tree on this host, 10 s idle, 500 events: bench-agent (every
# cgroup watched) at 10,000; host-scale.py (the slices watched) at 10,000
# and 50,000 (README: why).
if [[ " ${daemons[*]} " == *" scale "* ]]; then
    : >"$run/host-scale.jsonl"
    "$builddir/bench/bench-agent" "$builddir/daemon/memwardend" 10000 10 500 2>/dev/null >>"$run/host-scale.jsonl" || failed+=("host-agent")
    for n in 10000 50000; do
        python3 "$here/host-scale.py" "$builddir/daemon/memwardend" "$n" 10 500 >>"$run/host-scale.jsonl" || failed+=("host-$n")
    done
fi
python3 "$here/aggregate.py" "$run"
if [ ${#failed[@]} -gt 0 ]; then
    echo "peers: runs that failed their checks: ${failed[*]} (logs: $builddir/integration-runs/peers-NAME/)" >&2
    exit 1
fi
