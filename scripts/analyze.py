#!/usr/bin/python3
"""Comparison tables and PNG plots from a sweep CSV (scripts/sweep.py) or stats JSON files.

    scripts/analyze.py results.csv --out plots/ [--metric sim.cycles] [--by mmu-lock]
    scripts/analyze.py a.json b.json --out plots/

Writes, into --out:
  scaling.png    the metric against vCPUs, one line per value of --by (mean over seeds)
  fault_cdf.png  fault-latency distribution per run group, from each run's hv.fault.latency
                 histogram (min, p50, p90, p99, max: a step CDF through those points)
  breakdown.png  where fault cycles go, stacked per group: the walk that found the fault, host
                 page, mmu_lock wait, SPTE update (map, without flush wait), remote-flush wait,
                 and the rest of the exit (VM exit/entry, dispatch), from each run's stats JSON
and prints the comparison table on stdout.

Each statistic's kind comes from the run's schema (--stats-schema, NAME.schema.json beside the
stats NAME.json; scripts/sweep.py writes both): a histogram becomes one column per field
(NAME.count, NAME.mean, NAME.p50, ...), a counter or value one column. Without a schema the
stats JSON's own structure says which names are histograms.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

PARAMS = ["arch", "vcpus", "mmu-lock", "page-size", "flush", "workload", "trace", "seed"]


def schema_path(stats_path):
    base = stats_path[:-5] if stats_path.endswith(".json") else stats_path
    return base + ".schema.json"


def load_schema(stats_path):
    """{name: {"kind": .., "description": ..}} of a run; {} when it has no schema file."""
    try:
        with open(schema_path(stats_path)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def kind_of(name, value, schema):
    entry = schema.get(name)
    if entry:
        return entry["kind"]
    return "histogram" if isinstance(value, dict) else "counter"


def load(inputs):
    """One DataFrame row per run: parameters plus every stat (histogram fields as name.field),
    the parsed stats dict in column _stats (None when unavailable) and its schema in _schema."""
    rows = []
    for path in inputs:
        if path.endswith(".csv"):
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            base = os.path.dirname(os.path.abspath(path))
            for _, r in df.iterrows():
                if r.get("status", "ok") != "ok":
                    continue
                row = dict(r)
                sf = r.get("stats_file", "")
                row["_stats"] = json.load(open(os.path.join(base, sf))) if sf else None
                row["_schema"] = load_schema(os.path.join(base, sf)) if sf else {}
                rows.append(row)
        else:
            s = json.load(open(path))
            row = {"run": os.path.basename(path), "_stats": s, "_schema": load_schema(path)}
            row["vcpus"] = str(s.get("sim.vcpus", ""))
            rows.append(row)
    out = []
    for row in rows:
        s = row["_stats"] or {}
        for k, v in s.items():
            if kind_of(k, v, row["_schema"]) == "histogram":
                for f, x in (v or {}).items():
                    row.setdefault(f"{k}.{f}", x)
            else:
                row.setdefault(k, v)
        out.append(row)
    df = pd.DataFrame(out)
    for c in df.columns:
        if c not in ("_stats", "_schema"):
            conv = pd.to_numeric(df[c], errors="coerce")
            if conv.notna().all():
                df[c] = conv
    return df


def group_label(df, by):
    if by and by in df.columns:
        return df[by].astype(str)
    if "run" in df.columns:
        return df["run"].astype(str)
    return pd.Series(["all"] * len(df), index=df.index)


def describe(df, metric):
    """The schema's description of a metric (or of the histogram it is a field of); "" if none."""
    names = [metric, metric.rpartition(".")[0]]
    for schema in df["_schema"]:
        for n in names:
            if schema and n in schema:
                return schema[n]["description"]
    return ""


