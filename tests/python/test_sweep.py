"""scripts/sweep.py: every point becomes a row, failures are rows, an interrupted sweep (kill -9)
resumes without losing or repeating finished points, and a Dask cluster of a scheduler and two
workers on 127.0.0.1 produces the same CSV as the local run."""
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, mmusim_bin, run_on_terminal

HIST_FIELDS = ["count", "mean", "p50", "p90", "p99", "max"]

SWEEP = [sys.executable if sys.executable.startswith("/usr/bin/") else "/usr/bin/python3",
         str(ROOT / "scripts" / "sweep.py")]


def spec(tmp_path, sweep, name="spec.json", fixed=None):
    p = tmp_path / name
    p.write_text(json.dumps({"fixed": fixed or {"mem-per-vcpu": "256K"}, "sweep": sweep}))
    return p


def sweep(*args, check=True, **kw):
    p = subprocess.run([*SWEEP, *map(str, args), "--mmusim", mmusim_bin()], capture_output=True,
                       text=True, timeout=600, **kw)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_every_point_is_a_row_with_headline_stats(tmp_path):
    s = spec(tmp_path, {"vcpus": [1, 2], "mmu-lock": ["exclusive", "shared"]})
    out = tmp_path / "r.csv"
    p = sweep(s, "-o", out, "--jobs", "2", "--progress", "on")
    assert "4/4 done" in p.stderr and "ETA" in p.stderr
    r = rows(out)
    assert [(x["vcpus"], x["mmu-lock"]) for x in r] == [
        ("1", "exclusive"), ("1", "shared"), ("2", "exclusive"), ("2", "shared")]
    for x in r:
        assert x["status"] == "ok" and x["mem-per-vcpu"] == "256K"
        stats = json.load(open(tmp_path / x["stats_file"]))
        assert int(x["hv.fault.count"]) == stats["hv.fault.count"] >= 64 * int(x["vcpus"])
        assert float(x["hv.fault.latency.mean"]) == stats["hv.fault.latency"]["mean"]


def test_requested_histograms_are_columns_of_their_fields(tmp_path):
    # Kinds come from each run's --stats-schema, not from the name: neither name ends the way
    # the old guess expected, so both used to come out as one empty column.
    p = tmp_path / "spec.json"
    p.write_text(json.dumps({
        "fixed": {"workload": "dirty-log", "mem-per-vcpu": "256K", "iterations": "2"},
        "sweep": {"vcpus": [1, 2]},
        "stats": ["mem.dram.queue_wait", "workload.dirty_log.get_log_cycles",
                  "workload.dirty_log.enable_cycles", "hv.fault.latency.p99"]}))
    out = tmp_path / "r.csv"
    sweep(p, "-o", out)
    header = out.read_text().splitlines()[0].split(",")
    for n in ["mem.dram.queue_wait", "workload.dirty_log.get_log_cycles"]:
        assert n not in header
        assert [f"{n}.{f}" for f in HIST_FIELDS] == [c for c in header if c.startswith(n + ".")]
    assert "workload.dirty_log.enable_cycles" in header and "hv.fault.latency.p99" in header
    for x in rows(out):
        stats = json.load(open(tmp_path / x["stats_file"]))
        schema = json.load(open(tmp_path / x["stats_file"].replace(".json", ".schema.json")))
        assert schema["mem.dram.queue_wait"]["kind"] == "histogram"
        for n in ["mem.dram.queue_wait", "workload.dirty_log.get_log_cycles"]:
            for f in HIST_FIELDS:
                assert x[f"{n}.{f}"] != "" and float(x[f"{n}.{f}"]) == stats[n][f], (n, f)
        assert int(x["workload.dirty_log.get_log_cycles.count"]) == 2
        assert int(x["workload.dirty_log.enable_cycles"]) == stats["workload.dirty_log.enable_cycles"]
        assert int(x["hv.fault.latency.p99"]) == stats["hv.fault.latency"]["p99"]


def test_progress_only_on_a_terminal_or_when_asked_and_the_csv_is_the_same(tmp_path):
    s = spec(tmp_path, {"vcpus": [1, 2], "seed": [1, 2]})
    quiet, shown = tmp_path / "quiet" / "r.csv", tmp_path / "shown" / "r.csv"
    quiet.parent.mkdir()
    shown.parent.mkdir()
    p = sweep(s, "-o", quiet, "--jobs", "2")  # stderr is a pipe: auto shows nothing
    assert p.stderr == "" and p.stdout == ""
    p = sweep(s, "-o", shown, "--jobs", "2", "--progress", "on")
    lines = p.stderr.splitlines()
    assert lines[0] == "sweep: 4 points, 0 already done, 4 to run"
    done = [l for l in lines if " done, ETA " in l]
    assert [l.split()[1] for l in done] == ["1/4", "2/4", "3/4", "4/4"]
    assert done[-1].endswith("ETA 0s")
    assert lines[-1] == f"sweep: all 4 points in {shown} (0 failed)"
    assert p.stdout == ""
    assert quiet.read_bytes() == shown.read_bytes()


