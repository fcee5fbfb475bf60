#!/usr/bin/env python3
"""aggregate.py RUN_DIR [--docs DIR] [--results DIR] [--no-plots]

bench/peers: turns one run (RUN_DIR/<daemon>/ as each guest wrote it, plus
RUN_DIR/scale/ and RUN_DIR/host-scale.jsonl) into
- RESULTS/summary.json and RESULTS/<daemon>/ (the small machine-readable
  files, and the daemon's own journal lines instead of the whole journal);
- DOCS/benchmarks.md (tables, ratios within the run, the configurations,
  the targets) and DOCS/peers-reaction.svg, DOCS/peers-idle.svg (gnuplot).

Every daemon's action is timed the same way: the journal's receive time
(__REALTIME_TIMESTAMP) of its first log line that is an action (the
patterns below, shown in the document), against the guest's own watcher
(the kernel's first `high` on memory.events, the hog's start and death)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ORDER = ["earlyoom", "systemd-oomd", "oomd", "nohang", "low-memory-monitor", "psi-notify", "memwarden"]
PEERS = ORDER[:-1]

# What counts as the daemon acting (first action) and as its kill, in its
# own journal lines (and, where the daemon writes there, the kernel log).
ACTION = {
    "earlyoom": r"low memory|sending SIG",
    "systemd-oomd": r"Killed |kill",
    "oomd": r"has fired|oomd kill|[Kk]illed",
    "nohang": r"corrective action|[Ss]ending SIG|SIGTERM|SIGKILL|TRIGGERED|exceed",
    "low-memory-monitor": r"Received memory pressure callback",
    "psi-notify": r"[Mm]emory alert: active",
    "memwarden": r"^memwarden: policy .* fired",
}
KILL = {
    "earlyoom": r"sending SIG",
    "systemd-oomd": r"Killed ",
    "oomd": r"[Kk]illed",
    "nohang": r"SIGTERM|SIGKILL|[Ss]ending SIG",
    "low-memory-monitor": None,  # the kernel's OOM killer, through sysrq
    "psi-notify": None,
    "memwarden": r"^record: kill done",  # its records (the journal has its notify lines only)
}
STATUS = {
    "earlyoom": "none",
    "systemd-oomd": "`oomctl dump`",
    "oomd": "`oomd --dump-stats`",
    "nohang": "none",
    "low-memory-monitor": "none (D-Bus signals only)",
    "psi-notify": "none",
    "memwarden": "`memwardenctl status`",
}
CONFIGS = {
    "earlyoom": ["earlyoom/earlyoom.default"],
    "systemd-oomd": ["systemd-oomd/oomd.conf", "systemd-oomd/bench.slice.conf"],
    "oomd": ["oomd/oomd.default", "oomd/oomd.json"],
    "nohang": ["nohang/nohang.conf.sed", "nohang/unbuffered.conf"],
    "low-memory-monitor": ["low-memory-monitor/low-memory-monitor.conf", "low-memory-monitor/debug.conf"],
    "psi-notify": ["psi-notify/psi-notify.conf", "psi-notify/psi-notify.service"],
    "memwarden": ["memwarden/policies.d/bench-limited.yaml", "memwarden/policies.d/bench-node.yaml"],
}
SMALL_FILES = ["meta.txt", "versions.tsv", "idle.jsonl", "limited-watch.json", "node-watch.json",
               "node-status.jsonl", "webhook.jsonl", "dbus-monitor.txt", "units-at-boot.txt", "limited-unit.txt",
               "memwarden-version.txt", "scale.jsonl", "status-policies.json", "records.jsonl"]


def read_meta(d):
    out = {}
    try:
        with open(os.path.join(d, "meta.txt"), errors="replace") as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    out[k] = v
    except OSError:
        pass
    return out


def load_json(path, default=None):
    try:
        with open(path, errors="replace") as f:
            v = json.load(f)
        return v if isinstance(v, dict) else default
    except (OSError, ValueError):
        return default


def load_jsonl(path):
    out = []
    try:
        with open(path, "rb") as f:
            for raw in f:
                try:
                    v = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(v, dict):
                    out.append(v)
    except OSError:
        pass
    return out


def message(e):
    m = e.get("MESSAGE", "")
    if isinstance(m, list):  # journald's byte array for non-UTF-8
        m = bytes(x for x in m if isinstance(x, int)).decode("utf-8", "replace")
    return m if isinstance(m, str) else str(m)


def daemon_journal(d, name, meta):
    """The daemon's own journal lines: its unit's (a peer), its PID's
    (memwarden, started by the scenario), and the kernel's lines that name
    it or its action (oomd writes its kills to /dev/kmsg; the kernel logs
    sysrq and OOM kills)."""
    path = os.path.join(d, "journal.json")
    unit, pid = meta.get("unit", ""), meta.get("pid", "")
    own, kernel = [], []
    if not os.path.exists(path):
        return load_jsonl(os.path.join(d, "daemon-journal.jsonl")), load_jsonl(os.path.join(d, "kernel-journal.jsonl"))
    for e in load_jsonl(path):
        try:
            t = int(e["__REALTIME_TIMESTAMP"]) / 1e6
        except (KeyError, ValueError):
            continue
        rec = {"t": t, "msg": message(e), "id": e.get("SYSLOG_IDENTIFIER", ""), "mid": e.get("MESSAGE_ID", "")}
        if e.get("_TRANSPORT") == "kernel":
            if re.search(r"oom|Out of memory|Killed process|sysrq|oomd", rec["msg"], re.I):
                kernel.append(rec)
        elif (unit and e.get("_SYSTEMD_UNIT") == unit) or (pid and e.get("_PID") == pid) or \
                (unit and e.get("UNIT") == unit and e.get("_PID") == "1"):
            rec["pid1"] = e.get("_PID") == "1"
            own.append(rec)
    # memwarden's records (its --output file): the kill steps' outcomes.
    for r in load_jsonl(os.path.join(d, "records.jsonl")):
        if r.get("event") == "action" and r.get("action") == "kill":
            own.append({"t": iso_time(r.get("ts", "")), "msg": f"record: kill {r.get('result')} {r.get('cgroup')}",
                        "id": "records", "mid": ""})
    own.sort(key=lambda r: r["t"])
    return own, kernel


def iso_time(ts):
    import calendar
    try:
        base, frac = ts.rstrip("Z").split(".")
        return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)
    except ValueError:
        return 0.0


def first(lines, pattern, t0, t1=None):
    if not pattern or t0 is None:
        return None
    rx = re.compile(pattern)
    for r in lines:
        if r["t"] >= t0 - 0.001 and (t1 is None or r["t"] <= t1) and not r.get("pid1") and rx.search(r["msg"]):
            return r
    return None


def idle_figures(samples, label):
    s = {x.get("label"): x for x in samples}
    a, b = s.get(label + "-start"), s.get(label + "-end")
    try:
        pa, pb = a["procs"][0], b["procs"][0]
        dt = float(b["t"]) - float(a["t"])
        if isinstance(pa.get("tids"), dict) and isinstance(pb.get("tids"), dict):
            # Per thread: one that started counts whole, one that exited is lost.
            n = sum(v - pa["tids"].get(t, 0) for t, v in pb["tids"].items())
        else:
            n = pb["ctxt"] - pa["ctxt"]
        wk = max(n, 0) / dt
    except (TypeError, KeyError, IndexError, ValueError, ZeroDivisionError):
        return None
    cpu = None
    if pa.get("ticks") is not None and pb.get("ticks") is not None:
        cpu = 100.0 * (pb["ticks"] - pa["ticks"]) / b.get("hz", 100) / dt
    return {"seconds": dt, "wakeups_per_s": wk, "cpu_pct": cpu,
            "rss_kib": pb.get("rss_kib"), "lck_kib": pb.get("lck_kib"), "threads": pb.get("threads")}


def victim(kernel, t0, t1):
    for r in kernel:
        if t0 - 0.001 <= r["t"] <= t1 + 5:
            m = re.search(r"Killed process \d+ \(([^)]*)\)", r["msg"])
            if m:
                return m.group(1), r
    return None, None


def analyse(d, name):
    meta = read_meta(d)
    own, kernel = daemon_journal(d, name, meta)
    out = {"name": name, "meta": meta, "status_query": STATUS[name]}
    samples = load_jsonl(os.path.join(d, "idle.jsonl"))
    out["idle"] = idle_figures(samples, name)
    if name == "memwarden":
        out["idle_no_node_policy"] = idle_figures(samples, "memwarden-no-node-policy")

    lw = load_json(os.path.join(d, "limited-watch.json"), {}) or {}
    t_high = lw.get("t_high")
    t_lend = lw.get("t_end")
    lim = {"t_high": t_high, "end": lw.get("end")}
    act = first(own, ACTION[name], t_high, t_lend + 2 if t_lend else None)
    kill = first(own, KILL[name], t_high, t_lend + 2 if t_lend else None)
    lim["first_action_s"] = act["t"] - t_high if act else None
    lim["first_action_line"] = act["msg"][:200] if act else None
    dead = lw.get("t_dead") if lw.get("end") in ("gone", "unpopulated") else None
    lim["kill_s"] = dead - t_high if dead and t_high else None
    lim["daemon_kill_line"] = kill["msg"][:200] if kill else None
    ob, oa = meta.get("limited_oom_kill_before"), meta.get("limited_oom_kill_after")
    lim["oom_kill_delta"] = int(oa) - int(ob) if ob and oa else None
    lim["cgroup_oom_kill"] = (lw.get("last") or {}).get("oom_kill", 0) - (lw.get("base") or {}).get("oom_kill", 0)
    lim["killed_by"] = killer(name, dead, kill, lim["oom_kill_delta"], kernel, t_high)
    if name == "memwarden":
        hooks = [h for h in load_jsonl(os.path.join(d, "webhook.jsonl")) if t_high and h.get("t", 0) >= t_high]
        lim["webhook_s"] = hooks[0]["t"] - t_high if hooks else None
        sig = dbus_first(d, "org.memwarden1.Manager", t_high)
        lim["dbus_signal_s"] = sig - t_high if sig else None
    if name == "low-memory-monitor":
        sig = dbus_first(d, "org.freedesktop.LowMemoryMonitor", t_high)
        lim["dbus_signal_s"] = sig - t_high if sig else None
    out["limited"] = lim

    nw = load_json(os.path.join(d, "node-watch.json"), {}) or {}
    t0, t1 = nw.get("t_start"), nw.get("t_end")
    node = {"end": nw.get("end"), "rc": nw.get("rc")}
    # A daemon's line may reach the journal a little after the hog died of it.
    act = first(own, ACTION[name], t0, t1 + 2 if t1 else None)
    kill = first(own, KILL[name], t0, t1 + 2 if t1 else None)
    node["first_action_s"] = act["t"] - t0 if act else None
    node["first_action_line"] = act["msg"][:200] if act else None
    node["daemon_kill_line"] = kill["msg"][:200] if kill else None
    node["kill_line_s"] = kill["t"] - t0 if kill else None
    node["end_s"] = t1 - t0 if t0 and t1 and nw.get("end") == "exit" else None
    node["oom_kill_delta"] = (nw["oom_kill_after"] - nw["oom_kill_before"]) if "oom_kill_after" in nw else None
    node["killed_by"] = killer(name, t1 if nw.get("end") == "exit" else None, kill, node["oom_kill_delta"], kernel, t0)
    if node["killed_by"] == name and kill:
        t_kill = kill["t"]
    else:
        t_kill = None
    # MemAvailable when the daemon decided its kill (its line): the last
    # sample at or before it.
    node["avail_at_kill_mib"] = None
    if t_kill is not None:
        before = [a for t, a in nw.get("series", []) if t <= t_kill]
        if before:
            node["avail_at_kill_mib"] = before[-1] / 1024
    node["min_avail_mib"] = nw["min_avail_kib"] / 1024 if nw.get("min_avail_kib") is not None else None

    vname, _ = victim(kernel, t0 or 0, t1 or 0)
    node["kernel_victim"] = vname
    # What the daemon killed after the hog was dead (while the node recovered).
    later = [r for r in own if t1 and t1 + 2 < r["t"] <= t1 + 120 and KILL[name] and re.search(KILL[name], r["msg"])]
    node["later_kills"] = [r["msg"][:200] for r in later]
    out["node"] = node

    st = load_jsonl(os.path.join(d, "node-status.jsonl"))
    if st:
        durs = [s["t_end"] - s["t"] for s in st]
        out["responsive"] = {"asked": len(st), "answered": sum(1 for s in st if s["rc"] == 0 and s["t_end"] - s["t"] <= 5),
                             "slowest_s": max(durs), "timeouts": sum(1 for s in st if s["rc"] == 124)}
    else:
        out["responsive"] = None
    out["journal"] = own
    out["kernel_journal"] = kernel
    return out


def killer(name, t_dead, kill_line, oom_delta, kernel, t0):
    """Who killed the hog: the daemon when its kill line came before the hog
    was seen dead; the kernel when it OOM-killed the hog; else the daemon if
    its line came within 2 s after (a log written late)."""
    if t_dead is None:
        return None
    if kill_line and kill_line["t"] <= t_dead:
        return name
    vname, vrec = victim(kernel, t0 or 0, t_dead)
    kernel_hog = oom_delta and vname == "mw-hog" and vrec["t"] <= t_dead + 2
    if kill_line and kill_line["t"] <= t_dead + 2 and not kernel_hog:
        return name
    if oom_delta:
        return "kernel OOM killer" + (" (sysrq from low-memory-monitor)" if name == "low-memory-monitor" and
                                      any("sysrq" in r["msg"].lower() or "Manual OOM" in r["msg"] for r in kernel
                                          if t0 and r["t"] >= t0) else "")
    return "unknown"


def dbus_first(d, iface, t0):
    if t0 is None:
        return None
    try:
        with open(os.path.join(d, "dbus-monitor.txt"), errors="replace") as f:
            for line in f:
                m = re.match(r"signal time=([0-9.]+) .*interface=([\w.]+)", line)
                if m and m.group(2) == iface and float(m.group(1)) >= t0:
                    return float(m.group(1))
    except OSError:
        pass
    return None


def yes_no(v):
    return {"1": "yes", "0": "**no**"}.get(v, "-")


def fmt_s(v, never="never"):
    if v is None:
        return never
    if v < 1:
        return f"{v * 1000:.0f} ms"
    return f"{v:.1f} s"


def fmt(v, spec="{:.1f}", none="-"):
    return none if v is None else spec.format(v)


def ratio(v, ref):
    if v is None or not ref:
        return "-"
    return f"{v / ref:,.0f}x" if v / ref >= 10 else f"{v / ref:.1f}x"


def copy_small(src, dst, a):
    os.makedirs(dst, exist_ok=True)
    for f in SMALL_FILES:
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    with open(os.path.join(dst, "daemon-journal.jsonl"), "w") as f:
        for r in a.get("journal", [])[:3000]:
            f.write(json.dumps(r) + "\n")
    with open(os.path.join(dst, "kernel-journal.jsonl"), "w") as f:
        for r in a.get("kernel_journal", [])[:1000]:
            f.write(json.dumps(r) + "\n")


def plots(docs, rows):
    if not shutil.which("gnuplot"):
        print("aggregate: gnuplot not installed (apt-get install gnuplot-nox): no plots", file=sys.stderr)
        return []
    tmp = tempfile.mkdtemp(prefix="peers-plot-")
    never = 100.0  # drawn at the axis' end, labelled "never"
    with open(os.path.join(tmp, "react.dat"), "w") as f:
        for a in rows:
            lv = a["limited"]["first_action_s"]
            nv = a["node"]["killed_by"] and a["node"]["end_s"]
            nd = a["node"]["end_s"] if a["node"]["killed_by"] == a["name"] else None
            f.write(f"\"{a['name']}\" {lv if lv is not None else never} {nd if nd is not None else never} "
                    f"\"{fmt_s(lv)}\" \"{fmt_s(nd) if nd is not None else ('kernel OOM' if nv else 'never')}\"\n")
    with open(os.path.join(tmp, "idle.dat"), "w") as f:
        for a in rows:
            i = a["idle"] or {}
            f.write(f"\"{a['name']}\" {i.get('wakeups_per_s') or 0} {(i.get('rss_kib') or 0) / 1024}\n")
            if a.get("idle_no_node_policy"):
                i = a["idle_no_node_policy"]
                f.write(f"\"{a['name']} (none)\" {i.get('wakeups_per_s') or 0} {(i.get('rss_kib') or 0) / 1024}\n")
    common = """set terminal svg size 1000,440 dynamic font 'sans,11' background rgb 'white'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics nomirror font 'sans,10'
