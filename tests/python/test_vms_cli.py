"""Several VMs on one host (--vms) from the command line."""
import json
import subprocess

from conftest import ROOT, mmusim_bin


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=300)


def test_bad_vms_values_are_one_line_and_exit_2():
    for args, prefix in [(["--vms", "0"], "--vms: "),
                         (["--vms", "65"], "--vms: "),
                         (["--vms", "two"], "--vms: "),
                         (["--vms", "2", "--vcpus", "4096"], "--vms: ")]:
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mmusim: " + prefix), (args, p.stderr)


def test_vms_1_is_the_default(tmp_path):
    base = ["--vcpus", "2", "--mem-per-vcpu", "4M", "--quiet"]
    one, default = tmp_path / "one.json", tmp_path / "default.json"
    assert run(*base, "--vms", "1", "--stats-json", str(one)).returncode == 0
    assert run(*base, "--stats-json", str(default)).returncode == 0
    assert one.read_text() == default.read_text()
    assert not any(k.startswith("vm.") for k in json.loads(one.read_text()))


def test_two_vms_name_their_stats_and_tracks_and_share_the_host(tmp_path):
    stats, timeline = tmp_path / "s.json", tmp_path / "t.json"
    p = run("--vms", "2", "--vcpus", "2", "--mem-per-vcpu", "4M", "--stats-json", str(stats),
            "--timeline", str(timeline))
    assert p.returncode == 0, p.stderr
    s = json.loads(stats.read_text())
    for vm in (0, 1):
        assert s[f"vm.{vm}.sim.vcpus"] == 2
        assert s[f"vm.{vm}.check.violations"] == 0
        assert s[f"vm.{vm}.hv.fault.count"] > 0
    # Host-wide statistics keep their names: one memory system, one host memory manager.
    assert "sim.cycles" in s and "mem.dram.accesses" in s and "host.mm.faults" in s
    assert "hv.fault.count" not in s and "sim.vcpus" not in s
    assert "VM 0" in p.stdout and "VM 1" in p.stdout and "2 VMs x 2 vCPUs" in p.stdout
    events = json.loads(timeline.read_text())["traceEvents"]
    names = {e["args"]["name"]: e["pid"] for e in events
             if e.get("ph") == "M" and e["name"] == "thread_name"}
    assert {"vm.0.vcpu.0", "vm.1.vcpu.1", "vm.1.host.vmm"} <= names.keys()
    # Each VM's tracks are one trace process (a group in the viewer), named after the VM.
    processes = {e["pid"]: e["args"]["name"] for e in events
                 if e.get("ph") == "M" and e["name"] == "process_name"}
    for name, pid in names.items():
        want = name[:4] if name.startswith("vm.") else "mmusim"
        assert processes[pid] == want, (name, pid, processes)
    assert names["vm.0.vcpu.0"] != names["vm.1.vcpu.0"]
    spans = [e for e in events if e.get("ph") == "X"]
    assert {e["pid"] for e in spans} >= {names["vm.0.vcpu.0"], names["vm.1.vcpu.0"]}


def test_pv_tlb_flush_vms_bench_prints_both_tables(tmp_path):
    # bench/pv_tlb_flush_vms.py (docs/VALIDATION.md, PV TLB flush across VMs), tiny: 2 vCPUs per
    # VM on 2 pCPUs, 2 records per thread, 1 and 2 VMs.
    p = subprocess.run(["/usr/bin/python3", ROOT / "bench" / "pv_tlb_flush_vms.py",
                        "--mmusim", mmusim_bin(), "--vcpus", "2", "--iterations", "2",
                        "--vms", "1,2", "--keep", tmp_path],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = [l for l in p.stdout.splitlines() if l.startswith("| 1 |") or l.startswith("| 2 |")]
    assert len(rows) == 4, p.stdout  # two VM counts in each table
    assert "| 2 | " in p.stdout and "23962 | 42691 | +78%" in p.stdout
    assert sorted(f.name for f in tmp_path.iterdir()) == [
        "vms1-ipi-all.json", "vms1-pv.json", "vms2-ipi-all.json", "vms2-pv.json"]
    s = json.loads((tmp_path / "vms2-pv.json").read_text())
    assert s["vm.1.sim.vcpus"] == 2 and s["vm.0.check.violations"] == 0
