#!/bin/bash
# Install the Debian 12 packages memwarden needs: to build and run it, and
# with --tests also to test it (Check, qemu + debootstrap for the VM suite,
# clang for the fuzz build, valgrind).
set -euo pipefail

pkgs=(meson ninja-build pkg-config gcc libc6-dev libsystemd-dev libyaml-dev libcurl4-openssl-dev)
if [ "${1:-}" = "--tests" ]; then
    # clang and its runtime (libFuzzer, the sanitizers) for the fuzz build.
    pkgs+=(check qemu-system-x86 qemu-utils debootstrap e2fsprogs python3 zstd clang libclang-rt-14-dev valgrind dbus-daemon)
    # deploy/kubernetes: rendered with `kubectl kustomize`, linted with yamllint.
    pkgs+=(yamllint python3-yaml)
    # The container image, built offline (deploy/container/build-offline.sh).
    pkgs+=(buildah)
    # Debian's kubectl, unless one is installed already (another kubectl
    # package owns /usr/bin/kubectl on some machines, and dpkg refuses both).
    command -v kubectl >/dev/null || pkgs+=(kubernetes-client)
    # Kubernetes Events' test (tests/kube-events.py): a self-signed certificate
    # for its loopback API endpoint, made with the openssl CLI.
    pkgs+=(openssl)
    # The man pages' check (man, lexgrog), the .deb (dpkg-buildpackage, dh,
    # lintian), and the unit's checks (systemd-analyze).
    pkgs+=(man-db debhelper dpkg-dev fakeroot lintian systemd)
    # bench/peers: the plots of docs/benchmarks.md (not needed by CI).
    pkgs+=(gnuplot-nox)
fi
# /metrics: libmicrohttpd's headers to build (dlopen()ed at run time); with
# --tests curl and prometheus (promtool: check metrics, test rules).
pkgs+=(libmicrohttpd-dev)
if [ "${1:-}" = "--tests" ]; then
    pkgs+=(curl prometheus)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: need root to install: ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
