#!/usr/bin/env python3
"""The daemon on this host's real cgroup v1 memory hierarchy (a subtree of
the bench's own, removed afterwards): one JSON line.

  bench-v1.py MEMWARDEND [N_CGROUPS] [IDLE_SECONDS] [CROSSINGS]

- walk_us, rss_kib, fds: with N v1 memory cgroups, each with a limit (so all
  watched: 3 eventfds each), plus the same paths in the unified hierarchy for
  PSI (one trigger each);
- idle_wakeups: the daemon's context switches over IDLE_SECONDS;
- threshold latency: a process in a cgroup bound to a `usage` policy (a
  memory.usage_in_bytes threshold eventfd at 32 MiB) stops 512 KiB below it,
  then touches 1 MiB; from just before the first touch to the daemon's
  usage_threshold record (an upper bound: includes the touching, reported as
  touch_1mib_p50_us, and the kernel checks thresholds every 128 page events);
- cpu per notification: page-cache thrash in a 16 MiB cgroup for a few
  seconds; the daemon's CPU time divided by the pressure notifications it
  handled (the eventfd counts, read from its status).
Needs root and a cgroup v1 memory hierarchy; exits 77 otherwise.
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

DAEMON = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
IDLE = int(sys.argv[3]) if len(sys.argv) > 3 else 20
CROSSINGS = int(sys.argv[4]) if len(sys.argv) > 4 else 30
CTL = os.path.join(os.path.dirname(DAEMON), "memwardenctl")


def mounts():
    v1 = v2 = None
    for line in open("/proc/self/mountinfo"):
        pre, post = line.split(" - ", 1)
        fstype, _, opts = post.split()[:3]
        if fstype == "cgroup" and "memory" in opts.split(","):
            v1 = pre.split()[4]
        elif fstype == "cgroup2" and not v2:
            v2 = pre.split()[4]
    return v1, v2


def own():
    v1 = v2 = ""
    for line in open("/proc/self/cgroup"):
        _, c, p = line.rstrip("\n").split(":", 2)
        if "memory" in c.split(","):
            v1 = p
        elif c == "":
            v2 = p
    return v1, v2


v1m, v2m = mounts()
if not v1m:
    print("no cgroup v1 memory hierarchy", file=sys.stderr)
    sys.exit(77)
o1, o2 = own()
tag = f"mw-bench-v1-{os.getpid()}"
R1 = os.path.normpath(f"{v1m}/{o1}/{tag}")
R2 = os.path.normpath(f"{v2m}/{o2}/{tag}") if v2m else None
made = []


def mk(rel, limit=None):
    for r in [R1] + ([R2] if R2 else []):
        p = os.path.join(r, rel) if rel else r
        os.mkdir(p)
        made.append(p)
    if limit:
        with open(os.path.join(R1, rel, "memory.limit_in_bytes"), "w") as f:
            f.write(limit)


def status():
    out = subprocess.run([CTL, "--socket", sock, "status", "--json"], capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def proc_status(pid):
    d = {}
    for line in open(f"/proc/{pid}/status"):
        k, v = line.split(":", 1)
        d[k] = v.strip()
    return d


def cpu_usec(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000000 // os.sysconf("SC_CLK_TCK")


tmp = tempfile.mkdtemp(prefix="mw-bench-v1-")
sock = os.path.join(tmp, "sock")
pol = os.path.join(tmp, "pol")
os.mkdir(pol)
with open(os.path.join(pol, "p.yaml"), "w") as f:
    f.write("""apiVersion: memwarden/v1
kind: Policy
metadata: {name: half}
spec:
  match: {cgroup: /lat}
  triggers: {any: [{usage: {of: max, above: 50%}}], clearAfter: 1s}
  actions: [{type: notify}]
