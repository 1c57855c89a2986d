"""scripts/analyze.py on a real sweep: the three PNGs are written, are non-empty images, and
hold the expected series (one per mmu_lock mode); the table compares the modes."""
import json
import subprocess

from conftest import ROOT, mmusim_bin


def test_plots_from_a_sweep_have_one_series_per_mode(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"fixed": {"mem-per-vcpu": "256K"},
                                "sweep": {"vcpus": [1, 2], "mmu-lock": ["exclusive", "shared"]}}))
    csv = tmp_path / "r.csv"
    subprocess.run(["/usr/bin/python3", ROOT / "scripts" / "sweep.py", spec, "-o", csv, "--quiet",
                    "--mmusim", mmusim_bin()], check=True, timeout=600)
    out = tmp_path / "plots"
    p = subprocess.run(["/usr/bin/python3", ROOT / "scripts" / "analyze.py", csv, "--out", out],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    for name in ["scaling.png", "fault_cdf.png", "breakdown.png"]:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    assert "scaling.png: series mmu-lock = exclusive; mmu-lock = shared" in p.stdout
    assert "fault_cdf.png: series mmu-lock = exclusive, 2 vCPUs; mmu-lock = shared, 2 vCPUs" in p.stdout
    assert "components walk; host page; mmu_lock wait; SPTE update; flush wait; exit/entry, dispatch" in p.stdout
    assert "exclusive" in p.stdout and "shared" in p.stdout


def test_stats_json_inputs_and_bad_metric(tmp_path):
    s = tmp_path / "a.json"
    subprocess.run([mmusim_bin(), "--vcpus", "2", "--mem-per-vcpu", "256K", "--stats-json", s, "--quiet"],
                   check=True, timeout=300)
    p = subprocess.run(["/usr/bin/python3", ROOT / "scripts" / "analyze.py", s, "--out", tmp_path],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "breakdown.png").stat().st_size > 5000
    p = subprocess.run(["/usr/bin/python3", ROOT / "scripts" / "analyze.py", s, "--metric", "nope"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "'nope' is not in the input" in p.stderr
