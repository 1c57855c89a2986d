// The translation buffers of the host's physical CPUs (docs/ARCHITECTURE.md, Several VMs: TLB
// tags). A TLB belongs to a core, not to the vCPU running on it: every vCPU thread pinned to a
// pCPU looks up and fills that pCPU's L1 DTLB and STLB, its entries told apart by their tag
// (VMID, VPID or ASID, as the hypervisor hands them out: sim/hv/tlb_tags.hpp). Without --pcpus
// each vCPU thread has a pCPU, hence TLBs, of its own.
#pragma once
#include <memory>
#include <vector>

#include "sim/mmu/tlb.hpp"

namespace mmusim {

// Geometry of one core's TLBs (--tlb-* options; app/params_hardware.cpp builds it).
struct PcpuTlbGeometry {
  unsigned l1_entries = 64, l1_ways = 4;        // 4 KiB pages
  unsigned l1_2m_entries = 32, l1_2m_ways = 4;  // 2 MiB pages
  unsigned l1_1g_entries = 4;                   // 1 GiB pages, fully associative
  unsigned l2_entries = 1536, l2_ways = 12;     // unified 4 KiB / 2 MiB STLB
  unsigned l2_1g_entries = 16, l2_1g_ways = 4;  // the STLB's 1 GiB array
};

class PcpuTlbs {
 public:
  PcpuTlbs(unsigned pcpus, const PcpuTlbGeometry& g);
  unsigned pcpus() const { return unsigned(cpus_.size()); }
  Tlb& l1(unsigned pcpu) { return cpus_.at(pcpu)->l1; }
  Tlb& l2(unsigned pcpu) { return cpus_.at(pcpu)->l2; }
  // Every entry of every core (a VMID rollover's TLBI ALLE1IS); returns the entries removed.
  size_t flush_all();

 private:
  struct Cpu {
    Cpu(unsigned index, const PcpuTlbGeometry& g);
    Tlb l1, l2;
  };
  std::vector<std::unique_ptr<Cpu>> cpus_;
};

}  // namespace mmusim
