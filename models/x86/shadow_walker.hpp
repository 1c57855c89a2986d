// The translation hardware of a vCPU under shadow paging (no EPT): CR3 holds the shadow root,
// so the page walk is one-dimensional over the hypervisor's shadow tables (x86-64 format),
// guest virtual straight to host physical (4 KiB leaves, and 2 MiB leaves at level 2 for guest
// 2 MiB pages over 2 MiB host pages). The guest's own root is ignored: the shadow root is
// passed as `stage2_root_hpa`. A missing entry or a leaf that does not allow the access is a
// shadow page fault: StageTwoFault with `gpa` set to the faulting guest VIRTUAL address, which
// the vCPU hands to ShadowMmu::handle_fault. No GPA exists on this path: an Ok result reports the
// host address in `gpa` too. Its paging-structure caches are the 2D walker's (WalkerParams:
// entries, ways, lookup), one per non-leaf level and tagged by the shadow root, as native
// hardware caches the upper levels of any one-dimensional walk (Intel SDM Vol. 3A,
// "Paging-Structure Caches"); they are flushed with the TLBs.
#pragma once
#include <string>
#include <systemc>
#include <vector>

#include "models/x86/x86_pt_format.hpp"
#include "sim/core/violations.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/walker.hpp"

namespace mmusim {

// The shadow walkers' statistics ("walk.*"): the 2D walker's without its A/D updates.
struct ShadowWalkStats : WalkStats {
  ShadowWalkStats(Stats& s, const std::string& prefix) : WalkStats(s, prefix) {}
  statistics::Counter pwc_hit{*this, "pwc_hit", "paging-structure cache hits during walks"};
};

class ShadowWalker : public sc_core::sc_module, public TranslationWalker {
 public:
  MemPort port;
  ShadowWalker(sc_core::sc_module_name name, const WalkerParams& p, const Clock& clock,
               PagePool* pool, Violations* oracle, ShadowWalkStats& stats);
  MemPort& mem_port() override { return port; }
  void set_cpu(int cpu) override { port.set_cpu(cpu); }
  WalkResult walk(Addr gva, Access access, Addr guest_root_gpa, Addr shadow_root_hpa,
                  sc_core::sc_time& delay, const std::string& thread) override;
  WalkResult walk_stage2(Addr gpa, Access access, Addr stage2_root_hpa, sc_core::sc_time& delay,
                         const std::string& thread) override;
  void flush_caches() override;

 private:
  X86PageFormat fmt_;
  Cycles pwc_lookup_;
  PagePool* pool_;
  Violations* oracle_;
  ShadowWalkStats& stats_;  // shared with the other vCPUs' walkers
  std::vector<PagingStructureCache> pwc_;  // index: level (2..4); empty without caches
};

}  // namespace mmusim
