#!/usr/bin/env python3
"""host-scale.py MEMWARDEND N [IDLE_S] [EVENTS]: memwarden on a fake tree of
N cgroups on tmpfs (as bench/bench-agent.c, whose tree it copies: slices of
100 services), where only the slices have a limit, so with the default
--watch limited one in 100 is watched and the rest cost a directory watch:
how a node with tens of thousands of cgroups looks, and what fits in an
RLIMIT_NOFILE of 20,000 (bench-agent watches every cgroup: two fds each).
One JSON line: the first walk (the `started` record), RSS and VmLck after
start, idle wake-ups, and the event path (a slice's memory.events written
here to its record read back from the daemon's stdout; Python's own floor
is a few hundred microseconds)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

mwd, n = sys.argv[1], int(sys.argv[2])
idle_s = float(sys.argv[3]) if len(sys.argv) > 3 else 10
n_events = int(sys.argv[4]) if len(sys.argv) > 4 else 500
EV = "low 0\nhigh {}\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"


def mkcg(d, limited):
    os.mkdir(d)
    for name, text in (("memory.events", EV.format(0)), ("memory.events.local", EV.format(0)),
                       ("memory.high", "104857600\n" if limited else "max\n"), ("memory.max", "max\n"),
                       ("memory.current", "4096\n"), ("cgroup.events", "populated 1\nfrozen 0\n")):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)


def field(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


root = tempfile.mkdtemp(prefix="mw-peers-scale-", dir="/dev/shm")
try:
    with open(os.path.join(root, "cgroup.controllers"), "w") as f:
        f.write("cpu io memory pids\n")
    slices, made = 0, 0
    while made < n:
        s = os.path.join(root, f"s{slices}.slice")
        mkcg(s, True)
        made += 1
        for i in range(99):
            if made >= n:
                break
            mkcg(os.path.join(s, f"svc{i}.service"), False)
            made += 1
        slices += 1
    t0 = time.monotonic()
    p = subprocess.Popen([mwd, "--cgroup-root", root, "--output", "-", "--socket", "", "--no-psi",
                          "--pod-log-dir", "", "--max-cgroups", str(n + 100), "--policy-dir", "",
                          "--coalesce-interval", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    walk = None
    for raw in p.stdout:
        r = json.loads(raw)
        if r.get("event") == "started":
            walk = r.get("walk_us")
            break
    t_started = time.monotonic() - t0
    time.sleep(0.2)
    rss, lck = field(p.pid, "VmRSS"), field(p.pid, "VmLck")
    fds = len(os.listdir(f"/proc/{p.pid}/fd"))
    cs0 = field(p.pid, "voluntary_ctxt_switches") + field(p.pid, "nonvoluntary_ctxt_switches")
    time.sleep(idle_s)
    cs1 = field(p.pid, "voluntary_ctxt_switches") + field(p.pid, "nonvoluntary_ctxt_switches")
    lat = []
    for i in range(n_events):
        s = (i * 7919) % slices
        path = os.path.join(root, f"s{s}.slice", "memory.events")
        t = time.monotonic()
        with open(path, "w") as f:
            f.write(EV.format(i + 1))
        for raw in p.stdout:
            if b'"event":"memory_events"' in raw:
                break
        lat.append((time.monotonic() - t) * 1e6)
    lat.sort()
    p.send_signal(signal.SIGTERM)
    p.wait()
    print(json.dumps({"cgroups": n, "watched": slices, "tool": "host-scale.py", "walk_us": walk,
                      "exec_to_started_us": int(t_started * 1e6), "rss_kib": rss, "locked_kib": lck, "fds": fds,
                      "idle_seconds": idle_s, "idle_wakeups": cs1 - cs0, "events": n_events,
                      "latency_p50_us": lat[len(lat) // 2], "latency_p99_us": lat[len(lat) * 99 // 100],
                      "latency_max_us": lat[-1]}))
finally:
    shutil.rmtree(root, ignore_errors=True)
