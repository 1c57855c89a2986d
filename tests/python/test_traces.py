"""Traces as a user meets them: the lackey importer on a real program traced in the test,
replay through the mmusim executable, the converter, and bad trace input."""
import gzip
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import ROOT, mmusim_bin

LACKEY = ROOT / "scripts" / "lackey2trace.py"


def trace_tool():
    return str(pathlib.Path(mmusim_bin()).parent / "mmusim-trace")


def run(*args, check=True):
    p = subprocess.run([*map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="module")
def lackey_logs(tmp_path_factory):
    if not shutil.which("valgrind"):
        pytest.skip("valgrind is not installed (scripts/install-deps.sh)")
    d = tmp_path_factory.mktemp("lackey")
    # Two real processes: a shell running /bin/true as a child.
    run("valgrind", "--tool=lackey", "--trace-mem=yes", "--trace-children=yes",
        f"--log-file={d}/run.%p.log", "/bin/sh", "-c", "/bin/true; exit 0")
    logs = sorted(d.glob("run.*.log"), key=lambda p: int(p.name.split(".")[1]))
    assert len(logs) == 2, logs
    return logs


def lackey_accesses(log):
    n = 0
    for line in open(log):
        if not line.startswith("==") and line.strip():
            n += 1
    return n


def test_lackey_import_keeps_every_access_and_replays(lackey_logs, tmp_path):
    out = tmp_path / "t.trace.gz"
    p = run("/usr/bin/python3", LACKEY, *lackey_logs, "-o", out)
    assert "v1:" in p.stderr
    lines = gzip.open(out, "rt").read().splitlines()
    assert lines[0] == "mmusim-trace 1"
    per_vcpu = [sum(1 for l in lines if l.startswith(f"v{v} ")) for v in range(2)]
    assert per_vcpu == [lackey_accesses(l) for l in lackey_logs]
    # Process 1 lives 1 TiB above process 0: separate address spaces.
    v1 = [int(l.split()[2], 16) for l in lines if l.startswith("v1 ")]
    assert min(v1) >= 1 << 40
    s = tmp_path / "s.json"
    run(mmusim_bin(), "--workload", "trace", "--trace", out, "--vcpus", "2", "--stats-json", s, "--quiet")
    stats = json.loads(s.read_text())
    assert stats["guest.accesses"] == sum(per_vcpu)
    assert stats["check.violations"] == 0
    assert stats["guest.kernel.frames"] == stats["trace.pages"] > 0
    assert stats["guest.kernel.tables"] > 0


def test_merge_same_page_keeps_the_page_sequence(lackey_logs, tmp_path):
    full, merged = tmp_path / "f.trace", tmp_path / "m.trace"
    run("/usr/bin/python3", LACKEY, lackey_logs[0], "-o", full)
    run("/usr/bin/python3", LACKEY, lackey_logs[0], "-o", merged, "--merge-same-page")

    def runs_of_pages(path):
        out = []
        for l in open(path):
            w = l.split()
            if len(w) >= 3 and w[1] in "rwx":
                key = (w[1], int(w[2], 16) >> 12)
                if not out or out[-1] != key:
                    out.append(key)
        return out
    assert runs_of_pages(full) == runs_of_pages(merged)

    def counts(path):
        acc = gap = 0
        for l in open(path):
            w = l.split()
            if len(w) >= 3 and w[1] in "rwx":
                acc += 1
            elif len(w) == 3 and w[1] == "gap":
                gap += int(w[2])
        return acc, gap
    (fa, fg), (ma, mg) = counts(full), counts(merged)
    assert fg == 0 and ma < fa
    assert ma + mg == fa  # every dropped access is one cycle of gap


def test_binary_and_text_replay_to_identical_stats(tmp_path):
    src = ROOT / "traces" / "ls.trace.gz"
    binary = tmp_path / "ls.bin.gz"
    run(trace_tool(), "convert", src, binary)
    info = run(trace_tool(), "info", binary).stdout
    assert "form       binary" in info
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for t, s in ((src, a), (binary, b)):
        run(mmusim_bin(), "--workload", "trace", "--trace", t, "--stats-json", s, "--quiet", "--vcpus", "1")
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(a.read_text())["trace.accesses"] > 100000


@pytest.mark.parametrize("body,where", [
    ("v0 r 0x1000\nv0 fly 0x10\n", ":3: op: unknown operation 'fly'"),
    ("v0 r 0x10zz\n", ":2: address: '0x10zz' is not a number"),
    ("guest-mem 1M\nspace gpa\nv0 r 0x200000\n", ":4: address: 0x200000 is outside guest memory"),
    ("h0 memslot-delete 1\nv0 r 0x0\n", ":2: op: host event 'memslot-delete' is not modelled by --arch x86"),
])
def test_bad_trace_is_exit_2_with_location_and_no_stats_file(tmp_path, body, where):
    t = tmp_path / "bad.trace"
    t.write_text("mmusim-trace 1\n" + body)
    s = tmp_path / "s.json"
    p = run(mmusim_bin(), "--workload", "trace", "--trace", t, "--stats-json", s, check=False)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and f"{t}{where}" in p.stderr, p.stderr
    assert not s.exists()
    assert not list(tmp_path.glob("s.json*"))  # no temporary left either


def test_truncated_binary_trace_names_record_offset(tmp_path):
    t = tmp_path / "t.trace"
    t.write_text("mmusim-trace 1\nv0 r 0x1000 8\nv0 w 0x2000 8\n")
    b = tmp_path / "t.bin"
    run(trace_tool(), "convert", t, b)
    data = b.read_bytes()
    b.write_bytes(data[:-1])
    p = run(mmusim_bin(), "--workload", "trace", "--trace", b, check=False)
    assert p.returncode == 2
    assert f"{b}: record at byte" in p.stderr and "size: truncated record" in p.stderr
    b.write_bytes(b"NOTATRACE" + data[9:])
    p = run(mmusim_bin(), "--workload", "trace", "--trace", b, check=False)
    assert p.returncode == 2 and "header: not an mmusim trace" in p.stderr


def test_timeline_summary_names_faults(tmp_path):
    tl = tmp_path / "t.json"
    run(mmusim_bin(), "--vcpus", "2", "--mem-per-vcpu", "256K", "--timeline", tl, "--quiet")
    p = run("/usr/bin/python3", ROOT / "scripts" / "timeline.py", tl, "--top", "3")
    assert "top 3 longest faults" in p.stdout and "vcpu." in p.stdout
    assert "tdp fault" in p.stdout
