"""Trace replay from compressed and very large inputs, through the mmusim executable: xz and gzip
traces in either form replay to the statistics of the plain trace; a cut-off stream is exit 2
naming the file and the first line or record it lost, with no statistics file; and a trace of
more than 1 GiB replays in the memory a small one needs (docs/TRACE_FORMAT.md, Replay)."""
import gzip
import json
import lzma
import os

import pytest

from conftest import ROOT, mmusim_bin
from test_traces import run, trace_tool

LS = ROOT / "traces" / "ls.trace.gz"


def replay(trace, stats, *extra):
    run(mmusim_bin(), "--workload", "trace", "--trace", trace, "--stats-json", stats, "--quiet",
        "--vcpus", "2", *extra)
    return stats.read_bytes()


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    """The shipped ls trace as plain text and plain binary, and each in gzip and xz."""
    d = tmp_path_factory.mktemp("forms")
    text, binary = d / "ls.trace", d / "ls.bin"
    text.write_bytes(gzip.decompress(LS.read_bytes()))
    run(trace_tool(), "convert", text, binary, "--to", "binary")
    out = {"text": text, "binary": binary}
    for name, path in (("text", text), ("binary", binary)):
        out[name + ".gz"] = d / (path.name + ".gz")
        out[name + ".gz"].write_bytes(gzip.compress(path.read_bytes()))
        out[name + ".xz"] = d / (path.name + ".xz")
        out[name + ".xz"].write_bytes(lzma.compress(path.read_bytes()))
    return out


def test_every_encoding_replays_to_the_same_statistics(forms, tmp_path):
    want = replay(forms["text"], tmp_path / "plain.json")
    for name in ("text.gz", "text.xz", "binary", "binary.gz", "binary.xz"):
        assert replay(forms[name], tmp_path / f"{name}.json") == want, name


@pytest.mark.parametrize("name,where", [
    ("text.gz", "gzip stream ends early"),
    ("text.xz", "xz stream ends early"),
    ("binary.gz", "gzip stream ends early"),
    ("binary.xz", "xz stream ends early"),
])
def test_cut_off_stream_is_exit_2_naming_the_first_lost_record(forms, tmp_path, name, where):
    data = forms[name].read_bytes()
    cut = tmp_path / ("cut." + name)
    cut.write_bytes(data[: len(data) // 2])
    s = tmp_path / "s.json"
    p = run(mmusim_bin(), "--workload", "trace", "--trace", cut, "--stats-json", s, check=False)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and where in p.stderr, p.stderr
    # Where: the line (text) or record offset (binary) just past the last whole one decoded.
    plain = forms[name.split(".")[0]].read_bytes()
    if name.startswith("text"):
        line = int(p.stderr.split(f"{cut}:")[1].split(":")[0])
        assert 2 < line < plain.count(b"\n"), p.stderr
    else:
        offset = int(p.stderr.split(f"{cut}: record at byte ")[1].split(":")[0])
        assert 24 < offset < len(plain), p.stderr
    assert ": input: " in p.stderr
    assert not s.exists()


def write_large_trace(path, min_bytes):
    """4 vCPUs in round robin, each reading and writing 64 pages of its own, with compute gaps:
    a hit-heavy stream that costs the simulator little per record."""
    lines = []
    for i in range(4096):
        v = i % 4
        page = (i // 4) % 64
        op = "w" if i % 16 == 0 else "r"
        lines.append(f"v{v} {op} 0x{0x7f0000000000 + (v << 32) + page * 4096 + (i % 64) * 64:x} 8\n")
        if i % 8 == 7:
            lines.append(f"v{v} gap 40\n")
    block = ("".join(lines)).encode()
    with open(path, "wb") as f:
        f.write(b"mmusim-trace 1\n")
        written = 0
        while written < min_bytes:
            f.write(block)
            written += len(block)
    return os.path.getsize(path)


def replay_rss_mib(trace, tmp_path):
    """Replays `trace` in a child of its own; returns (its peak RSS in MiB, its statistics)."""
    s = tmp_path / (trace.name + ".json")
    pid = os.fork()
    if pid == 0:  # the child: exec mmusim with stdout and stderr closed off
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        args = [mmusim_bin(), "--workload", "trace", "--trace", str(trace), "--vcpus", "4",
                "--stats-json", str(s), "--quiet"]
        os.execv(args[0], args)
    _, status, usage = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024, json.loads(s.read_text())


def test_trace_larger_than_a_gib_replays_in_bounded_memory(tmp_path):
    small, large = tmp_path / "small.trace", tmp_path / "large.trace"
    write_large_trace(small, 64 << 20)
    size = write_large_trace(large, (1 << 30) + (64 << 20))
    assert size > 1 << 30
    rss_small, st_small = replay_rss_mib(small, tmp_path)
    rss_large, st_large = replay_rss_mib(large, tmp_path)
    large.unlink()
    # Every record was replayed ...
    assert st_large["trace.records"] > 16 * st_small["trace.records"]
    assert st_large["guest.accesses"] > 16 * st_small["guest.accesses"]
    # ... in the memory the 64 MiB trace needed: the readers stream, whatever the length.
    assert rss_large < 256, rss_large
    assert rss_large < rss_small + 16, (rss_small, rss_large)
