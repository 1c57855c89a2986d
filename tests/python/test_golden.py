"""The golden-statistics checker (tests/golden/golden.py) notices a changed number and names it."""
import json
import os
import pathlib
import shutil
import subprocess

from conftest import ROOT, mmusim_bin

GOLDEN = ROOT / "tests" / "golden"
NAME = "x86_tdp_demand_shared_4k"


def copy_checker(tmp_path):
    d = tmp_path / "golden"
    d.mkdir()
    shutil.copy(GOLDEN / "golden.py", d)
    (d / "configs.txt").write_text(
        next(l for l in (GOLDEN / "configs.txt").read_text().splitlines()
             if l.startswith(NAME + " ")) + "\n")
    shutil.copy(GOLDEN / f"{NAME}.json", d)
    return d


def check(d):
    env = dict(os.environ, MMUSIM_BIN=mmusim_bin())
    return subprocess.run(["/usr/bin/python3", str(d / "golden.py"), "check"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_unchanged_expected_file_passes(tmp_path):
    p = check(copy_checker(tmp_path))
    assert p.returncode == 0, p.stdout
    assert f"golden {NAME}: identical" in p.stdout


def test_changed_number_fails_and_names_the_key(tmp_path):
    d = copy_checker(tmp_path)
    expected = json.loads((d / f"{NAME}.json").read_text())
    key = next(k for k, v in expected.items() if isinstance(v, int) and v > 0)
    expected[key] += 1
    (d / f"{NAME}.json").write_text(json.dumps(expected, indent=1))
    p = check(d)
    assert p.returncode == 1
    assert f"  {key}: expected {expected[key]}, got {expected[key] - 1}" in p.stdout


def test_every_configuration_has_its_expected_file():
    p = subprocess.run(["/usr/bin/python3", str(GOLDEN / "golden.py"), "list"],
                       stdout=subprocess.PIPE, text=True, check=True)
    names = p.stdout.split()
    assert len(names) >= 24
    assert [n for n in names if not (GOLDEN / f"{n}.json").exists()] == []