set grid ytics
set key outside top center horizontal
"""
    react = common + f"""set output '{os.path.join(docs, "peers-reaction.svg")}'
set title 'Reaction time (s, log scale; bars at 100 s: never acted)'
set logscale y
set yrange [0.001:200]
set ylabel 'seconds'
plot '{tmp}/react.dat' using 2:xtic(1) title 'limited hog: first high -> first action', \\
     '' using 3 title 'node-wide hog: start -> its own kill'
"""
    idle = common + f"""set output '{os.path.join(docs, "peers-idle.svg")}'
set title "Idle cost with 200 cgroups, 60 s (memwarden (none): without node policies)"
set ylabel 'wake-ups per second'
set y2label 'RSS (MiB)'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot '{tmp}/idle.dat' using 2:xtic(1) title 'wake-ups/s' axes x1y1, \\
     '' using 3 title 'RSS MiB' axes x1y2
"""
    made = []
    for name, script in (("peers-reaction.svg", react), ("peers-idle.svg", idle)):
        p = os.path.join(tmp, name + ".gp")
        with open(p, "w") as f:
            f.write(script)
        r = subprocess.run(["gnuplot", p], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"aggregate: gnuplot {name}: {r.stderr.strip()}", file=sys.stderr)
        else:
            made.append(name)
    shutil.rmtree(tmp, ignore_errors=True)
    return made


def scale_rows(run):
    guest = load_jsonl(os.path.join(run, "scale", "scale.jsonl"))
    host = load_jsonl(os.path.join(run, "host-scale.jsonl"))
    return guest, host


def targets(by):
    mw = by.get("memwarden")
    t = []
    if not mw:
        return t
    peers = [by[p] for p in PEERS if p in by]
    lim = [p["limited"]["first_action_s"] for p in peers if p["limited"]["first_action_s"] is not None]
    m = mw["limited"]["first_action_s"]
    if m is not None and lim:
        fastest = min(lim)
        t.append(("limited hog: first action at least 100x sooner than the fastest peer",
                  fastest / m >= 100, f"memwarden {fmt_s(m)}, fastest peer {fmt_s(fastest)}: {fastest / m:,.0f}x"))
    else:
        t.append(("limited hog: first action at least 100x sooner than the fastest peer", m is not None,
                  f"memwarden {fmt_s(m)}; no peer acted"))
    n, e = mw["node"], by.get("earlyoom", {}).get("node")
    mine = n["killed_by"] == "memwarden"
    if e:
        eo = e["end_s"] if e["killed_by"] == "earlyoom" else None
        before = mine and (eo is None or n["end_s"] < eo)
        t.append(("node-wide hog: memwarden acts before earlyoom", before,
                  f"memwarden {fmt_s(n['end_s'] if mine else None)}, earlyoom {fmt_s(eo)}"))
    t.append(("node-wide hog: on the hog", mine and n["rc"] in (-9, -15),
              f"killed by {n['killed_by']}, hog exit {n['rc']}"))
    t.append(("node-wide hog: the kernel OOM killer never fires (memwarden's run, both hogs)",
              n["oom_kill_delta"] == 0 and mw["limited"]["oom_kill_delta"] == 0,
              f"oom_kill +{n['oom_kill_delta']} (node), +{mw['limited']['oom_kill_delta']} (limited)"))
    wi = (mw["idle"] or {}).get("wakeups_per_s")
    pw = [(p["name"], p["idle"]["wakeups_per_s"]) for p in peers if p.get("idle")]
    if wi is not None and pw:
        lo = min(pw, key=lambda x: x[1])
        t.append(("idle: fewer wake-ups than every peer", all(wi < w for _, w in pw),
                  f"memwarden {wi:.3f}/s, fewest of the peers {lo[0]} {lo[1]:.3f}/s"))
    w0 = (mw.get("idle_no_node_policy") or {}).get("wakeups_per_s")
    if w0 is not None:
        t.append(("idle: 0 wake-ups without node policies", w0 * 60 < 0.5,
                  f"{w0 * 60:.1f} per minute ({w0:.3f}/s)"))
    er = (by.get("earlyoom", {}).get("idle") or {}).get("rss_kib")
    mr = (mw["idle"] or {}).get("rss_kib")
    if er and mr:
        t.append(("RSS within earlyoom's + 3 MiB at 200 cgroups", mr <= er + 3072,
                  f"memwarden {mr / 1024:.1f} MiB, earlyoom {er / 1024:.1f} MiB"))
    return t


def document(run, by, made, guest_scale, host_scale):
    rows = [by[n] for n in ORDER if n in by]
    mw = by.get("memwarden")
    any_meta = rows[0]["meta"] if rows else {}
    versions = {}
    for a in rows:
        try:
            with open(os.path.join(run, a["name"], "versions.tsv"), errors="replace") as f:
                for line in f:
                    k, _, v = line.strip().partition("\t")
                    if v:
                        versions[k] = v
        except OSError:
            pass
    mwv = ""
    if mw:
        try:
            mwv = open(os.path.join(run, "memwarden", "memwarden-version.txt"), errors="replace").read().strip().splitlines()[0]
        except (OSError, IndexError):
            pass
    L = []
    w = L.append
    w("# Benchmarks: memwarden beside the established memory daemons")
    w("")
    w("Written by `bench/peers/aggregate.py` from one run of `bench/peers/run.sh BUILDDIR` (every daemon in")
    w("a fresh boot of the same guest image, one after the other, in the project's VM harness). Do not")
    w("edit by hand: run it again. The machine-readable results are in `bench/peers/results/`; how the")
    w("run is made, in `bench/peers/README.md`. The daemon's own benchmarks (fake trees, no VM) are in")
    w("`bench/README.md`.")
    w("")
    w("## The run")
    run_info = load_json(os.path.join(run, "run.json"), {}) or {}
    mem = int(any_meta.get("mem_total_kib", "0") or 0)
    w(f"- When: {run_info.get('date', '?')}; memwarden {run_info.get('git', '?')} ({mwv or 'version ?'}).")
    w(f"- Guest: Debian 12, kernel {any_meta.get('kernel', '?')}, {mem // 1024} MiB RAM"
      f" (MemTotal), swap {int(any_meta.get('swap_total_kib', '0') or 0) // 1024} MiB,"
      f" {any_meta.get('nproc', '?')} vCPUs under qemu **TCG** (software emulation) on a shared 2-core host.")
    w("- Packages (dpkg-query in the guest): " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".")
    w("- **Absolute times are inflated**: under TCG everything (the hog, the kernel, each daemon) runs several")
    w("  times slower than on hardware, and the host was shared. Compare the daemons within this run (the")
    w("  ratio columns), not with other machines.")
    w("")
    w("## Phases (the same for every daemon)")
    w("1. **idle**: 60 s with 200 cgroups (each with `memory.max`, so memwarden watches all), no pressure:")
    w("   context switches summed over `/proc/PID/task/*/status` (voluntary + nonvoluntary) per second,")
    w("   CPU (utime+stime), RSS and VmLck at the end.")
    w("2. **cgroup-limited hog**: a transient service in `bench.slice` with `MemoryHigh=64M`,")
    w("   `MemoryMax=256M`, no swap, that needs 128 MiB and touches 8 MiB every 100 ms (`tests/mw-hog.c`).")
    w("   From the kernel's first `high` increment (an inotify watcher on its `memory.events`, stamped in")
    w("   the guest) to the daemon's first action (the journal's receive time of its first action line)")
    w("   and to the hog's death (the watcher: `cgroup.events` unpopulated). Without a kill within "
      "40 s of the first `high`, \"never\": the kernel throttles such a workload indefinitely.")
    w("3. **node-wide hog**: the same hog asking 4 GiB in an unlimited scope of `bench.slice` beside a")
    w("   16 MiB bystander: hog start to its death, who killed it, MemAvailable (10 ms samples) at the")
    w("   kill (the last sample at or before the daemon's kill line, or the kernel's OOM kill line) and")
    w("   its lowest, the kernel's `oom_kill` (`/proc/vmstat`) delta. For a kernel OOM kill only the")
    w("   lowest: the sampler itself stalls on a thrashing node, and the kernel's message stamps run on")
    w("   another clock (under TCG seconds apart from the wall clock).")
    w("4. **responsiveness**: during phase 3, the daemon's own status query every 0.5 s, answered within")
    w("   5 s or not.")
    w("")
    w("Each hog starts when the node is calm again (MemAvailable above 600 MiB, memory `some` avg10 below")
    w("5%), the node-wide one 20 s later still: longer than the 15 s each peer waits after it acted")
    w("(low-memory-monitor's recovery interval, nohang's, oomd's and systemd-oomd's post-action delays).")
    w("The idle wake-ups count each thread's own context switches (a thread that exits in the window")
    w("takes its count along: a lower bound where threads come and go).")
    w("")
    w("## Idle cost (200 cgroups, 60 s)")
    w("| daemon | wake-ups/s | vs memwarden | CPU % | RSS MiB | VmLck MiB | threads |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    ref = (mw["idle"] or {}).get("wakeups_per_s") if mw else None
    for a in rows:
        i = a["idle"] or {}
        wk = i.get("wakeups_per_s")
        w(f"| {a['name']} | {fmt(wk, '{:.2f}' if wk is not None and wk >= 1 else '{:.3f}')} | {ratio(wk, ref) if a['name'] != 'memwarden' else '1x'} | "
          f"{fmt(i.get('cpu_pct'), '{:.2f}')} | {fmt((i.get('rss_kib') or 0) / 1024)} | "
          f"{fmt((i.get('lck_kib') or 0) / 1024)} | {i.get('threads', '-')} |")
    if mw and mw.get("idle_no_node_policy"):
        i = mw["idle_no_node_policy"]
        w(f"| memwarden, no node policy | {i['wakeups_per_s']:.3f} | | {fmt(i.get('cpu_pct'), '{:.2f}')} | "
          f"{fmt((i.get('rss_kib') or 0) / 1024)} | {fmt((i.get('lck_kib') or 0) / 1024)} | {i.get('threads', '-')} |")
    w("")
    w("(\"vs memwarden\": the peer's wake-ups over memwarden's with its node policy loaded.)")
    w("")
    if "peers-idle.svg" in made:
        w("![idle cost](peers-idle.svg)")
        w("")
    w("## Cgroup-limited hog")
    w("| daemon | first `high` -> first action | vs memwarden | the action (its journal line) | -> hog dead | killed by | kernel OOM kills | bystander, daemon alive after |")
    w("|---|---:|---:|---|---:|---|---:|---|")
    ref = mw["limited"]["first_action_s"] if mw else None
    for a in rows:
        lim = a["limited"]
        line = (lim["first_action_line"] or "").replace("|", "/")[:90]
        w(f"| {a['name']} | {fmt_s(lim['first_action_s'])} | "
          f"{ratio(lim['first_action_s'], ref) if a['name'] != 'memwarden' else '1x'} | {line or '-'} | "
          f"{fmt_s(lim['kill_s'])} | {lim['killed_by'] or '-'} | {fmt(lim['oom_kill_delta'], '{}')} | "
          f"{yes_no(a['meta'].get('limited_keep_alive'))}, {yes_no(a['meta'].get('limited_daemon_alive'))} |")
    if mw:
        lim = mw["limited"]
        w("")
        hook = f"webhook received {fmt_s(lim['webhook_s'])}, " if lim.get("webhook_s") is not None else ""
        w(f"memwarden's notify, seen independently: {hook}its D-Bus `PolicyEvent` received by dbus-monitor "
          f"{fmt_s(lim.get('dbus_signal_s'), 'not seen')} after the first `high`.")
    w("")
    w("## Node-wide hog")
    w("| daemon | start -> first action | -> its kill (its line) | -> hog dead | vs memwarden | killed by | MemAvailable at the kill (MiB) | lowest (MiB) | kernel OOM kills | bystander, daemon alive after |")
    w("|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
    ref = mw["node"]["end_s"] if mw and mw["node"]["killed_by"] == "memwarden" else None
    for a in rows:
        n = a["node"]
        who = n["killed_by"] or "-"
        if n["kernel_victim"] and who.startswith("kernel"):
            who += f" ({n['kernel_victim']})"
        late = lambda v: " (after)" if v is not None and n["end_s"] is not None and v > n["end_s"] else ""
        w(f"| {a['name']} | {fmt_s(n['first_action_s'])}{late(n['first_action_s'])} | "
          f"{fmt_s(n['kill_line_s'], '-')}{late(n['kill_line_s'])} | {fmt_s(n['end_s'], 'alive at the bound')} | "
          f"{(ratio(n['end_s'], ref) if n['killed_by'] == a['name'] else '-') if a['name'] != 'memwarden' else '1x'} | {who} | "
          f"{fmt(n['avail_at_kill_mib'])} | {fmt(n['min_avail_mib'])} | {fmt(n['oom_kill_delta'], '{}')} | "
          f"{yes_no(a['meta'].get('node_keep_alive'))}, {yes_no(a['meta'].get('node_daemon_alive'))} |")
    w("")
    w("(after): the line reached the journal after the hog was dead.")
    for a in rows:
        for k in a["node"].get("later_kills", []):
            w(f"- {a['name']}, after the hog had died: \"{k}\"")
    w("")
    if "peers-reaction.svg" in made:
        w("![reaction times](peers-reaction.svg)")
        w("")
    w("## Responsiveness while the node thrashes (during the node-wide hog)")
    w("| daemon | status query | answered within 5 s / asked | slowest |")
    w("|---|---|---:|---:|")
    for a in rows:
        r = a["responsive"]
        if r:
            w(f"| {a['name']} | {a['status_query']} | {r['answered']} / {r['asked']} | {fmt_s(r['slowest_s'])} |")
        else:
            w(f"| {a['name']} | {a['status_query']} | - | - |")
    w("")
    if guest_scale or host_scale:
        w("## Scale (memwarden)")
        w("| tree | cgroups | walk | RSS MiB | VmLck MiB | event latency p50 / p99 / max |")
        w("|---|---:|---:|---:|---:|---|")
        for g in guest_scale:
            w(f"| real, in the guest (TCG) | {g.get('cgroups')} | {fmt((g.get('walk_us') or 0) / 1000, '{:.0f}')} ms | "
              f"{fmt((g.get('rss_kib') or 0) / 1024)} | {fmt((g.get('lck_kib') or 0) / 1024)} | "
              f"{fmt_lat(g)} (the kernel's `high` to its record, {g.get('events', '?')} events) |")
        for h in host_scale:
            watched = "all watched (bench-agent)" if "watched" not in h else f"{h['watched']:,} watched (host-scale.py)"
            w(f"| fake (tmpfs), on the host, {watched} | {h.get('cgroups')} | {fmt((h.get('walk_us') or 0) / 1000, '{:.0f}')} ms | "
              f"{fmt((h.get('rss_kib') or 0) / 1024)} | {fmt((h.get('locked_kib') or 0) / 1024)} | "
              f"{fmt(h.get('latency_p50_us'), '{:.0f}')} / {fmt(h.get('latency_p99_us'), '{:.0f}')} / "
              f"{fmt(h.get('latency_max_us'), '{:.0f}')} us (a `memory.events` write to the record) |")
        if guest_scale:
            w("")
            w("In the guest the event path is timed by a watcher that waits on both inotify watches (the")
            w("cgroup's `memory.events`, memwarden's records file): 0 ms means both notifications were")
            w("queued when it woke, memwarden's record written before the watcher had run at all.")
        w("")
    w("## Targets (issue 18), in this run")
    w("| target | met | figures |")
    w("|---|---|---|")
    for name, ok, fig in targets(by):
        w(f"| {name} | {'yes' if ok else '**no**'} | {fig} |")
    w("")
    notes = os.path.join(HERE, "notes.md")
    if os.path.exists(notes):
        w("## Reading it")
        w(open(notes).read().rstrip())
        w("")
    w("## How each daemon was configured")
    w("As close to memwarden's policy as each allows: act at 128 MiB MemAvailable (earlyoom, nohang,")
    w("memwarden), pressure `some` above 10% for 1 s where a daemon acts on pressure (systemd-oomd, oomd,")
    w("nohang's PSI check, psi-notify; low-memory-monitor's triggers are compiled in), and kill the hog")
    w("where the daemon can kill. Poll intervals are the packages' defaults. The files, as committed under")
    w("`bench/peers/` and installed in the guest by `integration/scenarios/peers.sh`:")
    w("")
    for a in rows:
        w(f"### {a['name']}")
        w(f"Action lines matched (first action): `{ACTION[a['name']]}`; kill: `{KILL[a['name']] or 'the kernel log'}`.")
        w("")
        for c in CONFIGS[a["name"]]:
            try:
                text = open(os.path.join(HERE, c)).read().rstrip()
            except OSError:
                continue
            w(f"`bench/peers/{c}`:")
            w("```")
            w(text)
            w("```")
        w("")
    return "\n".join(L) + "\n"


def fmt_lat(g):
    if g.get("latency_p50_ms") is None:
        return "-"
    return f"{g['latency_p50_ms']:.1f} / {g['latency_p99_ms']:.1f} / {g['latency_max_ms']:.1f} ms"


def main(argv):
    args = argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    run = args[0]
    docs = os.path.join(HERE, "..", "..", "docs")
    results = os.path.join(HERE, "results")
    do_plots = True
    i = 1
    while i < len(args):
        if args[i] == "--docs":
            docs, i = args[i + 1], i + 2
        elif args[i] == "--results":
            results, i = args[i + 1], i + 2
        elif args[i] == "--no-plots":
            do_plots, i = False, i + 1
        else:
            print(f"aggregate: unknown argument {args[i]}", file=sys.stderr)
            return 2
    by = {}
    for name in ORDER:
        d = os.path.join(run, name)
        if os.path.isdir(d):
            by[name] = analyse(d, name)
    if not by:
        print(f"aggregate: no daemon's results under {run}", file=sys.stderr)
        return 1
    os.makedirs(docs, exist_ok=True)
    os.makedirs(results, exist_ok=True)
    if os.path.realpath(results) != os.path.realpath(run):
        for name, a in by.items():
            copy_small(os.path.join(run, name), os.path.join(results, name), a)
        for extra in ("run.json", "host-scale.jsonl"):
            if os.path.exists(os.path.join(run, extra)):
                shutil.copy(os.path.join(run, extra), os.path.join(results, extra))
        if os.path.exists(os.path.join(run, "scale", "scale.jsonl")):
            os.makedirs(os.path.join(results, "scale"), exist_ok=True)
            shutil.copy(os.path.join(run, "scale", "scale.jsonl"), os.path.join(results, "scale", "scale.jsonl"))
    guest_scale, host_scale = scale_rows(run)
    summary = {n: {k: v for k, v in a.items() if k not in ("journal", "kernel_journal")} for n, a in by.items()}
    summary["targets"] = [{"target": t, "met": ok, "figures": f} for t, ok, f in targets(by)]
    summary["scale"] = {"guest": guest_scale, "host": host_scale}
    with open(os.path.join(results, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    made = plots(docs, [by[n] for n in ORDER if n in by]) if do_plots else []
    with open(os.path.join(docs, "benchmarks.md"), "w") as f:
        f.write(document(run, by, made, guest_scale, host_scale))
    for t, ok, fig in targets(by):
        print(f"{'MET' if ok else 'NOT MET'}: {t}: {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
