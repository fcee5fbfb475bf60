#!/bin/bash
# Kubernetes layouts reproduced for real: the systemd cgroup driver's units
# made through systemd, and the cgroupfs driver's directories made with
# mkdir, with kubelet's /var/log/pods/<namespace>_<pod>_<uid>/ directories.
set -euo pipefail
. "$MW_LIB"

uid_a=0a1b2c3d-1111-2222-3333-444455556666   # systemd driver, burstable
uid_b=9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff   # cgroupfs driver, burstable
cid_a=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cid_b=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
mkdir -p "/var/log/pods/shop_web-7d9f_$uid_a" "/var/log/pods/batch_etl-0_$uid_b"
mkdir -p /var/log/containers
touch "/var/log/containers/web-7d9f_shop_app-$cid_a.log" "/var/log/containers/etl-0_batch_worker-$cid_b.log"

# The example policies, plus one of namespace shop's own.
mkdir -p /etc/memwarden/policies.d/shop
cp -r /opt/mw/policies/. /etc/memwarden/policies.d/
# Laid out as kubelet mounts a ConfigMap: the file is a symlink through ..data.
shop_policy() { # version container
    mkdir -p "/etc/memwarden/policies.d/shop/..$1"
    printf '%s\n' 'apiVersion: memwarden/v1' 'kind: Policy' 'metadata: {name: shop-web}' 'spec:' \
        "  match: {pod: \"web-*\", container: $2}" '  triggers: {any: [{usage: {of: high, above: 95%}}]}' \
        '  actions: [{type: notify}]' >"/etc/memwarden/policies.d/shop/..$1/web.yaml"
    ln -sfn "..$1" /etc/memwarden/policies.d/shop/..data_tmp
    mv -T /etc/memwarden/policies.d/shop/..data_tmp /etc/memwarden/policies.d/shop/..data
}
shop_policy v1 app
ln -s ..data/web.yaml /etc/memwarden/policies.d/shop/web.yaml
"$MW_BIN/memwardenctl" check /etc/memwarden/policies.d

mw_start

# systemd driver: the scope's slice names imply kubepods.slice and
# kubepods-burstable.slice; systemd makes all three.
podslice="kubepods-burstable-pod${uid_a//-/_}.slice"
systemd-run --quiet --unit="cri-containerd-$cid_a" --scope --slice="$podslice" \
    -p MemoryMax=256M -p MemoryHigh=40M "$MW_BIN/mw-hog" 52 8 1 &
sd=$!

# cgroupfs driver: kubepods/burstable/pod<uid>/<container id>, made by hand.
k=/sys/fs/cgroup/kubepods
mkdir -p "$k/burstable/pod$uid_b/$cid_b"
echo +memory >"$k/cgroup.subtree_control"
echo +memory >"$k/burstable/cgroup.subtree_control"
echo +memory >"$k/burstable/pod$uid_b/cgroup.subtree_control"
# A hard limit here: max events and an OOM kill, which batch's policy acts on.
echo 40M >"$k/burstable/pod$uid_b/memory.max"
( echo "$BASHPID" >"$k/burstable/pod$uid_b/$cid_b/cgroup.procs"; exec "$MW_BIN/mw-hog" 52 8 1 ) &
fs=$!

mw_wait_record "\"event\":\"memory_events\",\"cgroup\":\"/kubepods.slice/kubepods-burstable.slice/$podslice/cri-containerd-$cid_a.scope\"" 60
mw_wait_record "\"event\":\"memory_events\",\"cgroup\":\"/kubepods/burstable/pod$uid_b\"" 60
mw_wait_record '"event":"policy","cgroup":"/kubepods/burstable/pod'"$uid_b"'"' 30 || true
mw_wait_record '"event":"policy","cgroup":"/kubepods.slice/.*cri-containerd' 30 || true
mw_status --all >"$MW_OUT/status.txt"
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" explain --json >"$MW_OUT/explain.jsonl"
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" explain | tee "$MW_OUT/explain.txt"

# A ConfigMap update (atomic ..data swap) reloads by itself...
reloads_above() { [ "$(mw_status_field policy_reloads)" -gt "$1" ]; }
failures_above() { [ "$(mw_status_field policy_reload_failures)" -gt "$1" ]; }
n=$(mw_status_field policy_reloads)
shop_policy v2 sidecar
mw_until 60 reloads_above "$n" || true
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" explain --json >"$MW_OUT/explain-v2.jsonl"
# ...and a broken one keeps the policies that were in force.
f=$(mw_status_field policy_reload_failures)
mkdir -p /etc/memwarden/policies.d/shop/..v3
printf 'apiVersion: memwarden/v1\nkind: Policy\nspec: [\n' >/etc/memwarden/policies.d/shop/..v3/web.yaml
ln -sfn ..v3 /etc/memwarden/policies.d/shop/..data_tmp
mv -T /etc/memwarden/policies.d/shop/..data_tmp /etc/memwarden/policies.d/shop/..data
mw_until 60 failures_above "$f" || true
"$MW_BIN/memwardenctl" --socket "$MW_SOCK" explain --json >"$MW_OUT/explain-v3.jsonl"
# Throttled hogs take long to finish: end them.
kill -9 "$fs" 2>/dev/null || true
systemctl kill --signal=KILL "cri-containerd-$cid_a.scope" || true
wait "$sd" "$fs" || true
gone_sd() { ! systemctl -q is-active "cri-containerd-$cid_a.scope"; }
mw_until 60 gone_sd || true
rmdir "$k/burstable/pod$uid_b/$cid_b" "$k/burstable/pod$uid_b" "$k/burstable" "$k"
mw_until 60 mw_status_lacks /kubepods/ || true
mw_stop
