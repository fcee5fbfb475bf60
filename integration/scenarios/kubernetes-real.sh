#!/bin/bash
# kubernetes-real: memwarden as its container image (deploy/container,
# built offline on the host) under Debian's containerd, run with what the
# DaemonSet manifest says (capabilities, read-only root, seccomp, hostPID,
# mounts, downward API; read from the rendered manifest by k8s-real.py, so
# manifest and test cannot drift), on pods that containerd lays out as kubelet
# has it do with the systemd cgroup driver: a sandbox and application
# containers per pod (cri-containerd-<id>.scope in kubepods-<qos>-pod<uid>.slice),
# /var/log/pods and /var/log/containers written as kubelet writes them, the
# policy directory as kubelet projects the ConfigMaps. Cases:
#   A  namespace alpha's policy acts on a real OOM kill in alpha's container,
#      and on nothing of beta's; alpha's hostile files are refused;
#   B  a ConfigMap update (the ..data swap) is taken, and beta's new policy
#      acts on a real OOM kill in beta's container;
#   C  the node admin's watermark kills the besteffort pod's hog, the
#      sandboxes and the other pods left alone, the kernel's OOM killer idle;
#   D  a container whose memory.high kubelet's memory QoS set: a namespace's
#      throttle step is refused, the value left as kubelet wrote it; with
#      overrideKubelet: true (a ConfigMap update) the squeeze is throttled;
#   E  the cgroupfs driver: the systemd driver's pods gone, memwarden started
#      again from the manifest, pods under /kubepods/<qos>/pod<uid>/<id>: a
#      real OOM kill acted on by its namespace's policy, whose kill takes the
#      application container and leaves the sandbox.
set -euo pipefail
source "$MW_LIB"
K=/opt/mw/k8s
S=/opt/mw/integration/scenarios
R=$K/rendered.json
POL=/var/lib/mw-kubelet/policies
IMG=docker.io/library/memwarden:0.1.0
MW_SOCK=/run/memwarden/memwarden.sock
MW_RECORDS=$MW_OUT/container.log
facts=$MW_OUT/facts.txt
c() { ctr -n k8s.io "$@"; }
# rec EVENT POLICY [ACTION]: a record of that event, policy (and action).
rec() { grep -a "\"event\":\"$1\"" "$MW_RECORDS" | grep -F "\"policy\":\"$2\"" | grep -qF "${3:+\"action\":\"$3\"}"; }
fact() { echo "$1=$2" | tee -a "$facts"; }

systemctl start containerd
mw_until 120 c version
c images import "$K/memwarden.tar"
c images tag "$IMG" registry.k8s.io/pause:3.6
mkdir -p /var/log/pods /var/log/containers /run/memwarden /var/log/memwarden /var/lib/memwarden

newid() { head -c 32 /dev/urandom | sha256sum | cut -c1-64; }
task_pid() { c task ls | awk -v id="$1" '$1 == id { print $2 }'; }
task_running() { c task ls | awk -v id="$1" '$1 == id { print $3 }' | grep -qx RUNNING; }
task_stopped() { c task ls | awk -v id="$1" '$1 == id { print $3 }' | grep -qx STOPPED; }

