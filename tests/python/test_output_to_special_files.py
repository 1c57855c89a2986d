"""Outputs written to a path that is not a regular file: a named pipe stays a pipe and its
reader gets the whole stats document (the output is written in place, not renamed over it,
which would have replaced /dev/null itself with a regular file)."""
import json
import os
import stat
import subprocess
import threading

from conftest import mmusim_bin


def test_stats_json_to_a_named_pipe_is_written_in_place(tmp_path):
    fifo = tmp_path / "stats.fifo"
    os.mkfifo(fifo)
    got = {}

    def read():
        with open(fifo, "rb") as f:
            got["data"] = f.read()

    reader = threading.Thread(target=read, daemon=True)  # never holds up the session
    reader.start()
    p = subprocess.run([mmusim_bin(), "--vcpus", "1", "--mem-per-vcpu", "1M", "--quiet",
                        "--stats-json", str(fifo)], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
    reader.join(timeout=30)
    assert p.returncode == 0, p.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not list(tmp_path.glob("stats.fifo.tmp.*"))
    assert "sim.cycles" in json.dumps(json.loads(got["data"]))
