#!/usr/bin/env python3
"""node-watch.py OUT BOUND_S CMD...: the node-wide hog. Starts CMD (a
`systemd-run --scope` of the hog: its PID is the hog's), samples MemAvailable
every 10 ms (wall clock) until the hog is dead, and writes one JSON object:
start and end times, how it ended (its exit status: -9 SIGKILL, -15 SIGTERM),
MemAvailable's lowest and its last sample before the end. Protected from the
OOM killer itself (oom_score_adj -1000): it is the instrument. After BOUND_S
it kills the hog (`end: bound`)."""
import json
import os
import subprocess
import sys
import time

out, bound, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
with open("/proc/self/oom_score_adj", "w") as f:
    f.write("-1000")


def avail():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return -1


def vmstat_oom():
    with open("/proc/vmstat") as f:
        for line in f:
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    return -1


res = {"avail_before_kib": avail(), "oom_kill_before": vmstat_oom()}
t0 = time.time()
p = subprocess.Popen(cmd, preexec_fn=lambda: open("/proc/self/oom_score_adj", "w").write("0"))
res["t_start"], res["pid"] = t0, p.pid
lo, last, samples, end = None, None, 0, "exit"
series = []  # every sample: the aggregator finds MemAvailable at a kill's time
while p.poll() is None:
    now = time.time()
    a = avail()
    samples += 1
    last = (now, a)
    if len(series) < 60000:
        series.append((round(now, 4), a))
    if lo is None or a < lo[1]:
        lo = (now, a)
    if now > t0 + bound:
        p.kill()
        end = "bound"
        p.wait()
        break
    time.sleep(0.01)
res.update({"t_end": time.time(), "rc": p.returncode, "end": end, "samples": samples,
            "min_avail_kib": lo[1] if lo else None, "t_min_avail": lo[0] if lo else None,
            "last_avail_kib": last[1] if last else None, "t_last_avail": last[0] if last else None,
            "oom_kill_after": vmstat_oom(), "series": series})
with open(out, "w") as f:
    f.write(json.dumps(res) + "\n")