""")
out = os.path.join(tmp, "records.jsonl")
daemon = None
result = {"bench": "v1", "cgroups": N}
try:
    mk("")
    for i in range(N // 100 or 1):
        mk(f"s{i}", "1G")
        for k in range(min(100, N) - 1):
            mk(f"s{i}/c{k}", "512M")
    mk("lat", "64M")
    mk("sq", "16M")
    args = [DAEMON, "--no-bus", "--mlock", "onfault", "--output", out, "--cgroup-root", R1, "--psi-root",
            R2 or "", "--policy-dir", pol, "--socket", sock, "--event-log", "", "--report-dir", "",
            "--max-cgroups", str(N + 100)]
    daemon = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(out) and '"started"' in open(out).read():
            break
        time.sleep(0.1)
    time.sleep(1)
    started = [json.loads(l) for l in open(out) if '"started"' in l][0]
    st = proc_status(daemon.pid)
    result.update(walk_us=started["walk_us"], rss_kib=int(st["VmRSS"].split()[0]),
                  fds=len(os.listdir(f"/proc/{daemon.pid}/fd")))
    hdr = status()[0]
    result.update(watched=hdr["watched"], v1_eventfds=hdr.get("v1_eventfds"), psi_triggers=hdr["psi_triggers"])

    cs = lambda: sum(int(proc_status(daemon.pid)[k]) for k in ("voluntary_ctxt_switches",
                                                                "nonvoluntary_ctxt_switches"))
    c0 = cs()
    time.sleep(IDLE)
    result["idle_wakeups"] = cs() - c0
    result["idle_seconds"] = IDLE

    # Threshold latency.
    hog_src = r"""
import mmap, sys, time
m = mmap.mmap(-1, 48 << 20)
usage, goal = sys.argv[1], int(sys.argv[2])
pre = 0
while int(open(usage).read()) < goal:  # up to 1 MiB below the threshold, whatever Python took
    for i in range(pre, pre + (256 << 10), 4096): m[i] = 1
    pre += 256 << 10
print("ready", flush=True); sys.stdin.readline()
t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
for i in range(pre, pre + (1 << 20), 4096): m[i] = 1
t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
print(t0, t1, flush=True); sys.stdin.readline()
"""
    lat, touch = [], []
    procs = [os.path.join(R1, "lat", "cgroup.procs")]

    def enter():
        for p in procs:
            with open(p, "w") as f:
                f.write("0")

    for _ in range(CROSSINGS):
        n0 = sum(1 for l in open(out) if '"event":"usage_threshold"' in l)
        h = subprocess.Popen([sys.executable, "-c", hog_src, os.path.join(R1, "lat", "memory.usage_in_bytes"),
                              str((32 << 20) - (512 << 10))],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=enter)
        h.stdout.readline()
        time.sleep(0.2)
        h.stdin.write("\n"); h.stdin.flush()
        t0, t1 = map(int, h.stdout.readline().split())
        touch.append(t1 - t0)
        rec = None
        for _ in range(200):
            recs = [json.loads(l) for l in open(out) if '"event":"usage_threshold"' in l]
            if len(recs) > n0 and recs[-1].get("memory_current", 0) >= 31 << 20:
                rec = recs[-1]
                break
            time.sleep(0.01)
        h.stdin.write("\n"); h.stdin.flush(); h.wait()
        if rec:
            lat.append(rec["mono_us"] - t0)
        time.sleep(0.3)
    lat.sort()
    if lat:
        result.update(threshold_crossings=len(lat), threshold_latency_p50_us=lat[len(lat) // 2],
                      threshold_latency_p99_us=lat[min(len(lat) - 1, len(lat) * 99 // 100)],
                      threshold_latency_max_us=lat[-1], touch_1mib_p50_us=sorted(touch)[len(touch) // 2])

    # CPU per pressure notification.
    big = os.path.join(tmp, "big")
    procs = [os.path.join(R1, "sq", "cgroup.procs")] + ([os.path.join(R2, "sq", "cgroup.procs")] if R2 else [])
    u0 = cpu_usec(daemon.pid)
    t = subprocess.Popen(["/bin/sh", "-c", f"end=$(($(date +%s)+5)); while [ $(date +%s) -lt $end ]; do "
                          f"dd if=/dev/zero of={big} bs=1M count=48 conv=fsync 2>/dev/null; cat {big} >/dev/null; done"],
                         preexec_fn=enter)
    t.wait()
    time.sleep(1)
    u1 = cpu_usec(daemon.pid)
    notes = 0
    for c in status()[1:]:
        pl = c.get("pressure_level")
        if pl:
            notes += pl["medium"] + pl["critical"] + pl["low"]
    wake = sum(1 for l in open(out) if '"event":"pressure_level"' in l)
    result.update(pressure_notifications=notes, pressure_records_written=wake,
                  daemon_cpu_us=u1 - u0, cpu_us_per_notification=round((u1 - u0) / notes, 1) if notes else None)
    if os.path.exists(big):
        os.unlink(big)
finally:
    if daemon and daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()
    for p in reversed(made):
        for _ in range(50):
            try:
                os.rmdir(p)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
print(json.dumps(result))
if os.environ.get("MW_BENCH_KEEP"):
    print(out)
