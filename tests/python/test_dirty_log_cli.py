"""The dirty-log workload's protocol options through the mmusim executable: initially-set
without manual protect is refused (exit 2 naming both options), and the workload's check that
each log equals the pages written holds in every combination of manual protect, initially-set
and write fraction on x86 (with and without PML), arm64 and MIPS."""
import json
import subprocess

import pytest

from conftest import mmusim_bin

VCPUS, PAGES_PER_VCPU, ROUNDS = 2, 128, 3


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=300)


def test_initially_set_without_manual_protect_exits_2_naming_both():
    p = run("--workload", "dirty-log", "--dirty-log-manual-protect", "off",
            "--dirty-log-initially-set", "on", "--quiet")
    assert p.returncode == 2, p.stderr
    assert "--dirty-log-initially-set" in p.stderr and "--dirty-log-manual-protect" in p.stderr
    assert p.stdout == ""


def test_manual_protect_off_alone_turns_initially_set_off(tmp_path):
    out = tmp_path / "s.json"
    p = run("--workload", "dirty-log", "--vcpus", "1", "--mem-per-vcpu", "256K",
            "--iterations", "2", "--dirty-log-manual-protect", "off", "--stats-json", str(out),
            "--quiet")
    assert p.returncode == 0, p.stderr
    s = json.loads(out.read_text())
    assert s["check.violations"] == 0
    assert s["workload.dirty_log.clear_log_cycles"]["count"] == 0


ARCHES = {
    "x86": ["--arch", "x86"],
    "x86-pml": ["--arch", "x86", "--pml", "on"],
    "arm64": ["--arch", "arm64"],
    "mips": ["--arch", "mips"],  # the slot gets its bitmap when logging is enabled
    "mips-from-start": ["--arch", "mips", "--mips-dirty-log", "on"],
}
PROTOCOLS = {
    "manual+set": ["--dirty-log-manual-protect", "on", "--dirty-log-initially-set", "on"],
    "manual": ["--dirty-log-manual-protect", "on", "--dirty-log-initially-set", "off"],
    "get-protects": ["--dirty-log-manual-protect", "off"],
}


@pytest.mark.parametrize("fraction", [1, 2])
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("arch", ARCHES)
def test_log_equals_pages_written(tmp_path, arch, protocol, fraction):
    out = tmp_path / "s.json"
    p = run(*ARCHES[arch], *PROTOCOLS[protocol], "--workload", "dirty-log",
            "--vcpus", str(VCPUS), "--mem-per-vcpu", str(PAGES_PER_VCPU * 4) + "K",
            "--iterations", str(ROUNDS), "--dirty-log-write-fraction", str(fraction),
            "--stats-json", str(out), "--quiet")
    assert p.returncode == 0, p.stderr
    s = json.loads(out.read_text())
    # The workload reports dirty_log_mismatch when a log differs from the pages written.
    assert s["check.violations"] == 0
    assert "check.dirty_log_mismatch" not in s
    if arch == "mips-from-start":
        return  # populating was logged too: the marks depend on what it left in the bitmap
    written = VCPUS * PAGES_PER_VCPU // fraction
    # With initially-set the first round marks nothing: x86 and arm64 leave the 4K mappings
    # writable at enable, and MIPS's fast path finds the bits set already.
    logged_rounds = ROUNDS - 1 if protocol == "manual+set" else ROUNDS
    marked = s.get("hv.dirty_log.marked")
    assert marked == logged_rounds * written
