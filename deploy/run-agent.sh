#!/bin/bash
# Install what is needed, build memwarden, and run the agent in the
# foreground on this host's real defaults (it finds the cgroup hierarchy
# itself: v2, or v1 on hybrid and legacy hosts), with the example policies in
# policies/ unless --policy-dir is given. Records go to stdout as JSON lines.
# Extra arguments go to memwardend (see memwardend --help).
#
# Once the agent is up, a short real workload (deploy/demo-workload.sh: a
# cgroup of its own with a 32M limit, page-cache thrash for 5 s, removed
# afterwards) shows the example policy memwarden-demo fire on what the kernel
# reports. MW_DEMO=0 leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh >&2
[ -f build/build.ninja ] || meson setup build -Dtests=false >&2
ninja -C build >&2

args=("$@")
case " $* " in
*" --policy-dir"*) ;;
*) args=(--policy-dir "$PWD/policies" "${args[@]}") ;;
esac
[ "${MW_DEMO:-1}" = 0 ] && exec build/daemon/memwardend "${args[@]}"

build/daemon/memwardend "${args[@]}" &
agent=$!
trap 'kill -TERM $agent 2>/dev/null' INT TERM
(sleep 3 && kill -0 $agent 2>/dev/null && deploy/demo-workload.sh 5) || true
wait $agent
