"""The ChampSim importer (`mmusim-trace import champsim`): traces written by the test in
ChampSim's 64-byte input_instr layout (docs/TRACE_FORMAT.md, Importers) give
exactly the expected records under every option, plain, gzip and xz alike; bad input is exit 2
naming file, record and field; and a ChampSim trace and its lackey twin replay to identical
translation statistics."""
import gzip
import json
import lzma
import random
import struct

import pytest

from conftest import mmusim_bin
from test_traces import run, trace_tool

RECORD = struct.Struct("<QBB2B4B2Q4Q")  # ip, is_branch, branch_taken, regs, dst_mem[2], src_mem[4]
assert RECORD.size == 64


def instr(ip, reads=(), writes=(), branch=0):
    src = list(reads) + [0] * (4 - len(reads))
    dst = list(writes) + [0] * (2 - len(writes))
    return RECORD.pack(ip, branch, branch, 1, 2, 3, 4, 5, 6, *dst, *src)


def records(path):
    lines = open(path).read().splitlines()
    assert lines[:2] == ["mmusim-trace 1", "space gva"]
    return lines[2:]


def champsim(tmp_path, data, *opts, name="t.champsim", check=True):
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / "out.trace"
    p = run(trace_tool(), "import", "champsim", src, "-o", out, *opts, check=check)
    return (records(out) if p.returncode == 0 else p), src


SAMPLE = b"".join([
    instr(0x401000, reads=[0x7f0000001000], writes=[0x7f0000002008]),
    instr(0x401004),                                          # no memory operand
    instr(0x401008, reads=[0x600000, 0x600008, 0, 0x601000]),  # zero: no operand
    instr(0x402000, writes=[0, 0x600010], branch=1),
])


def test_each_instruction_is_its_fetch_reads_then_writes(tmp_path):
    got, _ = champsim(tmp_path, SAMPLE)
    assert got == ["v0 x 0x401000", "v0 r 0x7f0000001000", "v0 w 0x7f0000002008",
                   "v0 x 0x401004",
                   "v0 x 0x401008", "v0 r 0x600000", "v0 r 0x600008", "v0 r 0x601000",
                   "v0 x 0x402000", "v0 w 0x600010"]


def test_skip_limit_and_no_ifetch(tmp_path):
    got, _ = champsim(tmp_path, SAMPLE, "--skip", "1", "--limit", "2")
    assert got == ["v0 x 0x401004", "v0 x 0x401008", "v0 r 0x600000", "v0 r 0x600008",
                   "v0 r 0x601000"]
    got, _ = champsim(tmp_path, SAMPLE, "--no-ifetch", "--skip", "2")
    assert got == ["v0 r 0x600000", "v0 r 0x600008", "v0 r 0x601000", "v0 w 0x600010"]
    got, _ = champsim(tmp_path, SAMPLE, "--skip", "9")
    assert got == []
    # A limit ends the import there: a broken tail after it is never read.
    got, _ = champsim(tmp_path, SAMPLE + b"\0" * 10, "--limit", "4")
    assert len(got) == 10


def test_merge_same_page_compares_with_the_previous_access_of_the_same_kind(tmp_path):
    got, _ = champsim(tmp_path, SAMPLE, "--merge-same-page")
    # Fetches 0x401000/4/8 share a page, reads 0x600000/8 too; the read of 0x7f0000001000 in
    # between other kinds does not break the fetches' run. Each dropped access is a gap cycle.
    assert got == ["v0 x 0x401000", "v0 r 0x7f0000001000", "v0 w 0x7f0000002008",
                   "v0 gap 2", "v0 r 0x600000", "v0 gap 1", "v0 r 0x601000",
                   "v0 x 0x402000", "v0 w 0x600010"]


def test_one_trace_per_vcpu_in_separate_address_spaces(tmp_path):
    a, b = tmp_path / "a.champsim", tmp_path / "b.champsim.xz"
    a.write_bytes(instr(0x401000))
    b.write_bytes(lzma.compress(instr(0x401000, reads=[0x600000])))
    out = tmp_path / "o.trace"
    run(trace_tool(), "import", "champsim", a, b, "-o", out)
    assert records(out) == ["v0 x 0x401000", "v1 x 0x10000401000", "v1 r 0x10000600000"]
    run(trace_tool(), "import", "champsim", a, b, "-o", out, "--same-address-space")
    assert records(out) == ["v0 x 0x401000", "v1 x 0x401000", "v1 r 0x600000"]


