#!/usr/bin/env python3
"""Unit test of bench/peers/aggregate.py (suite unit, no VM): the committed
docs/benchmarks.md is what the committed bench/peers/results give (so the
document stays true to its data), and the aggregator survives results that
are missing, truncated or garbage (a guest that died mid-run) without
inventing figures."""
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.realpath(__file__))
top = os.path.realpath(os.path.join(here, "..", ".."))
agg = [sys.executable, os.path.join(here, "aggregate.py")]
fails = 0


def check(cond, msg):
    global fails
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fails += 1


def strip(text):
    return [l for l in text.splitlines() if l.strip() and not l.startswith("![")]


with tempfile.TemporaryDirectory() as tmp:
    res = os.path.join(here, "results")
    if os.path.exists(os.path.join(res, "summary.json")):
        r = subprocess.run(agg + [res, "--docs", os.path.join(tmp, "docs"), "--results", os.path.join(tmp, "res"),
                                  "--no-plots"], capture_output=True, text=True)
        check(r.returncode == 0, f"aggregate.py on the committed results ({r.stderr.strip()[:200]})")
        made = open(os.path.join(tmp, "docs", "benchmarks.md")).read()
        have = open(os.path.join(top, "docs", "benchmarks.md")).read()
        a, b = strip(made), strip(have)
        diff = [(x, y) for x, y in zip(a, b) if x != y][:3]
        check(a == b, "docs/benchmarks.md is what aggregate.py makes of bench/peers/results" +
              (f": first differences {diff}" if diff else f" (lines {len(a)} vs {len(b)})" if a != b else ""))
    else:
        print("skip: no committed results yet")

    # Empty: no daemon's results is an error, not an empty table.
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    r = subprocess.run(agg + [empty, "--docs", os.path.join(tmp, "d1"), "--results", os.path.join(tmp, "r1"),
                              "--no-plots"], capture_output=True, text=True)
    check(r.returncode == 1, "no results: exit 1")

    # Garbage and truncation: a daemon whose guest died after the idle phase,
    # one whose files are binary junk.
    run = os.path.join(tmp, "run")
    for d in ("earlyoom", "memwarden"):
        os.makedirs(os.path.join(run, d))
    with open(os.path.join(run, "earlyoom", "meta.txt"), "w") as f:
        f.write("peer=earlyoom\nunit=earlyoom.service\npid=12\nno equals sign\n")
    with open(os.path.join(run, "earlyoom", "idle.jsonl"), "w") as f:
        f.write('{"label":"earlyoom-start","t":10,"hz":100,"procs":[{"ctxt":5,"ticks":1,"rss_kib":2000}]}\n')
        f.write('{"label":"earlyoom-end","t":70,"hz":100,"procs":[{"ctxt":65,"ticks":2,"rss_kib":2100}]}\n')
        f.write('{"label":"trunc')
    with open(os.path.join(run, "earlyoom", "journal.json"), "w") as f:
        f.write('{"__REALTIME_TIMESTAMP":"x"}\n[1,2]\n{"MESSAGE":[255,254,65]}\n')
    for name in ("meta.txt", "idle.jsonl", "limited-watch.json", "node-watch.json", "journal.json",
                 "records.jsonl", "dbus-monitor.txt", "node-status.jsonl"):
        with open(os.path.join(run, "memwarden", name), "wb") as f:
            f.write(b"\x00\xff{\"t\": [}\n" * 3)
    r = subprocess.run(agg + [run, "--docs", os.path.join(tmp, "d2"), "--results", os.path.join(tmp, "r2"),
                              "--no-plots"], capture_output=True, text=True)
    check(r.returncode == 0, f"truncated and garbage results: still a document ({r.stderr.strip()[-300:]})")
    doc = open(os.path.join(tmp, "d2", "benchmarks.md")).read() if r.returncode == 0 else ""
    check("| earlyoom | 1.00 |" in doc, "earlyoom's idle figures from what it has (60 switches in 60 s)")
    check("| memwarden | - |" in doc, "memwarden's garbage gives no figure")
    check("yes |" not in doc.split("## Targets")[-1].split("## How")[0], "no target claimed met from garbage")
sys.exit(1 if fails else 0)
