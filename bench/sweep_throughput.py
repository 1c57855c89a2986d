#!/usr/bin/python3
"""Sweep throughput: the same 32-point sweep on 1 local worker and on 2, wall time of
each and their ratio (the target is 2 workers <= 0.6 x 1 worker).

    bench/sweep_throughput.py [--mmusim build/mmusim] [--repeat 3] [--mem 32M] [--json]

The 32 points: demand-paging with 1, 2, 4 and 8 vCPUs x exclusive/shared mmu_lock x seq/random
order x 0 or 0.5 overlap, --mem-per-vcpu MEM each. Every repeat runs both sweeps from an empty
output (scripts/sweep.py --jobs 1, then --jobs 2), and the two CSVs must be identical, since a
sweep's results may not depend on how it ran. Reports medians.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPEC = """[fixed]
workload = demand-paging
mem-per-vcpu = {mem}

[sweep]
vcpus = 1, 2, 4, 8
mmu-lock = exclusive, shared
pattern = seq, random
overlap = 0, 0.5
"""


def run_sweep(spec, out, jobs, mmusim):
    t0 = time.monotonic()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "sweep.py"), str(spec), "-o", str(out),
                    "--jobs", str(jobs), "--mmusim", mmusim, "--quiet"], check=True)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mmusim", default=str(ROOT / "build" / "mmusim"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mem", default="32M", help="--mem-per-vcpu of every point")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    one, two = [], []
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        spec = d / "sweep.ini"
        spec.write_text(SPEC.format(mem=a.mem))
        for r in range(a.repeat):
            out1, out2 = d / f"one{r}.csv", d / f"two{r}.csv"
            one.append(run_sweep(spec, out1, 1, a.mmusim))
            two.append(run_sweep(spec, out2, 2, a.mmusim))
            rows1 = out1.read_text().splitlines()
            if len(rows1) != 33:
                sys.exit(f"sweep_throughput: expected 32 points, the CSV has {len(rows1) - 1}")
            # The stats_file column names the output directory, which differs; compare the rest.
            strip = lambda rows: [",".join(c for c in row.split(",") if ".stats/" not in c)
                                  for row in rows]
            if strip(rows1) != strip(out2.read_text().splitlines()):
                sys.exit("sweep_throughput: 1 and 2 workers gave different results")
    m1, m2 = statistics.median(one), statistics.median(two)
    res = {"points": 32, "mem_per_vcpu": a.mem, "one_worker_s": round(m1, 3),
           "two_workers_s": round(m2, 3), "ratio": round(m2 / m1, 3), "repeat": a.repeat}
    if a.json:
        print(json.dumps(res))
    else:
        print(f"32 points, --mem-per-vcpu {a.mem}: 1 worker {m1:.2f} s, 2 workers {m2:.2f} s, "
              f"ratio {m2 / m1:.3f} (median of {a.repeat}; target <= 0.6)")


if __name__ == "__main__":
    main()
