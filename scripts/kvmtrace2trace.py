#!/usr/bin/python3
"""Turns the text of `trace-cmd report` or `perf script` for KVM tracepoints into an mmusim
trace (`space gpa`) that replays each vCPU's stage-2 fault sequence with the recorded gaps.

    trace-cmd record -e kvm:kvm_page_fault -e kvmmmu:kvm_mmu_spte_requested \\
        -e kvmmmu:kvm_tdp_mmu_spte_changed -e kvm:kvm_pv_tlb_flush -- qemu-system-x86_64 ...
    trace-cmd report > kvm.txt
    scripts/kvmtrace2trace.py kvm.txt -o vm.trace.gz [--ghz 2.6] [--host-events]

Fields used (docs/TRACE_FORMAT.md has the table):
  kvm_page_fault: timestamp, vcpu (or the "CPU n/KVM" thread name, or thread-id order),
    address (a GPA), error_code (bit 1 write, bit 4 instruction fetch, else read)
  kvm_mmu_spte_requested: gfn -- the access of a fault whose line has no address
  kvm_tdp_mmu_spte_changed: gfn, new_spte -- with --host-events, a change to a non-present
    SPTE becomes "h0 unmap gfn<<12 0x1000" at its time; otherwise only counted
  kvm_pv_tlb_flush: counted
Gaps are the time between a thread's records in cycles at --ghz (default 2.6, mmusim's default
--clock-ghz). Exit status 2 with
"file:line: message" on a malformed line of a known tracepoint.
"""
import argparse
import gzip
import re
import sys

HEAD = re.compile(r"^\s*(?P<comm>.+?)[-\s](?P<tid>\d+)\s+(?:\(\s*\d+\)\s+)?\[(?P<cpu>\d+)\]\s+"
                  r"(?:[\w.]{4,5}\s+)?(?P<ts>\d+\.\d+):\s+(?:(?:kvm|kvmmmu):)?(?P<event>\w+):\s*(?P<rest>.*)$")
FIELD = re.compile(r"(\w+)[ =](0x[0-9a-fA-F]+|[0-9a-fA-F]+)\b")
KVM_THREAD = re.compile(r"CPU (\d+)/KVM")


def fields(rest):
    out = {}
    words = rest.replace("=", " ").split()
    for i in range(len(words) - 1):
        out.setdefault(words[i], words[i + 1])
    return out


def num(s, hexdefault=True):
    return int(s, 16) if s.startswith("0x") or hexdefault else int(s)


def convert(lines, path, ghz, host_events):
    recs = []          # (time, thread, text)
    last = {}          # thread -> last time
    vcpu_of_tid = {}
    counts = {"faults": 0, "spte_requested": 0, "spte_changed": 0, "pv_tlb_flush": 0, "unmaps": 0}
    pending = {}       # vcpu -> index in recs of a fault without address (older formats)
    t0 = None
    for lineno, line in enumerate(lines, 1):
        m = HEAD.match(line)
        if not m:
            continue
        ev, rest, ts = m.group("event"), m.group("rest"), float(m.group("ts"))
        if ev not in ("kvm_page_fault", "kvm_mmu_spte_requested", "kvm_tdp_mmu_spte_changed",
                      "kvm_pv_tlb_flush"):
            continue
        if not ts < 1e9:  # seconds of uptime; beyond this the gaps overflow (found by fuzzing)
            raise ValueError(f"{path}:{lineno}: {ev}: timestamp {m.group('ts')[:24]} out of range")
        t0 = ts if t0 is None else t0
        f = fields(rest)
        try:
            if "vcpu" in f:
                vcpu = int(f["vcpu"], 0)
            else:
                k = KVM_THREAD.search(m.group("comm"))
                vcpu = int(k.group(1)) if k else vcpu_of_tid.setdefault(m.group("tid"), len(vcpu_of_tid))
            if ev == "kvm_page_fault":
                counts["faults"] += 1
                code = num(f["error_code"])
                op = "x" if code & 0x10 else "w" if code & 0x2 else "r"
                addr = num("0x" + f["address"].removeprefix("0x")) if "address" in f else None
                recs.append([ts, f"v{vcpu}", op, addr])
                pending[vcpu] = len(recs) - 1
            elif ev == "kvm_mmu_spte_requested":
                counts["spte_requested"] += 1
                gfn = num("0x" + f["gfn"].removeprefix("0x"))
                i = pending.pop(vcpu, None)
                if i is not None and recs[i][3] is None:
                    recs[i][3] = gfn << 12
            elif ev == "kvm_tdp_mmu_spte_changed":
                counts["spte_changed"] += 1
                new = num("0x" + f["new_spte"].removeprefix("0x"))
                if host_events and (new & 0x7) == 0:
                    gfn = num("0x" + f["gfn"].removeprefix("0x"))
                    recs.append([ts, "h0", "unmap", gfn << 12])
                    counts["unmaps"] += 1
            else:
                counts["pv_tlb_flush"] += 1
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path}:{lineno}: {ev}: cannot read field {e}")
    out = ["mmusim-trace 1", "space gpa"]
    for ts, thread, op, addr in recs:
        if addr is None:
            continue  # a fault whose GPA never showed up
        gap = int(round((ts - last.get(thread, t0)) * ghz * 1e9))
        last[thread] = ts
        if gap > 0:
            out.append(f"{thread} gap {gap}")
        out.append(f"{thread} unmap 0x{addr:x} 0x1000" if op == "unmap" else f"{thread} {op} 0x{addr:x}")
    return out, counts


def main(argv=None):
    ap = argparse.ArgumentParser(description="KVM tracepoint text -> mmusim gpa trace.")
    ap.add_argument("input", help="trace-cmd report / perf script output (.gz accepted)")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--ghz", type=float, default=2.6,
                    help="clock that turns seconds into gap cycles (mmusim's default --clock-ghz)")
    ap.add_argument("--host-events", action="store_true", help="zapped SPTEs become unmap events")
    a = ap.parse_args(argv)
    if not 0 < a.ghz <= 100:
        print(f"kvmtrace2trace: --ghz: expected a frequency above 0 and at most 100, got {a.ghz}",
              file=sys.stderr)
        return 2
    try:
        opener = gzip.open if a.input.endswith(".gz") else open
        with opener(a.input, "rt", errors="replace") as f:
            out, counts = convert(f, a.input, a.ghz, a.host_events)
        with (gzip.open if a.output.endswith(".gz") else open)(a.output, "wt") as f:
            f.write("\n".join(out) + "\n")
    except (OSError, ValueError) as e:
        print(f"kvmtrace2trace: {e}", file=sys.stderr)
        return 2
    print("kvmtrace2trace: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
