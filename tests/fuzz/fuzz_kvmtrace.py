#!/usr/bin/python3
"""A small mutation fuzzer for scripts/kvmtrace2trace.py (a Python script, so no libFuzzer):
it mutates seed trace-cmd / perf-script texts (byte flips, inserted tokens, huge numbers, cut
lines, spliced lines) and runs the converter's main() on each in-process. The only allowed
outcomes are exit status 0 or 2 (a clean one-line error); any other exception is a finding and
the input is saved to tests/fuzz/crashes/.

    tests/fuzz/fuzz_kvmtrace.py --seconds 600          # long run (docs/HARDENING.md)
    tests/fuzz/fuzz_kvmtrace.py --iterations 300 --seed 1   # what the Python test runs
"""
import argparse
import contextlib
import io
import pathlib
import random
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import kvmtrace2trace  # noqa: E402

CORPUS = ROOT / "tests" / "fuzz" / "corpus" / "kvmtrace"
TOKENS = ["vcpu", "address", "error_code", "gfn", "new_spte", "0x", "-1", "999999999999999999999",
          "1" * 400, "nan", "inf", "kvm_page_fault:", "kvmmmu:kvm_tdp_mmu_spte_changed:",
          "kvm_mmu_spte_requested:", "kvm_pv_tlb_flush:", "CPU 7/KVM", "=", " ", "\t", "\x00",
          "\xff", "[000]", "1e309", "0x" + "f" * 40]


def mutate(rng, text):
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(6)
        if not lines:
            lines = ["\n"]
        i = rng.randrange(len(lines))
        line = lines[i]
        if kind == 0 and line:  # flip a character
            j = rng.randrange(len(line))
            line = line[:j] + chr(rng.randrange(1, 256)) + line[j + 1:]
        elif kind == 1:  # insert a token
            j = rng.randrange(len(line) + 1)
            line = line[:j] + rng.choice(TOKENS) + line[j:]
        elif kind == 2:  # replace a number by a big or odd one
            words = line.split(" ")
            k = rng.randrange(len(words))
            words[k] = rng.choice(TOKENS)
            line = " ".join(words)
        elif kind == 3:  # cut
            line = line[:rng.randrange(len(line) + 1)]
        elif kind == 4:  # duplicate another line
            line = rng.choice(lines)
        else:  # drop
            line = ""
        lines[i] = line
    return "".join(lines)


def run_one(text, workdir):
    src = pathlib.Path(workdir) / "in.txt"
    src.write_text(text, errors="replace")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = kvmtrace2trace.main([str(src), "-o", str(pathlib.Path(workdir) / "out.trace"),
                                  "--host-events"])
    if rc not in (0, 2):
        raise AssertionError(f"exit status {rc}")
    if rc == 2 and len(err.getvalue().strip().splitlines()) != 1:
        raise AssertionError("error message is not one line: " + err.getvalue())


def fuzz(iterations=None, seconds=None, seed=1, save=True):
    seeds = [p.read_text() for p in sorted(CORPUS.iterdir())]
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds if seconds else None
    done, findings = 0, []
    with tempfile.TemporaryDirectory() as workdir:
        while (iterations is None or done < iterations) and (deadline is None or time.monotonic() < deadline):
            text = mutate(rng, rng.choice(seeds))
            try:
                run_one(text, workdir)
            except Exception as e:  # noqa: BLE001 -- any other exception is the finding
                findings.append((text, repr(e)))
                if save:
                    d = ROOT / "tests" / "fuzz" / "crashes"
                    d.mkdir(exist_ok=True)
                    (d / f"kvmtrace-{seed}-{done}.txt").write_text(text, errors="replace")
            done += 1
    return done, findings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    done, findings = fuzz(a.iterations, a.seconds, a.seed)
    print(f"fuzz_kvmtrace: {done} inputs, {len(findings)} findings")
    for text, e in findings[:5]:
        print(f"  {e}\n  input: {text[:200]!r}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
