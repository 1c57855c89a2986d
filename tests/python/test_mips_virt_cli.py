"""--mips-virt through the mmusim executable: trap and emulate with a release that no longer has
it is refused with exit status 2 naming both options; with 5.12 it runs and reports the
trap-and-emulate counters; auto is vz in every release."""
import json
import subprocess

from conftest import mmusim_bin


def run(*args):
    return subprocess.run([mmusim_bin(), "--arch", "mips", "--vcpus", "1", "--mem-per-vcpu",
                           "256K", "--quiet", *args], capture_output=True, text=True, timeout=300)


def test_te_with_a_release_without_it_exits_2_naming_both_options():
    for release in [[], ["--kvm-version", "5.13"], ["--kvm-version", "6.12"]]:
        p = run("--mips-virt", "te", *release)
        assert p.returncode == 2, (release, p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1, p.stderr
        assert "--mips-virt" in lines[0] and "--kvm-version" in lines[0] and "5.13" in lines[0]


def test_te_runs_with_512_and_auto_is_vz(tmp_path):
    out = tmp_path / "te.json"
    p = run("--mips-virt", "te", "--kvm-version", "5.12", "--stats-json", str(out))
    assert p.returncode == 0, p.stderr
    te = json.loads(out.read_text())
    assert te["mips.te.tlbwr_emulated"] > 0 and te["check.violations"] == 0
    assert not any(k.startswith("mips.vz.") for k in te)
    for release in ["5.12", "6.12"]:
        out = tmp_path / f"auto{release}.json"
        p = run("--kvm-version", release, "--stats-json", str(out))
        assert p.returncode == 0, p.stderr
        s = json.loads(out.read_text())
        assert s["mips.vz.guest_refill"] > 0
        assert not any(k.startswith("mips.te.") for k in s)
