#!/usr/bin/env python3
"""memwardend on this host's cgroup v1 memory hierarchy, for real.

The test makes a v1 memory cgroup of its own (a child of the cgroup it runs
in) and, where there is a unified hierarchy, the same path there (for PSI);
runs the daemon on that subtree only, with policies; runs hogs in child
cgroups with small limits; and checks the records: pressure_level,
usage_threshold, the OOM counters, a PSI trigger from the unified hierarchy,
and the actions the policies ask for (notify, report, exec, kill; throttle
refused on v1). Every cgroup it makes is removed. Exit 77 with the reason
where the host has no v1 memory hierarchy or the test may not make cgroups.

    host-v1.py MEMWARDEND MEMWARDENCTL MW-HOG
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DAEMON, CTL, HOG = sys.argv[1:4]
failures = []


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def mounts():
    v1 = v2 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            mnt = pre.split()[4]
            fstype, _, superopts = post.split()[:3]
            if fstype == "cgroup" and "memory" in superopts.split(","):
                v1 = mnt
            elif fstype == "cgroup2" and v2 is None:
                v2 = mnt
    return v1, v2


def own_cgroups():
    v1 = v2 = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrls.split(","):
                v1 = path
            elif ctrls == "":
                v2 = path
    return v1, v2


made = []  # cgroup directories, in creation order


def mkcg(path):
    os.mkdir(path)
    made.append(path)


def rmcg_all():
    for path in reversed(made):
        for _ in range(50):
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)  # processes still exiting
        else:
            print(f"warning: could not remove {path}")


v1_mount, v2_mount = mounts()
if not v1_mount:
    skip("no cgroup v1 memory hierarchy on this host (cgroup v2 only): the VM scenarios cover v2")
own_v1, own_v2 = own_cgroups()
tag = f"mw-hosttest-{os.getpid()}"
V1 = os.path.normpath(f"{v1_mount}/{own_v1}/{tag}")
try:
    mkcg(V1)
except OSError as e:
    skip(f"cannot make a v1 memory cgroup under {os.path.dirname(V1)}: {e.strerror}")
V2 = None
if v2_mount and own_v2 is not None:
    try:
        V2 = os.path.normpath(f"{v2_mount}/{own_v2}/{tag}")
        mkcg(V2)
    except OSError as e:
        print(f"note: no unified-hierarchy cgroup ({e.strerror}): the PSI part is skipped")
        V2 = None

tmp = tempfile.mkdtemp(prefix="mw-hosttest-")
pol = os.path.join(tmp, "policies")
os.mkdir(pol)
exec_out = os.path.join(tmp, "exec.json")
with open(os.path.join(pol, "host.yaml"), "w") as f:
    f.write(f"""apiVersion: memwarden/v1
kind: Policy
metadata:
  name: usage-half
spec:
  match:
    cgroup: "/thr"
  triggers:
    any:
      - usage: {{of: max, above: 50%}}
    clearAfter: 1s
  actions:
    - type: notify
    - type: report
    - type: exec
      command: ["/bin/sh", "-c", "cat > {exec_out}"]
    - type: throttle
      floor: 16Mi
---
apiVersion: memwarden/v1
kind: Policy
metadata:
  name: squeezed
spec:
  match:
    cgroup: "/sq"
  triggers:
    any:
      - pressureLevel: {{level: medium, count: 5, window: 10s}}
      - pressureLevel: {{level: low, count: 1000000, window: 10s}}  # never holds; low gets registered
  actions:
    - type: notify
    - type: kill
      after: 5s       # time for the unified hierarchy's PSI trigger to see the stall too
---
apiVersion: memwarden/v1
kind: Policy
metadata:
  name: oom-killed
spec:
  match:
    cgroup: "/oom"
  triggers:
    any:
      - memoryEvents: {{counter: oom_kill, window: 60s}}
  actions:
    - type: notify
    - type: report
