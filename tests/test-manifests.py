#!/usr/bin/env python3
"""deploy/kubernetes: renders with `kubectl kustomize`, passes yamllint, and
the rendered DaemonSet has the fields docs/kubernetes.md promises. Every
policy its ConfigMaps carry passes `memwardenctl check`, laid out as kubelet
projects them (..data swap, NAMESPACE -> ..data/NAMESPACE), each namespace's
file scoped to its namespace.

Usage: test-manifests.py SOURCE_ROOT MEMWARDENCTL
Exit 77 (skip) when no kubectl or yamllint is installed. MW_KUBECTL: the
kubectl to use (both Debian 12's 1.20, with kustomize 2.0, and newer ones
must render these)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml  # python3-yaml: yamllint depends on it

root, ctl = sys.argv[1], sys.argv[2]
kdir = os.path.join(root, "deploy", "kubernetes")
failed = 0


def check(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failed += 1


kubectl = os.environ.get("MW_KUBECTL") or shutil.which("kubectl")
if not kubectl or not shutil.which("yamllint"):
    print("SKIP: kubectl or yamllint not installed")
    sys.exit(77)


def render(d):
    p = subprocess.run([kubectl, "kustomize", d], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"kubectl kustomize {os.path.relpath(d, root)} renders ({p.stderr.strip()[:300]})")
    return list(yaml.safe_load_all(p.stdout)) if p.returncode == 0 else []


# yamllint: the sources with the project's rules; kustomize's own output
# (its indentation, no leading ---) with those two relaxed.
lint = subprocess.run(["yamllint", "-f", "parsable", "-c", os.path.join(kdir, ".yamllint"), kdir],
                      capture_output=True, text=True)
check(lint.returncode == 0 and not lint.stdout.strip(), f"yamllint of deploy/kubernetes clean {lint.stdout[:500]}")

base = render(kdir)
team = render(os.path.join(kdir, "overlays", "team-shop"))
relaxed = "{extends: default, rules: {line-length: {max: 120}, document-start: disable, " \
          "indentation: {indent-sequences: whatever}}}"
for name, docs in (("base", base), ("team-shop", team)):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump_all(docs, f)
        f.flush()
        lint = subprocess.run(["yamllint", "-f", "parsable", "-d", relaxed, f.name], capture_output=True, text=True)
        check(lint.returncode == 0, f"yamllint of the rendered {name} clean {lint.stdout[:300]}")


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


kinds = sorted(d["kind"] for d in base)
check(kinds == ["ConfigMap", "ConfigMap", "DaemonSet", "Namespace", "ServiceAccount"], f"base resources {kinds}")
for d in base:
    if d["kind"] != "Namespace":
        check(d["metadata"].get("namespace") == "memwarden", f"{d['kind']} {d['metadata']['name']} in namespace memwarden")

sa = by_kind(base, "ServiceAccount")[0]
check(sa.get("automountServiceAccountToken") is False, "ServiceAccount mounts no token")

ds = by_kind(base, "DaemonSet")[0]
spec = ds["spec"]["template"]["spec"]
upd = ds["spec"].get("updateStrategy", {})
check(upd.get("type") == "RollingUpdate" and "maxUnavailable" in upd.get("rollingUpdate", {}),
      f"RollingUpdate with maxUnavailable ({upd})")
check(spec.get("hostPID") is True, "hostPID: true")
check(spec.get("automountServiceAccountToken") is False, "pod mounts no API token")
check(spec.get("priorityClassName") == "system-node-critical", "priorityClassName system-node-critical")
check({"operator": "Exists"} in spec.get("tolerations", []), "tolerates every taint")
check(not spec.get("hostNetwork"), "no hostNetwork")
(c,) = spec["containers"]
sc = c.get("securityContext", {})
check(sc.get("privileged") is False, "not privileged")
check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "seccomp RuntimeDefault")
caps = sc.get("capabilities", {})
check(caps.get("drop") == ["ALL"], "capabilities: drop ALL")
want_caps = ["BPF", "DAC_OVERRIDE", "IPC_LOCK", "KILL", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE"]
check(sorted(caps.get("add", [])) == want_caps, f"capabilities added are exactly {want_caps} ({caps.get('add')})")
res = c.get("resources", {})
check(res.get("requests") and res.get("requests") == res.get("limits")
      and {"cpu", "memory"} <= set(res["requests"]), f"Guaranteed: requests == limits, cpu and memory ({res})")
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
listen = next((a.split("=", 1)[1] for a in c.get("args", []) if a.startswith("--metrics-listen=")), "")
check(listen == f"$(POD_IP):{ports.get('metrics')}", f"/metrics and /healthz on the pod IP, port 'metrics' ({listen}, {ports})")
for probe in ("livenessProbe", "readinessProbe"):
    hg = c.get(probe, {}).get("httpGet", {})
    check(hg.get("path") == "/healthz" and hg.get("port") == "metrics", f"{probe}: httpGet /healthz on the metrics port ({hg})")
ann = ds["spec"]["template"]["metadata"].get("annotations", {})
check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(ports.get("metrics"))
      and ann.get("prometheus.io/path") == "/metrics", f"prometheus.io annotations ({ann})")
env = {e["name"]: e for e in c.get("env", [])}
check(env.get("POD_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP",
      "POD_IP from the downward API")
check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
      "NODE_NAME from the downward API")
check(env.get("MEMWARDEN_POD_UID", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.uid",
      "MEMWARDEN_POD_UID from the downward API (memwarden finds its own pod)")

vols = {v["name"]: v for v in spec["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}


def host(path):
    m = mounts.get(path)
    return m and vols[m["name"]].get("hostPath", {}).get("path"), m and bool(m.get("readOnly"))


check(host("/sys/fs/cgroup") == ("/sys/fs/cgroup", False), f"/sys/fs/cgroup read-write {host('/sys/fs/cgroup')}")
check(host("/var/log/pods") == ("/var/log/pods", True), "/var/log/pods read-only")
check(host("/var/log/containers") == ("/var/log/containers", True), "/var/log/containers read-only")
check(host("/run/memwarden") == ("/run/memwarden", False), "/run/memwarden from the node (the undo file outlives the pod)")
# With a read-only root every path the daemon writes must be a volume.
args = c.get("args", [])
for opt in ("--socket=", "--state-dir=", "--event-log=", "--report-dir="):
    val = next((a[len(opt):] for a in args if a.startswith(opt)), None)
    ok = val is not None and any(val == p or val.startswith(p.rstrip("/") + "/")
                                 for p, m in mounts.items() if not m.get("readOnly"))
    check(ok, f"{opt}{val} is on a writable volume")
pol = mounts.get("/etc/memwarden/policies.d")
check(pol and pol.get("readOnly") and "projected" in vols[pol["name"]], "policies: one read-only projected volume")
check(spec["volumes"][0]["name"] == pol["name"], "the policy volume is first (overlays patch volumes/0)")

# The team overlay adds shop's ConfigMap as shop/policy.yaml, nothing else.
tds = by_kind(team, "DaemonSet")[0]
srcs = tds["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
paths = [i["path"] for s in srcs for i in s["configMap"].get("items", [])]
check("shop/policy.yaml" in paths and "example/policy.yaml" in paths, f"overlay projects shop/policy.yaml ({paths})")
tdocs = {(d["kind"], d["metadata"]["name"]) for d in team}
check(("ConfigMap", "memwarden-policies-shop") in tdocs, "overlay adds the memwarden-policies-shop ConfigMap")

# The systemd overlay: the bus and journal sockets mounted, --no-bus gone.
sysd = render(os.path.join(kdir, "overlays", "systemd"))
sds = by_kind(sysd, "DaemonSet")[0]["spec"]["template"]["spec"]
sc_ = sds["containers"][0]
smounts = {m["mountPath"]: m["name"] for m in sc_["volumeMounts"]}
svols = {v["name"]: v for v in sds["volumes"]}
check("--no-bus" not in sc_["args"] and "--output=journal" in sc_["args"], f"systemd overlay: bus on, records to the journal ({sc_['args']})")
check(svols.get(smounts.get("/run/dbus/system_bus_socket"), {}).get("hostPath", {}).get("path") == "/run/dbus/system_bus_socket",
      "systemd overlay: the system bus socket from the node")
check(svols.get(smounts.get("/run/systemd/journal"), {}).get("hostPath", {}).get("path") == "/run/systemd/journal",
      "systemd overlay: the journal's sockets from the node")
check(sc_["securityContext"] == c["securityContext"], "systemd overlay: the same security context")


def project(docs, top):
    """Lay the policy volume out as kubelet does, with the VM scenario's own
    code (integration/scenarios/k8s-real.py project), from the rendered docs."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(docs, f)
        f.flush()
        subprocess.run([sys.executable, os.path.join(root, "integration", "scenarios", "k8s-real.py"),
                        "project", f.name, top, "2026_12_01_00_00_00.1"], check=True)


