#!/usr/bin/python3
"""Turns valgrind lackey memory traces into an mmusim trace (docs/TRACE_FORMAT.md).

    valgrind --tool=lackey --trace-mem=yes --trace-children=yes --log-file=run.%p.log PROGRAM
    scripts/lackey2trace.py run.*.log -o program.trace.gz

Each input log is one process and becomes one vCPU (v0, v1, ... in the order given). Lackey
lines are "I  addr,size" (instruction fetch), " L addr,size" (load), " S addr,size" (store) and
" M addr,size" (modify: a load and a store to the same place, kept as one write); "==pid=="
lines are valgrind's own and are skipped. Addresses are the process's virtual addresses.

By default the processes get separate address spaces: process k's addresses are shifted by
k << 40, as two processes never share pages they did not map together. --same-address-space
keeps them as recorded (threads of one process).

--merge-same-page drops an access that repeats the kind and 4 KiB page of the record just
before it in the same process, counting one cycle of compute per dropped access instead: the
sequence of pages each vCPU translates is unchanged, the trace is several times smaller.

`mmusim-trace import lackey` is the native importer with the same options and byte-identical
output, over 20 times faster; this script is its reference (tests/python/test_trace_import_lackey.py).

Reads and writes streaming: any log length, constant memory. Output is gzip when its name ends
in .gz. Exit status 2 with "file:line: message" on a malformed lackey line.
"""
import argparse
import gzip
import re
import sys

LINE = re.compile(r"^(I |\s[LSM])\s+([0-9a-fA-F]+),(\d+)\s*$")
KIND = {"I": "x", "L": "r", "S": "w", "M": "w"}
COPY_SHIFT = 40


def open_in(path):
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path, "r", errors="replace")


def open_out(path):
    if path == "-":
        return sys.stdout
    return gzip.open(path, "wt", compresslevel=9) if path.endswith(".gz") else open(path, "w")


def convert(logs, out, merge=False, same_space=False):
    """Writes the trace to the open text stream `out`; returns records written per vCPU."""
    out.write("mmusim-trace 1\nspace gva\n")
    counts = []
    for vcpu, path in enumerate(logs):
        shift = 0 if same_space else vcpu << COPY_SHIFT
        n = 0
        last = None  # (kind, page) of the previous access of this process
        pending_gap = 0
        with open_in(path) as f:
            for lineno, line in enumerate(f, 1):
                if line.startswith("==") or not line.strip():
                    continue
                m = LINE.match(line)
                if not m:
                    raise ValueError(f"{path}:{lineno}: not a lackey trace line: {line.strip()[:60]!r}")
                kind = KIND[m.group(1).strip()]
                addr = int(m.group(2), 16) + shift
                if addr >= 1 << 47:
                    raise ValueError(f"{path}:{lineno}: address 0x{addr:x} is not a user address")
                size = min(int(m.group(3)), 4096)
                key = (kind, addr >> 12)
                if merge and key == last:
                    pending_gap += 1
                    continue
                last = key
                if pending_gap:
                    out.write(f"v{vcpu} gap {pending_gap}\n")
                    pending_gap = 0
                    n += 1
                out.write(f"v{vcpu} {kind} 0x{addr:x} {size}\n")
                n += 1
        if pending_gap:
            out.write(f"v{vcpu} gap {pending_gap}\n")
            n += 1
        counts.append(n)
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("logs", nargs="+", help="lackey logs, one per process (vCPU order)")
    p.add_argument("-o", "--output", required=True, help="trace to write (.gz: compressed, -: stdout)")
    p.add_argument("--merge-same-page", action="store_true",
                   help="drop accesses repeating the previous record's kind and page")
    p.add_argument("--same-address-space", action="store_true",
                   help="do not separate the processes' address spaces")
    a = p.parse_args(argv)
    try:
        out = open_out(a.output)
        with out if out is not sys.stdout else open("/dev/null") as _:
            counts = convert(a.logs, out, a.merge_same_page, a.same_address_space)
    except (OSError, ValueError) as e:
        print(f"lackey2trace: {e}", file=sys.stderr)
        return 2
    for v, n in enumerate(counts):
        print(f"lackey2trace: v{v}: {n} records from {a.logs[v]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
