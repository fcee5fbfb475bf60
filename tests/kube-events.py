#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Kubernetes Events (--kube-events) against a loopback HTTPS endpoint that
# checks each request as the API server would (there is no API server on
# these machines): POST to /apis/events.k8s.io/v1/namespaces/<ns>/events,
# the bearer token as the token file holds it now, JSON, and the
# events.k8s.io/v1 fields (validation as in k8s.io/kubernetes
# pkg/apis/core/validation ValidateEventCreate for events.k8s.io/v1).
# memwardend runs on a fake cgroup tree (the cgroupfs driver's layout) with
# fake kubelet log directories (pods, containers); nothing of the host's cgroups is used.
# Checked: nothing is sent with the feature off; throttle and freeze of a
# pod and the kill of a pod's application container make one Event each,
# rate limited per pod, container and action; a rotated token
# is used by the next request; a failing endpoint (500) gets bounded
# retries and a counted failure; a hanging one fills the bounded queue, the
# rest is dropped and counted, and the loop keeps answering the status
# socket. Waits for states, with bounds; latencies are printed.
import json, os, re, shutil, signal, ssl, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

daemon, ctl = sys.argv[1], sys.argv[2]
if not shutil.which("openssl"):
    print("SKIP: no openssl CLI (Debian package openssl)")
    sys.exit(77)
tmp = tempfile.mkdtemp(prefix="mw-kube-")
NS = "shop"
N_PODS = 24
UIDS = ["0d6c2b8c-1f0e-4a44-9d6e-%012x" % i for i in range(N_PODS + 1)]
# (namespace, pod name) by UID; the last pod is batch's, with a container "app".
PODS = {u: (NS, "web-%d" % i) if i < N_PODS else ("batch", "job-0") for i, u in enumerate(UIDS)}
KILL = N_PODS
POLICY = """---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: squeeze}
spec:
  match: {namespace: shop}
  triggers: {any: [{memoryEvents: {counter: high}}], clearAfter: 1h}
  actions:
    - {type: throttle, floor: 1Mi, step: 10%, interval: 1s}
    - {type: freeze}
---
apiVersion: memwarden/v1
kind: Policy
metadata: {name: oom-kill}
spec:
  match: {namespace: batch}
  triggers: {any: [{memoryEvents: {counter: oom_kill}}]}
  actions: [{type: kill}]
"""
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
FAILS = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        sys.exit(1)


def wait_for(what, cond, timeout=30):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    check(False, "waited %ds for %s" % (timeout, what))


