// What both KVM MIPS modes' translation hardware shares (docs/ARCHITECTURE.md, MIPS): the
// vCPU's TLB arrays (sim/mmu/tlb) stand for the micro-TLBs holding combined GVA->HPA
// translations; their misses reach a walker of this family, which models the software-refilled
// MIPS TLBs behind them and the exceptions that fill those -- MipsVzWalker (VZ: guest TLB and
// root TLB) or MipsTeWalker (trap-and-emulate: host TLB, emulated guest TLB, GVA tables).
//
// This base has the memory side: loads of table entries through the vCPU's memory port
// (checked against the freed-table oracle), the KVM GPA table lookup that loads a PTE and its
// even/odd buddy (EntryLo0/EntryLo1), the exception cost (--lat-mips-tlb-exception for entry
// and eret, --lat-mips-refill-work for the handler's instructions besides its loads), and the
// tag the TLBs hold (an ASID or GuestID from sim/hv/tlb_tags.hpp): a flush moves the vCPU to a
// new tag instead of flushing, and only running out of tags flushes everything.
//
// The hardware sees only the V and D bits the kernel keeps in each PTE: an old GPA PTE (V clear)
// or a write to a clean one (D clear) is a GPA fault that exits to KVM's fault handler -- the
// TLB invalid and TLB modified exceptions idle-page and dirty-page tracking rely on.
//
// Oracle hook: `frame_check(gpa, hpa, thread, when)` is called for every GPA->HPA translation
// loaded from the GPA table, so the platform can report a guest mapping that points to a host
// frame the host no longer maps there (stale after COW/KSM/migration without MMU notifiers).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <systemc>

#include "models/mips/mips_pair_tlb.hpp"
#include "models/mips/mips_pte_format.hpp"
#include "sim/core/types.hpp"
#include "sim/core/violations.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/walker.hpp"

namespace mmusim {

// "walk.*" and the statistics both modes keep, shared by every vCPU's walker (one group per
// run, owned by the arch model).
struct MipsRefillStats : WalkStats {
  explicit MipsRefillStats(Stats& s) : WalkStats(s, "walk") {}
  StatsGroup mips{registry(), "mips"};
  statistics::Counter refill{mips, "tlb.refill",
                             "vCPU TLB misses taken to the MIPS TLBs behind them"};
  statistics::Counter buddy_loaded{mips, "tlb.buddy_loaded",
                                   "misses that also gave the vCPU TLB the even/odd buddy page"};
  statistics::Counter asid_new{mips, "asid.new",
                               "new ASIDs (GuestIDs with --mips-guestid-bits) vCPUs took from "
                               "their pCPU's counter (a flush or a stale version; not a "
                               "context's first)"};
  statistics::Counter asid_wrap{mips, "asid.wrap",
                                "pCPU ASID (GuestID) counter wraps a vCPU's new tag caused (the "
                                "pCPU's TLB flushed)"};
};

// What the MIPS walkers read of the run's parameters (app/params_models.cpp builds it).
struct MipsRefillWalkerParams {
  Cycles mips_tlb_exception = 78;   // TLB refill/invalid/modified exception entry and eret
  Cycles mips_refill_work = 31;     // refill handler instructions besides its loads
  Cycles mips_asid_bump = 104;      // giving a vCPU a new ASID on a flush request
  bool guestids = false;            // VZ: the core tags the guest TLB by GuestID too
};

class MipsWalkerBase : public sc_core::sc_module, public TranslationWalker {
 public:
  using FrameCheck = std::function<void(Addr gpa, Addr hpa, const std::string& thread, Cycles when)>;
  MemPort port;

  MipsWalkerBase(sc_core::sc_module_name name, const MipsRefillWalkerParams& p,
                 const Clock& clock, const MipsPteFormat& guest_fmt,
                 const MipsPteFormat& gpa_fmt, PagePool* table_pool, Violations* oracle,
                 MipsRefillStats& stats, FrameCheck frame_check);

  MemPort& mem_port() override { return port; }
  void set_cpu(int cpu) override { port.set_cpu(cpu); }
  bool asid_tagged() const override { return true; }
  Cycles retag(uint16_t tag, TagChange change, bool dropped) override;

 protected:
  // A GPA translated by one of the TLBs behind the micro-TLBs; !ok: a GPA fault.
  struct Xlate {
    bool ok = false;
    Addr frame = 0;
    Perms perms;
  };
  // walk_stage2's answer for gpa from such a translation.
  static WalkResult stage2_result(Addr gpa, const Xlate& t, unsigned refs);
  // A PTE pair as the refill loads it: the half `a` falls in, and both EntryLo values.
  struct PtePair {
    uint64_t pte = 0, buddy = 0;  // EntryLo of a's page and of its buddy (0: a level missing)
    uint64_t lo[2] = {0, 0};      // EntryLo0 (even), EntryLo1 (odd)
  };
  // KVM's GPA table lookup for gpa: walks to the leaf table and loads the even and odd PTE.
  PtePair gpa_lookup(Addr gpa, Addr gpa_root_hpa, sc_core::sc_time& delay,
                     const std::string& thread, unsigned& refs);
  // The even/odd PTEs of a leaf entry at `leaf_hpa` (the refill handler's ld; ld).
  PtePair load_pair(Addr leaf_hpa, sc_core::sc_time& delay, const std::string& thread,
                    unsigned& refs);
  uint64_t load(Addr hpa, sc_core::sc_time& delay, const std::string& thread, unsigned& refs);
  void store(Addr hpa, uint64_t value, sc_core::sc_time& delay);
  // One TLB exception: entry, the handler's own instructions, eret.
  void take_exception(sc_core::sc_time& delay) const;
  Cycles when(const sc_core::sc_time& delay) const;
  // A half of a GPA->HPA pair from its EntryLo (invalid when V is clear).
  MipsPairTlb::Half gpa_half(uint64_t lo) const;
  void check_frame(Addr gpa, Addr hpa, const std::string& thread, const sc_core::sc_time& delay);
  // The tag changed (old-tagged entries can no longer hit); `dropped`: the pCPU's TLB was
  // flushed meanwhile (a wrap), so the old entries go.
  virtual void tag_changed(bool dropped) = 0;

  static Perms meet(Perms a, Perms b) {
    return Perms{a.read && b.read, a.write && b.write, a.exec && b.exec};
  }
  // EntryLo values carry V/D/pfn only; perms() wants the present bit of a PTE-shaped word.
  static uint64_t hw(uint64_t lo) { return lo ? (lo | MipsPteFormat::kPresent) : 0; }

  const MipsRefillWalkerParams p_;
  const MipsPteFormat& guest_fmt_;
  const MipsPteFormat& gpa_fmt_;
  PagePool* pool_;
  Violations* oracle_;
  FrameCheck frame_check_;
  MipsRefillStats& stats_;  // shared with the other vCPUs' walkers
  uint16_t tag_ = 0;        // the vCPU's current ASID/GuestID, as last retagged
};

}  // namespace mmusim
