"""--kvm-version through the mmusim executable: the accepted range in --help, one-line errors
with exit status 2 for bad releases, the release in the stats JSON, and the fault path's
mmu_lock following the release unless --mmu-lock overrides it."""
import json
import subprocess

from conftest import mmusim_bin

RANGE = "5.10 to 6.12"


def run(*args, check=True):
    p = subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def stats_of(tmp_path, *args):
    out = tmp_path / "s.json"
    run("--vcpus", "2", "--mem-per-vcpu", "1M", *args, "--stats-json", str(out), "--quiet")
    return json.loads(out.read_text())


def test_help_names_the_range_and_the_auto_defaults():
    p = run("--help")
    line = next(l for l in p.stdout.splitlines() if l.strip().startswith("--kvm-version"))
    assert RANGE in line and "(default: 6.12)" in line
    for opt in ["--mmu-lock", "--tdp-fast-fault"]:
        line = next(l for l in p.stdout.splitlines() if l.strip().startswith(opt))
        assert "(default: auto)" in line, line


def test_bad_releases_exit_2_naming_the_option_and_the_range():
    for bad in ["4.19", "7.3", "5.x", "banana", "5.20", "6.13"]:
        p = run("--kvm-version", bad, check=False)
        assert p.returncode == 2, (bad, p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1, p.stderr
        assert "--kvm-version" in lines[0] and RANGE in lines[0] and f"'{bad}'" in lines[0]
        assert p.stdout == ""


def test_bad_release_in_a_config_file_names_its_line(tmp_path):
    ini = tmp_path / "run.ini"
    ini.write_text("vcpus = 2\nkvm-version = 4.19\n")
    p = run("--config", str(ini), check=False)
    assert p.returncode == 2
    assert f"{ini}:2: --kvm-version" in p.stderr and RANGE in p.stderr


def test_stats_record_the_release(tmp_path):
    assert stats_of(tmp_path)["sim.kvm_release"] == 612
    assert stats_of(tmp_path, "--kvm-version", "5.15")["sim.kvm_release"] == 515


def test_511_faults_take_mmu_lock_for_write_and_512_for_read(tmp_path):
    old = stats_of(tmp_path, "--kvm-version", "5.11")
    assert old["hv.lock.mmu_lock.write_acquire"] >= old["hv.fault.count"] > 0
    assert old["hv.lock.mmu_lock.read_acquire"] == 0
    new = stats_of(tmp_path, "--kvm-version", "5.12")
    assert new["hv.lock.mmu_lock.read_acquire"] >= new["hv.fault.count"] > 0


def test_mmu_lock_overrides_the_release(tmp_path):
    forced = stats_of(tmp_path, "--kvm-version", "5.11", "--mmu-lock", "shared")
    assert forced["hv.lock.mmu_lock.read_acquire"] >= forced["hv.fault.count"] > 0
    assert forced["sim.kvm_release"] == 511
    ablated = stats_of(tmp_path, "--mmu-lock", "exclusive")
    assert ablated["hv.lock.mmu_lock.read_acquire"] == 0


def test_summary_names_the_release_and_the_lock_it_selects():
    p = run("--vcpus", "1", "--mem-per-vcpu", "256K", "--kvm-version", "5.10")
    assert "mmu_lock exclusive, KVM 5.10" in p.stdout.splitlines()[0]
