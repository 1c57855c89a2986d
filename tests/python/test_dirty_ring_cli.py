"""The dirty ring options through the mmusim executable (docs/ARCHITECTURE.md, Dirty ring): the
combinations KVM refuses exit 2 naming the options involved, and a run with the ring logs every
page written on x86 (with and without PML) and arm64."""
import json
import subprocess

import pytest

from conftest import mmusim_bin


def run(*args):
    return subprocess.run([mmusim_bin(), "--workload", "dirty-log", *args],
                          capture_output=True, text=True, timeout=300)


REFUSED = {
    # the ring has no bitmap for initially-set to act on
    "initially-set": (["--dirty-tracking", "ring", "--dirty-log-initially-set", "on"],
                      ["--dirty-tracking", "--dirty-log-initially-set"]),
    # x86 has the ring from 5.11, arm64 from 6.2, MIPS never
    "x86-5.10": (["--dirty-tracking", "ring", "--kvm-version", "5.10"],
                 ["--dirty-tracking", "--kvm-version", "5.11"]),
    "arm64-6.1": (["--arch", "arm64", "--dirty-tracking", "ring", "--kvm-version", "6.1"],
                  ["--dirty-tracking", "--kvm-version", "6.2"]),
    "mips": (["--arch", "mips", "--dirty-tracking", "ring"], ["--dirty-tracking", "MIPS"]),
    # KVM's size rules: a power of two, a page at least, the PML buffer beyond the soft limit
    "not-power-of-two": (["--dirty-tracking", "ring", "--dirty-ring-entries", "1000"],
                         ["--dirty-ring-entries"]),
    "below-a-page": (["--dirty-tracking", "ring", "--dirty-ring-entries", "128"],
                     ["--dirty-ring-entries"]),
    "above-max": (["--dirty-tracking", "ring", "--dirty-ring-entries", "131072"],
                  ["--dirty-ring-entries"]),
    "pml-reserve": (["--dirty-tracking", "ring", "--pml", "on", "--dirty-ring-entries", "512"],
                    ["--dirty-ring-entries", "--pml"]),
    "reset-without-ring": (["--dirty-ring-reset", "skip-protect"],
                           ["--dirty-ring-reset", "--dirty-tracking ring"]),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_combination_exits_2_naming_the_options(case):
    args, named = REFUSED[case]
    p = run(*args, "--quiet")
    assert p.returncode == 2, p.stderr
    for word in named:
        assert word in p.stderr, p.stderr
    assert p.stdout == ""


def test_ring_on_the_first_release_that_has_it_runs():
    assert run("--dirty-tracking", "ring", "--kvm-version", "5.11", "--vcpus", "1",
               "--mem-per-vcpu", "256K", "--iterations", "1", "--quiet").returncode == 0
    assert run("--arch", "arm64", "--dirty-tracking", "ring", "--kvm-version", "6.2",
               "--vcpus", "1", "--mem-per-vcpu", "256K", "--iterations", "1",
               "--quiet").returncode == 0


@pytest.mark.parametrize("arch", [["--arch", "x86"], ["--arch", "x86", "--pml", "on"],
                                  ["--arch", "arm64"]])
def test_ring_logs_every_page_written(tmp_path, arch):
    out = tmp_path / "s.json"
    p = run(*arch, "--dirty-tracking", "ring", "--dirty-ring-entries", "1024", "--vcpus", "2",
            "--mem-per-vcpu", "4M", "--iterations", "3", "--stats-json", str(out), "--quiet")
    assert p.returncode == 0, p.stderr
    s = json.loads(out.read_text())
    assert s["check.violations"] == 0
    assert s["hv.dirty_ring.full_exits"] > 0  # 1024 pages per vCPU overrun the soft limit
    assert s["workload.dirty_log.ring.harvested"] == s["hv.dirty_ring.pushes"] >= 3 * 2 * 1024