# kubelet's cgroup driver: systemd (until case E), then cgroupfs.
DRIVER=systemd
# cg_opts POD ID: ctr's options for a container of the pod, as kubelet's
# driver names its cgroup.
cg_opts() {
    if [ "$DRIVER" = systemd ]; then
        echo --runc-systemd-cgroup --cgroup "${SLICE[$1]}:cri-containerd:$2"
    else
        echo --cgroup "${SLICE[$1]}/$2"
    fi
}
# pod NS NAME QOS UID: its slice (or directory) and its sandbox (pause) container.
declare -A SLICE UID_OF SANDBOX
pod() {
    local ns=$1 name=$2 qos=$3 uid=$4 u=${4//-/_} sb
    case $DRIVER/$qos in
        systemd/guaranteed) SLICE[$name]=kubepods-pod$u.slice ;;
        systemd/*) SLICE[$name]=kubepods-$qos-pod$u.slice ;;
        */guaranteed) SLICE[$name]=/kubepods/pod$uid ;;
        *) SLICE[$name]=/kubepods/$qos/pod$uid ;;
    esac
    UID_OF[$name]=$uid
    mkdir -p "/var/log/pods/${ns}_${name}_${uid}"
    sb=$(newid)
    # shellcheck disable=SC2046 # cg_opts is words by design
    c run -d $(cg_opts "$name" "$sb") registry.k8s.io/pause:3.6 "$sb" sleep infinity
    SANDBOX[$name]=$sb
    mw_until 60 task_running "$sb"
}
# container NS POD NAME ID [ctr run options...] -- CMD...: an application
# container, its log file and link made first, as kubelet makes them.
container() {
    local ns=$1 p=$2 name=$3 id=$4 d opts=()
    shift 4
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    d="/var/log/pods/${ns}_${p}_${UID_OF[$p]}/$name"
    mkdir -p "$d"
    : >"$d/0.log"
    ln -sf "$d/0.log" "/var/log/containers/${p}_${ns}_${name}-$id.log"
    # shellcheck disable=SC2046
    c run -d $(cg_opts "$p" "$id") "${opts[@]}" \
        --mount type=bind,src=/opt/mw/bin,dst=/mw,options=rbind:ro "$IMG" "$id" "$@"
}
scope_of() { # POD ID: the container's cgroup path from the root
    local s=${SLICE[$1]} q
    case $s in
        kubepods-pod*) echo "/kubepods.slice/$s/cri-containerd-$2.scope" ;;
        *) q=${s#kubepods-}; q=${q%%-pod*}
           echo "/kubepods.slice/kubepods-$q.slice/$s/cri-containerd-$2.scope" ;;
    esac
}

# ---- the policies, projected as kubelet does: the rendered base's ConfigMaps
# (the node admin's, the example namespace's) and two namespaces' own.
mkdir -p /run/cm/alpha /run/cm/beta /run/cm/beta2
cat >/run/cm/alpha/policy.yaml <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: alpha-oom}
spec:
  match: {}
  triggers: {any: [{memoryEvents: {counter: oom_kill, increase: 1}}]}
  actions: [{type: notify}, {type: report}]
EOF
# A tenant's attempts to reach past its namespace: refused, file by file.
cat >/run/cm/alpha/reach-beta.yaml <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: alpha-reach-beta}
spec:
  match: {namespace: beta}
  triggers: {any: [{memoryEvents: {counter: oom_kill, increase: 1}}]}
  actions: [{type: kill}]
EOF
cat >/run/cm/alpha/reach-host.yaml <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: alpha-reach-host}
spec:
  match: {cgroup: "/system.slice/*"}
  triggers: {any: [{memoryEvents: {counter: high, increase: 1}}]}
  actions: [{type: kill}]
EOF
cat >/run/cm/beta/policy.yaml <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: beta-notify}
spec:
  match: {}
  triggers: {any: [{memoryEvents: {counter: oom_kill, increase: 1}}]}
  actions: [{type: notify}]
EOF
sed 's/beta-notify/beta-report/; s/\[{type: notify}\]/[{type: notify}, {type: report}]/' \
    /run/cm/beta/policy.yaml >/run/cm/beta2/policy.yaml
mkdir -p /run/cm/delta /run/cm/epsilon
cat >/run/cm/delta/policy.yaml <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: delta-squeeze}
spec:
  match: {container: app}
  triggers: {any: [{usage: {of: high, above: 50%}}]}
  actions: [{type: notify}, {type: throttle, floor: 16Mi, step: 20%, interval: 2s}]
EOF
sed 's/delta-squeeze/delta-override/; s/interval: 2s}/interval: 2s, overrideKubelet: true}/' \
    /run/cm/delta/policy.yaml >/run/cm/delta/override.yaml
cat >/run/cm/epsilon/policy.yaml <<'EOF'
apiVersion: memwarden/v1
kind: Policy
metadata: {name: epsilon-oom}
spec:
  match: {pod: "web-*"}
  triggers: {any: [{memoryEvents: {counter: oom_kill, increase: 1}}]}
  actions: [{type: notify}, {type: kill}]
EOF
python3 "$S/k8s-real.py" project "$R" "$POL" 2026_12_01_00_00_00.1 \
    alpha=/run/cm/alpha/policy.yaml alpha=/run/cm/alpha/reach-beta.yaml \
    alpha=/run/cm/alpha/reach-host.yaml beta=/run/cm/beta/policy.yaml
ls -laR "$POL" >"$MW_OUT/policies-1.txt"

