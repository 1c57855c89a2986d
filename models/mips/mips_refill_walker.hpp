// The translation hardware of a MIPS vCPU: a TLB refilled by software. A TLB miss raises an
// exception; the modelled refill handler (its instructions timed by --lat-mips-refill-work,
// the exception entry and eret by --lat-mips-tlb-exception) walks the guest's tables and the
// VM's GPA table with real loads through the memory system, and loads a pair of pages: MIPS
// TLB entries map an even/odd pair (EntryLo0/EntryLo1), so the refill reads the PTE and its
// buddy and returns both halves (WalkResult::has_buddy) for the vCPU to insert.
//
// The hardware sees only the V and D bits the kernel keeps in each PTE: an old GPA PTE (V clear)
// or a write to a clean one (D clear) is a GPA fault that exits to KVM's fault handler -- the
// TLB invalid and TLB modified exceptions idle-page and dirty-page tracking rely on.
//
// Entries are tagged by ASID: a flush request moves the vCPU to a new ASID (old entries can no
// longer hit) and only running out of ASIDs flushes the whole TLB.
//
// Oracle hook: `frame_check(gpa, hpa, thread, when)` is called for every translation the refill
// completes, so the platform can report a guest mapping that points to a host frame the host no
// longer maps there (a stale mapping after COW/KSM/migration without MMU notifiers).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <systemc>

#include "models/mips/mips_pte_format.hpp"
#include "sim/core/types.hpp"
#include "sim/core/violations.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/walker.hpp"

namespace mmusim {

// "walk.*" and the refill handler's and ASID allocator's statistics, shared by every vCPU's
// walker (one group per run, owned by the arch model).
struct MipsRefillStats : WalkStats {
  explicit MipsRefillStats(Stats& s) : WalkStats(s, "walk") {}
  StatsGroup mips{registry(), "mips"};
  statistics::Counter refill{mips, "tlb.refill",
                             "TLB refill exceptions handled by the refill handler"};
  statistics::Counter buddy_loaded{mips, "tlb.buddy_loaded",
                                   "refills that also loaded the even/odd buddy page"};
  statistics::Counter asid_new{mips, "asid.new", "new ASIDs taken instead of flushing the TLB"};
  statistics::Counter asid_wrap{mips, "asid.wrap", "ASID generation wraps (full TLB flush)"};
};

// What the refill handler and ASID allocator read of the run's parameters
// (app/params_models.cpp builds it).
struct MipsRefillWalkerParams {
  unsigned mips_asid_bits = 8;      // ASID width: new ASIDs per flush until they run out
  Cycles mips_tlb_exception = 30;   // TLB refill/invalid/modified exception entry and eret
  Cycles mips_refill_work = 12;     // refill handler instructions besides its loads
  Cycles mips_asid_bump = 40;       // giving a vCPU a new ASID on a flush request
};

class MipsRefillWalker : public sc_core::sc_module, public TranslationWalker {
 public:
  using FrameCheck = std::function<void(Addr gpa, Addr hpa, const std::string& thread, Cycles when)>;
  MemPort port;

  MipsRefillWalker(sc_core::sc_module_name name, const MipsRefillWalkerParams& p,
                   const Clock& clock,
                   const MipsPteFormat& guest_fmt, const MipsPteFormat& gpa_fmt,
                   PagePool* table_pool, Violations* oracle, MipsRefillStats& stats,
                   FrameCheck frame_check);

  MemPort& mem_port() override { return port; }
  void set_cpu(int cpu) override { port.set_cpu(cpu); }
  WalkResult walk(Addr gva, Access access, Addr guest_root_gpa, Addr gpa_root_hpa,
                  sc_core::sc_time& delay, const std::string& thread) override;
  WalkResult walk_stage2(Addr gpa, Access access, Addr gpa_root_hpa, sc_core::sc_time& delay,
                         const std::string& thread) override;
  void flush_caches() override {}  // no paging-structure caches on the refill path
  bool new_asid_on_flush(uint16_t& tag, Cycles& cycles) override;

 private:
  // Walks the GPA table for gpa; returns the PTE and its buddy (0 when a level is missing).
  struct PtePair {
    uint64_t pte = 0, buddy = 0;
  };
  PtePair gpa_lookup(Addr gpa, Addr gpa_root_hpa, sc_core::sc_time& delay,
                     const std::string& thread, unsigned& refs);
  uint64_t load(Addr hpa, sc_core::sc_time& delay, const std::string& thread, unsigned& refs);

  const MipsRefillWalkerParams p_;
  const MipsPteFormat& guest_fmt_;
  const MipsPteFormat& gpa_fmt_;
  PagePool* pool_;
  Violations* oracle_;
  FrameCheck frame_check_;
  MipsRefillStats& stats_;  // shared with the other vCPUs' walkers
};

}  // namespace mmusim
