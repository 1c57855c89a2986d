#!/usr/bin/python3
"""Runs every point of a parameter sweep with the mmusim executable; one CSV row per run.

    scripts/sweep.py SPEC -o results.csv [--jobs N] [--scheduler HOST:PORT]

SPEC is JSON or INI (by extension). JSON:

    {"fixed": {"workload": "trace", "trace": "traces/ls.trace.gz"},
     "sweep": {"vcpus": [1, 2, 4], "mmu-lock": ["exclusive", "shared"], "seed": [1, 2]},
     "stats": ["sim.cycles", "hv.fault.latency"]}          # optional: extra stats columns

INI: sections [fixed] and [sweep] with `name = value` lines, swept values comma-separated, and
an optional [stats] section with `names = a, b`. Keys are mmusim option names without dashes.
A value may name other parameters in braces ("traces/ls-{vcpus}.trace.gz"). The values of
`trace` and `config` are file names relative to the spec's directory.

Points run in parallel on the local cores (--jobs, default all) or on a Dask distributed
cluster (--scheduler HOST:PORT). Each finished run is appended to the CSV at once; running the
same spec again skips every point already in the CSV (finished or failed), so an interrupted
sweep (Ctrl-C, kill -9) loses nothing but the runs in flight. A failed run is a row with status
"failed", its exit code and the last line mmusim printed on stderr. When every point is in, the
CSV is rewritten in point order, so equal sweeps give identical files however they ran.

Progress (points done / total and an ETA) goes to stderr with --progress auto (the default)
when stderr is a terminal, rewritten in place; --progress on shows it anywhere, one line per
finished point; --progress off (or --quiet) shows none. It never changes the CSV or the stats.
The runs themselves show no progress line (mmusim --progress off).

Each run's full statistics are kept as JSON in OUT.stats/<point id>.json (column stats_file),
with the run's statistics schema (every name's kind and description, --stats-schema) beside it
in OUT.stats/<point id>.schema.json, for scripts/analyze.py.

Columns of the requested statistics follow their kind in the schema: a counter or value is one
column, a histogram one column per field (NAME.count, NAME.mean, NAME.p50, NAME.p90, NAME.p99,
NAME.max). A name may also be one field of a histogram ("hv.fault.latency.p99"). The kinds
come from the first successful run, so the CSV header is written with that run's row; rows of
runs that failed before it are held until then.
"""
import argparse
import configparser
import csv
import hashlib
import itertools
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PATH_KEYS = {"trace", "config"}
HEADLINE = [
    "sim.cycles", "guest.accesses", "hv.fault.count", "hv.fault.fixed", "hv.fault.retry",
    "hv.fault.spurious", "hv.fault.latency", "hv.spte.cmpxchg_fail", "hv.lock.mmu_lock.wait",
    "hv.fault.cycles.host_page", "hv.fault.cycles.lock_wait", "hv.fault.cycles.map",
    "hv.flush.count", "hv.ipi.count", "walk.count", "check.violations",
]
HIST_FIELDS = ["count", "mean", "p50", "p90", "p99", "max"]
META = ["point", "status", "exit", "error", "stats_file"]


class SpecError(Exception):
    pass


