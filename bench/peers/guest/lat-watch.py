#!/usr/bin/env python3
"""lat-watch.py RECORDS HOG OUT CGROUP_DIR...: memwarden's event latency on
the real kernel. For each cgroup (each with a memory.high below 8 MiB), one
after the other: put a hog touching 8 MiB in it, stamp the kernel's first
`high` (inotify on its memory.events) and the first `memory_events` record
of that cgroup in memwarden's records file (inotify on the file), then kill
the hog. Writes the latencies (ms) as one JSON object."""
import ctypes
import json
import os
import select
import struct
import subprocess
import sys
import time

records, hog, out, cgs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
libc = ctypes.CDLL(None, use_errno=True)
IN_MODIFY = 0x2
lat, missed = [], 0
for cg in cgs:
    rel = cg[len("/sys/fs/cgroup"):]
    fd = libc.inotify_init1(0o4000 | 0o2000000)
    wd_ev = libc.inotify_add_watch(fd, os.path.join(cg, "memory.events").encode(), IN_MODIFY)
    wd_rec = libc.inotify_add_watch(fd, records.encode(), IN_MODIFY)
    rf = open(records, "rb")
    rf.seek(0, 2)
    pending = b""
    t_high = t_rec = None
    p = subprocess.Popen([hog, "8", "0", "1"], stdout=subprocess.DEVNULL,
                         preexec_fn=lambda c=cg: open(os.path.join(c, "cgroup.procs"), "w").write(str(os.getpid())))
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    deadline = time.time() + 60
    needle = ('"event":"memory_events","cgroup":"%s"' % rel).encode()
    while (t_high is None or t_rec is None) and time.time() < deadline:
        if not poll.poll(500):
            continue
        now = time.time()
        buf = os.read(fd, 65536)
        off = 0
        while off + 16 <= len(buf):
            wd, mask, _, ln = struct.unpack_from("iIII", buf, off)
            off += 16 + ln
            if wd == wd_ev and t_high is None:
                with open(os.path.join(cg, "memory.events")) as f:
                    if any(l.split()[0] == "high" and int(l.split()[1]) > 0 for l in f):
                        t_high = now
            elif wd == wd_rec and t_rec is None:
                pending += rf.read()
                lines = pending.split(b"\n")
                pending = lines.pop()
                if any(needle in l for l in lines):
                    t_rec = now
    p.kill()
    p.wait()
    os.close(fd)
    rf.close()
    if t_high is not None and t_rec is not None:
        lat.append((t_rec - t_high) * 1000)
    else:
        missed += 1
lat.sort()


def pct(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None


with open(out, "w") as f:
    f.write(json.dumps({"events": len(lat), "missed": missed, "latency_p50_ms": pct(0.5),
                        "latency_p99_ms": pct(0.99), "latency_max_ms": lat[-1] if lat else None,
                        "latency_ms": lat}) + "\n")