def plot_scaling(df, metric, by, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    g = df.assign(_g=group_label(df, by))
    for name, sub in g.groupby("_g"):
        m = sub.groupby("vcpus")[metric].mean().sort_index()
        ax.plot(m.index, m.values, marker="o", label=f"{by} = {name}" if by else name)
    ax.set_xlabel("vCPUs")
    ax.set_ylabel(f"{metric} ({unit_of(metric, describe(df, metric))})")
    ax.set_title(f"{metric} against vCPU count")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [l.get_label() for l in ax.get_lines()]


def unit_of(metric, description=""):
    if description:
        return "cycles" if "cycles" in description else "count"
    if "cycles" in metric or "latency" in metric or metric.endswith((".wait.mean", ".wait.p99")):
        return "cycles"
    return "count"


def plot_cdf(df, by, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    g = df.assign(_g=group_label(df, by))
    key = "hv.fault.latency"
    for name, sub in g.groupby("_g"):
        # Largest vCPU count of the group: where the distributions differ most.
        if "vcpus" in sub.columns:
            sub = sub[sub["vcpus"] == sub["vcpus"].max()]
        r = sub.iloc[0]
        pts = [(r.get(f"{key}.min", 0), 0.0), (r.get(f"{key}.p50"), 0.5), (r.get(f"{key}.p90"), 0.9),
               (r.get(f"{key}.p99"), 0.99), (r.get(f"{key}.max"), 1.0)]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        vc = f", {int(r['vcpus'])} vCPUs" if "vcpus" in r and str(r["vcpus"]) != "" else ""
        ax.step(xs, ys, where="post", marker="o", label=f"{by} = {name}{vc}" if by else f"{name}{vc}")
    ax.set_xlabel("stage-2 fault latency (cycles)")
    ax.set_ylabel("fraction of faults")
    ax.set_title("Fault-latency CDF (from histogram percentiles)")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [l.get_label() for l in ax.get_lines()]


def breakdown_of(s):
    """Fault cycles by where they go, summed over the run's faults (from one stats dict)."""
    host = s.get("hv.fault.cycles.host_page", 0)
    lock = s.get("hv.fault.cycles.lock_wait", 0)
    mapc = s.get("hv.fault.cycles.map", 0)
    flush = (s.get("hv.flush.latency") or {}).get("sum", 0)
    total = sum((v or {}).get("sum", 0) for k, v in s.items()
                if k.startswith("vcpu.") and k.endswith(".fault_latency"))
    walk = s.get("hv.fault.cycles.walk", 0)  # the walk that found the fault, before the exit
    spte = max(mapc - flush, 0)
    rest = max(total - host - lock - mapc, 0)
    return {"walk": walk, "host page": host, "mmu_lock wait": lock, "SPTE update": spte,
            "flush wait": min(flush, mapc), "exit/entry, dispatch": rest}


def plot_breakdown(df, by, path):
    g = df.assign(_g=group_label(df, by))
    data = {}
    for name, sub in g.groupby("_g"):
        if "vcpus" in sub.columns:
            sub = sub[sub["vcpus"] == sub["vcpus"].max()]
        parts = [breakdown_of(s) for s in sub["_stats"] if s]
        faults = sum(s.get("hv.fault.count", 0) for s in sub["_stats"] if s) or 1
        if parts:
            data[str(name)] = {k: sum(p[k] for p in parts) / faults for k in parts[0]}
    bd = pd.DataFrame(data).T
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bd.plot(kind="bar", stacked=True, ax=ax)
    ax.set_xlabel(by or "run")
    ax.set_ylabel("cycles per stage-2 fault")
    ax.set_title("Where fault cycles go (largest vCPU count of each group)")
    ax.legend(title="component", fontsize=8)
    ax.tick_params(axis="x", rotation=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return bd


def main(argv=None):
    ap = argparse.ArgumentParser(description="Tables and plots from mmusim sweeps or stats files.")
    ap.add_argument("inputs", nargs="+", help="sweep CSV(s) or stats JSON files")
    ap.add_argument("--out", default=".", help="directory for the PNG files")
    ap.add_argument("--metric", default="sim.cycles", help="metric of the scaling plot and table")
    ap.add_argument("--by", default="mmu-lock", help="parameter that makes one line per value")
    a = ap.parse_args(argv)
    try:
        df = load(a.inputs)
    except (OSError, ValueError) as e:
        print(f"analyze: {e}", file=sys.stderr)
        return 2
    if df.empty:
        print("analyze: no successful runs in the input", file=sys.stderr)
        return 2
    if a.metric not in df.columns:
        print(f"analyze: --metric: {a.metric!r} is not in the input", file=sys.stderr)
        return 2
    by = a.by if a.by in df.columns else None
    os.makedirs(a.out, exist_ok=True)
    cols = [c for c in PARAMS if c in df.columns and c != "trace" and df[c].nunique() > 1]
    table_cols = [a.metric, "hv.fault.count", "hv.fault.latency.mean", "hv.fault.latency.p99",
                  "hv.fault.retry", "hv.lock.mmu_lock.wait.mean"]
    table_cols = [c for c in table_cols if c in df.columns]
    if cols:
        print(df.groupby(cols)[table_cols].mean().round(1).to_string())
    else:
        print(df[table_cols].to_string())
    if "vcpus" in df.columns:
        series = plot_scaling(df, a.metric, by, os.path.join(a.out, "scaling.png"))
        print(f"\nscaling.png: series {'; '.join(series)}")
    if "hv.fault.latency.p50" in df.columns:
        series = plot_cdf(df, by, os.path.join(a.out, "fault_cdf.png"))
        print(f"fault_cdf.png: series {'; '.join(series)}")
    if df["_stats"].notna().any():
        bd = plot_breakdown(df, by, os.path.join(a.out, "breakdown.png"))
        print(f"breakdown.png: components {'; '.join(bd.columns)}")
        print("\ncycles per fault by component:")
        print(bd.round(0).to_string())
    print(f"\nanalyze: plots in {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