# ---- memwarden's own pod (Guaranteed), then memwarden from the manifest.
MWUID=5d1b0c2e-0000-4000-8000-00000000aaaa
pod memwarden memwarden-x7k2p guaranteed "$MWUID"
MWID=$(newid)
mapfile -t args < <(python3 "$S/k8s-real.py" ctr-args "$R" "$MWUID" "${SLICE[memwarden-x7k2p]}" "$MWID" "$MW_RECORDS")
printf '%s\n' "${args[@]}" >"$MW_OUT/ctr-args.txt"
d="/var/log/pods/memwarden_memwarden-x7k2p_$MWUID/memwardend"
mkdir -p "$d" && : >"$d/0.log"
ln -sf "$d/0.log" "/var/log/containers/memwarden-x7k2p_memwarden_memwardend-$MWID.log"
c run -d "${args[@]}"
mw_until 120 task_running "$MWID"
MW_PID=$(task_pid "$MWID")
mw_until 120 test -S "$MW_SOCK"
mw_until 120 mw_status
fact mw_pid "$MW_PID"
fact caps_eff "$(awk '/^CapEff:/ {print $2}' /proc/"$MW_PID"/status)"
fact caps_bnd "$(awk '/^CapBnd:/ {print $2}' /proc/"$MW_PID"/status)"
fact caps_want "$(python3 "$S/k8s-real.py" caps "$R")"
fact no_new_privs "$(awk '/^NoNewPrivs:/ {print $2}' /proc/"$MW_PID"/status)"
fact seccomp "$(awk '/^Seccomp:/ {print $2}' /proc/"$MW_PID"/status)"
fact root_ro "$(awk '$5 == "/" { print ($6 ~ /(^|,)ro(,|$)/) ? 1 : 0; exit }' /proc/"$MW_PID"/mountinfo)"
fact mw_cgroup "$(sed -n 's/^0:://p' /proc/"$MW_PID"/cgroup)"
fact mw_vmlck_kib "$(awk '/^VmLck:/ {print $2}' /proc/"$MW_PID"/status)"
fact oom_score_adj "$(cat /proc/"$MW_PID"/oom_score_adj)"
# The probes as kubelet would make them, from the manifest: an HTTP GET in the
# pod's network namespace (bash's /dev/tcp inside the container: the image
# has no HTTP client). A stalled loop (SIGSTOP) must give no answer.
get() { # PATH PORT: the response's first line, within 5 s
    c task exec --exec-id "get-$RANDOM" "$MWID" timeout 5 bash -c \
        "exec 3<>/dev/tcp/127.0.0.1/$2 && printf 'GET $1 HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null
}
read -r lpath lport < <(python3 "$S/k8s-real.py" probe "$R" livenessProbe)
read -r rpath rport < <(python3 "$S/k8s-real.py" probe "$R" readinessProbe)
fact probe "$lpath:$lport $rpath:$rport"
ok200() { get "$1" "$2" | head -1 | grep -q ' 200'; }
mw_until 60 ok200 "$lpath" "$lport" && fact healthz_before 200 || fact healthz_before none
get /metrics "$lport" >"$MW_OUT/metrics-1.txt" || true
kill -STOP "$MW_PID"
if ok200 "$lpath" "$lport"; then fact healthz_stopped 200; else fact healthz_stopped none; fi
kill -CONT "$MW_PID"
mw_until 60 ok200 "$rpath" "$rport" && fact healthz_after 200 || fact healthz_after none

# ---- the tenants' pods.
pod alpha web-a burstable 1a1a1a1a-0000-4000-8000-00000000000a
pod beta web-b burstable 2b2b2b2b-0000-4000-8000-00000000000b
pod gamma batch-c besteffort 3c3c3c3c-0000-4000-8000-00000000000c
A_ID=$(newid) B_ID=$(newid) C_ID=$(newid)
A=$(scope_of web-a "$A_ID") B=$(scope_of web-b "$B_ID") C=$(scope_of batch-c "$C_ID")
fact a_cgroup "$A"
fact b_cgroup "$B"
fact c_cgroup "$C"
for p in memwarden-x7k2p web-a web-b batch-c; do
    fact "sandbox_${p}" "$(scope_of "$p" "${SANDBOX[$p]}")"
