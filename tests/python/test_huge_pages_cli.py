"""CLI checks of the host backing and the huge-page options of x86 dirty logging: --help lists
them with their defaults, bad values and a hugetlb backing that does not divide guest RAM exit 2
naming the options, and a 4K memslot on hugetlb pages is limited, not refused."""
import json
import os
import subprocess

from conftest import mmusim_bin

ENV = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, env=ENV,
                          timeout=300)


def test_help_lists_the_options_and_their_auto_defaults():
    r = run("--help")
    assert r.returncode == 0
    for text in ("--backing", "hugetlb-1G", "--eager-split", "on from 5.18",
                 "--eager-split-alloc", "drop-lock from 6.11"):
        assert text in r.stdout, text


def test_bad_backing_exits_2_naming_the_option():
    r = run("--backing", "hugetlb-4M")
    assert r.returncode == 2
    assert "backing" in r.stderr and "hugetlb-4M" in r.stderr


def test_bad_eager_split_exits_2_naming_the_option():
    r = run("--eager-split", "maybe")
    assert r.returncode == 2
    assert "eager-split" in r.stderr


def test_hugetlb_backing_must_divide_guest_ram():
    r = run("--backing", "hugetlb-1G", "--mem-per-vcpu", "8M")
    assert r.returncode == 2
    assert "backing" in r.stderr and "mem-per-vcpu" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_small_memslot_on_hugetlb_pages_is_limited_not_refused(tmp_path):
    out = tmp_path / "s.json"
    r = run("--backing", "hugetlb-2M", "--page-size", "4K", "--mem-per-vcpu", "2M",
            "--vcpus", "2", "--quiet", "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    s = json.loads(out.read_text())
    assert s["host.mm.hugetlb_fault_mutex.write_acquire"] == 2
    assert s["check.violations"] == 0
