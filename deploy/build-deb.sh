#!/bin/bash
# Build memwarden's Debian package from this tree: dpkg-buildpackage -b on a
# clean copy (the files git knows of, as they are in the work tree), so the
# tree itself and its build directories are left alone, then lintian on it.
#   deploy/build-deb.sh [OUTDIR]     (default build-deb/)
# Leaves OUTDIR/memwarden_VERSION_ARCH.deb (and the .buildinfo, .changes and
# lintian.txt). Exit 1 if the build fails or lintian reports an error or a
# warning (overrides, each with its reason: debian/memwarden.lintian-overrides).
# Needs: deploy/install-deps.sh --tests (debhelper, dpkg-dev, fakeroot, lintian).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$src/build-deb}" && cd "${1:-$src/build-deb}" && pwd)
work=$(mktemp -d /tmp/memwarden-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir "$work/memwarden"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    tar -C "$src" --null -T - -cf - | tar -C "$work/memwarden" -xf -
(cd "$work/memwarden" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || {
    grep -E -B2 -A8 "error|warning" "$out/build.log" | tail -n 40 >&2
    echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
    exit 1
}
rm -f "$out"/memwarden_*.deb "$out"/memwarden_*.buildinfo "$out"/memwarden_*.changes
mv "$work"/memwarden_*.deb "$work"/memwarden_*.buildinfo "$work"/memwarden_*.changes "$out/"
deb=$(ls "$out"/memwarden_*.deb)
set +e
lintian --fail-on error,warning --display-info "$deb" >"$out/lintian.txt" 2>&1
lrc=$?
set -e
cat "$out/lintian.txt"
if [ $lrc != 0 ]; then
    echo "build-deb: lintian found errors or warnings in $deb" >&2
    exit 1
fi
echo "build-deb: $deb, lintian clean of errors and warnings ($(grep -c '^I: ' "$out/lintian.txt") infos)"
