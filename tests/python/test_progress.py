"""mmusim --progress: the progress line on stderr (README.md, Running). It shows simulated
time, faults, host speed and, where the workload knows its size, the share done and an ETA;
it changes neither stdout nor the statistics; off, or auto on a non-terminal or with --quiet,
print nothing. --progress-after 0 makes the shortest run print its first line at once."""
import json
import re
import subprocess

from conftest import ROOT, mmusim_bin, run_on_terminal

LINE = re.compile(
    r"^mmusim: (?:(?P<share>\d+\.\d)% of (?P<total>\d+) (?P<unit>\w+), ETA \d+[smh]\S* \| )?"
    r"(?P<secs>\d+\.\d{6}) s simulated \((?P<cycles>\d+) cycles\), (?P<faults>\d+) faults \| "
    r"\d+(?:\.\d+)? [kMGT]?cycles/s, \d+(?:\.\d+)? [kMGT]?faults/s$")


def run(*args):
    p = subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p


def without_host_time(summary):
    return [l for l in summary.splitlines() if "host time" not in l]


def test_progress_line_fields_and_unchanged_results(tmp_path):
    base = ["--vcpus", "4", "--mem-per-vcpu", "16M", "--overlap", "0.5", "--pattern", "random",
            "--clock-ghz", "2"]
    on = run(*base, "--progress", "on", "--progress-after", "0",
             "--stats-json", tmp_path / "on.json")
    off = run(*base, "--progress", "off", "--stats-json", tmp_path / "off.json")
    assert (tmp_path / "on.json").read_bytes() == (tmp_path / "off.json").read_bytes()
    assert without_host_time(on.stdout) == without_host_time(off.stdout)
    assert off.stderr == ""
    lines = on.stderr.splitlines()
    assert lines and on.stderr.endswith("\n")  # not a terminal: whole lines only
    stats = json.loads((tmp_path / "on.json").read_text())
    for line in lines:
        m = LINE.match(line)
        assert m, line
        assert m["unit"] == "pages" and int(m["total"]) == 4 * 16 * 256  # pages per vCPU x 4
        cycles = int(m["cycles"])
        assert 0 < cycles <= stats["sim.cycles"]
        assert float(m["secs"]) == round(cycles / 2e9, 6)  # simulated seconds at 2 GHz
        assert int(m["faults"]) <= stats["hv.fault.count"]
        assert 0.0 < float(m["share"]) < 100.0


def test_trace_progress_counts_records(tmp_path):
    p = run("--workload", "trace", "--trace", ROOT / "traces" / "ls.trace.gz", "--vcpus", "1",
            "--progress", "on", "--progress-after", "0", "--quiet")
    assert p.stdout == ""  # --quiet keeps stdout empty; --progress on still shows the line
    m = LINE.match(p.stderr.splitlines()[0])
    assert m and m["unit"] == "records" and int(m["total"]) > 100000


def test_no_eta_when_the_workload_does_not_know_its_size():
    p = run("--workload", "root-churn", "--progress", "on", "--progress-after", "0", "--quiet")
    m = LINE.match(p.stderr.splitlines()[0])
    assert m and m["total"] is None and "ETA" not in p.stderr


def test_off_and_auto_on_a_pipe_print_nothing():
    for mode in ("off", "auto"):
        p = run("--mem-per-vcpu", "16M", "--progress", mode, "--progress-after", "0")
        assert p.stderr == "", mode
        assert "simulated time" in p.stdout


def read_terminal(args, columns=200):
    code, out, term = run_on_terminal([mmusim_bin(), *args], columns)
    assert code == 0, term
    return out, term


def test_auto_on_a_terminal_rewrites_one_line_and_clears_it():
    out, term = read_terminal(["--mem-per-vcpu", "16M", "--progress-after", "0"])
    assert "simulated time" in out
    assert term.startswith("\rmmusim: ") and "\n" not in term
    shown = [t.rstrip(" ") for t in term.split("\r") if t.strip()]
    assert shown and all(LINE.match(t) for t in shown), shown
    assert term.endswith("\r") and term.split("\r")[-2].strip() == ""  # blanked at the end
    # A line wider than the terminal would wrap and no longer be rewritten in place: it is cut.
    _, narrow = read_terminal(["--mem-per-vcpu", "16M", "--progress-after", "0"], columns=40)
    shown = [t for t in narrow.split("\r") if t.strip()]
    assert shown and all(len(t) == 39 and t.startswith("mmusim: ") for t in shown), shown
    _, quiet = read_terminal(["--mem-per-vcpu", "16M", "--progress-after", "0", "--quiet"])
    assert quiet == ""


def test_bad_progress_values_are_exit_2():
    for args, named in ((["--progress", "sometimes"], "--progress"),
                        (["--progress-after", "-1"], "--progress-after")):
        p = subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and named in p.stderr, p.stderr
