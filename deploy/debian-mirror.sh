#!/bin/bash
# Print this machine's Debian mirror for SUITE (default bookworm), from its
# own apt configuration: deb822 sources first, then one-line sources. Used to
# debootstrap the VM guest and the offline container image: no other source.
set -euo pipefail
SUITE=${1:-bookworm}
mirror=
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    m=$(awk -v suite="$SUITE" '
        function emit() { if (!done && uri != "" && suites ~ ("(^| )" suite "( |$)")) { print uri; done = 1 } }
        /^[[:space:]]*$/ { emit(); uri = ""; suites = ""; next }
        /^URIs:/ { uri = $2 }
        /^Suites:/ { $1 = ""; suites = $0 " " }
        END { emit() }' "$f")
    if [ -n "$m" ]; then mirror=$m; break; fi
done
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')
fi
if [ -z "$mirror" ]; then
    echo "debian-mirror: no Debian mirror for $SUITE in /etc/apt" >&2
    exit 1
fi
echo "$mirror"