""")

out = os.path.join(tmp, "records.jsonl")
sock = os.path.join(tmp, "sock")
args = [DAEMON, "--no-bus", "--mlock", "off", "--output", out, "--cgroup-root", V1,
        "--psi-root", V2 or "", "--policy-dir", pol, "--socket", sock,
        "--event-log", os.path.join(tmp, "events.jsonl"), "--report-dir", os.path.join(tmp, "reports"),
        "--watch", "all", "--psi-stall", "50ms"]
os.mkdir(os.path.join(tmp, "reports"))
daemon = None
children = []


def records():
    try:
        with open(out) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def wait_for(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [r for r in records() if pred(r)]
        if found:
            return found[0]
        time.sleep(0.1)
    return None


def run_in(name, argv):
    """Start argv in the cgroup `name` of both hierarchies."""
    paths = [f"{V1}/{name}/cgroup.procs"] + ([f"{V2}/{name}/cgroup.procs"] if V2 else [])

    def enter():
        for p in paths:
            with open(p, "w") as f:
                f.write("0")

    p = subprocess.Popen(argv, preexec_fn=enter, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children.append(p)
    return p


def child(name, limit):
    mkcg(f"{V1}/{name}")
    if V2:
        mkcg(f"{V2}/{name}")
    with open(f"{V1}/{name}/memory.limit_in_bytes", "w") as f:
        f.write(limit)


def action(policy, act):
    return lambda r: r["event"] == "action" and r.get("policy") == policy and r.get("action") == act


try:
    daemon = subprocess.Popen(args, stderr=open(os.path.join(tmp, "daemon.err"), "w"))
    started = wait_for(lambda r: r["event"] == "started", 10)
    check(started is not None and "cgroup v1 memory controller" in started.get("message", ""),
          "the daemon starts on the v1 hierarchy: " + (started or {}).get("message", "no started record"))

    # 1. A usage threshold (event-driven on v1) fires a policy; the actions run.
    child("thr", "64M")
    hog = run_in("thr", [HOG, "40", "0"])
    r = wait_for(lambda r: r["event"] == "usage_threshold" and r.get("cgroup") == "/thr")
    # memory_current is read after the kernel saw the crossing: a few pages either side of it.
    check(r is not None and r["threshold"] == 32 << 20 and r["memory_current"] >= (32 << 20) - (1 << 20),
          f"usage_threshold record at 50% of 64M: {r and (r['threshold'], r['memory_current'])}")
    r = wait_for(lambda r: r["event"] == "policy" and r.get("policy") == "usage-half" and r["fired"])
    check(r is not None, "usage-half fired on /thr")
    check(wait_for(lambda r: action("usage-half", "notify")(r) and r["result"] == "done") is not None,
          "notify done")
    r = wait_for(lambda r: action("usage-half", "report")(r) and r["result"] == "done")
    rep = None
    if r:
        with open(r["report"]) as f:
            rep = json.load(f)
    check(rep is not None and any(p.get("comm") == "mw-hog" for p in rep.get("processes", [])) and
          rep.get("memory_limit_in_bytes") == 64 << 20,
          "the report names mw-hog and the v1 limit")
    r = wait_for(lambda r: action("usage-half", "throttle")(r))
    check(r is not None and r["result"] == "refused" and "cgroup v1" in r.get("detail", ""),
          f"throttle refused on v1: {r and r.get('detail')}")
    r = wait_for(lambda r: action("usage-half", "exec")(r) and r["result"] == "done")
    ev = None
    for _ in range(50):
        if os.path.exists(exec_out) and os.path.getsize(exec_out) > 0:
            with open(exec_out) as f:
                ev = json.loads(f.read())
            break
        time.sleep(0.1)
    check(r is not None and ev is not None and ev.get("cgroup") == "/thr", "exec got the event on stdin")
    hog.kill()
    hog.wait()
    # The crossing down (its usage is read while the hog's memory is still being freed).
    for _ in range(200):
        thr = [r for r in records() if r["event"] == "usage_threshold" and r.get("cgroup") == "/thr"]
        if len(thr) >= 2:
            break
        time.sleep(0.1)
    check(len(thr) >= 2, f"usage_threshold again when the usage fell below ({len(thr)} crossings)")
    check(wait_for(lambda r: r["event"] == "policy" and r.get("policy") == "usage-half" and r["cleared"]) is not None,
          "usage-half cleared")

    # 2. Page-cache thrash in 16M: pressure_level notifications, a PSI trigger
    #    from the unified hierarchy, and the kill step.
    child("sq", "16M")
    f_big = os.path.join(tmp, "big")
    thrash = run_in("sq", ["/bin/sh", "-c",
                           f"while :; do dd if=/dev/zero of={f_big} bs=1M count=64 conv=fsync 2>/dev/null; "
                           f"cat {f_big} >/dev/null; done"])
    r = wait_for(lambda r: r["event"] == "pressure_level" and r.get("cgroup") == "/sq" and
                 r["level"] in ("medium", "critical"))
    check(r is not None and r["count"] >= 1,
          f"pressure_level record for /sq: {r and (r['level'], r['count'])}")
    r = wait_for(lambda r: r["event"] == "pressure_level" and r.get("cgroup") == "/sq" and r["level"] == "low")
    check(r is not None, "low pressure_level, registered because a policy asks for it")
    r = wait_for(lambda r: r["event"] == "policy" and r.get("policy") == "squeezed" and r["fired"])
    check(r is not None, "squeezed fired on pressureLevel medium x5")
    if V2:
        r = wait_for(lambda r: r["event"] == "psi" and r.get("cgroup") == "/sq", 30)
        check(r is not None and r["psi"]["some"]["total_us"] > 0,
              "PSI trigger on the unified hierarchy's /sq fired")
    r = wait_for(lambda r: action("squeezed", "kill")(r), 30)
    check(r is not None and r["result"] == "done" and "cgroup.procs" in r.get("detail", ""),
          f"kill through cgroup.procs: {r and r.get('detail')}")
    try:
        rc = thrash.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == -signal.SIGKILL, f"the thrashing shell was SIGKILLed ({rc})")
    if os.path.exists(f_big):
        os.unlink(f_big)

    # 3. OOM in 32M: the oom notification, then oom_kill (re-read after it).
    child("oom", "32M")
    hog = run_in("oom", [HOG, "96", "0"])
    rc = hog.wait(timeout=30)
    check(rc == -signal.SIGKILL, f"the hog was OOM-killed ({rc})")
    r = wait_for(lambda r: r["event"] == "memory_events" and r.get("cgroup") == "/oom" and
                 r["delta"].get("oom_kill", 0) >= 1)
    check(r is not None, "memory_events record with oom_kill")
    check(wait_for(lambda r: r["event"] == "memory_events" and r.get("cgroup") == "/oom" and
                   r["delta"].get("oom", 0) >= 1) is not None, "memory_events record with oom")
    check(wait_for(lambda r: action("oom-killed", "notify")(r) and r["result"] == "done") is not None,
          "oom-killed notified")

    st = subprocess.run([CTL, "--socket", sock, "explain", "/sq"], capture_output=True, text=True)
    check(st.returncode == 0 and "pressureLevel medium" in st.stdout, "explain shows the pressureLevel trigger")
    check(daemon.poll() is None, "the daemon is still running")
finally:
    for p in children:
        if p.poll() is None:
            p.kill()
            p.wait()
    if daemon and daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            rc = daemon.wait()
        check(rc == 0, f"the daemon exits cleanly on SIGTERM ({rc})")
    rmcg_all()
    check(not any(os.path.exists(p) for p in made), "every cgroup the test made is gone")
    if failures:
        print(f"--- daemon stderr ---\n{open(os.path.join(tmp, 'daemon.err')).read()}")
        print(f"--- records: {out} (kept) ---")
    else:
        shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if failures else 0)
