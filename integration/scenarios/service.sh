#!/bin/bash
# memwardend as systemd runs it, from deploy/memwardend.service: Type=notify
# readiness and status text, the watchdog, records in the journal with a
# MESSAGE_ID, memwardenctl on the default socket, a clean stop on SIGTERM.
set -euo pipefail

install -m 644 /opt/mw/deploy/memwardend.service /etc/systemd/system/memwardend.service
mkdir -p /etc/systemd/system/memwardend.service.d
printf '[Service]\nExecStart=\nExecStart=/opt/mw/bin/memwardend\n' \
    >/etc/systemd/system/memwardend.service.d/test.conf
systemctl daemon-reload
systemctl start memwardend.service
systemctl show -p ActiveState -p StatusText -p MainPID -p WatchdogUSec memwardend.service | tee "$MW_OUT/service-show.txt"
pid=$(systemctl show -P MainPID memwardend.service)
echo "oom_score_adj=$(cat /proc/"$pid"/oom_score_adj)" >"$MW_OUT/expect.txt"

systemd-run --unit=mw-hog -p MemoryMax=256M -p MemoryHigh=40M "$MW_BIN/mw-hog" 52 0 1
for _ in $(seq 1 600); do
    journalctl -u memwardend.service -q -o cat MEMWARDEN_EVENT=memory_events 2>/dev/null | grep -q mw-hog && break
    sleep 0.1
done
"$MW_BIN/memwardenctl" status | tee "$MW_OUT/status.txt"
systemctl stop mw-hog.service
# The daemon has seen the unit go (a record in the journal), under load.
removed() { journalctl -u memwardend.service -q -o cat MEMWARDEN_EVENT=cgroup_removed 2>/dev/null | grep -q mw-hog; }
for _ in $(seq 1 300); do removed && break; sleep 0.1; done
echo "active_after_load=$(systemctl is-active memwardend.service)" >>"$MW_OUT/expect.txt"
systemctl stop memwardend.service
systemctl show -p Result -p ExecMainStatus -p ExecMainCode memwardend.service | tee "$MW_OUT/service-stop.txt"
journalctl -u memwardend.service -o json --no-pager >"$MW_OUT/journal-memwardend.json"