for name, docs in (("base", base), ("team-shop", team)):
    with tempfile.TemporaryDirectory() as top:
        project(docs, top)
        p = subprocess.run([ctl, "check", top], capture_output=True, text=True)
        check(p.returncode == 0, f"{name}: the projected policy directory passes memwardenctl check "
                                 f"({(p.stdout + p.stderr).strip()[:400]})")
        for ns in sorted(e for e in os.listdir(top) if not e.startswith(".") and not e.endswith(".yaml")):
            for f in os.listdir(os.path.join(top, ns)):
                p = subprocess.run([ctl, "check", "--namespace", ns, os.path.join(top, ns, f)],
                                   capture_output=True, text=True)
                check(p.returncode == 0, f"{name}: {ns}/{f} passes as namespace {ns}'s")

# overlays/events (docs/kubernetes-events.md): the base plus the token mounted,
# --kube-events, and RBAC that may create events.k8s.io Events and nothing else.
events = render(os.path.join(kdir, "overlays", "events"))
with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
    yaml.safe_dump_all(events, f)
    f.flush()
    lint = subprocess.run(["yamllint", "-f", "parsable", "-d", relaxed, f.name], capture_output=True, text=True)
    check(lint.returncode == 0, f"yamllint of the rendered events overlay clean {lint.stdout[:300]}")


