#!/usr/bin/env python3
"""kubernetes-real, in the guest: what kubelet would do from the rendered
manifests, without kubelet.

  k8s-real.py ctr-args RENDERED.json POD_UID CGROUP_PARENT CID LOGFILE
      the `ctr run` arguments for memwarden's container (CGROUP_PARENT a pod
      slice for the systemd driver, a path from the root for cgroupfs), from the
      DaemonSet: capabilities, read-only root, seccomp, hostPID, env (the
      downward API), its hostPath/emptyDir/projected mounts, limits, args.
  k8s-real.py project RENDERED.json DIR TIMESTAMP [NS=FILE ...]
      lay the DaemonSet's projected policy volume out in DIR as kubelet does
      (files in ..TIMESTAMP, ..data swapped to it atomically, the top's
      entries linked into ..data), plus extra namespaces' ConfigMaps.
  k8s-real.py caps RENDERED.json   the capability set the manifest gives, as a hex mask"""
import json
import os
import shutil
import sys

CAPS = {"CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
        "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10,
        "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
        "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20,
        "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
        "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30,
        "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
        "BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40}
# What containerd gives a container by default (oci.defaultUnixCaps in 1.6).
CTR_DEFAULT = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
               "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"]
MEM = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def daemonset(path):
    docs = json.load(open(path))
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    return docs, ds, ds["spec"]["template"]["spec"]


def caps_of(c):
    caps = c["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"], caps
    return sorted(caps["add"])


def quantity(q):
    for suffix, mul in MEM.items():
        if q.endswith(suffix):
            return int(q[:-len(suffix)]) * mul
    return int(q)


def ctr_args(rendered, pod_uid, parent, cid, logfile):
    _, ds, spec = daemonset(rendered)
    (c,) = spec["containers"]
    sc = c["securityContext"]
    assert sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False
    # A parent from the root ("/kubepods/pod<uid>"): kubelet's cgroupfs driver.
    if parent.startswith("/"):
        a = ["--cgroup", f"{parent}/{cid}"]
    else:
        a = ["--runc-systemd-cgroup", "--cgroup", f"{parent}:cri-containerd:{cid}"]
    add = caps_of(c)
    a += [f"--cap-drop=CAP_{x}" for x in CTR_DEFAULT if x not in add]
    a += [f"--cap-add=CAP_{x}" for x in add if x not in CTR_DEFAULT]
    if sc.get("readOnlyRootFilesystem"):
        a.append("--read-only")
    if sc.get("seccompProfile", {}).get("type") == "RuntimeDefault":
        a.append("--seccomp")
    # allowPrivilegeEscalation: false is ctr's default (no --allow-new-privs).
    if spec.get("hostPID"):
        a.append("--with-ns=pid:/proc/1/ns/pid")
    a.append(f"--memory-limit={quantity(c['resources']['limits']['memory'])}")
    for e in c.get("env", []):
        fp = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        val = {"spec.nodeName": os.uname().nodename, "metadata.uid": pod_uid}.get(fp, e.get("value"))
        a.append(f"--env={e['name']}={val}")
    vols = {v["name"]: v for v in spec["volumes"]}
    for m in c["volumeMounts"]:
        v = vols[m["name"]]
        ro = "ro" if m.get("readOnly") else "rw"
        if "hostPath" in v:
            src = v["hostPath"]["path"]  # DirectoryOrCreate: the scenario makes them
        elif "projected" in v:
            src = "/var/lib/mw-kubelet/policies"
        elif "emptyDir" in v:
            a.append(f"--mount=type=tmpfs,src=tmpfs,dst={m['mountPath']},options=nosuid:nodev:size=1m")
            continue
        else:
            raise SystemExit(f"a volume this harness does not know: {v}")
        a.append(f"--mount=type=bind,src={src},dst={m['mountPath']},options=rbind:{ro}")
    a += [f"--log-uri=file://{logfile}", c["image"] if "/" in c["image"] else "docker.io/library/" + c["image"],
          cid, "/usr/sbin/memwardend"] + c.get("args", [])
    return a


def project(rendered, top, ts, extra):
    docs, _, spec = daemonset(rendered)
    cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    vol = next(v for v in spec["volumes"] if "projected" in v)
    files = {}
    for s in vol["projected"]["sources"]:
        cm = cms[s["configMap"]["name"]]
        for i in s["configMap"].get("items") or [{"key": k, "path": k} for k in cm["data"]]:
            files[i["path"]] = cm["data"][i["key"]]
    for e in extra:
        ns, path = e.split("=", 1)
        files[f"{ns}/{os.path.basename(path)}"] = open(path).read()
    os.makedirs(top, exist_ok=True)
    d = os.path.join(top, ".." + ts)
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        with open(os.path.join(d, rel), "w") as f:
            f.write(text)
    old = os.readlink(os.path.join(top, "..data")) if os.path.islink(os.path.join(top, "..data")) else None
    os.symlink(".." + ts, os.path.join(top, "..data_tmp"))
    os.rename(os.path.join(top, "..data_tmp"), os.path.join(top, "..data"))  # kubelet's atomic swap
    for e in {r.split("/")[0] for r in files}:
        link = os.path.join(top, e)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", e), link)
    for e in os.listdir(top):  # what the new ..data no longer has
        if not e.startswith("..") and e not in {r.split("/")[0] for r in files}:
            os.unlink(os.path.join(top, e))
    if old:
        shutil.rmtree(os.path.join(top, old))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "ctr-args":
        print("\n".join(ctr_args(*sys.argv[2:7])))
    elif cmd == "project":
        project(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "caps":
        _, _, spec = daemonset(sys.argv[2])
        print("%016x" % sum(1 << CAPS[x] for x in caps_of(spec["containers"][0])))