def test_progress_is_rewritten_in_place_on_a_terminal(tmp_path):
    s = spec(tmp_path, {"vcpus": [1, 2]})
    out = tmp_path / "r.csv"
    code, _, text = run_on_terminal([*SWEEP, s, "-o", out, "--jobs", "1", "--mmusim", mmusim_bin()])
    assert code == 0, text
    assert "\rsweep: 1/2 done, ETA " in text and "\rsweep: 2/2 done, ETA 0s" in text
    # The in-place line is blanked before the final message, which is a line of its own.
    assert text.rstrip().endswith(f"\rsweep: all 2 points in {out} (0 failed)")
    assert len(rows(out)) == 2


def test_failed_point_is_recorded_with_its_error(tmp_path):
    s = spec(tmp_path, {"vcpus": [1, 5000]})
    out = tmp_path / "r.csv"
    p = sweep(s, "-o", out, check=False)
    assert p.returncode == 1
    r = {x["vcpus"]: x for x in rows(out)}
    assert r["1"]["status"] == "ok"
    assert r["5000"]["status"] == "failed" and r["5000"]["exit"] == "2"
    assert "--vcpus" in r["5000"]["error"]
    # A re-run keeps the failure (it is finished) and runs nothing.
    p = sweep(s, "-o", out, "--progress", "on", check=False)
    assert "2 already done, 0 to run" in p.stderr


def test_bad_spec_is_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"fixed": {}, "sweep": {"vcpus": []}}')
    p = sweep(bad, "-o", tmp_path / "r.csv", check=False)
    assert p.returncode == 2 and "vcpus: expected a non-empty list" in p.stderr


def test_resume_after_kill_loses_no_finished_point(tmp_path):
    pts = {"vcpus": [1, 2, 3, 4], "seed": [1, 2], "pattern": ["seq", "random"]}
    s = spec(tmp_path, pts, fixed={"mem-per-vcpu": "512K"})
    ref = tmp_path / "ref" / "r.csv"
    ref.parent.mkdir()
    sweep(s, "-o", ref, "--jobs", "2")
    out = tmp_path / "run" / "r.csv"
    out.parent.mkdir()
    proc = subprocess.Popen([*SWEEP, str(s), "-o", str(out), "--jobs", "1", "--mmusim", mmusim_bin()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            if out.exists() and out.read_text().count("\n") >= 4:  # header + 3 rows
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and the mmusim it was running
        proc.wait()
    before = rows(out)
    assert 3 <= len(before) < 16
    p = sweep(s, "-o", out, "--jobs", "2", "--progress", "on")
    assert f"{len(before)} already done, {16 - len(before)} to run" in p.stderr
    assert out.read_bytes() == ref.read_bytes()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    port = free_port()
    addr = f"127.0.0.1:{port}"
    py = "/usr/bin/python3"
    procs = [subprocess.Popen([py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)]
    for i in range(2):
        procs.append(subprocess.Popen([py, "-m", "distributed.cli.dask_worker", f"tcp://{addr}",
                                       "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                                       "--local-directory", str(tmp_path / f"w{i}")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path))
    try:
        from distributed import Client
        with Client(addr, timeout=60) as c:
            c.wait_for_workers(2, timeout=120)
            assert len(c.scheduler_info()["workers"]) == 2
        yield addr
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_dask_cluster_gives_the_local_csv(tmp_path, dask_cluster):
    s = spec(tmp_path, {"vcpus": [1, 2], "mmu-lock": ["exclusive", "shared"]})
    local, dist = tmp_path / "local" / "r.csv", tmp_path / "dask" / "r.csv"
    local.parent.mkdir()
    dist.parent.mkdir()
    sweep(s, "-o", local, "--jobs", "2")
    p = sweep(s, "-o", dist, "--scheduler", dask_cluster, "--progress", "on")
    assert "4/4 done" in p.stderr
    assert dist.read_bytes() == local.read_bytes()
    assert len(rows(dist)) == 4