class Api:
    """The API server's side: what it checks, what it answers."""
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (arrival, event dict or None, errors)
        self.mode = "ok"    # ok: 201; fail: 500; hang: no answer until released
        self.token = ""
        self.release = threading.Event()

    def validate(self, h, body):
        errs = []
        if h.command != "POST":
            errs.append("method " + h.command)
        m = re.fullmatch(r"/apis/events\.k8s\.io/v1/namespaces/([a-z0-9-]{1,63})/events", h.path)
        if not m:
            errs.append("path " + h.path)
        if h.headers.get("Authorization") != "Bearer " + self.token:
            errs.append("Authorization %r, the token is %r" % (h.headers.get("Authorization"), self.token))
        if h.headers.get("Content-Type") != "application/json":
            errs.append("Content-Type %r" % h.headers.get("Content-Type"))
        try:
            ev = json.loads(body)
        except ValueError as e:
            return None, errs + ["body is no JSON: %s" % e]
        md, rg = ev.get("metadata", {}), ev.get("regarding", {})
        want = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
        for k, v in want.items():
            if ev.get(k) != v:
                errs.append("%s %r" % (k, ev.get(k)))
        if m and md.get("namespace") != m.group(1):
            errs.append("metadata.namespace %r is not the path's" % md.get("namespace"))
        if not DNS_SUBDOMAIN.match(md.get("name", "")) or len(md.get("name", "")) > 253:
            errs.append("metadata.name %r" % md.get("name"))
        if not MICRO_TIME.match(ev.get("eventTime", "")):
            errs.append("eventTime %r" % ev.get("eventTime"))
        for k in ("reportingController", "reportingInstance", "action", "reason"):
            if not ev.get(k) or len(ev[k]) > 128:
                errs.append("%s %r" % (k, ev.get(k)))
        if ev.get("reportingController") != "memwarden.io/memwardend":
            errs.append("reportingController %r" % ev.get("reportingController"))
        if ev.get("reportingInstance") != "node-1":
            errs.append("reportingInstance %r" % ev.get("reportingInstance"))
        if ev.get("type") not in ("Normal", "Warning"):
            errs.append("type %r" % ev.get("type"))
        if len(ev.get("note", "").encode()) > 1024:
            errs.append("note of %d bytes" % len(ev["note"].encode()))
        if rg.get("kind") != "Pod" or rg.get("apiVersion") != "v1" or rg.get("namespace") != md.get("namespace"):
            errs.append("regarding %r" % rg)
        if PODS.get(rg.get("uid")) != (rg.get("namespace"), rg.get("name")):
            errs.append("regarding name/uid %r" % rg)
        return ev, errs

    def handler(api):
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with api.lock:
                    ev, errs = api.validate(self, body)
                    api.requests.append((time.monotonic(), ev, errs, self.headers.get("Authorization")))
                    mode = api.mode
                if mode == "hang":
                    api.release.wait(120)
                    return
                code = 201 if mode == "ok" and not errs else 500 if mode == "fail" else 422
                reply = json.dumps(ev if code == 201 else {"kind": "Status", "code": code}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_PUT = do_PATCH = do_POST
        return H

    def events(self):
        with self.lock:
            return list(self.requests)


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)  # as kubelet swaps a projected volume: a new inode


def put(path, text):
    with open(path, "w") as f:  # in place, as the kernel changes a cgroup file
        f.write(text)


def tree():
    cg = os.path.join(tmp, "cg")
    files = {"cgroup.controllers": "memory\n", "memory.high": "max\n", "memory.max": "max\n",
             "memory.current": "104857600\n", "cgroup.events": "populated 1\nfrozen 0\n",
             "cgroup.freeze": "0\n", "cgroup.kill": "", "cgroup.procs": "",
             "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"}
    dirs = [cg, os.path.join(cg, "kubepods"), os.path.join(cg, "kubepods", "burstable")]
    for i, uid in enumerate(UIDS):
        pod = os.path.join(cg, "kubepods", "burstable", "pod" + uid)
        dirs += [pod, os.path.join(pod, "%064x" % (i + 1))]
        os.makedirs(os.path.join(tmp, "pods", "%s_%s_%s" % (PODS[uid][0], PODS[uid][1], uid)))
    # kubelet's /var/log/containers entry names the batch pod's application container.
    os.makedirs(os.path.join(tmp, "containers"))
    os.symlink("/dev/null", os.path.join(tmp, "containers", "job-0_batch_app-%064x.log" % (KILL + 1)))
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
    pol = os.path.join(tmp, "pol")
    os.makedirs(pol)
    with open(os.path.join(pol, "admin.yaml"), "w") as f:
        f.write(POLICY)
    return cg, pol


def pod_dir(cg, i):
    return os.path.join(cg, "kubepods", "burstable", "pod" + UIDS[i])


def squeeze(cg, i, n=1):
    with open(os.path.join(pod_dir(cg, i), "memory.events"), "w") as f:
        f.write("low 0\nhigh %d\nmax 0\noom 0\noom_kill 0\n" % n)


