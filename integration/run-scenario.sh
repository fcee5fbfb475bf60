#!/bin/bash
# Boot the guest image under qemu, run one scenario in it as a systemd unit,
# collect its results and assert on them here, on the host.
#
#   run-scenario.sh BUILDDIR SCENARIO [--shell]
#
# BUILDDIR is the meson build directory (memwardend, memwardenctl and the
# test helpers are taken from there). --shell keeps the VM up after the
# scenario, with the serial console on this terminal (log in as root, no
# password). Exit 77 means qemu cannot run here, with the reason printed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
builddir=$(cd "${1:?usage: run-scenario.sh BUILDDIR SCENARIO [--shell]}" && pwd)
name=${2:?usage: run-scenario.sh BUILDDIR SCENARIO [--shell]}
shell=${3:-}
script="$here/scenarios/$name.sh"
[ -f "$script" ] || { echo "no such scenario: $script" >&2; exit 2; }

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "SKIP: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)" >&2
    exit 77
fi
for tool in debootstrap mkfs.ext4 tar; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: building the guest image needs root (debootstrap, chroot)" >&2
    exit 77
fi

image=$("$here/build-image.sh" "$builddir/vm-cache")

work="$builddir/integration-runs/$name"
rm -rf "$work"
mkdir -p "$work/payload/bin" "$work/results"
cp -r "$here" "$work/payload/integration"
cp -r "$here/../deploy" "$work/payload/deploy"
cp -r "$here/../policies" "$work/payload/policies"
for bin in daemon/memwardend daemon/memwardenctl tests/mw-hog; do
    cp "$builddir/$bin" "$work/payload/bin/"
done
# The unit as meson wrote it from deploy/memwardend.service.in.
if [ -f "$builddir/deploy/memwardend.service" ]; then
    cp "$builddir/deploy/memwardend.service" "$work/payload/deploy/"
fi
# A scenario may need more on its disk, made here on the host (a container
# image, rendered manifests): scenarios/NAME.prepare BUILDDIR PAYLOAD.
if [ -x "$here/scenarios/$name.prepare" ]; then
    prc=0
    "$here/scenarios/$name.prepare" "$builddir" "$work/payload" >"$work/prepare.log" 2>&1 || prc=$?
    if [ $prc = 77 ]; then
        cat "$work/prepare.log" >&2
        exit 77
    elif [ $prc != 0 ]; then
        tail -n 40 "$work/prepare.log" >&2
        echo "FAIL: $name: prepare failed ($prc)" >&2
        exit 1
    fi
fi
payload_mb=$(( $(du -sm "$work/payload" | cut -f1) * 5 / 4 + 64 ))
mkfs.ext4 -q -F -d "$work/payload" "$work/payload.img" "${payload_mb}M" >/dev/null
truncate -s 64M "$work/results.img"

# Software emulation by default: on these machines /dev/kvm opens but a
# guest under it hangs in the firmware. MW_KVM=1 tries KVM first.
accel="-accel tcg"
if [ -n "${MW_KVM:-}" ]; then
    accel="-accel kvm -accel tcg"
fi
mem=${MW_VM_MEM:-1024}
timeout_s=${MW_VM_TIMEOUT:-600}
cmdline="root=/dev/vda rw console=ttyS0 mw.scenario=$name panic=-1 systemd.show_status=false loglevel=4"
# A scenario may need more on the kernel command line (e.g. the cgroup layout).
if [ -f "$here/scenarios/$name.cmdline" ]; then
    cmdline="$cmdline $(cat "$here/scenarios/$name.cmdline")"
fi
qemu=(qemu-system-x86_64 $accel -m "$mem" -smp 2 -nographic -nic none -no-reboot
      -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$cmdline${shell:+ mw.debug=1}"
      -drive "file=$image/rootfs.img,format=raw,if=virtio,snapshot=on"
      -drive "file=$work/payload.img,format=raw,if=virtio,readonly=on"
      -drive "file=$work/results.img,format=raw,if=virtio")

if [ "$shell" = "--shell" ]; then
    exec "${qemu[@]}"
fi

start=$(date +%s)
set +e
timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$work/console.log" 2>&1
qrc=$?
set -e
echo "scenario $name: VM ran $(( $(date +%s) - start )) s (qemu exit $qrc)"

fail() {
    echo "FAIL: $name: $*" >&2
    echo "----- guest console (tail) -----" >&2
    tail -n 80 "$work/console.log" >&2 || true
    if [ -f "$work/results/scenario.log" ]; then
        echo "----- scenario log (tail) -----" >&2
        tail -n 80 "$work/results/scenario.log" >&2
    fi
    echo "full logs: $work" >&2
    exit 1
}

[ $qrc -eq 124 ] && fail "timed out after $timeout_s s"
tar -xf "$work/results.img" -C "$work/results" 2>/dev/null || fail "no results written by the guest"
[ -f "$work/results/rc" ] || fail "the scenario did not finish"
rc=$(cat "$work/results/rc")
[ "$rc" = 0 ] || fail "guest side of the scenario exited $rc"

check="$here/scenarios/$name.check"
if [ -x "$check" ]; then
    "$check" "$work/results" || fail "host-side checks failed"
fi
echo "PASS: $name"
