#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# memwardend's /metrics and /healthz with real clients, on a fake cgroup
# tree with hostile names: curl scrapes, `promtool check metrics` finds no
# lint, every hostile name comes out escaped and distinct, a counter written
# to memory.events shows up with the kernel's value, a policy's phase and
# its notify step are counted, /healthz is 200, gives no answer while the
# daemon is stopped (SIGSTOP) and 200 again after SIGCONT; other paths 404,
# POST 405; --metrics-max-cgroups caps the cgroup series and says how many
# it left out. Skips (77) without curl or promtool. Waits for states.
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time

daemon = sys.argv[1]
for tool in ("curl", "promtool"):
    if not shutil.which(tool):
        print(f"{tool} not installed (Debian: curl, prometheus): skipped")
        sys.exit(77)

tmp = tempfile.mkdtemp(prefix="mw-metrics-")
HOSTILE = ['evil"quote.slice', 'back\\slash.slice', 'nl\nPRIORITY=0.slice', 'tab\there.slice',
           'caf\u00e9.slice', 'ctl\x01\x7f.slice', 'a' * 240 + '.slice', 'b' * 240 + '.slice',
           '} 1\nmemwarden_fake 2.slice', '# TYPE x counter.slice']
POD = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b1c2d3e_4f50_6172_8394_a5b6c7d8e9f0.slice"
EVENTS = "low 0\nhigh %d\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"


def mkcg(rel, high=0):
    d = os.path.join(tmp, "cg", rel)
    os.makedirs(d, exist_ok=True)
    parent = os.path.dirname(rel.rstrip("/"))
    if rel and not os.path.exists(os.path.join(tmp, "cg", parent, "memory.events")):
        mkcg(parent)  # every cgroup but the root has the memory files, as on the kernel
    for name, text in (("cgroup.controllers", "memory\n"), ("cgroup.subtree_control", "memory\n"),
                       ("memory.high", "max\n"), ("memory.max", "max\n"), ("memory.current", "4096\n"),
                       ("cgroup.events", "populated 1\nfrozen 0\n"), ("memory.events", EVENTS % high)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def curl(url, *extra, timeout=5):
    r = subprocess.run(["curl", "-s", "-m", str(timeout), "-o", "-", "-w", "\n%{http_code}", *extra, url],
                       capture_output=True)
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code or 0), body


def wait(what, pred, tries=200):
    for _ in range(tries):
        v = pred()
        if v:
            return v
        if proc.poll() is not None:
            sys.exit(f"FAIL: the daemon died waiting for {what}:\n" + open(err).read())
        time.sleep(0.05)
    sys.exit(f"FAIL: {what}")


def start(port, *extra):
    args = [daemon, "--no-bus", "--mlock", "off", "--output", "none", "--cgroup-root", os.path.join(tmp, "cg"),
            "--policy-dir", pol, "--socket", os.path.join(tmp, "sock"), "--event-log", "",
            "--report-dir", os.path.join(tmp, "rep"), "--state-dir", os.path.join(tmp, "state"),
            "--watch", "all", "--no-psi", "--own-cgroup", "/", "--metrics-listen", f"127.0.0.1:{port}", *extra]
    return subprocess.Popen(args, stderr=open(err, "w"))


def metric(text, name, **labels):
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


mkcg("")
web = mkcg("system.slice/web.service")
for h in HOSTILE:
    mkcg(h)
LONG = "l" * 200 + ".slice/" + "m" * 200 + ".slice"  # a path past the label bound: cut, with a hash
mkcg(LONG)
mkcg(POD)
mkcg(POD + "/cri-containerd-0123456789abcdef.scope")
pol = os.path.join(tmp, "pol")
os.makedirs(pol)
with open(os.path.join(pol, "web.yaml"), "w") as f:
    f.write("apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: web-high}\n"
            "spec:\n  match: {unit: web.service}\n"
            "  triggers: {any: [{memoryEvents: {counter: high, increase: 1, window: 10s}}]}\n"
            "  actions: [{type: notify}]\n")
