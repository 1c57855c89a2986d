#!/usr/bin/python3
"""PV TLB flush with 1, 2 and 3 VMs, scaled down from its published ebizzy setup
(docs/VALIDATION.md, "PV TLB flush across VMs").

    bench/pv_tlb_flush_vms.py [--mmusim build-dev/mmusim] [--vcpus 64] [--iterations 100]
                              [--keep DIR] [--json]

Published (cover letter "[PATCH v8 0/4] KVM: X86: Add Paravirt TLB Shootdown", Wanpeng Li,
2017-12-12): VMs of 64 vCPUs on a host of 64 pCPUs, ebizzy -M in each, 1, 2 and 3 VMs. Here:
VMs of V vCPUs on V pCPUs (--vms N --vcpus V --pcpus V), --workload ebizzy, --flush ipi-all
(vanilla: every shootdown an IPI the sender waits for) against --flush pv (optimized), with the
default timeslice, pause-loop exiting, directed yield and PV sched yield. Prints one row per VM
count: records/s per VM (mean over the VMs, as each VM's ebizzy reports its own), the gain,
the published figures beside them, and the counters that explain the difference.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
# ebizzy -M records/s per VM: vanilla, PV TLB flush (the cover letter's table).
PUBLISHED = {1: (46799, 48670), 2: (23962, 42691), 3: (16152, 37539)}


def run(mmusim, vms, vcpus, iterations, flush, out):
    cmd = [str(mmusim), "--workload", "ebizzy", "--vms", str(vms), "--vcpus", str(vcpus),
           "--pcpus", str(vcpus), "--flush", flush, "--iterations", str(iterations),
           "--quiet", "--stats-json", str(out)]
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def per_vm(stats, vms, key):
    """The values of a per-VM statistic, one per VM (a lone VM's carries no prefix)."""
    return [stats[key] if vms == 1 else stats[f"vm.{i}.{key}"] for i in range(vms)]


def summary(stats, vms):
    lat = per_vm(stats, vms, "guest.shootdown.latency")
    count = sum(h["count"] for h in lat)
    return {
        "records_per_s": sum(per_vm(stats, vms, "workload.ebizzy.records_per_s")) / vms,
        "violations": sum(per_vm(stats, vms, "check.violations")),
        "shootdown_mean": sum(h["sum"] for h in lat) / count if count else 0.0,
        "ipis": sum(per_vm(stats, vms, "guest.shootdown.ipis")),
        "pv_skipped": sum(per_vm(stats, vms, "guest.shootdown.pv_skipped")),
        # Host-wide: the scheduler exists only when vCPU threads outnumber pCPUs.
        **{k: stats.get("sched." + k, 0) for k in
           ("ple_exits", "directed_yields", "pv_sched_yields", "preemptions")},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mmusim", default=str(ROOT / "build-dev" / "mmusim"))
    ap.add_argument("--vcpus", type=int, default=64, help="vCPUs per VM and pCPUs of the host")
    ap.add_argument("--iterations", type=int, default=100, help="ebizzy records per thread")
    ap.add_argument("--vms", default="1,2,3")
    ap.add_argument("--keep", help="directory for the stats files (default: a temporary one)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        outdir = pathlib.Path(a.keep or tmp)
        outdir.mkdir(parents=True, exist_ok=True)
        rows = {}
        for vms in (int(v) for v in a.vms.split(",")):
            rows[vms] = {f: summary(run(a.mmusim, vms, a.vcpus, a.iterations, f,
                                        outdir / f"vms{vms}-{f}.json"), vms)
                         for f in ("ipi-all", "pv")}
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"ebizzy, VMs of {a.vcpus} vCPUs on {a.vcpus} pCPUs, {a.iterations} records per "
          "thread; records/s per VM (mean over the VMs)")
    print("| VMs | ipi-all | pv | gain | published vanilla | published PV | published gain |")
    print("|---|---|---|---|---|---|---|")
    for vms, r in rows.items():
        v, p = r["ipi-all"]["records_per_s"], r["pv"]["records_per_s"]
        pub = PUBLISHED.get(vms)
        pub_cols = (f"{pub[0]} | {pub[1]} | {100 * (pub[1] / pub[0] - 1):+.0f}%" if pub
                    else "- | - | -")
        print(f"| {vms} | {v:.0f} | {p:.0f} | {100 * (p / v - 1):+.0f}% | {pub_cols} |")
    print()
    print("Counters, ipi-all / pv (sched.* are host-wide; the rest summed over the VMs)")
    print("| VMs | PLE exits | directed yields | PV sched yields | preemptions | "
          "mean shootdown wait (cycles) | guest IPIs | PV-skipped IPIs | violations |")
    print("|---|---|---|---|---|---|---|---|---|")
    for vms, r in rows.items():
        i, p = r["ipi-all"], r["pv"]
        cols = [f"{i[k]:.0f} / {p[k]:.0f}" for k in
                ("ple_exits", "directed_yields", "pv_sched_yields", "preemptions",
                 "shootdown_mean", "ipis", "pv_skipped", "violations")]
        print(f"| {vms} | " + " | ".join(cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