def status(sock):
    t = time.monotonic()
    r = subprocess.run([ctl, "--socket", sock, "status", "--json"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or not r.stdout:
        check(False, "memwardenctl status: %d %s" % (r.returncode, r.stderr.strip()))
    return time.monotonic() - t, json.loads(r.stdout.splitlines()[0])


def actions(evlog, **want):
    out = []
    try:
        with open(evlog) as f:
            for line in f:
                r = json.loads(line)
                if r.get("event") == "action" and all(r.get(k) == v for k, v in want.items()):
                    out.append(r)
    except FileNotFoundError:
        pass
    return out


class Daemon:
    def __init__(self, name, cg, pol, port, token, ca, extra):
        self.sock = os.path.join(tmp, name + ".sock")
        self.evlog = os.path.join(tmp, name + ".jsonl")
        self.log = open(os.path.join(tmp, name + ".log"), "w+")
        env = dict(os.environ, NODE_NAME="node-1")
        self.p = subprocess.Popen(
            [daemon, "--cgroup-root", cg, "--cgroup-version", "2", "--no-bus", "--no-psi", "--socket", self.sock,
             "--policy-dir", pol, "--output", "none", "--event-log", self.evlog, "--report-dir", "",
             "--state-dir", "", "--pod-log-dir", os.path.join(tmp, "pods"),
             "--container-log-dir", os.path.join(tmp, "containers"), "--mlock", "off",
             "--oom-score-adj", "0", "--webhook-timeout", "1s", "--kube-api", "https://127.0.0.1:%d/" % port,
             "--kube-token", token, "--kube-ca", ca] + extra, stdout=self.log, stderr=self.log, env=env)
        wait_for("the status socket", lambda: os.path.exists(self.sock) or self.p.poll() is not None)
        self.running()

    def running(self):
        if self.p.poll() is not None:
            self.log.seek(0)
            check(False, "memwardend is running: exited %s\n%s" % (self.p.returncode, self.log.read()))

    def stats(self):
        self.running()
        return status(self.sock)[1]["actions"]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=60)
        self.log.seek(0)
        check(rc == 0, "memwardend exits cleanly on SIGTERM (%d)" % rc)


def main():
    cg, pol = tree()
    cert, key, ca = (os.path.join(tmp, n) for n in ("cert.pem", "key.pem", "ca.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    shutil.copy(cert, ca)
    token = os.path.join(tmp, "token")
    api = Api()
    api.token = "eyJhbGciOiJSUzI1NiJ9.first-token.sig"
    write(token, api.token + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), api.handler())
    server.daemon_threads = True
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    # 1. Off by default: the same daemon, the same endpoint given, no --kube-events.
    d = Daemon("off", cg, pol, port, token, ca, [])
    squeeze(cg, 0)
    wait_for("the throttle of web-0 (off)", lambda: actions(d.evlog, action="throttle", result="done"))
    wait_for("the freeze of web-0 (off)", lambda: actions(d.evlog, action="freeze", result="started"))
    d.stop()
    check(api.events() == [], "nothing is sent without --kube-events")
    for i in (0,):
        put(os.path.join(pod_dir(cg, i), "memory.high"), "max\n")
        put(os.path.join(pod_dir(cg, i), "cgroup.freeze"), "0\n")
        put(os.path.join(pod_dir(cg, i), "memory.events"), "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")

    # 2. On: a throttle (Normal) and a freeze (Warning, once cgroup.events says frozen).
    d = Daemon("on", cg, pol, port, token, ca, ["--kube-events"])
    t0 = time.monotonic()
    squeeze(cg, 0)
    first = wait_for("the throttle's Event", lambda: [e for e in api.events() if e[1] and e[1]["action"] == "Throttle"])
    print("  throttle Event %.3f s after memory.events changed" % (first[0][0] - t0))
    put(os.path.join(pod_dir(cg, 0), "cgroup.events"), "populated 1\nfrozen 1\n")
    wait_for("the freeze's Event", lambda: [e for e in api.events() if e[1] and e[1]["action"] == "Freeze"])
    # An OOM kill in batch's pod: its application container is killed, never the sandbox.
    put(os.path.join(pod_dir(cg, KILL), "memory.events"), "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n")
    wait_for("the kill's Event", lambda: [e for e in api.events() if e[1] and e[1]["action"] == "Kill"])
    for _, ev, errs, _ in api.events():
        check(errs == [], "the API server accepts %s: %s" % (ev and ev.get("reason"), errs or ev))
    by = {e[1]["action"]: e[1] for e in api.events()}
    th, fr, ki = by["Throttle"], by["Freeze"], by["Kill"]
    check(th["reason"] == "MemoryThrottled" and th["type"] == "Normal", "throttle: MemoryThrottled, Normal")
    check(fr["reason"] == "PodFrozen" and fr["type"] == "Warning", "freeze: PodFrozen, Warning")
    check(ki["reason"] == "ContainerKilled" and ki["type"] == "Warning" and ki["metadata"]["namespace"] == "batch"
          and ki["regarding"] == {"apiVersion": "v1", "kind": "Pod", "namespace": "batch", "name": "job-0",
                                  "uid": UIDS[KILL], "fieldPath": "spec.containers{app}"},
          "kill: ContainerKilled, Warning, in batch, regarding the container: %s" % ki["note"])
    check(th["regarding"] == {"apiVersion": "v1", "kind": "Pod", "namespace": NS, "name": "web-0", "uid": UIDS[0]},
          "regarding: the Pod by namespace, name and UID")
    check(th["note"].startswith("memwarden: throttled pod web-0 (policy squeeze): memory.high ")
          and "/kubepods/burstable/pod" + UIDS[0] in th["note"], "note: %s" % th["note"])
    check(len({e["metadata"]["name"] for e in (th, fr, ki)}) == 3, "each Event has a name of its own")
    # The throttle steps on every second while firing: those are rate limited.
    wait_for("later throttle steps rate limited",
             lambda: len(actions(d.evlog, action="throttle", result="done")) >= 3 and d.stats()["kube_events_limited"] >= 2)
    check(len([e for e in api.events() if e[1]["action"] == "Throttle"]) == 1,
          "one throttle Event per pod per interval (%d throttle steps)" % len(actions(d.evlog, action="throttle", result="done")))
    st = d.stats()
    check(st["kube_events_sent"] == 3 and st["kube_events_failed"] == 0 and st["kube_events_dropped"] == 0,
          "status: sent 3, failed 0, dropped 0 (%s)" % {k: v for k, v in st.items() if k.startswith("kube")})

    # 3. The token rotates: the next request carries the new one. The file is
    # looked at once a second at most (kube-events.c).
    api.token = "eyJhbGciOiJSUzI1NiJ9.second-token.sig"
    write(token, api.token + "\n")
    time.sleep(1.1)
    n = len(api.events())
    squeeze(cg, 1)
    ev = wait_for("web-1's Event", lambda: api.events()[n:])
    check(ev[0][3] == "Bearer " + api.token and ev[0][2] == [], "after rotation the new token is sent")

    # 4. A failing API server: retried a bounded number of times, then counted.
    with api.lock:
        api.mode = "fail"
    n = len(api.events())
    squeeze(cg, 2)
    wait_for("the failure counted", lambda: d.stats()["kube_events_failed"] == 1, timeout=60)
    tries = [e for e in api.events()[n:] if e[1] and e[1]["regarding"]["name"] == "web-2"]
    check(len(tries) == 4, "500: %d attempts (4: bounded retries), then counted as failed" % len(tries))

    # 5. A hanging one: the queue (16) fills, the rest is dropped and counted;
    # the loop goes on answering.
    with api.lock:
        api.mode = "hang"
    n = len(api.events())
    for i in range(3, N_PODS):
        squeeze(cg, i)
    wait_for("drops counted", lambda: d.stats()["kube_events_dropped"] > 0, timeout=60)
    worst = max(status(d.sock)[0] for _ in range(10))
    print("  status latency with %d requests hanging: worst of 10 %.3f s" % (len(api.events()) - n, worst))
    check(worst < 5, "the loop is not blocked by a hanging API server")
    wait_for("every throttle of the hung pods recorded",
             lambda: len({r["cgroup"] for r in actions(d.evlog, action="throttle", result="done")}) >= N_PODS)
    api.release.set()
    with api.lock:
        api.mode = "ok"
    st = d.stats()
    print("  %s" % {k: v for k, v in st.items() if k.startswith("kube")})
    d.stop()
    server.shutdown()
    shutil.rmtree(tmp)
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if e.code not in (0, None, 77):
            print("logs in", tmp)
        raise