def test_plain_gzip_and_xz_import_alike(tmp_path):
    r = random.Random(5)
    data = b"".join(instr(0x400000 + 4 * i, reads=[r.randrange(1, 1 << 40)] * r.randrange(2),
                          writes=[r.randrange(1, 1 << 40)] * r.randrange(2))
                    for i in range(50000))
    plain, _ = champsim(tmp_path, data)
    assert champsim(tmp_path, gzip.compress(data), name="t.gz")[0] == plain
    assert champsim(tmp_path, lzma.compress(data), name="t.xz")[0] == plain
    assert champsim(tmp_path, data, "--merge-same-page", "--no-ifetch")[0] != plain


@pytest.mark.parametrize("extra,record", [(1, 4), (63, 4)])
def test_partial_record_is_exit_2_naming_file_and_record(tmp_path, extra, record):
    for name, pack in (("p.champsim", bytes), ("p.gz", gzip.compress), ("p.xz", lzma.compress)):
        p, src = champsim(tmp_path, pack(SAMPLE + b"\1" * extra), name=name, check=False)
        assert p.returncode == 2, p.stderr
        assert f"{src}: record {record} (byte {record * 64}): incomplete, {extra} of 64 bytes" in p.stderr
        assert not (tmp_path / "out.trace").exists()


def test_address_out_of_range_names_record_and_field(tmp_path):
    bad = SAMPLE + instr(0x401000, reads=[0x1000, 0x800000000000])
    p, src = champsim(tmp_path, bad, check=False)
    assert p.returncode == 2
    assert f"{src}: record 4 (byte 256): source_memory[1]: address 0x800000000000" in p.stderr
    p, src = champsim(tmp_path, instr(1 << 63), check=False)
    assert p.returncode == 2 and f"{src}: record 0 (byte 0): ip: address" in p.stderr


def test_truncated_compressed_trace_and_bad_options_are_exit_2(tmp_path):
    data = SAMPLE * 1000
    for name, pack in (("t.gz", gzip.compress), ("t.xz", lzma.compress)):
        packed = pack(data)
        p, src = champsim(tmp_path, packed[: len(packed) - 7], name=name, check=False)
        assert p.returncode == 2 and f"{src}: " in p.stderr and "ends early" in p.stderr, p.stderr
    for opts in (["--skip", "x"], ["--limit"], ["--limit", "-1"], ["--bogus"]):
        p, _ = champsim(tmp_path, SAMPLE, *opts, check=False)
        assert p.returncode == 2 and p.stderr.startswith("mmusim-trace: "), p.stderr


def twins(tmp_path, seed, n):
    """A ChampSim trace and the lackey log of the same accesses."""
    r = random.Random(seed)
    code = [0x400000 + (r.randrange(64) << 12) for _ in range(8)]
    data = [0x7f00000000 + (r.randrange(4096) << 12) for _ in range(64)]
    recs, log = [], ["==1== Lackey\n"]
    for _ in range(n):
        ip = r.choice(code) + r.randrange(1024) * 4
        reads = [r.choice(data) + r.randrange(512) * 8 for _ in range(r.choice([0, 0, 1, 2, 4]))]
        writes = [r.choice(data) + r.randrange(512) * 8 for _ in range(r.choice([0, 0, 1, 2]))]
        recs.append(instr(ip, reads, writes))
        log.append(f"I  {ip:x},4\n")
        log += [f" L {a:x},8\n" for a in reads]
        log += [f" S {a:x},8\n" for a in writes]
    c, l = tmp_path / f"t{seed}.champsim.xz", tmp_path / f"t{seed}.log"
    c.write_bytes(lzma.compress(b"".join(recs)))
    l.write_text("".join(log))
    return c, l


def test_champsim_trace_and_its_lackey_twin_replay_identically(tmp_path):
    pairs = [twins(tmp_path, s, 3000) for s in (1, 2)]
    stats = []
    for kind, inputs in (("champsim", [c for c, _ in pairs]), ("lackey", [l for _, l in pairs])):
        out, s = tmp_path / f"{kind}.trace", tmp_path / f"{kind}.json"
        run(trace_tool(), "import", kind, *inputs, "-o", out)
        run(mmusim_bin(), "--workload", "trace", "--trace", out, "--vcpus", "2",
            "--stats-json", s, "--quiet")
        stats.append(json.loads(s.read_text()))
    translation = [k for k in stats[0] if k.startswith(("tlb.", "walk.", "vcpu.", "guest.accesses"))]
    assert len(translation) > 10 and stats[0]["walk.count"] > 0
    assert stats[0]["guest.accesses"] > 2 * 3000
    assert {k: stats[0][k] for k in translation} == {k: stats[1][k] for k in translation}
