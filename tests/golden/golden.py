#!/usr/bin/python3
"""Golden statistics: reruns the configurations of tests/golden/configs.txt and compares each
run's --stats-json output with the checked-in tests/golden/<name>.json, byte for byte.

  golden.py check NAME...     rerun NAME (all when none given); on a difference print the first
                              differing keys with expected and actual values; exit 1
  golden.py update [NAME...]  rerun and rewrite the expected files (scripts/update-golden.sh)
  golden.py list              the configuration names, one per line (CMake registers a test each)

configs.txt holds one configuration per line: `NAME ARG ARG ...` (command-line options of
mmusim, split on white space; `@` at the start of an argument stands for tests/golden/, so a
trace file can be named relative to it). `#` starts a comment line. The simulator is
$MMUSIM_BIN or build/mmusim.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHOW = 12  # differing keys printed


def configs():
    out = {}
    with open(HERE / "configs.txt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            name, args = words[0], words[1:]
            if name in out:
                sys.exit(f"configs.txt:{lineno}: NAME: '{name}' is defined twice")
            out[name] = [str(HERE) + "/" + a[1:] if a.startswith("@") else a for a in args]
    return out


def run(name, args):
    """Runs one configuration; returns its stats JSON text."""
    binary = os.environ.get("MMUSIM_BIN", str(ROOT / "build" / "mmusim"))
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
    with tempfile.TemporaryDirectory() as tmp:
        stats = pathlib.Path(tmp) / "stats.json"
        # Files a configuration names (a --host file) are given relative to the repository.
        args = [str(ROOT / a) if a.startswith("tests/golden/") else a for a in args]
        p = subprocess.run([binary, *args, "--stats-json", str(stats), "--quiet"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit(f"golden {name}: mmusim exited {p.returncode}: {p.stderr.strip()}")
        return stats.read_text(encoding="utf-8")


def flatten(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else k)
    else:
        yield prefix, value


def differences(expected_text, actual_text):
    expected = dict(flatten(json.loads(expected_text)))
    actual = dict(flatten(json.loads(actual_text)))
    rows = []
    for key in sorted(set(expected) | set(actual)):
        e, a = expected.get(key, "<absent>"), actual.get(key, "<absent>")
        if e != a:
            rows.append((key, e, a))
    return rows


def check(names, table):
    failed = 0
    for name in names:
        expected_file = HERE / f"{name}.json"
        if not expected_file.exists():
            print(f"golden {name}: no {expected_file.name}; run scripts/update-golden.sh {name}")
            failed += 1
            continue
        actual = run(name, table[name])
        expected = expected_file.read_text(encoding="utf-8")
        if actual == expected:
            print(f"golden {name}: identical")
            continue
        failed += 1
        rows = differences(expected, actual)
        print(f"golden {name}: {len(rows)} stats differ from {expected_file.name}"
              + ("" if rows else " (same values, different bytes)"))
        for key, e, a in rows[:SHOW]:
            print(f"  {key}: expected {e}, got {a}")
        if len(rows) > SHOW:
            print(f"  ... and {len(rows) - SHOW} more")
    return failed


def main(argv):
    if not argv or argv[0] not in ("check", "update", "list"):
        sys.exit(__doc__)
    table = configs()
    names = argv[1:] or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        sys.exit(f"golden: unknown configuration {', '.join(unknown)} (see configs.txt)")
    if argv[0] == "list":
        print("\n".join(table))
        return 0
    if argv[0] == "update":
        for name in names:
            (HERE / f"{name}.json").write_text(run(name, table[name]), encoding="utf-8")
            print(f"golden {name}: written")
        return 0
    failed = check(names, table)
    if failed:
        print(f"golden: {failed} of {len(names)} configurations differ. If the change is meant, "
              "run scripts/update-golden.sh and say why in the commit message.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
