"""CLI checks of arm64 eager splitting (--arm64-eager-split-chunk, KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE
from 6.5): --help lists it with its auto default, and a chunk before 6.5, of a size KVM refuses or
on another arch, and x86's --eager-split on with --arch arm64, exit 2 naming the options."""
import json
import os
import subprocess

from conftest import mmusim_bin

ENV = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
ARM64 = ("--arch", "arm64", "--workload", "dirty-log", "--vcpus", "1", "--mem-per-vcpu", "2M",
         "--page-size", "2M", "--iterations", "1")


def run(*args):
    return subprocess.run([mmusim_bin(), *args], capture_output=True, text=True, env=ENV,
                          timeout=300)


def test_help_lists_the_option_and_its_auto_default():
    r = run("--help")
    assert r.returncode == 0
    line = next(l for l in r.stdout.splitlines() if "--arm64-eager-split-chunk" in l)
    assert "KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE" in line and "(default: auto)" in line


def test_a_chunk_before_6_5_exits_2_naming_the_option_and_the_release():
    r = run(*ARM64, "--arm64-eager-split-chunk", "2M", "--kvm-version", "6.4")
    assert r.returncode == 2
    assert "--arm64-eager-split-chunk" in r.stderr and "--kvm-version 6.4" in r.stderr
    assert "6.5" in r.stderr
    # 0 and auto are what every release does.
    for chunk in ("0", "auto"):
        assert run(*ARM64, "--arm64-eager-split-chunk", chunk, "--kvm-version", "6.4").returncode == 0


def test_a_size_kvm_refuses_exits_2():
    r = run(*ARM64, "--arm64-eager-split-chunk", "64K")
    assert r.returncode == 2
    assert "--arm64-eager-split-chunk" in r.stderr and "64K" in r.stderr


def test_the_chunk_on_x86_and_eager_split_on_on_arm64_exit_2_naming_both():
    r = run("--arch", "x86", "--arm64-eager-split-chunk", "2M")
    assert r.returncode == 2 and "--arm64-eager-split-chunk" in r.stderr
    r = run(*ARM64, "--eager-split", "on")
    assert r.returncode == 2
    assert "--eager-split" in r.stderr and "--arm64-eager-split-chunk" in r.stderr


def test_a_chunk_splits_the_blocks(tmp_path):
    out = tmp_path / "s.json"
    r = run(*ARM64, "--arm64-eager-split-chunk", "2M", "--stats-json", str(out))
    assert r.returncode == 0, r.stderr
    stats = json.loads(out.read_text())
    assert stats["hv.s2.eager_split.blocks"] == 1
    assert stats["check.violations"] == 0
