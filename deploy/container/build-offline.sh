#!/bin/bash
# Build memwarden's container image with no registry: a Debian 12 root from
# the machine's own Debian mirror (debootstrap, minbase: what debian:12-slim
# holds) with the runtime libraries the Containerfile installs, the binaries
# of a local build on top, committed with Debian's buildah and written as a
# docker-archive tar (`ctr images import`, `podman load`).
#
#   build-offline.sh BUILDDIR OUT.tar [TAG]
#
# The root is cached under BUILDDIR/vm-cache (keyed by this script); a later
# run only copies the binaries and commits. Needs root.
set -euo pipefail

builddir=$(cd "${1:?usage: build-offline.sh BUILDDIR OUT.tar [TAG]}" && pwd)
out=${2:?usage: build-offline.sh BUILDDIR OUT.tar [TAG]}
tag=${3:-memwarden:$(sed -n "s/^ *version : '\(.*\)',/\1/p" "$(dirname "$0")/../../meson.build")}
here=$(cd "$(dirname "$0")" && pwd)
RUNTIME=libsystemd0,libyaml-0-2,libcurl4,ca-certificates
SUITE=bookworm

for tool in debootstrap buildah; do
    command -v "$tool" >/dev/null || { echo "build-offline: $tool is not installed" >&2; exit 77; }
done
key=$(sha256sum "$here/build-offline.sh" | cut -c1-16)
root="$builddir/vm-cache/ctr-root-$key"
mkdir -p "$builddir/vm-cache"
exec 9>"$builddir/vm-cache/ctr-root.lock"
flock 9
if [ ! -f "$root.done" ]; then
    mirror=$("$here/../debian-mirror.sh" "$SUITE")
    rm -rf "$root"
    echo "build-offline: debootstrap $SUITE (minbase + $RUNTIME) from $mirror" >&2
    if ! debootstrap --variant=minbase --include="$RUNTIME" "$SUITE" "$root" "$mirror" >"$root.log" 2>&1; then
        tail -n 30 "$root.log" >&2
        exit 1
    fi
    # As debian:12-slim and the Containerfile leave it: no package lists,
    # caches, documentation or locales.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* \
        "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale
    touch "$root.done"
    for old in "$builddir"/vm-cache/ctr-root-*; do
        case $old in "$root"|"$root".*) ;; *) rm -rf "$old" ;; esac
    done
fi

# vfs: works on any host file system (overlay on overlay does not).
export STORAGE_DRIVER=vfs
ctr=$(buildah --storage-driver vfs from scratch)
trap 'buildah --storage-driver vfs rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt=$(buildah --storage-driver vfs mount "$ctr")
cp -a "$root/." "$mnt/"
install -D -m 0755 "$builddir/daemon/memwardend" "$mnt/usr/sbin/memwardend"
install -D -m 0755 "$builddir/daemon/memwardenctl" "$mnt/usr/bin/memwardenctl"
buildah --storage-driver vfs umount "$ctr" >/dev/null
buildah --storage-driver vfs config --entrypoint '["/usr/sbin/memwardend"]' --cmd '' \
    --label org.opencontainers.image.title=memwarden \
    --label org.opencontainers.image.description="event-driven cgroup memory agent" \
    --label org.opencontainers.image.licenses=MIT "$ctr"
buildah --storage-driver vfs commit --quiet --rm "$ctr" "$tag" >/dev/null
trap - EXIT
rm -f "$out"
buildah --storage-driver vfs push --quiet "$tag" "docker-archive:$out:$tag" >/dev/null
buildah --storage-driver vfs rmi "$tag" >/dev/null 2>&1 || true
echo "build-offline: $tag -> $out ($(du -h "$out" | cut -f1))" >&2
