// x86 as the platform sees it: x86-64 guest paging on EPT, with the TDP MMU as the
// hypervisor's MMU software.
#pragma once
#include <memory>

#include "models/x86/ept_format.hpp"
#include "models/x86/tdp_mmu.hpp"
#include "models/x86/x86_pt_format.hpp"
#include "sim/hv/arch_model.hpp"

namespace mmusim {

class X86Arch : public ArchModel {
 public:
  explicit X86Arch(ArchDeps& d)
      : guest_(d.cfg.guest_levels), ept_(d.cfg.ept_levels),
        tdp_(d.cfg, ept_, d.phys, d.pool, d.host, d.flush, d.rcu, d.heap, d.stats, d.timeline,
             d.oracle, d.touched) {}
  const char* name() const override { return "x86"; }
  const PageTableFormat& guest_format() const override { return guest_; }
  const PageTableFormat& stage2_format() const override { return ept_; }
  HypervisorMmu& mmu() override { return tdp_; }
  TdpMmu& tdp() { return tdp_; }

 private:
  X86PageFormat guest_;
  EptFormat ept_;
  TdpMmu tdp_;
};

}  // namespace mmusim
