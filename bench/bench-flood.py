#!/usr/bin/env python3
# bench-flood: the real memwardend on a fake tmpfs tree, 10,000 memory.events
# changes over 100 cgroups (as fast as possible, or over FLOOD_SECONDS).
#   bench-flood.py MEMWARDEND MEMWARDENCTL rate|stall COALESCE_INTERVAL|none
# rate:  memory_events records written (per second), sums of delta checked
#        against the counters, the status header's output counts.
# stall: nobody reads the daemon's stdout for 10 s during the flood;
#        memwardenctl status answer times meanwhile, drops, the notice after.
# "none" runs a daemon without --coalesce-interval (an older build).
import os, sys, time, json, subprocess, tempfile, shutil, select, threading

D = sys.argv[1]; CTL = sys.argv[2]; mode = sys.argv[3]; coalesce = sys.argv[4]
NCG, NEV = 100, 10000
root = tempfile.mkdtemp(prefix="mw-flood-", dir="/dev/shm")
def put(p, t):
    with open(p, "w") as f: f.write(t)
put(f"{root}/cgroup.controllers", "cpu io memory pids\n")
EV = "low 0\nhigh 0\nmax {}\noom 0\noom_kill 0\noom_group_kill 0\n"
for i in range(NCG):
    d = f"{root}/c{i}.slice"; os.mkdir(d)
    put(f"{d}/memory.events", EV.format(0)); put(f"{d}/memory.events.local", EV.format(0))
    put(f"{d}/memory.high", "104857600\n"); put(f"{d}/memory.max", "max\n")
    put(f"{d}/memory.current", "4096\n"); put(f"{d}/cgroup.events", "populated 1\nfrozen 0\n")
sock = f"{root}.sock"
r, w = os.pipe()
p = subprocess.Popen([D, "--cgroup-root", root, "--cgroup-version", "2", "--no-bus", "--no-psi",
                      "--output", "-", "--socket", sock, "--policy-dir", "", "--event-log", "",
                      "--pod-log-dir", "", "--mlock", "off"] + (["--coalesce-interval", coalesce] if coalesce != "none" else []),
                     stdout=w, stderr=subprocess.DEVNULL)
os.close(w)
buf = b""
def readlines(timeout):
    global buf
    out = []
    end = time.time() + timeout
    while True:
        left = end - time.time()
        if left <= 0: break
        rl, _, _ = select.select([r], [], [], left)
        if not rl: break
        chunk = os.read(r, 1 << 20)
        if not chunk: break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        out += [(time.time(), l) for l in lines]
    return out
# wait for started
ls = readlines(2)
def status_time():
    t0 = time.time()
    try:
        o = subprocess.run([CTL, "--socket", sock, "--json", "status"], capture_output=True, timeout=12)
    except subprocess.TimeoutExpired:
        return time.time() - t0, b'{"timeout":true}'

    return time.time() - t0, o.stdout.split(b"\n")[0]
PACE = float(os.environ.get("FLOOD_SECONDS", "0"))
def flood():
    t0 = time.time()
    for i in range(NEV):
        if PACE and i % 100 == 0:
            d = t0 + PACE * i / NEV - time.time()
            if d > 0: time.sleep(d)
        put(f"{root}/c{i % NCG}.slice/memory.events", EV.format(i // NCG + 1))
    return time.time() - t0
if mode == "rate":
    th_res = {}
    th = threading.Thread(target=lambda: th_res.setdefault("t", flood())); t_start = time.time(); th.start()
    lines = readlines(4.0 + PACE); th.join()
    me = [(t, json.loads(l)) for t, l in lines if b'"memory_events"' in l]
    sums = {}
    for _, j in me: sums[j["cgroup"]] = sums.get(j["cgroup"], 0) + j["delta"].get("max", 0)
    span = max(t for t, _ in me) - t_start
    st_t, st = status_time()
    o = json.loads(st)["output"]
    print(json.dumps({"coalesce": coalesce, "writes": NEV, "flood_s": round(th_res["t"], 2),
        "memory_events_records": len(me), "records_per_s_during_flood":
            round(len([1 for t, _ in me if t - t_start <= th_res["t"]]) / th_res["t"]),
        "summaries": sum(1 for _, j in me if "coalesced" in j),
        "per_second": [sum(1 for t, _ in me if k <= t - t_start < k + 1) for k in range(int(PACE) + 2)],
        "sum_delta_max": sum(sums.values()), "expected_sum": NEV,
        "cgroups_exact": sum(1 for v in sums.values() if v == NEV // NCG),
        "status_ms": round(st_t * 1000, 1), "output": o}))
else:  # stall: nobody reads stdout for 10 s while the flood runs
    t_start = time.time()
    ft = flood()
    times = []
    while time.time() - t_start < 10:
        t, _ = status_time(); times.append(t * 1000); time.sleep(0.25)
        if t > 5: break
    t, st = status_time(); o = json.loads(st).get("output")
    lines = readlines(3.0)
    put(f"{root}/c0.slice/memory.events", EV.format(10 ** 6))
    lines += readlines(1.5)
    drops = [json.loads(l) for _, l in lines if b'"dropped"' in l]
    alive = p.poll() is None
    print(json.dumps({"coalesce": coalesce, "flood_s": round(ft, 2), "status_answers": len(times),
        "status_ms_max": round(max(times), 1), "status_ms_p50": round(sorted(times)[len(times)//2], 1),
        "output_during_stall": o, "lines_after": len(lines),
        "drop_notices": [(d["dropped"], d["sink"]) for d in drops], "alive": alive}))
p.terminate(); p.wait(timeout=10)
shutil.rmtree(root); 
try: os.unlink(sock)
except OSError: pass
