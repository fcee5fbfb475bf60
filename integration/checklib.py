"""Host-side helpers for scenario checks: load the results a guest wrote."""
import json
import os
import sys


def load_jsonl(path):
    out = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                out.append(json.loads(raw))
            except ValueError as e:
                fail(f"{path}:{n}: not valid JSON ({e}): {raw[:200]!r}")
    return out


def results(argv):
    if len(argv) != 2:
        print("usage: CHECK RESULTS_DIR", file=sys.stderr)
        sys.exit(2)
    return argv[1]


def records(res):
    return load_jsonl(os.path.join(res, "records.jsonl"))


def footprint(res):
    return {f["label"]: f for f in load_jsonl(os.path.join(res, "footprint.jsonl"))}


def read_kv(path):
    """KEY=VALUE lines the guest wrote."""
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def done():
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
