"""The layering rules of docs/ARCHITECTURE.md ("Layers and folders", "Parameters"), checked on
the sources: components see only their own typed parameters (no component reads SimConfig,
which only the option table and the Platform see), and the hardware models include no
hypervisor code."""
import re

from conftest import ROOT

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCES = ("*.hpp", "*.cpp")


def files_under(*folders):
    for folder in folders:
        for pattern in SOURCES:
            yield from sorted((ROOT / folder).rglob(pattern))


def offenders(files, bad):
    found = []
    for path in files:
        text = path.read_text()
        for line_no, line in enumerate(text.splitlines(), 1):
            if bad(line):
                found.append(f"{path.relative_to(ROOT)}:{line_no}: {line.strip()}")
    return found


def test_no_component_reads_the_whole_configuration():
    # sim/core/config* is the option table itself; app/ builds each component's Params.
    files = [p for p in files_under("sim", "models", "workloads")
             if not p.relative_to(ROOT).as_posix().startswith("sim/core/config")]
    assert len(files) > 100
    found = offenders(files, lambda line: "sim/core/config.hpp" in line
                      or re.search(r"\bSimConfig\b", line))
    assert not found, "components must take their own Params:\n" + "\n".join(found)


def test_hardware_models_include_no_hypervisor_code():
    files = list(files_under("sim/mmu", "sim/mem", "sim/sync", "sim/core"))
    assert len(files) > 30
    found = offenders(files, lambda line: any(
        inc.startswith(("models/", "sim/hv/", "workloads/", "app/"))
        for inc in INCLUDE.findall(line)))
    assert not found, "\n".join(found)


def test_sim_includes_no_arch_model():
    found = offenders(files_under("sim"), lambda line: any(
        inc.startswith(("models/", "workloads/", "app/")) for inc in INCLUDE.findall(line)))
    assert not found, "\n".join(found)


# SimConfig fields that no Params carries, and why.
NOT_IN_PARAMS = {
    "host_mem_limit": "only the option checks read it (sim/core/config_options_limits.cpp)",
    "pcpus": "read through SimConfig::physical_cpus(), which the builders call",
    "vm_name": "a host file's VM section name, for the summary and messages (app/platform.cpp)",
}


def test_every_option_reaches_a_component():
    """Each SimConfig field (an option's storage) is read by a Params builder or the Platform
    in app/: an option that fills nothing would be silently ignored."""
    text = (ROOT / "sim/core/config.hpp").read_text()
    body = text[text.index("struct Latencies"):]
    declared = (r"(?:\b(?:[A-Z]\w*|unsigned|uint64_t|double|bool|std::string)|std::optional<\w+>)"
                r"\s+([a-z_0-9]+)\s*[=;]")
    fields = set(re.findall(declared, body))
    fields |= set(re.findall(r",\s*([a-z_0-9]+)\s*=", body))  # "unsigned a = 1, b = 2;"
    assert {"zap_yield_every", "tlbi_dsb", "l2_ways", "mmu_lock", "kvm_version"} <= fields
    app = "".join(p.read_text() for p in sorted((ROOT / "app").glob("*.[ch]pp")))
    unread = sorted(f for f in fields - NOT_IN_PARAMS.keys()
                    if not re.search(r"\b(?:cfg|c)\s*\.\s*(?:lat\s*\.\s*)?" + f + r"\b", app))
    assert not unread, "options no builder in app/ reads: " + ", ".join(unread)
