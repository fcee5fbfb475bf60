#!/bin/bash
# A short, real workload for the run command (deploy/run-agent.sh): a cgroup
# of our own named memwarden-demo with a small memory limit, in which a shell
# thrashes the page cache for a few seconds; then the cgroup is removed. The
# example policy policies/memwarden-demo.yaml fires on what the kernel reports.
#   cgroup v1 (hybrid and legacy hosts): a child of this script's own memory
#     cgroup with memory.limit_in_bytes 32M;
#   cgroup v2 under systemd: a transient scope with MemoryHigh=32M.
# Usage: demo-workload.sh [SECONDS]   (default 5)
set -uo pipefail
secs=${1:-5}
file=$(mktemp /var/tmp/memwarden-demo.XXXXXX) || exit 1
trap 'rm -f "$file"' EXIT
thrash="end=\$((\$(date +%s) + $secs)); while [ \$(date +%s) -lt \$end ]; do
  dd if=/dev/zero of=$file bs=1M count=48 conv=fsync 2>/dev/null; cat $file >/dev/null; done"

# The v1 memory mount: the mountinfo line whose file system is "cgroup" with
# the memory option (fields after the " - " separator).
v1=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") break;
            if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/) { print $5; exit } }' /proc/self/mountinfo)
v2=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") break;
            if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)

if [ -n "$v2" ] && grep -qw memory "$v2/cgroup.controllers" 2>/dev/null && [ -d /run/systemd/system ]; then
    echo "demo: a transient scope memwarden-demo.scope with MemoryHigh=32M thrashes the page cache for ${secs}s" >&2
    systemd-run --quiet --scope --unit "memwarden-demo-$$" -p MemoryHigh=32M -p MemoryMax=64M \
        /bin/sh -c "$thrash"
elif [ -n "$v1" ]; then
    own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
    dir="$v1${own%/}/memwarden-demo"
    if ! mkdir "$dir" 2>/dev/null; then
        echo "demo: cannot make $dir; skipped" >&2
        exit 0
    fi
    echo "demo: cgroup v1 $dir with a 32M limit thrashes the page cache for ${secs}s" >&2
    echo 32M > "$dir/memory.limit_in_bytes"
    /bin/sh -c "echo \$\$ > $dir/cgroup.procs && $thrash"
    for _ in $(seq 50); do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
else
    echo "demo: no cgroup v1 memory hierarchy and no systemd with the v2 memory controller; skipped" >&2
fi
