#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench-metrics: what /metrics costs, on the real memwardend and a fake tmpfs
# tree of N slices (all watched, all with series: --metrics-cgroups all and
# no cap), PSI off.
#   bench-metrics.py MEMWARDEND [N] [EVENTS] [SCRAPES]
# Prints one JSON line per configuration:
# - off:    no --metrics-listen (libmicrohttpd not loaded): RSS, VmLck;
# - on:     --metrics-listen: RSS, VmLck after start and after SCRAPES scrapes
#           (no growth: a scrape allocates nothing of ours), scrape time
#           p50/p99/max (curl's total time), bytes and series per scrape;
# - on, default cap: the defaults (--metrics-cgroups limited, at most 2,000
#   cgroups per family): scrape time and size;
# - event-path latency, from the write() of a memory.events change to its
#   record on the daemon's stdout, with metrics off, on, and on while curl
#   scrapes every second in the background.
import json, os, select, shutil, statistics, subprocess, sys, tempfile, time

D = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
NEV = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
NSCRAPE = int(sys.argv[4]) if len(sys.argv) > 4 else 30
if not shutil.which("curl"):
    print("curl not installed: skipped")
    sys.exit(77)
root = tempfile.mkdtemp(prefix="mw-bench-metrics-", dir="/dev/shm")
EV = "low 0\nhigh {}\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"


def put(p, t):
    with open(p, "w") as f:
        f.write(t)


put(f"{root}/cgroup.controllers", "memory\n")
for i in range(N):
    d = f"{root}/c{i}.slice"
    os.mkdir(d)
    put(f"{d}/memory.events", EV.format(0))
    put(f"{d}/memory.high", "104857600\n")
    put(f"{d}/memory.max", "max\n")
    put(f"{d}/memory.current", "4096\n")
    put(f"{d}/cgroup.events", "populated 1\nfrozen 0\n")
port = 19000 + os.getpid() % 1000
counter = [0] * N


def status(pid, key):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(key + ":"):
            return int(l.split()[1])
    return 0


class Daemon:
    def __init__(self, metrics, default_cap=False):
        self.r, w = os.pipe()
        args = [D, "--cgroup-root", root, "--cgroup-version", "2", "--no-bus", "--no-psi", "--output", "-",
                "--socket", "", "--policy-dir", "", "--event-log", "", "--pod-log-dir", "",
                "--coalesce-interval", "0", "--max-cgroups", str(N + 16), "--own-cgroup", "/"]
        if metrics:
            args += ["--metrics-listen", f"127.0.0.1:{port}"]
        if metrics and not default_cap:
            args += ["--metrics-cgroups", "all", "--metrics-max-cgroups", str(N + 16)]
        self.p = subprocess.Popen(args, stdout=w, stderr=subprocess.DEVNULL)
        os.close(w)
        self.buf = b""
        self.wait_for(b'"event":"started"', 60)

    def lines(self, timeout):
        rl, _, _ = select.select([self.r], [], [], timeout)
        if not rl:
            return []
        self.buf += os.read(self.r, 1 << 20)
        *ls, self.buf = self.buf.split(b"\n")
        return ls

    def wait_for(self, pat, timeout):
        end = time.time() + timeout
        while time.time() < end:
            for l in self.lines(end - time.time()):
                if pat in l:
                    return l
        raise SystemExit(f"timed out waiting for {pat}")

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=30)
        os.close(self.r)


def latency(d, n):
    """write() of a changed memory.events to its record, over n changes."""
    out = []
    for k in range(n):
        i = (k * 97) % N
        counter[i] += 1
        pat = f'"cgroup":"/c{i}.slice"'.encode()
        t0 = time.perf_counter()
        put(f"{root}/c{i}.slice/memory.events", EV.format(counter[i]))
        d.wait_for(pat, 10)
        out.append((time.perf_counter() - t0) * 1e6)
        time.sleep(0.005)
    out.sort()
    return {"p50_us": round(out[len(out) // 2]), "p99_us": round(out[int(len(out) * 0.99)]), "max_us": round(out[-1])}


def scrape():
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{size_download} %{http_code}",
                        f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True, timeout=60)
    t, size, code = r.stdout.split()
    assert code == "200", code
    return float(t), int(size)


def run(metrics):
    d = Daemon(metrics)
    time.sleep(1)
    res = {"config": "on" if metrics else "off", "cgroups": N, "rss_kib": status(d.p.pid, "VmRSS"),
           "locked_kib": status(d.p.pid, "VmLck")}
    res["latency"] = latency(d, NEV)
    if metrics:
        body = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/metrics"], capture_output=True).stdout
        res["series"] = sum(1 for l in body.split(b"\n") if l and not l.startswith(b"#"))
        times, size = [], 0
        for _ in range(NSCRAPE):
            t, size = scrape()
            times.append(t * 1000)
        times.sort()
        res["scrape_ms"] = {"p50": round(times[len(times) // 2], 1), "p99": round(times[int(len(times) * 0.99)], 1),
                            "max": round(times[-1], 1)}
        res["scrape_bytes"] = size
        res["rss_after_scrapes_kib"] = status(d.p.pid, "VmRSS")
        res["cpu_ms_per_scrape"] = None
        t0 = os.times()
        # The daemon's CPU per scrape: its utime+stime over 10 scrapes.
        before = [int(x) for x in open(f"/proc/{d.p.pid}/stat").read().rsplit(")", 1)[1].split()[11:13]]
        for _ in range(10):
            scrape()
        after = [int(x) for x in open(f"/proc/{d.p.pid}/stat").read().rsplit(")", 1)[1].split()[11:13]]
        tick = os.sysconf("SC_CLK_TCK")
        res["cpu_ms_per_scrape"] = round((sum(after) - sum(before)) * 1000 / tick / 10, 1)
        # The event path while curl scrapes every second.
        scraper = subprocess.Popen(["sh", "-c", f"while :; do curl -s -o /dev/null http://127.0.0.1:{port}/metrics; sleep 1; done"])
        try:
            res["latency_scraping_every_1s"] = latency(d, NEV)
        finally:
            scraper.kill()
            scraper.wait()
        # Many more scrapes, back to back: does anything grow?
        for _ in range(10 * NSCRAPE):
            scrape()
        res["scrapes_total"] = 1 + NSCRAPE + 10 + 10 * NSCRAPE
        res["rss_end_kib"] = status(d.p.pid, "VmRSS")
    d.stop()
    print(json.dumps(res))


def run_default():
    """The defaults (limited, at most 2,000 cgroups per family): what a scrape costs then."""
    d = Daemon(True, default_cap=True)
    time.sleep(1)
    times = []
    for _ in range(NSCRAPE):
        t, size = scrape()
        times.append(t * 1000)
    times.sort()
    print(json.dumps({"config": "on, default cap", "cgroups": N, "scrape_ms_p50": round(times[len(times) // 2], 1),
                      "scrape_bytes": size, "rss_kib": status(d.p.pid, "VmRSS")}))
    d.stop()


try:
    run(False)
    run(True)
    run_default()
finally:
    shutil.rmtree(root, ignore_errors=True)
