#!/bin/bash
# What `meson install` puts where: a fresh build set up with a prefix of its
# own and a DESTDIR, then the programs, the unit written from its template
# with those paths, the D-Bus policy, the policy directory (README and the
# examples, none read by the daemon until copied), the man pages. The unit
# must pass `systemd-analyze verify` where that can run, and its exposure
# (systemd-analyze security --offline) be no worse than that of Debian 12's
# systemd-oomd.service (a copy: integration/scenarios/package.oomd.service). install-check.sh SOURCE_ROOT SCRATCH_PARENT
set -uo pipefail
src=$1
tmp=$(mktemp -d "${2:-/tmp}/install-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
bad=0
fail() { echo "install-check: $*"; bad=1; }

meson setup "$tmp/b" "$src" -Dtests=false --prefix=/opt/mwtest --sysconfdir=/opt/mwtest/etc >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log"; exit 1; }
ninja -C "$tmp/b" >"$tmp/build.log" 2>&1 || { tail -n 30 "$tmp/build.log"; exit 1; }
DESTDIR="$tmp/root" meson install -C "$tmp/b" --no-rebuild >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
r=$tmp/root/opt/mwtest
for f in sbin/memwardend bin/memwardenctl lib/systemd/system/memwardend.service \
         share/dbus-1/system.d/org.memwarden1.conf etc/memwarden/policies.d/README \
         etc/memwarden/policies.d/memwarden-demo.yaml.example \
         etc/memwarden/policies.d/batch.notify-report.yaml.example \
         share/man/man8/memwardend.8 share/man/man1/memwardenctl.1 share/man/man5/memwarden.policy.5 \
         share/doc/memwarden/examples/memwardend-network.conf; do
    [ -e "$r/$f" ] || fail "not installed: $f"
done
unit=$r/lib/systemd/system/memwardend.service
grep -q '^ExecStart=/opt/mwtest/sbin/memwardend --policy-dir=/opt/mwtest/etc/memwarden/policies.d$' "$unit" ||
    fail "ExecStart is not the installed path: $(grep ^ExecStart= "$unit")"
grep -q '@[a-z_]*@' "$unit" && fail "unsubstituted template variables: $(grep '@[a-z_]*@' "$unit")"
# The examples are not policies until copied: none of *.yaml/*.yml there.
ls "$r/etc/memwarden/policies.d" | grep -E '\.ya?ml$' && fail "an example would be in force"
# ... and each of them passes check once it has a .yaml name.
mkdir -p "$tmp/copied/batch"
for e in "$r"/etc/memwarden/policies.d/*.yaml.example; do
    n=$(basename "$e" .example)
    case $n in batch.*) cp "$e" "$tmp/copied/batch/${n#batch.}" ;; *) cp "$e" "$tmp/copied/$n" ;; esac
done
"$tmp/b/daemon/memwardenctl" check "$tmp/copied" || fail "the copied examples do not pass check"

if command -v systemd-analyze >/dev/null; then
    # verify wants the ExecStart binary where the unit says: the installed root.
    sed "s|/opt/mwtest|$r|g" "$unit" >"$tmp/memwardend.service"
    if ! systemd-analyze verify --man=no "$tmp/memwardend.service" >"$tmp/verify.log" 2>&1; then
        cat "$tmp/verify.log"
        fail "systemd-analyze verify"
    fi
    ours=$(cd "$tmp" && systemd-analyze security --offline=true "$tmp/memwardend.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$ours" ] || fail "no systemd-analyze security score"
    cp "$src/integration/scenarios/package.oomd.service" "$tmp/systemd-oomd.service"
    oomd=$tmp/systemd-oomd.service
    if [ -f "$oomd" ]; then
        theirs=$(cd "$tmp" && systemd-analyze security --offline=true "$oomd" 2>/dev/null |
            sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        echo "systemd-analyze security --offline: memwardend.service $ours, systemd-oomd.service $theirs"
        awk -v a="$ours" -v b="$theirs" 'BEGIN { exit !(a <= b) }' || fail "exposure $ours is worse than oomd's $theirs"
    else
        echo "systemd-analyze security --offline: memwardend.service $ours (no systemd-oomd.service here)"
    fi
fi
[ $bad = 0 ] && echo "install-check: the install layout, the unit's paths and its sandbox"
exit $bad
