#!/usr/bin/env python3
"""cg-watch.py CGROUP_DIR OUT BOUND_S: an independent watcher of one cgroup,
for the limited hog. inotify on memory.events and cgroup.events (the kernel
notifies both); timestamps (wall clock, the journal's clock) the first
increment of `high`, of `max`, of `oom_kill`, and the moment the cgroup is
no longer populated (the hog is dead) or gone. Writes "ready" to OUT first,
then one JSON object at the end. Ends BOUND_S after the first `high` if
nothing killed the hog by then (no daemon acted: the kernel throttles such a
workload indefinitely)."""
import ctypes
import json
import os
import select
import struct
import sys
import time

cg, out, bound = sys.argv[1], sys.argv[2], float(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
IN_MODIFY, IN_IGNORED, IN_NONBLOCK, IN_CLOEXEC = 0x2, 0x8000, 0o4000, 0o2000000
fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
if fd < 0:
    sys.exit("inotify_init1 failed")
wds = {}
for name in ("memory.events", "cgroup.events"):
    wd = libc.inotify_add_watch(fd, os.path.join(cg, name).encode(), IN_MODIFY)
    if wd < 0:
        sys.exit(f"cannot watch {name}")
    wds[wd] = name


def kv(name):
    try:
        with open(os.path.join(cg, name)) as f:
            return {k: int(v) for k, v in (line.split() for line in f)}
    except (OSError, ValueError):
        return None


base = kv("memory.events") or {}
res = {"t_ready": time.time(), "base": base, "t_high": None, "t_max": None, "t_oom_kill": None,
       "t_dead": None, "end": None, "events": 0}
with open(out, "w") as f:
    f.write("ready\n")


def look(now):
    ev = kv("memory.events")
    if ev is not None:
        for key in ("high", "max", "oom_kill"):
            if res["t_" + key] is None and ev.get(key, 0) > base.get(key, 0):
                res["t_" + key] = now
        res["last"] = ev
    ce = kv("cgroup.events")
    if ce is None:
        res["end"] = "gone"
        return True
    if ce.get("populated", 1) == 0:
        res["end"] = "unpopulated"
        return True
    return False


poll = select.poll()
poll.register(fd, select.POLLIN)
done = False
deadline_hard = time.time() + 600
while not done:
    now = time.time()
    if res["t_high"] is not None and now > res["t_high"] + bound:
        res["end"] = "bound"
        break
    if now > deadline_hard:
        res["end"] = "no-high"
        break
    if poll.poll(200):
        now = time.time()
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            buf = b""
        off = 0
        while off + 16 <= len(buf):
            wd, mask, _, ln = struct.unpack_from("iIII", buf, off)
            off += 16 + ln
            res["events"] += 1
            if mask & IN_IGNORED:
                res["end"] = "gone"
                done = True
        done = look(now) or done
    else:
        done = look(time.time())
if res["t_dead"] is None and res["end"] in ("gone", "unpopulated"):
    res["t_dead"] = time.time()
res["t_end"] = time.time()
with open(out, "w") as f:
    f.write(json.dumps(res) + "\n")
