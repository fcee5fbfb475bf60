#!/bin/bash
set -eu
uname -a
cat /sys/fs/cgroup/cgroup.controllers
systemctl is-system-running || true
busctl status org.freedesktop.systemd1 >/dev/null
echo ok > "$MW_OUT/smoke"
