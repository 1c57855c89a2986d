"""CLI checks of the x86 shadow MMU options: bad values exit 2 with one line naming
the option; a correct run of guest-pt-churn reports no violations."""
import json
import os
import subprocess

BIN = os.environ.get("MMUSIM_BIN", "build/mmusim")
ENV = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=ENV, timeout=300)


def test_unknown_unsync_walk_is_a_usage_error():
    r = run("--unsync-walk", "bogus")
    assert r.returncode == 2
    assert "--unsync-walk" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_pvec_full_refuse_is_documented_as_hypothetical():
    r = run("--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    at = text.index("--pvec-full")
    assert "HYPOTHETICAL, not KVM's behaviour" in text[at:at + 600]
    bad = run("--pvec-full", "bogus")
    assert bad.returncode == 2 and "--pvec-full" in bad.stderr


def test_shadow_needs_the_churn_workload():
    r = run("--x86-mmu", "shadow", "--workload", "demand-paging")
    assert r.returncode == 2
    assert "guest-pt-churn" in r.stderr


def test_churn_run_is_clean(tmp_path):
    out = tmp_path / "s.json"
    r = run("--x86-mmu", "shadow", "--workload", "guest-pt-churn", "--vcpus", "2",
            "--churn-steps", "30", "--quiet", "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    s = json.loads(out.read_text())
    assert s["check.violations"] == 0
    assert s["shadow.sync.count"] > 0