err = os.path.join(tmp, "daemon.err")
port = free_port()
proc = start(port)
ok = False
try:
    wait("/healthz 200", lambda: curl(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200)
    code, body = curl(f"http://127.0.0.1:{port}/metrics")
    assert code == 200, code
    text = body.decode("utf-8")  # valid UTF-8 or this raises
    lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert lint.returncode == 0, "promtool: " + (lint.stdout + lint.stderr).decode()
    # Every hostile cgroup has its own series; nothing breaks out of a label.
    cgs = set(re.findall(r'memwarden_memory_events_total\{cgroup="((?:[^"\\]|\\.)*)"', text))
    # /, system.slice, web, the hostile ones, the long two, kubepods.slice, qos, pod, container
    assert len(cgs) == 3 + len(HOSTILE) + 2 + 4, sorted(cgs)
    assert any(len(c) <= 256 and re.search(r'~[0-9a-f]{16}$', c) for c in cgs if c.startswith('/lll')), 'cut'
    assert "memwarden_fake" not in [l.split("{")[0].split(" ")[0] for l in text.splitlines()]
    for line in text.splitlines():
        assert line.startswith("#") or re.match(r'^[a-z_]+(\{.*\})? [0-9.e+Inf-]+$', line), line
    # A pod and its container carry their labels.
    assert re.search(r'cgroup="/kubepods.slice/[^"]*pod0b1c2d3e[^"]*\.slice",', text), "pod series"
    # The kernel's counter, as memory.events says it.
    with open(os.path.join(web, "memory.events"), "w") as f:
        f.write(EVENTS % 7)
    wait("high=7 in /metrics", lambda: metric(curl(f"http://127.0.0.1:{port}/metrics")[1].decode(),
         "memwarden_memory_events_total", cgroup="/system.slice/web.service", event="high") == 7)
    text = wait("the notify step counted", lambda: (lambda t: t if (metric(
        t, "memwarden_actions_total", policy="web-high", action="notify") or 0) >= 1 else None)(
        curl(f"http://127.0.0.1:{port}/metrics")[1].decode()))
    assert metric(text, "memwarden_policy_phase", policy="web-high", phase="firing") == 1, "phase"
    assert metric(text, "memwarden_action_latency_seconds_count", action="notify") >= 1, "latency"
    assert metric(text, "memwarden_records_total", type="started") == 1
    print("scrape OK, promtool clean,", len(text.splitlines()), "lines")
    # Not found, not allowed.
    assert curl(f"http://127.0.0.1:{port}/nope")[0] == 404
    assert curl(f"http://127.0.0.1:{port}/metrics", "-X", "POST", "-d", "x")[0] == 405
    # A stopped loop does not answer; after SIGCONT it is healthy again.
    proc.send_signal(signal.SIGSTOP)
    code, _ = curl(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert code == 0, f"answered while stopped: {code}"
    proc.send_signal(signal.SIGCONT)
    wait("/healthz 200 after SIGCONT", lambda: curl(f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200)
    print("healthz: no answer while stopped, 200 after")
    # A scrape of many staging buffers (64 KiB each): 400 more cgroups with
    # long names; each family whole and once, every series there.
    for i in range(400):
        mkcg("many.slice/" + "x" * 180 + f"-{i:03d}.slice")
    proc.send_signal(signal.SIGHUP)  # rescan: they are picked up
    def all_there():
        t = curl(f"http://127.0.0.1:{port}/metrics")[1]
        return t if t.count(b'event="high"') == 3 + len(HOSTILE) + 2 + 4 + 401 else None
    body = wait("the 401 new cgroups in /metrics", all_there)
    assert len(body) > 8 * 65536, len(body)
    lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert lint.returncode == 0, "promtool: " + (lint.stdout + lint.stderr).decode()
    types = [l.split()[2] for l in body.decode().splitlines() if l.startswith("# TYPE ")]
    assert len(types) == len(set(types)), "a family twice"
    seen, last = set(), None
    for l in body.decode().splitlines():
        if l.startswith("#"):
            continue
        fam = re.sub(r"_(bucket|sum|count)$", "", l.split("{")[0].split(" ")[0])
        if fam != last:
            assert fam not in seen, f"family {fam} split"
            seen.add(fam)
            last = fam
    print(f"big scrape OK: {len(body)} bytes, promtool clean, every family whole")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, "exit code"
    shutil.rmtree(os.path.join(tmp, "cg", "many.slice"))
    # The cap: 3 cgroups per family, the rest counted as omitted.
    proc = start(port, "--metrics-max-cgroups", "3", "--metrics-cgroups", "all")
    wait("/healthz 200 (capped)", lambda: curl(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200)
    text = curl(f"http://127.0.0.1:{port}/metrics")[1].decode()
    cgs = set(re.findall(r'memwarden_memory_events_total\{cgroup="((?:[^"\\]|\\.)*)"', text))
    assert len(cgs) == 3, cgs
    assert metric(text, "memwarden_metrics_cgroups_omitted") == 3 + len(HOSTILE) + 2 + 4 - 3, text[-300:]
    print("cap OK")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, "exit code"
    ok = True
finally:
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.wait()
    if not ok:
        print(open(err).read())
    shutil.rmtree(tmp, ignore_errors=True)
