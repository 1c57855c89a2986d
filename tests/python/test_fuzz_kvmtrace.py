"""The KVM-trace importer survives fuzzing: a short deterministic run of tests/fuzz/fuzz_kvmtrace.py
(mutated trace-cmd / perf-script text) ends only in exit status 0 or a one-line error with
status 2, and every input the fuzzer once crashed on (tests/fuzz/regressions/kvmtrace/) is now
refused cleanly."""
import pathlib
import subprocess
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
import fuzz_kvmtrace  # noqa: E402


def test_short_fuzz_run_finds_nothing():
    done, findings = fuzz_kvmtrace.fuzz(iterations=400, seed=7, save=False)
    assert done == 400
    assert findings == []


def test_regressions_exit_2_with_one_line(tmp_path):
    cases = sorted((ROOT / "tests" / "fuzz" / "regressions" / "kvmtrace").iterdir())
    assert cases
    for case in cases:
        p = subprocess.run(["/usr/bin/python3", ROOT / "scripts" / "kvmtrace2trace.py", case,
                            "-o", tmp_path / "out.trace"], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 2, (case.name, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_absurd_clock_refused(tmp_path):
    case = ROOT / "tests" / "fuzz" / "corpus" / "kvmtrace" / "perf_old.txt"
    p = subprocess.run(["/usr/bin/python3", ROOT / "scripts" / "kvmtrace2trace.py", case, "-o",
                        tmp_path / "o.trace", "--ghz", "1e308"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2
    assert "--ghz" in p.stderr
