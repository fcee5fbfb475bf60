#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# memwardend on a fake cgroup tree with a policy directory of 3 namespaces
# of 32 files of ~195 KiB (18 MiB), each past its share of a load (2 MiB or
# 250 ms): the status socket answers while a reload runs (a status header
# that says policy_reload_running: true can only be served while the load is
# in progress, which a loop busy loading could not do), each namespace fails
# on its own (the load is not abandoned), the admin's policy stays in force,
# and the daemon exits cleanly. No timing asserts: it waits for states; the
# latencies are printed.
import json, os, shutil, signal, subprocess, sys, tempfile, time

daemon, ctl = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="mw-reload-")

POLICY = ("---\napiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: %s, description: \"%s\"}\n"
          "spec:\n  match: {%s}\n  triggers: {any: [{memoryEvents: {counter: oom_kill}}]}\n"
          "  actions: [{type: notify}]\n")


def tree():
    cg = os.path.join(tmp, "cg")
    for d in (cg, os.path.join(cg, "a.slice")):
        os.makedirs(d)
        for name, text in (("cgroup.controllers", "memory\n"), ("memory.high", "max\n"),
                           ("memory.max", "max\n"), ("memory.current", "0\n"),
                           ("cgroup.events", "populated 1\nfrozen 0\n"),
                           ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
    pol = os.path.join(tmp, "pol")
    os.makedirs(pol)
    with open(os.path.join(pol, "admin.yaml"), "w") as f:
        f.write(POLICY % ("admin-oom", "", 'unit: "a.slice"'))
    big = os.path.join(tmp, "big.yaml")
    with open(big, "w") as f:
        f.write("".join(POLICY % ("p%d" % i, "%0600d" % i, 'pod: "web-*"') for i in range(250)))
    for n in range(3):
        os.makedirs(os.path.join(pol, "ns%d" % n))
        for i in range(32):
            os.link(big, os.path.join(pol, "ns%d" % n, "f%02d.yaml" % i))
    return cg, pol


def status(sock):
    t = time.monotonic()
    r = subprocess.run([ctl, "--socket", sock, "status", "--json"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or not r.stdout:
        sys.exit(f"FAIL: memwardenctl status: {r.returncode} {r.stderr.strip()}")
    return time.monotonic() - t, json.loads(r.stdout.splitlines()[0])


def admin_policy(sock):
    r = subprocess.run([ctl, "--socket", sock, "--json", "explain", "/a.slice"], capture_output=True, text=True,
                       timeout=30)
    lines = r.stdout.splitlines()
    return json.loads(lines[1]).get("policy") if r.returncode == 0 and len(lines) > 1 else None


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        sys.exit(1)


def main():
    cg, pol = tree()
    sock = os.path.join(tmp, "mw.sock")
    log = open(os.path.join(tmp, "daemon.log"), "w+")
    p = subprocess.Popen([daemon, "--cgroup-root", cg, "--cgroup-version", "2", "--no-bus", "--no-psi",
                          "--socket", sock, "--policy-dir", pol, "--output", "none", "--event-log", "",
                          "--report-dir", "", "--pod-log-dir", "", "--mlock", "off", "--oom-score-adj", "0"],
                         stdout=log, stderr=log)
    try:
        while not os.path.exists(sock):
            if p.poll() is not None:
                check(False, "memwardend is running")
            time.sleep(0.05)
        _, hdr = status(sock)
        check(hdr["policy_reloads_abandoned"] == 0 and hdr["policy_sources_failed"] == 3,
              "at the first load each namespace failed past its share, and only those")
        check(admin_policy(sock) == "admin-oom", f"the admin's policy is in force ({hdr['policies']} policies)")
        seen, lat = 0, []
        for attempt in range(5):
            before = hdr["policy_reloads"]
            p.send_signal(signal.SIGHUP)
            while True:
                dt, hdr = status(sock)
                if hdr["policy_reload_running"]:
                    seen += 1
                    lat.append(dt * 1000)
                elif hdr["policy_reloads"] > before:
                    break
                time.sleep(0.005)
            if seen:
                break
        lat.sort()
        check(seen > 0, f"status answered {seen} times while the reload ran (latency median "
                        f"{lat[len(lat) // 2]:.1f} ms, max {lat[-1]:.1f} ms; the load took {hdr['policy_load_ms']} ms)")
        check(hdr["policy_reloads_abandoned"] == 0 and hdr["policy_reload_failures"] >= 1,
              "the reload was counted as a failure, not abandoned")
        check(admin_policy(sock) == "admin-oom", "the admin's policy is still in force")
        p.send_signal(signal.SIGTERM)
        check(p.wait(timeout=30) == 0, "memwardend exited 0 on SIGTERM")
        log.seek(0)
        check("past a namespace's share of a load" in log.read(), "each namespace's error is logged")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


main()
