#!/usr/bin/env python3
"""The faults scenario's snapshots, one JSON line each (guest side).
  faults-snap.py case NAME PID SOCKET [cg:PATH=ORIG_HIGH]... [unit:NAME=ORIG_MEMORYHIGH]...
      the daemon (alive, status answers, its header) and each cgroup's
      memory.high, cgroup.freeze and memory.events, each unit's MemoryHigh and
      FreezerState, at the end of a case
  faults-snap.py final PATH [TAG]
      a cgroup's memory.events at its end (TAG: whose records account for it)"""
import json
import os
import subprocess
import sys
import time

ROOT = "/sys/fs/cgroup"


def read(p):
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return None


def events(path):
    t = read(ROOT + path + "/memory.events")
    return None if t is None else {k: int(v) for k, v in (line.split() for line in t.splitlines())}


def run(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired:
        return None, ""


out = {"t": time.time(), "mono_us": int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)}
if sys.argv[1] == "final":
    ev = events(sys.argv[2])
    if ev is None:
        sys.exit(1)
    out.update(kind="final", cgroup=sys.argv[2], tag=sys.argv[3] if len(sys.argv) > 3 else "main", events=ev)
else:
    name, pid, sock = sys.argv[2:5]
    state = next((line.split()[1] for line in (read(f"/proc/{pid}/status") or "").splitlines()
                  if line.startswith("State:")), None)
    alive = read(f"/proc/{pid}/comm") == "memwardend" and state not in (None, "Z", "X")
    t0 = time.monotonic()
    rc, st = run([os.environ.get("MW_BIN", "/opt/mw/bin") + "/memwardenctl", "--socket", sock, "status", "--json"])
    lat = time.monotonic() - t0
    header = None
    if rc == 0 and st:
        try:
            header = json.loads(st.splitlines()[0])
        except ValueError:
            pass
    cgs, units = [], []
    for a in sys.argv[5:]:
        kind, rest = a.split(":", 1)
        key, orig = rest.rsplit("=", 1)
        if kind == "cg":
            cgs.append({"cgroup": key, "orig_high": orig, "exists": os.path.isdir(ROOT + key),
                        "memory_high": read(ROOT + key + "/memory.high"),
                        "freeze": read(ROOT + key + "/cgroup.freeze"), "events": events(key)})
        else:
            show = lambda prop: run(["systemctl", "show", "-P", prop, key])[1].strip()  # noqa: E731
            units.append({"unit": key, "orig_high": orig, "memory_high": show("MemoryHigh"),
                          "freezer": show("FreezerState"), "active": show("ActiveState")})
    out.update(kind="case", case=name, pid=int(pid), alive=alive, exec_helpers=int(os.environ.get("MW_HELPERS", -1)), status_ok=header is not None,
               status_s=round(lat, 3), header=header, cgroups=cgs, units=units)
print(json.dumps(out))