def names(docs):
    return {(d["kind"], d["metadata"]["name"]) for d in docs}


check(names(events) - names(base) == {("ClusterRole", "memwarden-events"), ("ClusterRoleBinding", "memwarden-events")}
      and names(base) <= names(events), f"events overlay adds only its RBAC ({sorted(names(events) - names(base))})")
roles, binds = by_kind(events, "ClusterRole"), by_kind(events, "ClusterRoleBinding")
check(len(roles) == 1 and roles[0].get("rules") == [{"apiGroups": ["events.k8s.io"], "resources": ["events"],
                                                     "verbs": ["create"]}],
      f"events ClusterRole: create on events.k8s.io events only ({roles and roles[0].get('rules')})")
check(len(binds) == 1 and binds[0]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                  "name": "memwarden-events"}
      and binds[0].get("subjects") == [{"kind": "ServiceAccount", "name": spec["serviceAccountName"],
                                        "namespace": "memwarden"}],
      "events ClusterRoleBinding: that role to the DaemonSet's ServiceAccount in memwarden")
want = yaml.safe_load(yaml.safe_dump(ds))
want["spec"]["template"]["spec"]["automountServiceAccountToken"] = True
want["spec"]["template"]["spec"]["containers"][0]["args"].append("--kube-events")
check(by_kind(events, "DaemonSet") == [want], "events DaemonSet: the base's with the token mounted and --kube-events")

print("all checks passed" if not failed else f"{failed} check(s) failed")
sys.exit(1 if failed else 0)
