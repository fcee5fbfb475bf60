#!/usr/bin/env python3
"""proc-sample.py LABEL PID...: one JSON line about processes, for the idle
cost: context switches summed over every thread of each PID
(/proc/PID/task/*/status, voluntary + nonvoluntary: the wake-ups; also per
thread, since a thread that exits takes its count with it), CPU ticks
(utime + stime of /proc/PID/stat), VmRSS and VmLck (KiB), threads, and the
wall clock. Two lines around an idle period give its rates."""
import json
import os
import sys
import time


def status(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def sample(pid):
    ctxt = 0
    tasks = 0
    per_tid = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        st = status(f"/proc/{pid}/task/{tid}/status")
        try:
            n = int(st.get("voluntary_ctxt_switches", 0)) + int(st.get("nonvoluntary_ctxt_switches", 0))
            ctxt += n
            per_tid[tid] = n
            tasks += 1
        except ValueError:
            continue
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        ticks = None
    st = status(f"/proc/{pid}/status")

    def kib(key):
        v = st.get(key, "")
        return int(v.split()[0]) if v else None
    return {"pid": pid, "comm": st.get("Name"), "ctxt": ctxt, "tids": per_tid, "threads": tasks, "ticks": ticks,
            "rss_kib": kib("VmRSS"), "lck_kib": kib("VmLck"), "anon_kib": kib("RssAnon")}


label = sys.argv[1]
t = time.time()
procs = [s for s in (sample(int(p)) for p in sys.argv[2:]) if s]
print(json.dumps({"label": label, "t": t, "hz": os.sysconf("SC_CLK_TCK"), "procs": procs}))