def load_spec(path):
    """Returns (fixed dict, swept dict of lists, extra stats list); values as strings."""
    p = pathlib.Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise SpecError(f"{path}: {e.strerror}")
    if p.suffix == ".json":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"{path}:{e.lineno}: {e.msg}")
        fixed, sweep, stats = d.get("fixed", {}), d.get("sweep", {}), d.get("stats", [])
        unknown = set(d) - {"fixed", "sweep", "stats"}
        if unknown:
            raise SpecError(f"{path}: unknown key {sorted(unknown)[0]!r} (fixed, sweep, stats)")
    else:
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        try:
            cp.read_string(text, source=str(path))
        except configparser.Error as e:
            raise SpecError(f"{path}: {e}".splitlines()[0])
        fixed = dict(cp["fixed"]) if cp.has_section("fixed") else {}
        sweep = {k: [x.strip() for x in v.split(",") if x.strip()]
                 for k, v in (cp["sweep"].items() if cp.has_section("sweep") else [])}
        stats = [x.strip() for x in cp.get("stats", "names", fallback="").split(",") if x.strip()]
    for k, v in sweep.items():
        if not isinstance(v, list) or not v:
            raise SpecError(f"{path}: sweep: {k}: expected a non-empty list of values")
    both = set(fixed) & set(sweep)
    if both:
        raise SpecError(f"{path}: {sorted(both)[0]!r} is both fixed and swept")
    for k in list(fixed) + list(sweep):
        if k in ("stats-json", "stats-schema", "quiet", "timeline", "progress", "progress-after"):
            raise SpecError(f"{path}: {k!r} is set by the sweep runner itself")
    fixed = {k: str(v) for k, v in fixed.items()}
    sweep = {k: [str(x) for x in v] for k, v in sweep.items()}
    return fixed, sweep, list(stats)


def points(fixed, sweep):
    """Every point in a fixed order: dicts of parameter -> value (templates filled in)."""
    names = list(sweep)
    out = []
    for combo in itertools.product(*(sweep[n] for n in names)):
        p = dict(fixed)
        p.update(zip(names, combo))
        for k, v in p.items():
            try:
                p[k] = v.format(**p)
            except (KeyError, IndexError, ValueError) as e:
                raise SpecError(f"{k}: cannot fill in {v!r}: {e}")
        out.append(p)
    return out


def point_id(params):
    key = json.dumps(params, sort_keys=True)
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def schema_path(stats_path):
    """Where a run's --stats-schema goes: beside its stats, NAME.json -> NAME.schema.json."""
    base = stats_path[:-5] if stats_path.endswith(".json") else stats_path
    return base + ".schema.json"


def command(binary, params, spec_dir, stats_path):
    cmd = [binary]
    for k, v in params.items():
        if k in PATH_KEYS and not os.path.isabs(v):
            v = os.path.join(spec_dir, v)
        cmd += [f"--{k}", v]
    return cmd + ["--stats-json", stats_path, "--stats-schema", schema_path(stats_path), "--quiet",
                  "--progress", "off"]


def run_point(binary, params, spec_dir, stats_path, timeout):
    """Runs one point; returns (exit code, last stderr line). Importable by Dask workers."""
    cmd = command(binary, params, spec_dir, stats_path)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout} s"
    except OSError as e:
        return 127, f"{binary}: {e.strerror}"
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    return p.returncode, (lines[-1] if lines else "")


