"""Sums a Chrome trace's complete events by name (self time not separated: nested calls count in their parents too).
Usage: trace_summary.py TRACE.json [TOP]"""
import collections
import json
import sys

events = json.load(open(sys.argv[1]))
events = events["traceEvents"] if isinstance(events, dict) else events
total, count = collections.Counter(), collections.Counter()
for e in events:
    if e.get("ph") == "X":
        total[e["name"]] += e.get("dur", 0) / 1000
        count[e["name"]] += 1
for name, ms in total.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
    print(f"{ms:10.2f} ms {count[name]:6d}  {name}")