done
container beta web-b app "$B_ID" --memory-limit 50331648 -- sleep infinity
mw_until 60 task_running "$B_ID"
container alpha web-a app "$A_ID" --memory-limit 50331648 -- sleep infinity
mw_until 60 task_running "$A_ID"
explain() { "$MW_BIN/memwardenctl" --socket "$MW_SOCK" explain "$1"; }
in_status() { mw_status --json | grep -qF "\"cgroup\":\"$1\""; }
mw_until 120 in_status "$A"
mw_until 120 in_status "$B"
mw_status --json >"$MW_OUT/status-1.jsonl"
explain "$A" >"$MW_OUT/explain-a.txt" 2>&1 || true
explain "$B" >"$MW_OUT/explain-b.txt" 2>&1 || true
vm_oom_start=$(awk '/^oom_kill / {print $2}' /proc/vmstat)
fact vmstat_oom_kill_start "$vm_oom_start"

# ---- A: a real OOM kill in alpha's container (its memory.max, 48 MiB).
c task exec --exec-id hog-a "$A_ID" /mw/mw-hog 96 0 4 || true
mw_until 120 rec policy alpha-oom
mw_until 180 rec action alpha-oom report
fact a_memory_events "$(tr '\n' ' ' </sys/fs/cgroup"$A"/memory.events)"

# ---- B: the ConfigMap update (..data swapped), then a real OOM kill in beta's.
python3 "$S/k8s-real.py" project "$R" "$POL" 2026_12_01_00_05_00.2 \
    alpha=/run/cm/alpha/policy.yaml beta=/run/cm/beta2/policy.yaml delta=/run/cm/delta/policy.yaml
ls -laR "$POL" >"$MW_OUT/policies-2.txt"
has_policy() { explain "$B" | grep -q beta-report; }
mw_until 120 has_policy
mw_status --json >"$MW_OUT/status-2.jsonl"
explain "$B" >"$MW_OUT/explain-b2.txt" 2>&1 || true
c task exec --exec-id hog-b "$B_ID" /mw/mw-hog 96 0 4 || true
mw_until 120 rec policy beta-report
mw_until 180 rec action beta-report report
vm_oom_b=$(awk '/^oom_kill / {print $2}' /proc/vmstat)
fact vmstat_oom_kill_after_b "$vm_oom_b"

# ---- C: the besteffort pod's hog grows (16 MiB every 0.2 s, no limit)
# until the node admin's hard watermark (128 MiB available) kills it.
fact memavailable_kib_before_c "$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
container gamma batch-c app "$C_ID" -- \
    sh -c 'i=0; while [ $i -lt 200 ]; do /mw/mw-hog 16 & sleep 0.2; i=$((i+1)); done; wait'
mw_until 60 task_running "$C_ID"
mw_until 300 rec action node-memory-hard kill
mw_until 120 task_stopped "$C_ID"
fact memavailable_kib_after_c "$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
fact vmstat_oom_kill_after_c "$(awk '/^oom_kill / {print $2}' /proc/vmstat)"
for p in memwarden-x7k2p web-a web-b batch-c; do
    task_running "${SANDBOX[$p]}" && s=1 || s=0
    fact "sandbox_running_${p}" "$s"
done
task_running "$B_ID" && fact b_app_running 1 || fact b_app_running 0
task_running "$MWID" && fact mw_running 1 || fact mw_running 0
mw_status --json >"$MW_OUT/status-3.jsonl"
ls /var/lib/memwarden/reports >"$MW_OUT/reports.txt" || true

# ---- D: kubelet's memory QoS wrote the container's memory.high (64 MiB of a
# 96 MiB limit); delta's policy would throttle it at half of that.
pod delta web-d burstable 4d4d4d4d-0000-4000-8000-00000000000d
D_ID=$(newid)
D=$(scope_of web-d "$D_ID")
fact d_cgroup "$D"
container delta web-d app "$D_ID" --memory-limit 100663296 -- sleep infinity
mw_until 60 task_running "$D_ID"
echo 67108864 >/sys/fs/cgroup"$D"/memory.high
mw_until 120 in_status "$D"
c task exec --exec-id hog-d "$D_ID" /mw/mw-hog 40 0 4 &
mw_until 120 rec action delta-squeeze throttle
fact d_memory_high_after "$(cat /sys/fs/cgroup"$D"/memory.high)"
# The same squeeze with overrideKubelet: true (a ConfigMap update): throttled.
python3 "$S/k8s-real.py" project "$R" "$POL" 2026_12_01_00_07_00.4 \
    alpha=/run/cm/alpha/policy.yaml beta=/run/cm/beta2/policy.yaml delta=/run/cm/delta/override.yaml
