"""scripts/kvmtrace2trace.py on trace-cmd and perf-script text of KVM tracepoints, in the current
and the older kvm_page_fault formats; the result replays through mmusim."""
import json
import subprocess

from conftest import ROOT, mmusim_bin

TRACE_CMD = """\
cpus=4
 qemu-system-x86-4242  [001]  100.000000: kvm_page_fault:       vcpu 0 rip 0xffffffff81000000 address 0x0000000000201000 error_code 0x182
 qemu-system-x86-4242  [001]  100.000000: kvm_mmu_spte_requested: gfn 201 pfn 5555 level 1
 qemu-system-x86-4243  [002]  100.000002: kvm_page_fault:       vcpu 1 rip 0xffffffff81000010 address 0x0000000000300000 error_code 0x181
 qemu-system-x86-4242  [001]  100.000005: kvm_page_fault:       vcpu 0 rip 0xffffffff81000020 address 0x0000000000202000 error_code 0x194
 qemu-system-x86-4243  [002]  100.000006: kvm_pv_tlb_flush:     vcpu 1 need_flush_tlb true
 qemu-system-x86-4242  [001]  100.000007: kvm_tdp_mmu_spte_changed: as id 0 gfn 300 level 1 old_spte 600000000300007 new_spte 5a0
"""

PERF_OLD = """\
 CPU 0/KVM  4242 [001]   200.000000: kvm:kvm_page_fault: address 7000 error_code 4
 CPU 1/KVM  4243 [002]   200.000003: kvm:kvm_page_fault: address 9000 error_code 6
 CPU 0/KVM  4242 [001]   200.000004: kvm:kvm_page_fault: address 8000 error_code 14
"""


def convert(tmp_path, text, *extra):
    src = tmp_path / "in.txt"
    src.write_text(text)
    out = tmp_path / "out.trace"
    p = subprocess.run(["/usr/bin/python3", ROOT / "scripts" / "kvmtrace2trace.py", src, "-o", out, *extra],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out.read_text().splitlines(), p.stderr


def test_trace_cmd_current_format(tmp_path):
    lines, err = convert(tmp_path, TRACE_CMD, "--host-events")
    assert lines[:2] == ["mmusim-trace 1", "space gpa"]
    # Gaps of 2, 5 and 7 us in cycles of the default 2.6 GHz clock.
    assert lines[2:] == ["v0 w 0x201000", "v1 gap 5200", "v1 r 0x300000", "v0 gap 13000",
                         "v0 x 0x202000", "h0 gap 18200", "h0 unmap 0x300000 0x1000"]
    assert "faults 3" in err and "pv_tlb_flush 1" in err and "unmaps 1" in err


def test_perf_script_older_format_replays(tmp_path):
    lines, _ = convert(tmp_path, PERF_OLD)
    assert lines[2:] == ["v0 r 0x7000", "v1 gap 7800", "v1 w 0x9000", "v0 gap 10400",
                         "v0 x 0x8000"]
    s = tmp_path / "s.json"
    p = subprocess.run([mmusim_bin(), "--workload", "trace", "--trace", tmp_path / "out.trace", "--vcpus", "2",
                        "--stats-json", s, "--quiet"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    stats = json.loads(s.read_text())
    assert stats["guest.accesses"] == 3 and stats["check.violations"] == 0
    assert stats["guest.kernel.frames"] == 3
