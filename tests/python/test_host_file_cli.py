"""The host description file (--host FILE): VMs that differ, side by side on one host."""
import json
import subprocess

from conftest import mmusim_bin


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, timeout=300)


def write(tmp_path, text, name="host.ini"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_two_identical_sections_run_as_vms_2(tmp_path):
    """A host file of two copies of one VM is --vms 2: byte-identical stats."""
    host = write(tmp_path, "[host]\nmem-per-vcpu = 4M\n"
                           "[vm a]\nvcpus = 2\n"
                           "[vm b]\nvcpus = 2\n")
    by_file, by_vms = tmp_path / "file.json", tmp_path / "vms.json"
    p = run("--host", host, "--quiet", "--stats-json", str(by_file))
    assert p.returncode == 0, p.stderr
    p = run("--vms", "2", "--vcpus", "2", "--mem-per-vcpu", "4M", "--quiet",
            "--stats-json", str(by_vms))
    assert p.returncode == 0, p.stderr
    assert by_file.read_text() == by_vms.read_text()


def test_vms_differ_in_size_workload_and_flush(tmp_path):
    host = write(tmp_path, "[host]\npcpus = 4\nmem-per-vcpu = 2M\n"
                           "[vm small]\nvcpus = 1\n"
                           "[vm big]\nvcpus = 3\nmem-per-vcpu = 4M\npage-size = 2M\n"
                           "[vm churn]\nvcpus = 2\nworkload = ebizzy\niterations = 2\n"
                           "flush = pv\n")
    stats = tmp_path / "s.json"
    p = run("--host", host, "--stats-json", str(stats))
    assert p.returncode == 0, p.stderr
    s = json.loads(stats.read_text())
    assert [s[f"vm.{i}.sim.vcpus"] for i in range(3)] == [1, 3, 2]
    # Each VM touched its own memory: 1 x 2M in 4K pages, 3 x 4M in 2M pages.
    assert s["vm.0.check.touched_pages"] >= 512
    assert s["vm.1.hv.fault.fixed"] == 6
    # ebizzy frees chunks, whose unmapping shoots the guest TLBs down; demand paging does not.
    assert s["vm.2.guest.shootdown.count"] > 0 and s["vm.2.workload.ebizzy.records"] == 4
    assert s.get("vm.0.guest.shootdown.count", 0) == 0
    for i in range(3):
        assert s[f"vm.{i}.check.violations"] == 0
    # Six vCPU threads on four pCPUs: one host scheduler runs them all.
    assert s["sched.wait"]["count"] > 0
    for name in ("VM 0 (small): demand-paging, 1 vCPUs", "VM 1 (big): demand-paging, 3 vCPUs",
                 "VM 2 (churn): ebizzy, 2 vCPUs", "flush pv"):
        assert name in p.stdout, p.stdout


def test_bad_host_files_name_file_and_line_and_exit_2(tmp_path):
    cases = [
        ("[host]\nmem-per-vcpu = 4M\n[vm a]\nvcpus = 2\nbogus = 1\n", ":5: unknown key 'bogus'"),
        ("[vm a]\nvcpus = 2\narch = arm64\n", ":3: 'arch' is the host's"),
        ("[host]\n[vm a]\nmem-per-vcpu = 4M\n", ":2: VM 'a' sets no 'vcpus'"),
        ("[vm a]\nvcpus = 1\n[vm a]\nvcpus = 2\n", ":3: VM 'a' is already defined"),
        ("vcpus = 2\n[vm a]\nvcpus = 1\n", ":1: 'vcpus' is outside a section"),
        ("[guest]\n", ":1: unknown section '[guest]'"),
        ("[vm a]\nvcpus = 1\nvms = 2\n", ":3: 'vms' cannot be set"),
        ("[host]\nvcpus = 2\n[vm a]\nvcpus = 1\n", ":2: 'vcpus' is set in each"),
        ("[vm a]\nvcpus = 0\n", ":2: --vcpus: "),
        ("[vm a]\nvcpus = 1\nworkload = trace\n", ":1: VM 'a': --trace: "),
        ("[host]\nmem-per-vcpu = 4M\n", "' has no [vm NAME] section"),
    ]
    for text, expected in cases:
        host = write(tmp_path, text)
        p = run("--host", host)
        assert p.returncode == 2, (text, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and host in lines[0], (text, p.stderr)


def test_a_key_repeated_in_one_section_names_both_lines(tmp_path):
    """A key twice in one section is refused at the second, quoting the first; the same key in
    [host] and in a VM section is a default and its override."""
    cases = [
        ("[host]\nmem-per-vcpu = 4M\n\nmem-per-vcpu = 8M\n[vm a]\nvcpus = 1\n",
         ":4: 'mem-per-vcpu' is already set on line 2"),
        ("[host]\nmem-per-vcpu = 4M\n[vm a]\nvcpus = 1\n[vm b]\nvcpus = 1\n# c\nvcpus = 2\n",
         ":8: 'vcpus' is already set on line 6"),
    ]
    for text, expected in cases:
        host = write(tmp_path, text)
        p = run("--host", host)
        assert p.returncode == 2, (text, p.stderr)
        assert p.stderr == "mmusim: " + host + expected + "\n", (text, p.stderr)
    ok = write(tmp_path, "[host]\nmem-per-vcpu = 4M\n[vm a]\nvcpus = 1\nmem-per-vcpu = 8M\n", "ok.ini")
    p = run("--host", ok, "--quiet")
    assert p.returncode == 0, p.stderr


def test_host_file_excludes_vms_and_vcpus_on_the_command_line(tmp_path):
    host = write(tmp_path, "[vm a]\nvcpus = 1\n")
    for extra in (["--vms", "2"], ["--vcpus", "2"]):
        p = run("--host", host, *extra)
        assert p.returncode == 2, p.stderr
        assert p.stderr.startswith("mmusim: " + extra[0] + ": cannot be used with --host"), p.stderr
    # A strategy the arch has not: the message names the VM.
    p = run("--host", write(tmp_path, "[vm a]\nvcpus = 1\nflush = broadcast\n"))
    assert p.returncode == 2 and "VM 'a'" in p.stderr and "--flush: " in p.stderr, p.stderr
    p = run("--host", str(tmp_path / "missing.ini"))
    assert p.returncode == 2 and "--host: cannot read" in p.stderr, p.stderr


def test_flush_strategy_the_arch_has_not_names_the_line_that_set_it(tmp_path):
    """broadcast is arm64's: on x86 it is refused while the file is checked, at the VM
    section's line, or at the [host] line for a VM section that does not set flush."""
    cases = [
        ("[host]\nmem-per-vcpu = 4M\n[vm a]\nvcpus = 1\n[vm b]\nvcpus = 1\nflush = broadcast\n",
         ":7: VM 'b': --flush: 'broadcast' is not available for --arch x86"),
        ("[host]\nflush = broadcast\n[vm a]\nvcpus = 1\n",
         ":2: VM 'a': --flush: 'broadcast' is not available for --arch x86"),
        ("[host]\narch = mips\nflush = broadcast\n[vm a]\nvcpus = 1\nflush = pv\n[vm b]\nvcpus = 1\n",
         ":3: VM 'b': --flush: 'broadcast' is not available for --arch mips"),
    ]
    for text, expected in cases:
        host = write(tmp_path, text)
        p = run("--host", host)
        assert p.returncode == 2, (text, p.stderr)
        assert p.stderr == "mmusim: " + host + expected + "\n", (text, p.stderr)
    # On arm64 the same file runs.
    ok = write(tmp_path, "[host]\narch = arm64\nflush = broadcast\n[vm a]\nvcpus = 1\n", "ok.ini")
    p = run("--host", ok, "--quiet")
    assert p.returncode == 0, p.stderr


def test_config_refuses_sections_and_names_host(tmp_path):
    cfg = write(tmp_path, "[vm a]\nvcpus = 1\n", "cfg.ini")
    p = run("--config", cfg)
    assert p.returncode == 2 and ":1: sections are not supported" in p.stderr, p.stderr
    assert "--host" in p.stderr


def test_progress_counts_the_work_of_every_vm(tmp_path):
    """VMs of different sizes: the progress line's total is the sum of their pages."""
    host = write(tmp_path, "[host]\nmem-per-vcpu = 4M\n"
                           "[vm a]\nvcpus = 1\n"
                           "[vm b]\nvcpus = 3\nmem-per-vcpu = 8M\n")
    p = run("--host", host, "--progress", "on", "--progress-after", "0", "--quiet")
    assert p.returncode == 0, p.stderr
    totals = {line.split(" of ")[1].split(",")[0] for line in p.stderr.splitlines() if "% of " in line}
    assert totals == {f"{1 * 1024 + 3 * 2048} pages"}, p.stderr


def test_host_values_are_checked_in_the_vms_not_as_a_vm_of_their_own(tmp_path):
    """[host] x86-mmu = shadow needs guest-pt-churn, which every VM runs: the host's default
    workload is no VM's, so it is not refused; a VM that runs another workload is, at its
    section's header (the workload it runs is set nowhere)."""
    good = write(tmp_path, "[host]\nx86-mmu = shadow\nchurn-steps = 20\n"
                           "[vm a]\nvcpus = 1\nworkload = guest-pt-churn\n"
                           "[vm b]\nvcpus = 1\nworkload = guest-pt-churn\n")
    p = run("--host", good, "--quiet")
    assert p.returncode == 0, p.stderr
    bad = write(tmp_path, "[host]\nx86-mmu = shadow\n"
                          "[vm a]\nvcpus = 1\nworkload = guest-pt-churn\n"
                          "[vm b]\nvcpus = 1\n", "bad.ini")
    p = run("--host", bad)
    assert p.returncode == 2, p.stderr
    assert "bad.ini:6: VM 'b': --workload: " in p.stderr, p.stderr
