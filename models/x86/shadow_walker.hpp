// The translation hardware of a vCPU under shadow paging (no EPT): CR3 holds the shadow root,
// so the page walk is one-dimensional over the hypervisor's shadow tables (x86-64 format),
// guest virtual straight to host physical (4 KiB leaves, and 2 MiB leaves at level 2 for guest
// 2 MiB pages over 2 MiB host pages). The guest's own root is ignored: the shadow root is
// passed as `stage2_root_hpa`. A missing entry or a leaf that does not allow the access is a
// shadow page fault: StageTwoFault with `gpa` set to the faulting guest VIRTUAL address, which
// the vCPU hands to ShadowMmu::handle_fault. No GPA exists on this path: an Ok result reports the
// host address in `gpa` too. No paging-structure caches are modelled here.
#pragma once
#include <string>
#include <systemc>

#include "models/x86/x86_pt_format.hpp"
#include "sim/core/violations.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/walker.hpp"

namespace mmusim {

class ShadowWalker : public sc_core::sc_module, public TranslationWalker {
 public:
  MemPort port;
  ShadowWalker(sc_core::sc_module_name name, const Clock& clock, PagePool* pool,
               Violations* oracle, WalkStats& stats);
  MemPort& mem_port() override { return port; }
  void set_cpu(int cpu) override { port.set_cpu(cpu); }
  WalkResult walk(Addr gva, Access access, Addr guest_root_gpa, Addr shadow_root_hpa,
                  sc_core::sc_time& delay, const std::string& thread) override;
  WalkResult walk_stage2(Addr gpa, Access access, Addr stage2_root_hpa, sc_core::sc_time& delay,
                         const std::string& thread) override;
  void flush_caches() override {}

 private:
  X86PageFormat fmt_;
  PagePool* pool_;
  Violations* oracle_;
  WalkStats& stats_;  // shared with the other vCPUs' walkers
};

}  // namespace mmusim
