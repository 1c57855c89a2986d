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


def churn_stats(tmp_path, mmu):
    """A short clean guest-pt-churn run under --x86-mmu `mmu`: its statistics."""
    out = tmp_path / (mmu + ".json")
    r = run("--x86-mmu", mmu, "--workload", "guest-pt-churn", "--vcpus", "2",
            "--churn-steps", "30", "--quiet", "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    stats = json.loads(out.read_text())
    assert stats["check.violations"] == 0
    return stats


def test_churn_run_is_clean(tmp_path):
    assert churn_stats(tmp_path, "shadow")["shadow.sync.count"] > 0


def test_churn_runs_under_ept_and_only_on_x86(tmp_path):
    stats = churn_stats(tmp_path, "tdp")
    assert stats["churn.cr3_loads"] > 0
    assert "shadow.walk.visits" not in stats
    bad = run("--arch", "arm64", "--workload", "guest-pt-churn")
    assert bad.returncode == 2 and "--workload" in bad.stderr and "x86" in bad.stderr
