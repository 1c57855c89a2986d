"""The mmusim executable as a user runs it: outputs, determinism, and bad input."""
import json
import subprocess

from conftest import mmusim_bin

REQUIRED = [
    "sim.cycles", "hv.fault.count", "hv.fault.retry", "hv.fault.latency",
    "hv.spte.cmpxchg_fail", "hv.lock.mmu_lock.wait", "hv.lock.pages_lock.wait",
    "hv.flush.count", "hv.ipi.count", "walk.refs", "tlb.l1.hit", "tlb.l1.miss",
    "tlb.l2.hit", "tlb.l2.miss", "check.violations", "vcpu.0.populate_cycles",
    "vcpu.1.populate_cycles",
]
HIST_FIELDS = ["count", "mean", "p50", "p90", "p99", "max"]


def run(*args, check=True):
    p = subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_stats_json_has_the_named_statistics(tmp_path):
    out = tmp_path / "s.json"
    run("--vcpus", "2", "--mem-per-vcpu", "2M", "--stats-json", str(out), "--quiet")
    stats = json.loads(out.read_text())
    for key in REQUIRED:
        assert key in stats, key
    for key in ["hv.fault.latency", "hv.lock.mmu_lock.wait", "walk.refs"]:
        for f in HIST_FIELDS:
            assert f in stats[key], (key, f)
    assert stats["hv.fault.count"] >= 1024  # 2 vCPUs x 512 pages, each faulted once at least
    assert stats["check.violations"] == 0
    assert stats["walk.refs"]["max"] <= 24


def test_same_seed_same_bytes_and_summary_is_readable(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    args = ["--vcpus", "4", "--mem-per-vcpu", "1M", "--pattern", "random", "--overlap", "0.5",
            "--seed", "3"]
    p = run(*args, "--stats-json", str(a))
    run(*args, "--stats-json", str(b), "--quiet")
    assert a.read_bytes() == b.read_bytes()
    assert "stage-2 faults" in p.stdout and "simulated time" in p.stdout


def test_timeline_is_chrome_trace_with_a_track_per_thread(tmp_path):
    t = tmp_path / "t.json"
    run("--vcpus", "2", "--mem-per-vcpu", "1M", "--timeline", str(t), "--quiet")
    trace = json.loads(t.read_text())
    names = {e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M"}
    assert {"vcpu.0", "vcpu.1", "host.vmm"} <= names
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert any(e["name"].startswith("tdp fault") for e in spans)
    assert all(e["dur"] >= 0 for e in spans)


def test_config_file_and_command_line_precedence(tmp_path):
    ini = tmp_path / "run.ini"
    ini.write_text("vcpus = 3\nmem-per-vcpu = 1M\nmmu-lock = exclusive\n")
    out = tmp_path / "s.json"
    run("--config", str(ini), "--vcpus", "2", "--stats-json", str(out), "--quiet")
    stats = json.loads(out.read_text())
    assert stats["sim.vcpus"] == 2
    assert stats["hv.lock.mmu_lock.write_acquire"] > 0
    assert stats["hv.lock.mmu_lock.read_acquire"] == 0


def test_help_lists_options_with_defaults():
    p = run("--help")
    for opt in ["--vcpus", "--mmu-lock", "--page-size", "--lat-dram", "--stats-json", "--timeline"]:
        assert opt in p.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    cases = [
        (["--vcpus", "abc"], "--vcpus"),
        (["--page-size", "3M"], "--page-size"),
        (["--frobnicate"], "frobnicate"),
        (["--overlap", "1.5"], "--overlap"),
        (["--mmu-lock", "sometimes"], "--mmu-lock"),
        (["--config", str(tmp_path / "missing.ini")], "missing.ini"),
        (["--workload", "gups"], "--workload"),
        (["--arch", "sparc"], "--arch"),
        (["--flush", "sometimes"], "--flush"),
    ]
    for args, named in cases:
        p = run(*args, check=False)
        assert p.returncode == 2, (args, p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and named in lines[0], (args, p.stderr)
        assert p.stdout == ""
