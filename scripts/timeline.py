#!/usr/bin/python3
"""Text summary of an mmusim --timeline file, for users without a browser (Perfetto).

    scripts/timeline.py trace.json [--top 10] [--clock-ghz 2.6]

Prints, per span kind, how many spans there were and their total and longest duration; the
longest lock waits and the longest faults, each with its thread and start time. Durations
are in cycles (the file is in microseconds; --clock-ghz converts back, default 2.6 GHz as mmusim).
"""
import argparse
import collections
import json
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description="Summarise an mmusim timeline.")
    ap.add_argument("timeline")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--clock-ghz", type=float, default=2.6)
    a = ap.parse_args(argv)
    try:
        with open(a.timeline) as f:
            events = json.load(f)["traceEvents"]
    except (OSError, ValueError, KeyError) as e:
        print(f"timeline: {a.timeline}: not a readable timeline: {e}", file=sys.stderr)
        return 2
    cyc = a.clock_ghz * 1000.0  # cycles per microsecond
    names = {e["tid"]: e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    spans = [e for e in events if e.get("ph") == "X"]
    kinds = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for e in spans:
        k = kinds[e["name"]]
        k[0] += 1
        k[1] += e["dur"]
        k[2] = max(k[2], e["dur"])
    print(f"{len(spans)} spans on {len(names)} tracks")
    print(f"{'span':40} {'count':>8} {'total cycles':>14} {'longest':>10}")
    for name, (n, tot, mx) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        print(f"{name[:40]:40} {n:8d} {tot * cyc:14.0f} {mx * cyc:10.0f}")

    def top(title, pred):
        sel = sorted((e for e in spans if pred(e["name"])), key=lambda e: -e["dur"])[: a.top]
        print(f"\n{title}")
        if not sel:
            print("  (none)")
        for e in sel:
            who = names.get(e["tid"], str(e["tid"]))
            print(f"  {e['dur'] * cyc:10.0f} cycles  {who:14} at cycle {e['ts'] * cyc:.0f}  {e['name']}")

    top(f"top {a.top} lock waits", lambda n: n.startswith("lock_wait"))
    top(f"top {a.top} longest faults", lambda n: "fault" in n or "violation" in n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
