"""The native lackey importer (`mmusim-trace import lackey`) against the Python reference
(scripts/lackey2trace.py): byte-identical output for the same options on generated logs full of
edge cases and on real logs of programs traced in the test; plain, gzip and xz input; bad input
is exit 2 naming file and line, with no output left behind."""
import gzip
import lzma
import pathlib
import random

import pytest

from conftest import ROOT
from test_traces import lackey_logs, run, trace_tool  # noqa: F401 (a fixture)

LACKEY = ROOT / "scripts" / "lackey2trace.py"
OPTIONS = [[], ["--merge-same-page"], ["--same-address-space"],
           ["--merge-same-page", "--same-address-space"]]


def generated_log(seed, lines=20000):
    """A lackey log with the odd corners the reference importer accepts: valgrind lines, blank
    and whitespace-only lines, CRLF and lone CR line ends, tabs, upper-case hex, leading zeros,
    sizes 0 and above a page, runs on one page (for the merge), no final newline."""
    r = random.Random(seed)
    out = [f"=={seed}== Lackey, an example Valgrind tool\n", "==1== \n"]
    pages = [r.randrange(1 << 24) << 12 for _ in range(40)]
    for _ in range(lines):
        page = r.choice(pages)
        addr = page + r.randrange(4096)
        hx = f"{addr:x}" if r.random() < 0.8 else f"{addr:016X}"
        size = r.choice([1, 2, 4, 8, 8, 8, 16, 0, 4096, 9999, 123456789012345678901234])
        kind = r.random()
        if kind < 0.4:
            line = f"I  {hx},{size}"
        else:
            lead = "\t" if r.random() < 0.05 else " "
            sep = " " * r.choice([1, 1, 1, 2])
            line = f"{lead}{'LSM'[r.randrange(3)]}{sep}{hx},{size}"
        line += r.choice(["", "", "", " ", "\t "])
        end = r.choice(["\n"] * 20 + ["\r\n", "\r"])
        out.append(line + end)
        for _ in range(r.choice([0] * 5 + [1, 2])):  # repeats on the same page
            out.append(f" L {page + r.randrange(4096):x},8\n")
        if r.random() < 0.01:
            out.append(r.choice(["\n", "   \n", "\t\n", "==5== x\n"]))
    text = "".join(out)
    return text.rstrip("\n") if seed % 2 else text


def write_logs(d, n, seed):
    logs = []
    for k in range(n):
        p = d / f"gen{seed}.{k}.log"
        p.write_text(generated_log(seed * 10 + k), newline="")
        logs.append(p)
    return logs


def both(logs, tmp_path, opts, native_inputs=None, suffix=".trace"):
    """Runs both importers; returns (native bytes, python bytes) of the decompressed output."""
    py, nat = tmp_path / ("py" + suffix), tmp_path / ("nat" + suffix)
    p = run("/usr/bin/python3", LACKEY, *logs, "-o", py, *opts)
    n = run(trace_tool(), "import", "lackey", *(native_inputs or logs), "-o", nat, *opts)
    assert n.stderr.replace("mmusim-trace:", "") == p.stderr.replace("lackey2trace:", "").replace(
        ".xz", "").replace(".gz", "") or native_inputs, (n.stderr, p.stderr)
    read = gzip.open if suffix.endswith(".gz") else open
    with read(nat, "rb") as a, read(py, "rb") as b:
        return a.read(), b.read()


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "+".join(o) or "default")
def test_generated_logs_import_byte_for_byte(tmp_path, opts):
    logs = write_logs(tmp_path, 3, seed=len(opts) + 1)
    nat, py = both(logs, tmp_path, opts)
    assert nat == py
    assert nat.count(b"\n") > 3 * 20000 * (0.4 if "--merge-same-page" in opts else 1)


