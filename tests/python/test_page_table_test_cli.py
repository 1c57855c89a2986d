"""CLI checks of --workload page-table-test: --help lists it, a run writes each stage's stats,
and the combinations it cannot run exit 2 naming the options."""
import json
import os
import subprocess

from conftest import mmusim_bin

ENV = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, env=ENV,
                          timeout=300)


def test_help_lists_the_workload():
    r = run("--help")
    assert r.returncode == 0
    assert "page-table-test" in r.stdout


def test_run_writes_each_stage(tmp_path):
    out = tmp_path / "s.json"
    r = run("--workload", "page-table-test", "--vcpus", "2", "--mem-per-vcpu", "1M",
            "--quiet", "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    s = json.loads(out.read_text())
    for stage in ("create", "update", "adjust"):
        assert s["workload.page_table_test.%s_cycles" % stage] > 0
    assert s["check.violations"] == 0


def test_shadow_mmu_is_refused():
    r = run("--workload", "page-table-test", "--x86-mmu", "shadow")
    assert r.returncode == 2
    assert "--x86-mmu" in r.stderr or "x86-mmu" in r.stderr


def test_mips_logging_from_the_start_is_refused():
    r = run("--workload", "page-table-test", "--arch", "mips", "--mips-dirty-log", "on")
    assert r.returncode == 2
    assert "mips-dirty-log" in r.stderr and "page-table-test" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_overlap_is_refused():
    r = run("--workload", "page-table-test", "--overlap", "0.5")
    assert r.returncode == 2
    assert "overlap" in r.stderr and "page-table-test" in r.stderr


def test_mips_large_pages_are_refused():
    r = run("--workload", "page-table-test", "--arch", "mips", "--page-size", "2M",
            "--mem-per-vcpu", "2M")
    assert r.returncode == 2
    assert "page-size" in r.stderr
