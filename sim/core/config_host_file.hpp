// The host description file (--host FILE; docs/ARCHITECTURE.md, Several VMs): VMs that differ,
// side by side on one host. A [host] section holds options every VM shares (the arch, pCPUs,
// caches, DRAM, the KVM release, outputs) and defaults for the per-VM ones; each [vm NAME]
// section is one VM, in file order, with its own vCPUs, memory, workload and its options, and
// flush strategy. Internal to sim/core/config*.cpp, as config_table.hpp.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/config_table.hpp"

namespace mmusim::config_detail {

// A [vm NAME] section: its keys as read (not yet applied).
struct VmSection {
  std::string name;
  std::string where;  // "FILE:LINE: " of its header
  std::map<std::string, Source> values;
};

// Whether an option may differ between the VMs of a host file (set in a [vm NAME] section).
// Every other option describes the host (hardware, host kernel, KVM module, outputs).
bool per_vm_option(const std::string& name);

// Reads the host file: [host] keys go into `values` (a value already there, from the command
// line or --config, wins); returns the VM sections. Throws UsageError with FILE:LINE for an
// unknown key or section, a host-wide key in a VM section, a VM section that sets no vcpus
// (vcpus is set in VM sections only),
// duplicate keys or names, and a file without VM sections.
std::vector<VmSection> read_host_file(const std::string& path, const std::vector<Option>& table,
                                      std::map<std::string, Source>& values);

// Each VM's config: `host` with its section's values applied (in table order), checked alone
// as a one-VM run would be. An error names the line of the value it is about: the VM
// section's, else the host's (`host_values`: [host], --config or the command line), else the
// section header.
std::vector<SimConfig> vm_configs_of(const SimConfig& host, const std::vector<VmSection>& vms,
                                     const std::vector<Option>& table,
                                     const std::map<std::string, Source>& host_values);

}  // namespace mmusim::config_detail
