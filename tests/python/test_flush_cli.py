"""Flush strategies, overcommit and ebizzy from the command line."""
import json
import subprocess

from conftest import mmusim_bin


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=300)


def test_ebizzy_overcommitted_with_pv_reports_shootdowns_and_scheduling(tmp_path):
    out = tmp_path / "s.json"
    p = run("--workload", "ebizzy", "--vcpus", "4", "--pcpus", "2", "--flush", "pv",
            "--iterations", "4", "--timeslice", "100000", "--quiet", "--stats-json", str(out))
    assert p.returncode == 0, p.stderr
    s = json.loads(out.read_text())
    assert s["guest.shootdown.count"] == 16  # 4 threads x 4 frees, each one shootdown
    assert s["workload.ebizzy.records"] == 16
    assert s["workload.ebizzy.records_per_s"] > 0
    assert s["sched.wait"]["count"] >= 4
    assert s["check.violations"] == 0
    for i in range(4):
        assert f"vcpu.{i}.descheduled_cycles" in s


def test_bad_flush_inputs_are_one_line_and_exit_2():
    for args, prefix in [(["--flush", "nope"], "--flush: "),
                         (["--ebizzy-chunk", "6K"], "--ebizzy-chunk: "),
                         (["--timeslice", "0"], "--timeslice: ")]:
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and prefix in lines[0], (args, p.stderr)