def load_kinds(path):
    """{name: kind} from a --stats-schema file; {} when there is none."""
    try:
        with open(path) as f:
            return {n: e["kind"] for n, e in json.load(f).items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def flatten(stats, names, kinds):
    """The row's statistics columns: a histogram (by its kind) one column per field."""
    row = {}
    for n in names:
        if kinds.get(n) == "histogram":
            v = stats.get(n) or {}
            for f in HIST_FIELDS:
                row[f"{n}.{f}"] = v.get(f, "")
            continue
        v = stats.get(n)
        parent, _, field = n.rpartition(".")
        if v is None and kinds.get(parent) == "histogram":
            v = (stats.get(parent) or {}).get(field)  # "hist.field"
        row[n] = "" if v is None or isinstance(v, dict) else v
    return row


def stat_columns(names, kinds):
    cols = []
    for n in names:
        if kinds.get(n) == "histogram":  # one column per field
            cols += [f"{n}.{f}" for f in HIST_FIELDS]
        else:
            cols.append(n)
    return cols


def header_matches(header, fixed_cols, names):
    """Whether a CSV header is this spec's: its parameters and META, then each requested
    statistic as one column or as the histogram fields."""
    if header[:len(fixed_cols)] != fixed_cols:
        return False
    rest = header[len(fixed_cols):]
    for n in names:
        hist = [f"{n}.{f}" for f in HIST_FIELDS]
        if rest[:len(hist)] == hist:
            rest = rest[len(hist):]
        elif rest[:1] == [n]:
            rest = rest[1:]
        else:
            return False
    return not rest


def read_header(csv_path):
    if not os.path.exists(csv_path):
        return []
    with open(csv_path, newline="") as f:
        line = f.readline()
    return next(csv.reader([line])) if line.endswith("\n") else []


def read_done(csv_path, columns):
    """Point ids already in the CSV; drops a torn last line left by a killed run."""
    if not os.path.exists(csv_path):
        return {}
    with open(csv_path, newline="") as f:
        data = f.read()
    if data and not data.endswith("\n"):
        data = data[: data.rfind("\n") + 1]  # the row being written when the run died
        with open(csv_path, "w", newline="") as f:
            f.write(data)
    rows = list(csv.DictReader(data.splitlines()))
    if data and (not rows and data.count("\n") > 1):
        raise SpecError(f"{csv_path}: not a sweep CSV")
    header = data.splitlines()[0].split(",") if data else []
    if header and header != columns:
        raise SpecError(f"{csv_path}: written by a different spec (columns differ); use another -o")
    return {r["point"]: r for r in rows if r.get("status") in ("ok", "failed")}


def duration(s):
    """8s, 3m05s, 2h07m: as mmusim's progress line."""
    t = int(s + 0.5)
    if t < 60:
        return f"{t}s"
    if t < 3600:
        return f"{t // 60}m{t % 60:02d}s"
    return f"{t // 3600}h{t // 60 % 60:02d}m"


class Progress:
    """Progress messages on stderr. On a terminal the per-point line is rewritten in place and
    every other message is a line of its own; elsewhere each message is a line."""

    def __init__(self, mode, stream=sys.stderr):
        self.stream = stream
        self.terminal = stream.isatty()
        self.shown = mode == "on" or (mode == "auto" and self.terminal)
        self.width = 0  # characters of the in-place line on the terminal now

    def status(self, text):
        if not self.shown:
            return
        if not self.terminal:
            return self.line(text)
        self.stream.write("\r" + text + " " * max(0, self.width - len(text)))
        self.stream.flush()
        self.width = len(text)

    def line(self, text):
        if not self.shown:
            return
        self.clear()
        print(text, file=self.stream, flush=True)

    def clear(self):
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run an mmusim parameter sweep.")
    ap.add_argument("spec")
    ap.add_argument("-o", "--output", required=True, help="CSV to write (appended, resumable)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="local parallel runs")
    ap.add_argument("--scheduler", help="HOST:PORT of a Dask distributed scheduler")
    ap.add_argument("--mmusim", default=os.environ.get("MMUSIM_BIN", str(ROOT / "build" / "mmusim")))
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    ap.add_argument("--retry-failed", action="store_true", help="run failed points again")
    ap.add_argument("--progress", choices=["auto", "on", "off"], default="auto",
                    help="points done / total and an ETA on stderr (auto: when it is a terminal)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines (--progress off)")
    a = ap.parse_args(argv)
    try:
        return sweep(a)
    except SpecError as e:
        print(f"sweep: {e}", file=sys.stderr)
        return 2


def sweep(a):
    fixed, swept, extra = load_spec(a.spec)
    spec_dir = str(pathlib.Path(a.spec).resolve().parent)
    pts = points(fixed, swept)
    params = list(fixed) + list(swept)
    names = HEADLINE + [s for s in extra if s not in HEADLINE]
    fixed_cols = params + META
    out = os.path.abspath(a.output)
    stats_dir = out + ".stats"
    os.makedirs(stats_dir, exist_ok=True)
    header = read_header(out)
    if header and not header_matches(header, fixed_cols, names):
        raise SpecError(f"{out}: written by a different spec (columns differ); use another -o")
    columns = header or None  # known once the first successful run gives the kinds
    done = read_done(out, columns) if columns else {}
    if a.retry_failed:
        done = {k: r for k, r in done.items() if r["status"] == "ok"}
    todo = [p for p in pts if point_id(p) not in done]
    f = open(out, "a", newline="")
    w = None
    held = []  # rows finished before the header could be written

    def start_csv(kinds):
        nonlocal columns, w
        if columns is None:
            columns = fixed_cols + stat_columns(names, kinds)
            f.truncate(0)
            csv.writer(f).writerow(columns)
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        for r in held:
            w.writerow(r)
        held.clear()
        f.flush()

    if columns:
        start_csv({})
    total, finished, t0 = len(pts), len(pts) - len(todo), time.time()
    progress = Progress("off" if a.quiet else a.progress)
    progress.line(f"sweep: {total} points, {finished} already done, {len(todo)} to run")

    def record(p, code, err):
        nonlocal finished
        pid = point_id(p)
        spath = os.path.join(stats_dir, pid + ".json")
        row = dict(p, point=pid, exit=code, error=err, stats_file=os.path.relpath(spath, os.path.dirname(out)))
        row["status"] = "ok" if code == 0 and os.path.exists(spath) else "failed"
        if row["status"] == "ok":
            kinds = load_kinds(schema_path(spath))
            with open(spath) as s:
                row.update(flatten(json.load(s), names, kinds))
            row["error"] = ""
            if w is None:
                start_csv(kinds)
        else:
            row["stats_file"] = ""
        if w is None:
            held.append(row)
        else:
            w.writerow(row)
            f.flush()
            os.fsync(f.fileno())
        finished += 1
        ran = finished - (total - len(todo))
        eta = (time.time() - t0) / ran * (total - finished) if ran else 0
        text = f"sweep: {finished}/{total} done, ETA {duration(eta)}"
        if row["status"] == "ok":
            progress.status(text)
        else:
            progress.line(f"{text} (failed: {err})")

    def spath(p):
        return os.path.join(stats_dir, point_id(p) + ".json")

    try:
        if a.scheduler:
            run_dask(a, todo, spec_dir, spath, record)
        else:
            from concurrent.futures import ThreadPoolExecutor, as_completed
            with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
                futs = {ex.submit(run_point, a.mmusim, p, spec_dir, spath(p), a.timeout): p for p in todo}
                for fu in as_completed(futs):
                    record(futs[fu], *fu.result())
        if w is None:
            start_csv({})  # no run succeeded: the kinds are unknown, one column per name
    except KeyboardInterrupt:
        progress.clear()
        print(f"sweep: interrupted; {finished}/{total} points are in {a.output}; run again to finish",
              file=sys.stderr)
        return 130
    finally:
        f.close()
    rewrite_in_order(out, columns, pts)
    failed = sum(1 for r in read_done(out, columns).values() if r["status"] == "failed")
    progress.line(f"sweep: all {total} points in {a.output} ({failed} failed)")
    return 1 if failed else 0


def run_dask(a, todo, spec_dir, spath, record):
    import cloudpickle
    from distributed import Client, as_completed
    # Workers do not have this script on their path: ship run_point by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with Client(a.scheduler, timeout=30) as client:
        futs = {}
        for p in todo:
            fu = client.submit(run_point, a.mmusim, p, spec_dir, spath(p), a.timeout, pure=False)
            futs[fu] = p
        for fu in as_completed(futs):
            record(futs[fu], *fu.result())


def rewrite_in_order(out, columns, pts):
    rows = read_done(out, columns)
    if len(rows) < len(pts):
        return
    tmp = out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for p in pts:
            w.writerow(rows[point_id(p)])
    os.replace(tmp, out)


if __name__ == "__main__":
    sys.exit(main())
