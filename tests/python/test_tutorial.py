"""Runs every ```sh block of docs/TUTORIAL.md, in order, in an empty directory."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, mmusim_bin


def test_tutorial_commands_run(tmp_path):
    if not shutil.which("valgrind"):
        pytest.skip("valgrind is not installed (scripts/install-deps.sh)")
    text = (ROOT / "docs" / "TUTORIAL.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    env = dict(os.environ, REPO=str(ROOT), MMUSIM=mmusim_bin(),
               PATH="/usr/bin:/bin:" + os.environ.get("PATH", ""))
    script = "set -euo pipefail\n" + "\n".join(blocks)
    # The scripts' #! line is /usr/bin/python3 (Debian's, with pandas and matplotlib).
    p = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    for png in ["scaling.png", "fault_cdf.png", "breakdown.png"]:
        assert (tmp_path / "plots" / png).stat().st_size > 5000
    assert "series mmu-lock = exclusive; mmu-lock = shared" in p.stdout
    assert "top 5 longest faults" in p.stdout
