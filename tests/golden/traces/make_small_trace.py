#!/usr/bin/python3
"""Writes small.trace, the golden configurations' text trace: two vCPUs touching 64 pages each
in a seeded random order, and a host thread raising one event of each kind x86 replays.
small.bin is the same trace in binary form: build/mmusim-trace convert small.trace small.bin."""
import pathlib
import random

r = random.Random(7)
lines = ["# Small gva trace for the golden statistics (made by make_small_trace.py).",
         "mmusim-trace 1", "guest-mem 16M"]
for v in range(2):
    base = 0x400000 + v * 0x1000000
    for i in range(120):
        page = base + r.randrange(64) * 0x1000
        op = r.choice("rrwx")
        lines.append(f"v{v} {op} {hex(page + r.randrange(64) * 64)} 8")
        if i % 10 == 9:
            lines.append(f"v{v} gap {r.randrange(100, 2000)}")
lines += ["h0 gap 20000", "h0 age 0x0 0x100000", "h0 gap 20000", "h0 unmap 0x10000 0x8000",
          "h0 gap 10000", "h0 change-pte 0x3000", "h0 gap 10000", "h0 cow 0x5000"]
(pathlib.Path(__file__).parent / "small.trace").write_text("\n".join(lines) + "\n")
