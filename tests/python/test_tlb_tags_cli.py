"""CLI checks of the TLB tag options (docs/ARCHITECTURE.md, Several VMs: TLB tags): --vmid-bits
8|16 (arm64 VMID width), --vpid on|off (kvm_intel's enable_vpid) and --mips-guestid-bits (VZ
GuestID width). Bad values exit 2 naming the option; --vpid off reports its flushes under
host.tlb_tag.*."""
import json
import os
import subprocess

from conftest import mmusim_bin

ENV = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
SMALL = ("--workload", "demand-paging", "--vcpus", "2", "--mem-per-vcpu", "1M")


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, env=ENV,
                          timeout=300)


def test_help_lists_both_options():
    r = run("--help")
    assert r.returncode == 0
    assert "--vmid-bits" in r.stdout and "--vpid" in r.stdout and "--vmid-allocator" in r.stdout


def test_bad_vmid_bits_exit_2_naming_the_option():
    for bad in ("12", "0", "x"):
        r = run("--arch", "arm64", *SMALL, "--vmid-bits", bad)
        assert r.returncode == 2, bad
        assert "--vmid-bits" in r.stderr, r.stderr


def test_bad_vmid_allocator_exits_2_naming_the_option():
    r = run("--arch", "arm64", *SMALL, "--vmid-allocator", "lru")
    assert r.returncode == 2
    assert "--vmid-allocator" in r.stderr


def test_bad_vpid_exits_2_naming_the_option():
    r = run("--arch", "x86", *SMALL, "--vpid", "maybe")
    assert r.returncode == 2
    assert "--vpid" in r.stderr


def test_vmid_bits_8_runs(tmp_path):
    out = tmp_path / "s.json"
    r = run("--arch", "arm64", *SMALL, "--vms", "2", "--pcpus", "1", "--vmid-bits", "8",
            "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    stats = json.loads(out.read_text())
    assert stats["host.tlb_tag.allocations"] == 2
    assert stats["host.tlb_tag.rollovers"] == 0


def test_vpid_off_flushes_at_entries_and_exits(tmp_path):
    out = tmp_path / "s.json"
    r = run("--arch", "x86", *SMALL, "--vpid", "off", "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    stats = json.loads(out.read_text())
    assert stats["host.tlb_tag.vpidless_flushes"] >= 2 * stats["guest.exits"] > 0


def test_bad_mips_guestid_bits_exit_2_naming_the_option():
    for bad in ("9", "x"):
        r = run("--arch", "mips", *SMALL, "--mips-guestid-bits", bad)
        assert r.returncode == 2, bad
        assert "--mips-guestid-bits" in r.stderr, r.stderr


def test_guestids_with_trap_and_emulate_exit_2():
    r = run("--arch", "mips", *SMALL, "--mips-virt", "te", "--kvm-version", "5.12",
            "--mips-guestid-bits", "8")
    assert r.returncode == 2
    assert "--mips-guestid-bits" in r.stderr and "te" in r.stderr, r.stderr


def test_mips_guestids_count_per_pcpu(tmp_path):
    out = tmp_path / "s.json"
    r = run("--arch", "mips", *SMALL, "--pcpus", "1", "--mips-guestid-bits", "8",
            "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    stats = json.loads(out.read_text())
    # Each of the two vCPUs takes a GuestID of its own on the one pCPU; no root ASIDs.
    assert stats["host.tlb_tag.pcpu.0.guestids"] >= 2
    assert "host.tlb_tag.pcpu.0.asids" not in stats
    assert stats["host.tlb_tag.switch_flushes"] == 0


def test_eight_bit_vmids_for_255_pcpus_exit_2(tmp_path):
    # The 5.18 allocator needs one VMID more than pCPUs (VMID 0 reserved); the older one not.
    small = ("--workload", "demand-paging", "--mem-per-vcpu", "64K")
    r = run("--arch", "arm64", *small, "--vcpus", "255", "--vmid-bits", "8")
    assert r.returncode == 2
    assert "--vmid-bits" in r.stderr and "255 physical CPUs" in r.stderr, r.stderr
    r = run("--arch", "arm64", *small, "--vcpus", "255", "--vmid-bits", "8", "--pcpus", "254",
            "--stats-json", str(tmp_path / "ok.json"))
    assert r.returncode == 0, r.stderr
    host = tmp_path / "h.ini"
    host.write_text("[host]\narch = arm64\nvmid-bits = 8\nmem-per-vcpu = 64K\n"
                    "[vm a]\nvcpus = 128\n[vm b]\nvcpus = 128\n")
    r = run("--host", str(host))
    assert r.returncode == 2
    assert f"{host}:3: --vmid-bits" in r.stderr, r.stderr  # the [host] line that set it
