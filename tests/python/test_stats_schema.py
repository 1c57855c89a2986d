"""--stats-schema: every statistic of a run, with its kind and a one-line description, for every
arch and both x86 MMUs; the kinds agree with what --stats-json writes (a histogram is an
object, a counter or value a number), and nothing else is in either file."""
import json
import subprocess

import pytest

from conftest import mmusim_bin

CONFIGS = {
    "x86_tdp": ["--arch", "x86", "--workload", "dirty-log", "--vcpus", "2", "--mem-per-vcpu", "256K"],
    "x86_shadow": ["--arch", "x86", "--x86-mmu", "shadow", "--workload", "guest-pt-churn",
                   "--vcpus", "2", "--churn-steps", "10"],
    "arm64": ["--arch", "arm64", "--workload", "locked-boot", "--vcpus", "2"],
    "mips": ["--arch", "mips", "--workload", "swap-storm", "--vcpus", "2", "--mem-per-vcpu", "256K",
             "--host-events", "4", "--mips-sync-mmu", "on"],
}


def run(tmp_path, args):
    stats, schema = tmp_path / "s.json", tmp_path / "s.schema.json"
    p = subprocess.run([mmusim_bin(), *args, "--stats-json", stats, "--stats-schema", schema,
                        "--quiet"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(stats.read_text()), json.loads(schema.read_text())


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_schema_names_every_statistic_with_its_kind(tmp_path, name):
    stats, schema = run(tmp_path, CONFIGS[name])
    assert sorted(schema) == sorted(stats)
    for key, entry in schema.items():
        assert entry["kind"] in ("counter", "value", "histogram"), key
        assert entry["description"] and "\n" not in entry["description"], key
        assert isinstance(stats[key], dict) == (entry["kind"] == "histogram"), key
    assert schema["hv.fault.latency"]["kind"] == "histogram"
    assert schema["hv.fault.count"]["kind"] == "counter"
    assert schema["sim.cycles"]["kind"] == "value"


def test_schema_file_must_differ_from_the_stats_file(tmp_path):
    f = tmp_path / "same.json"
    p = subprocess.run([mmusim_bin(), "--stats-json", f, "--stats-schema", f, "--quiet"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--stats-schema" in p.stderr
