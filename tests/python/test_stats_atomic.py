"""An interrupted run leaves either no stats file or a complete one: mmusim writes --stats-json
to a temporary file and renames it (sim/core/stats.cpp write_file_atomic). The run is killed
with SIGKILL at several points of its life, the last ones close to its end where the stats are
being written; each time the stats path must be absent or hold complete, parseable JSON."""
import json
import os
import signal
import subprocess
import time

from conftest import mmusim_bin

# Long enough (about a second here) that kills land before, during and after the simulation.
ARGS = ["--vcpus", "4", "--mem-per-vcpu", "64M", "--quiet"]


def run(out, kill_after=None):
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
    p = subprocess.Popen([mmusim_bin(), *ARGS, "--stats-json", str(out)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is not None:
        time.sleep(kill_after)
        p.send_signal(signal.SIGKILL)
    _, err = p.communicate(timeout=300)
    return p.returncode, err


def complete(path):
    stats = json.loads(path.read_text())  # raises on a torn file
    return "sim.cycles" in json.dumps(stats)


def test_finished_run_writes_complete_stats(tmp_path):
    out = tmp_path / "s.json"
    rc, err = run(out)
    assert rc == 0, err
    assert complete(out)
    assert [f.name for f in tmp_path.iterdir()] == ["s.json"]  # no temporary left behind


def test_killed_run_leaves_no_or_complete_stats(tmp_path):
    out = tmp_path / "ref.json"
    t0 = time.monotonic()
    assert run(out)[0] == 0
    duration = time.monotonic() - t0  # only to place the kills; nothing asserts on it
    outcomes = set()
    for i, frac in enumerate([0.1, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0, 1.02]):
        out = tmp_path / f"k{i}.json"
        rc, _ = run(out, kill_after=duration * frac)
        if out.exists():
            assert complete(out), f"torn stats file after SIGKILL at {frac:.2f} of the run"
            outcomes.add("complete")
        else:
            assert rc == -signal.SIGKILL
            outcomes.add("absent")
    # Early kills must have hit the run before it wrote anything.
    assert "absent" in outcomes
