#include "sim/core/config_host_file.hpp"

#include <algorithm>
#include <set>

#include "sim/core/error.hpp"

namespace mmusim::config_detail {

namespace {

// What one VM is and runs: its size, its workload and the workload's options, its memory
// backing and mapping size, its flush strategy, and the capabilities its VMM enables or its
// guest has. Everything else is hardware, host kernel or KVM module state, shared by every VM.
const std::set<std::string>& per_vm_options() {
  static const std::set<std::string> names{
      "vcpus", "seed", "workload", "mem-per-vcpu", "overlap", "partition", "pattern", "passes",
      "access-offset", "lat-compute-per-access", "page-size", "backing", "guest-levels", "flush",
      "pv-sched-yield", "iterations", "ebizzy-chunk", "ebizzy-work",
      "dirty-log-manual-protect", "dirty-log-initially-set", "dirty-log-write-fraction",
      "dirty-tracking", "dirty-ring-entries", "arm64-eager-split-chunk",
      "image-size", "lock-writable", "relock-cycles", "trace", "trace-queue", "host-events",
      "host-event-interval", "host-event-pages", "event-passes"};
  return names;
}

// The LINE of an origin "FILE:LINE: " (the file name may hold ':' itself).
std::string line_of(const std::string& origin) {
  const std::string where = origin.substr(0, origin.size() - 2);
  return where.substr(where.rfind(':') + 1);
}

}  // namespace

bool per_vm_option(const std::string& name) {
  return per_vm_options().count(name) || name.rfind("churn-", 0) == 0;
}

std::vector<VmSection> read_host_file(const std::string& path, const std::vector<Option>& table,
                                      std::map<std::string, Source>& values) {
  std::vector<VmSection> vms;
  std::map<std::string, Source> host;
  bool in_host = false, had_host = false;
  for (const IniLine& l : read_ini_lines(path, "host")) {
    if (l.header) {
      const std::string& s = l.section;
      if (s == "host") {
        if (had_host) throw UsageError(l.where + "a second [host] section");
        in_host = had_host = true;
        continue;
      }
      if (s.rfind("vm", 0) != 0 || (s.size() > 2 && s[2] != ' ' && s[2] != '\t'))
        throw UsageError(l.where + "unknown section " + in_quotes("[" + s + "]") +
                         "; expected [host] or [vm NAME]");
      VmSection vm;
      vm.name = s.size() > 2 ? s.substr(s.find_first_not_of(" \t", 2)) : "";
      if (vm.name.empty() || vm.name.find_first_of(" \t.") != std::string::npos)
        throw UsageError(l.where + "a VM section is [vm NAME], NAME one word without '.', got " +
                         in_quotes("[" + s + "]"));
      for (const VmSection& other : vms)
        if (other.name == vm.name)
          throw UsageError(l.where + "VM " + in_quotes(vm.name) + " is already defined at " +
                           other.where.substr(0, other.where.size() - 2));
      vm.where = l.where;
      vms.push_back(std::move(vm));
      in_host = false;
      continue;
    }
    if (!had_host && vms.empty())
      throw UsageError(l.where + in_quotes(l.key) +
                       " is outside a section; start with [host] or [vm NAME]");
    check_ini_key(l, table);
    if (l.key == "vms")
      throw UsageError(l.where + "'vms' cannot be set in a host file: each [vm NAME] section is "
                       "one VM");
    if (in_host && l.key == "vcpus")
      throw UsageError(l.where + "'vcpus' is set in each [vm NAME] section, not in [host]");
    if (!in_host && !per_vm_option(l.key))
      throw UsageError(l.where + in_quotes(l.key) + " is the host's, shared by every VM: set it "
                       "in [host] (a VM section sets what a VM is and runs: vcpus, "
                       "mem-per-vcpu, workload and its options, page-size, backing, flush, ...)");
    std::map<std::string, Source>& keys = in_host ? host : vms.back().values;
    auto [it, fresh] = keys.emplace(l.key, Source{l.value, l.where});
    if (!fresh)
      throw UsageError(l.where + in_quotes(l.key) + " is already set on line " +
                       line_of(it->second.origin));
  }
  if (vms.empty())
    throw UsageError("--host: " + in_quotes(path) + " has no [vm NAME] section");
  if (vms.size() > 64)
    throw UsageError(vms[64].where + "more than the 64 VMs allowed");
  for (const VmSection& vm : vms)
    if (!vm.values.count("vcpus"))
      throw UsageError(vm.where + "VM " + in_quotes(vm.name) + " sets no 'vcpus'");
  for (auto& [key, source] : host) values.emplace(key, source);  // an earlier value wins
  return vms;
}

std::vector<SimConfig> vm_configs_of(const SimConfig& host, const std::vector<VmSection>& vms,
                                     const std::vector<Option>& table,
                                     const std::map<std::string, Source>& host_values) {
  std::vector<SimConfig> out;
  for (const VmSection& vm : vms) {
    SimConfig c = host;
    c.vm_name = vm.name;
    for (const Option& o : table) {
      auto it = vm.values.find(o.name);
      if (it == vm.values.end()) continue;
      try {
        o.apply(c, it->second.value);
      } catch (const UsageError& e) {
        throw UsageError(it->second.origin + e.what());
      }
    }
    // Checked as a lone VM; a message about an option set nowhere names the section, since
    // the combination is the VM's.
    validate_all(c, [&](const std::string& name, const std::string& msg) {
      auto it = vm.values.find(name);
      auto h = host_values.find(name);
      const std::string where = it != vm.values.end()  ? it->second.origin
                                : h != host_values.end() ? h->second.origin
                                                         : vm.where;
      throw UsageError(where + "VM " + in_quotes(vm.name) + ": --" + name + ": " + msg);
    });
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace mmusim::config_detail