mw_until 120 rec action delta-override throttle
fact d_memory_high_override "$(cat /sys/fs/cgroup"$D"/memory.high)"
c task kill -s SIGKILL "$D_ID" || true

# ---- the end of the systemd driver: SIGTERM through containerd, as kubelet stops a pod.
c task kill -s SIGTERM "$MWID"
mw_until 60 task_stopped "$MWID"
fact mw_exit "$(c task ls | awk -v id="$MWID" '$1 == id { print $3 }')"

# ---- E: the cgroupfs driver. The systemd driver's pods go first: one node
# has one driver.
for id in $(c task ls -q); do c task kill -s SIGKILL "$id" 2>/dev/null || true; done
gone_all() { [ -z "$(c task ls | awk 'NR > 1 && $3 == "RUNNING"')" ]; }
mw_until 60 gone_all
for id in $(c task ls -q); do c task rm -f "$id" >/dev/null 2>&1 || true; done
for id in $(c containers ls -q); do c containers rm "$id" >/dev/null 2>&1 || true; done
systemctl stop kubepods.slice || true
mw_until 60 test ! -d /sys/fs/cgroup/kubepods.slice
rm -rf /var/log/pods/* /var/log/containers/*
python3 "$S/k8s-real.py" project "$R" "$POL" 2026_12_01_00_10_00.3 epsilon=/run/cm/epsilon/policy.yaml
# cgroupfs pods: /kubepods/pod<uid> (Guaranteed), /kubepods/<qos>/pod<uid>.
DRIVER=cgroupfs
MWUID2=5d1b0c2e-0000-4000-8000-00000000bbbb
pod memwarden memwarden-q9w8e guaranteed "$MWUID2"
MWID2=$(newid)
: >"$MW_OUT/container2.log"
mapfile -t args < <(python3 "$S/k8s-real.py" ctr-args "$R" "$MWUID2" "${SLICE[memwarden-q9w8e]}" "$MWID2" "$MW_OUT/container2.log")
printf '%s\n' "${args[@]}" >"$MW_OUT/ctr-args-2.txt"
d="/var/log/pods/memwarden_memwarden-q9w8e_$MWUID2/memwardend"
mkdir -p "$d" && : >"$d/0.log"
ln -sf "$d/0.log" "/var/log/containers/memwarden-q9w8e_memwarden_memwardend-$MWID2.log"
rm -f "$MW_SOCK"
c run -d "${args[@]}"
mw_until 120 task_running "$MWID2"
mw_until 120 test -S "$MW_SOCK"
mw_until 120 mw_status
fact mw2_cgroup "$(sed -n 's/^0:://p' /proc/"$(task_pid "$MWID2")"/cgroup)"
pod epsilon web-e burstable 5e5e5e5e-0000-4000-8000-00000000000e
E_ID=$(newid)
E=${SLICE[web-e]}/$E_ID
fact e_cgroup "$E"
fact sandbox_web-e "${SLICE[web-e]}/${SANDBOX[web-e]}"
container epsilon web-e app "$E_ID" --memory-limit 50331648 -- sleep infinity
mw_until 60 task_running "$E_ID"
MW_RECORDS=$MW_OUT/container2.log
mw_until 120 in_status "$E"
mw_status --json >"$MW_OUT/status-e.jsonl"
c task exec --exec-id hog-e "$E_ID" /mw/mw-hog 96 0 4 || true
mw_until 120 rec action epsilon-oom kill
mw_until 120 task_stopped "$E_ID"
task_running "${SANDBOX[web-e]}" && fact sandbox_running_web-e 1 || fact sandbox_running_web-e 0
task_running "$MWID2" && fact mw2_running 1 || fact mw2_running 0
c task kill -s SIGTERM "$MWID2"
mw_until 60 task_stopped "$MWID2"

grep -a '^{' "$MW_OUT/container.log" >"$MW_OUT/records.jsonl" || true
grep -av '^{' "$MW_OUT/container.log" >"$MW_OUT/memwardend.log" || true
grep -a '^{' "$MW_OUT/container2.log" >"$MW_OUT/records-2.jsonl" || true
grep -av '^{' "$MW_OUT/container2.log" >"$MW_OUT/memwardend-2.log" || true
