#include "sim/cpu/pcpu_tlbs.hpp"

#include <string>

namespace mmusim {

namespace {

std::vector<TlbArrayConfig> l1_arrays(const PcpuTlbGeometry& g) {
  // Split L1 DTLB: one array per page size, as on recent x86 cores.
  std::vector<TlbArrayConfig> a;
  a.push_back({g.l1_entries, g.l1_ways, {12}});
  a.push_back({g.l1_2m_entries, g.l1_2m_ways, {21}});
  a.push_back({g.l1_1g_entries, g.l1_1g_entries, {30}});
  return a;
}

std::vector<TlbArrayConfig> l2_arrays(const PcpuTlbGeometry& g) {
  // Unified STLB holding 4K and 2M entries; 1G entries in a small array of their own.
  std::vector<TlbArrayConfig> a;
  a.push_back({g.l2_entries, g.l2_ways, {12, 21}});
  a.push_back({g.l2_1g_entries, g.l2_1g_ways, {30}});
  return a;
}

}  // namespace

PcpuTlbs::Cpu::Cpu(unsigned index, const PcpuTlbGeometry& g)
    : l1("pcpu." + std::to_string(index) + ".tlb.l1", l1_arrays(g)),
      l2("pcpu." + std::to_string(index) + ".tlb.l2", l2_arrays(g)) {}

PcpuTlbs::PcpuTlbs(unsigned pcpus, const PcpuTlbGeometry& g) {
  for (unsigned i = 0; i < pcpus; ++i) cpus_.push_back(std::make_unique<Cpu>(i, g));
}

size_t PcpuTlbs::flush_all() {
  size_t n = 0;
  for (auto& c : cpus_) n += c->l1.flush_all() + c->l2.flush_all();
  return n;
}

}  // namespace mmusim