def test_gzip_and_xz_logs_and_gzip_output_match(tmp_path):
    logs = write_logs(tmp_path, 2, seed=9)
    packed = []
    for k, log in enumerate(logs):
        data = log.read_bytes()
        p = tmp_path / (f"c{k}.log.gz" if k == 0 else f"c{k}.log.xz")
        p.write_bytes(gzip.compress(data) if k == 0 else lzma.compress(data))
        packed.append(p)
    for opts in OPTIONS[:2]:
        nat, py = both(logs, tmp_path, opts, native_inputs=packed, suffix=".trace.gz")
        assert nat == py


def test_same_bad_lines_fail_in_both_with_file_and_line(tmp_path):
    cases = [("I 400000,4\n", "not a lackey trace line"),       # one space after I
             (" X 400000,4\n", "not a lackey trace line"),
             (" L 40000g,4\n", "not a lackey trace line"),
             (" L 400000,\n", "not a lackey trace line"),
             (" L 800000000000,4\n", "not a user address"),     # 1 << 47
             (" L 1" + "0" * 20 + ",4\n", "not a user address")]
    for k, (bad, msg) in enumerate(cases):
        log = tmp_path / f"bad{k}.log"
        log.write_text("==1== hi\nI  400000,4\n" + bad)
        for tool in (["/usr/bin/python3", LACKEY], [trace_tool(), "import", "lackey"]):
            out = tmp_path / "o.trace"
            p = run(*tool, log, "-o", out, check=False)
            assert p.returncode == 2, (bad, p.stderr)
            assert f"{log}:3: " in p.stderr and msg in p.stderr, p.stderr
        assert not out.exists(), "the native importer leaves no partial trace"


def test_second_log_out_of_range_only_with_its_shift(tmp_path):
    """Log 1 is shifted by 1 TiB: an address valid in log 0 may not be valid in log 1."""
    log = tmp_path / "hi.log"
    log.write_text(" L 7fffff000000,8\n")  # below 1 << 47, not once shifted by 1 << 40
    p = run(trace_tool(), "import", "lackey", log, log, "-o", tmp_path / "o.trace", check=False)
    assert p.returncode == 2 and f"{log}:1: address 0x80ffff000000" in p.stderr, p.stderr
    run(trace_tool(), "import", "lackey", log, log, "-o", tmp_path / "o.trace", "--same-address-space")


def test_truncated_compressed_log_is_exit_2_naming_the_file(tmp_path):
    data = generated_log(3).encode()
    for name, packed in (("t.log.gz", gzip.compress(data)), ("t.log.xz", lzma.compress(data))):
        p = tmp_path / name
        p.write_bytes(packed[: len(packed) // 2])
        r = run(trace_tool(), "import", "lackey", p, "-o", tmp_path / "o.trace", check=False)
        assert r.returncode == 2 and f"{p}: " in r.stderr and "ends early" in r.stderr, r.stderr
        assert not (tmp_path / "o.trace").exists()


def test_usage_errors_are_exit_2(tmp_path):
    for args in (["import", "lackey", "-o", tmp_path / "o"], ["import", "lackey", "x.log"],
                 ["import", "lackey", "x.log", "-o", tmp_path / "o", "--bogus"],
                 ["import", "nosuch", "x", "-o", tmp_path / "o"]):
        p = run(trace_tool(), *args, check=False)
        assert p.returncode == 2 and p.stderr.startswith("mmusim-trace: "), p.stderr


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "+".join(o) or "default")
def test_real_logs_import_byte_for_byte(lackey_logs, tmp_path, opts):
    """Logs of real processes traced by valgrind in the test (test_traces.lackey_logs)."""
    nat, py = both(lackey_logs, tmp_path, opts)
    assert nat == py and nat.count(b"\n") > 10000


def test_failed_import_to_a_device_leaves_the_device(tmp_path):
    """Only a regular output file is removed after an error, never -o /dev/null."""
    log = tmp_path / "bad.log"
    log.write_text(" L zz\n")
    p = run(trace_tool(), "import", "lackey", log, "-o", "/dev/null", check=False)
    assert p.returncode == 2 and f"{log}:1: not a lackey trace line: 'L zz'" in p.stderr
    assert pathlib.Path("/dev/null").is_char_device()
