#!/bin/bash
# Build (or reuse) the Debian 12 guest image the integration scenarios boot:
# a debootstrapped rootfs with systemd as PID 1, D-Bus and Debian's own kernel
# (linux-image-amd64), packed into an ext4 image with mkfs.ext4 -d (no loop
# mounts). Cached under OUTDIR, keyed by a hash of this script (which holds
# the package list), so a second run returns at once.
#
#   build-image.sh OUTDIR
#
# Prints the directory holding vmlinuz, initrd.img and rootfs.img.
set -euo pipefail

outdir=${1:?usage: build-image.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)

PACKAGES=systemd,systemd-sysv,dbus,udev,kmod,procps,psmisc,linux-image-amd64,initramfs-tools,libyaml-0-2,libsystemd0,libcurl4,python3,e2fsprogs,util-linux
# kubernetes-real: a real container runtime making kubelet's cgroups.
PACKAGES=$PACKAGES,containerd,runc
SUITE=bookworm
# metrics: the Prometheus server that scrapes memwarden, curl to ask both.
PACKAGES=$PACKAGES,libmicrohttpd12,prometheus,curl
# bench/peers: the established memory daemons, each started only by its own
# peers-* scenario, never at boot (disabled below).
PACKAGES=$PACKAGES,earlyoom,systemd-oomd,oomd,nohang,low-memory-monitor,psi-notify

key=$(sha256sum "$here/build-image.sh" | cut -c1-16)
img="$outdir/image-$key"
if [ -f "$img/done" ]; then
    echo "$img"
    exit 0
fi

mkdir -p "$outdir"
exec 9>"$outdir/image.lock"
flock 9
if [ -f "$img/done" ]; then
    echo "$img"
    exit 0
fi

# The mirror comes from this machine's own apt configuration; no other source.
mirror=$("$here/../deploy/debian-mirror.sh" "$SUITE")
echo "build-image: debootstrap $SUITE from $mirror into $img" >&2

rm -rf "$img"
mkdir -p "$img"
root="$img/rootfs"
log="$img/debootstrap.log"
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$mirror" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    tail -n 40 "$root/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    exit 1
fi

# A small initramfs: only what finds an ext4 root on virtio-blk.
cat >"$root/etc/initramfs-tools/conf.d/memwarden" <<'EOF'
MODULES=list
COMPRESS=zstd
EOF
printf '%s\n' virtio_pci virtio_blk ext4 >"$root/etc/initramfs-tools/modules"
mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
chroot "$root" update-initramfs -u -k all >>"$log" 2>&1 || chroot "$root" update-initramfs -c -k all >>"$log" 2>&1
umount "$root/proc"
trap - EXIT

echo memwarden-vm >"$root/etc/hostname"
printf '/dev/vda / ext4 rw,relatime 0 1\n' >"$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null
# Nothing in the guest should need the network; keep boots short.
rm -f "$root/etc/systemd/system/timers.target.wants/"* 2>/dev/null || true
ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"
# Prometheus is for the metrics scenario, which starts its own: not at boot.
ln -sf /dev/null "$root/etc/systemd/system/prometheus.service"
# The peers (bench/peers) run only in their own scenario: not enabled, and
# systemd-oomd's drop-ins (ManagedOOMSwap= on -.slice, ManagedOOM* on user@)
# masked, so no other scenario sees their settings; peers-systemd-oomd.sh
# takes the masks away.
chroot "$root" systemctl disable earlyoom.service oomd.service nohang.service nohang-desktop.service \
    low-memory-monitor.service systemd-oomd.service systemd-oomd.socket >>"$log" 2>&1
chroot "$root" systemctl --global disable psi-notify.service >>"$log" 2>&1
mkdir -p "$root/etc/systemd/system/-.slice.d" "$root/etc/systemd/system/user@.service.d"
ln -sf /dev/null "$root/etc/systemd/system/-.slice.d/10-oomd-root-slice-defaults.conf"
ln -sf /dev/null "$root/etc/systemd/system/user@.service.d/10-oomd-user-service-defaults.conf"

# The scenario hook: mounts the per-run disk (memwarden's build, scenario
# scripts) and hands over to its guest-run script, which writes results to the
# third disk and powers off.
cat >"$root/etc/systemd/system/mw-scenario.service" <<'EOF'
[Unit]
Description=memwarden integration scenario
After=basic.target dbus.service systemd-logind.service
ConditionKernelCommandLine=mw.scenario

[Service]
Type=oneshot
ExecStartPre=/bin/mkdir -p /opt/mw
ExecStartPre=/bin/mount -o ro /dev/vdb /opt/mw
ExecStart=/opt/mw/integration/guest-run.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/mw-scenario.service "$root/etc/systemd/system/multi-user.target.wants/mw-scenario.service"

cp "$root"/boot/vmlinuz-* "$img/vmlinuz"
cp "$root"/boot/initrd.img-* "$img/initrd.img"
chmod 644 "$img/vmlinuz" "$img/initrd.img"
rm -rf "$root/var/cache/apt/archives/"*.deb

size_mb=$(( $(du -sm "$root" | cut -f1) + 768 ))
mkfs.ext4 -q -F -L mwroot -d "$root" "$img/rootfs.img" "${size_mb}M" >&2
rm -rf "$root"
touch "$img/done"
# Older images (another package list) only take space.
for old in "$outdir"/image-*; do
    [ "$old" = "$img" ] || rm -rf "$old"
done
echo "$img"
