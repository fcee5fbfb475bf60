#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# memwardenctl against a running memwardend on a fake cgroup tree: the
# status table, `events` (the recent records) and `events --follow` with
# each filter while a counter moves, a fifth follower refused and the four
# others still served, `reports` listing the report a policy wrote and
# showing it; a cgroup named with a terminal escape sequence never puts a
# control character on the terminal. Waits for states, not for time.
import os, select, shutil, signal, subprocess, sys, tempfile, time

daemon, ctl = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="mw-ctl-")
EVIL = "evil\x1b[2J\x07.service"
EVENTS = "low 0\nhigh %d\nmax 0\noom 0\noom_kill 0\n"


def mkcg(rel):
    d = os.path.join(tmp, "cg", rel)
    os.makedirs(d, exist_ok=True)
    for name, text in (("cgroup.controllers", "memory\n"), ("memory.high", "max\n"), ("memory.max", "max\n"),
                       ("memory.current", "4096\n"), ("cgroup.events", "populated 1\nfrozen 0\n"),
                       ("memory.events", EVENTS % 0), ("memory.stat", "anon 1048576\nfile 2097152\n")):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def run(*args):
    return subprocess.run([ctl, "--socket", sock, *args], capture_output=True, timeout=30)


def wait(what, pred, tries=300):
    for _ in range(tries):
        v = pred()
        if v:
            return v
        if proc.poll() is not None:
            sys.exit(f"FAIL: the daemon died waiting for {what}:\n" + open(err).read())
        time.sleep(0.05)
    sys.exit(f"FAIL: {what}")


def no_controls(b, what):
    bad = [c for c in b if (c < 0x20 and c not in (0x0a,)) or c == 0x7f]
    assert not bad, f"{what}: control bytes {bad[:5]} in {b[:300]!r}"


mkcg("")
web = mkcg("system.slice/web.service")
evil = mkcg("system.slice/" + EVIL)
pol = os.path.join(tmp, "pol")
os.makedirs(pol)
with open(os.path.join(pol, "web.yaml"), "w") as f:
    f.write("apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: web-high}\n"
            "spec:\n  match: {unit: web.service}\n"
            "  triggers: {any: [{memoryEvents: {counter: high, increase: 1, window: 10s}}]}\n"
            "  actions: [{type: notify}, {type: report}]\n")
sock, err, rep = os.path.join(tmp, "sock"), os.path.join(tmp, "daemon.err"), os.path.join(tmp, "rep")
proc = subprocess.Popen([daemon, "--no-bus", "--mlock", "off", "--output", "none", "--cgroup-root",
                         os.path.join(tmp, "cg"), "--policy-dir", pol, "--socket", sock, "--event-log", "",
                         "--report-dir", rep, "--state-dir", os.path.join(tmp, "state"), "--watch", "all",
                         "--no-psi", "--own-cgroup", "/"], stderr=open(err, "w"))
followers = []
ok = False
try:
    wait("the socket", lambda: run("status").returncode == 0)
    st = run("status").stdout
    no_controls(st, "status")
    assert b"/system.slice/web.service" in st and b"policies 1" in st, st
    # Four followers, each with a filter; a fifth is refused.
    filters = [["--policy", "web-high"], ["--cgroup", "/system.slice"], ["--event", "action"],
               ["--pod", "nope"]]
    for f in filters:
        followers.append(subprocess.Popen([ctl, "--socket", sock, "events", "--follow", *f],
                                          stdout=subprocess.PIPE))
    # Each follower is in (counted by the daemon) before the fifth asks.
    def followers_in():
        hdr = run("--json", "status").stdout.split(b"\n")[0]
        return b'"event_followers":4' in hdr
    wait("four followers", followers_in)
    r = run("events", "--follow")
    assert r.returncode == 1 and b"too many followers" in r.stderr, r
    with open(os.path.join(web, "memory.events"), "w") as f:
        f.write(EVENTS % 3)
    with open(os.path.join(evil, "memory.events"), "w") as f:
        f.write(EVENTS % 2)
    wait("a report", lambda: os.path.isdir(rep) and any(n.endswith(".json") for n in os.listdir(rep)))
    wait("the report's action record", lambda: b"action=report" in run("events", "--event", "action").stdout)
    recent = run("events").stdout
    no_controls(recent, "events")
    assert b"memory_events" in recent and b"phase=firing" in recent, recent
    assert b"\\u001b[2J" in recent, recent  # the evil name, escaped
    only = run("events", "--event", "memory_events", "--cgroup", "/system.slice/web.service").stdout
    assert only and all(b"memory_events" in l and b"web.service" in l for l in only.splitlines()), only
    js = run("--json", "events", "--policy", "web-high").stdout.splitlines()
    assert js and all(b'"policy":"web-high"' in l for l in js), js
    # The followers: the right lines, then EOF when the daemon goes.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    outs = [p.communicate(timeout=30)[0] for p in followers]
    for f, o in zip(filters, outs):
        no_controls(o, f"follower {f}")
    assert b"phase=firing" in outs[0] and b"action=notify" in outs[0], outs[0]
    assert b"web.service" in outs[1] and b"\\u001b" in outs[1], outs[1]
    assert outs[2] and all(b" action " in l for l in outs[2].splitlines()), outs[2]
    assert outs[3] == b"", outs[3]
    # Reports: listed, and one shown.
    lst = subprocess.run([ctl, "reports", "--report-dir", rep], capture_output=True).stdout
    assert b"web-high" in lst and b"/system.slice/web.service" in lst, lst
    name = [n for n in os.listdir(rep) if n.endswith(".json")][0]
    one = subprocess.run([ctl, "reports", os.path.join(rep, name)], capture_output=True)
    assert one.returncode == 0 and b"by kind    file 2.0 MiB, anon 1.0 MiB" in one.stdout, one.stdout
    print(one.stdout.decode())
    ok = True
finally:
    for p in followers:
        if p.poll() is None:
            p.kill()
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if not ok:
        print(open(err).read())
    shutil.rmtree(tmp, ignore_errors=True)
