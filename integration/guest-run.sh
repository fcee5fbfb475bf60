#!/bin/bash
# Runs inside the guest, from mw-scenario.service: runs the scenario named on
# the kernel command line, then writes everything under $MW_OUT to the results
# disk (/dev/vdc, as a tar stream) and powers off.
set -u
name=$(sed -n 's/.*mw\.scenario=\([^ ]*\).*/\1/p' /proc/cmdline)
export MW_BIN=/opt/mw/bin MW_LIB=/opt/mw/integration/lib.sh MW_OUT=/run/mw-results
mkdir -p "$MW_OUT"
echo "mw-guest: running scenario $name on $(uname -r)" >/dev/console

# Bounded, so that a hung scenario still hands back its logs.
timeout -k 5 "${MW_SCENARIO_TIMEOUT:-480}" bash -x "/opt/mw/integration/scenarios/$name.sh" >"$MW_OUT/scenario.log" 2>&1
rc=$?
echo "$rc" >"$MW_OUT/rc"
echo "mw-guest: scenario $name exited $rc" >/dev/console
journalctl -b --no-pager -o short-monotonic >"$MW_OUT/journal.log" 2>&1
tar -cf /dev/vdc -C "$MW_OUT" .
sync
if grep -q mw.debug=1 /proc/cmdline; then
    echo "mw-guest: debug mode, staying up; results in $MW_OUT" >/dev/console
    exit 0
fi
systemctl poweroff --force
