// KVM MIPS with the VZ ASE (--mips-virt vz; docs/ARCHITECTURE.md, MIPS): two TLBs behind the
// vCPU's micro-TLBs.
//  - The guest TLB holds the guest's GVA->GPA even/odd pairs, tagged by guest ASID (the model
//    names a guest address space by its table root), and by the vCPU's GuestID when the core
//    has them (below). A miss raises a guest TLB refill exception that the guest's own handler
//    takes in guest context -- no exit to KVM: it loads the guest's table entries, each at a
//    GPA the root TLB translates, and writes the pair (tlbwr).
//  - The root TLB holds GPA->HPA pairs tagged by GuestID or root ASID. A miss is a root TLB
//    refill that KVM's refill handler serves from the VM's GPA table (loading the pair); a half
//    whose GPA PTE is invalid, or a write to a clean one, is a GPA fault: the access exits to
//    KVM's fault path (kvm_mips_handle_vz_root_tlb_fault), which afterwards invalidates that
//    root TLB pair.
// So a double miss takes two exceptions, one of each kind (more when a guest table page's GPA
// misses in the root TLB too), each costing --lat-mips-tlb-exception + --lat-mips-refill-work
// plus its loads.
//
// Tags (sim/hv/tlb_tags.hpp): with GuestIDs (--mips-guestid-bits) both TLBs are tagged by the
// vCPU's GuestID, and a flush request gives it a new one, which retires its root and guest TLB
// entries alike. Without them the root TLB's GPA entries carry the VM's root ASID (Root ASID
// Dealias: a remote flush gives the VM a new one, which leaves the guest TLB alone) and the
// guest TLB is untagged, so KVM flushes it when another vCPU ran on the pCPU
// (flush_guest_caches). The guest's own TLB invalidations
// (its shootdowns) and any vCPU TLB flush that drops the walker's caches flush both TLBs. Each
// vCPU's walker holds its own pair of TLBs (the physical CPU's TLBs as this vCPU sees them).
#pragma once
#include "models/mips/mips_pair_tlb.hpp"
#include "models/mips/mips_walker_base.hpp"

namespace mmusim {

// The VZ exceptions, summed over vCPUs ("mips.vz.*"; registered only in VZ runs).
struct MipsVzStats : StatsGroup {
  explicit MipsVzStats(Stats& s) : StatsGroup(s, "mips.vz") {}
  statistics::Counter guest_refill{*this, "guest_refill",
                                   "guest TLB refill exceptions taken by the guest's handler"};
  statistics::Counter root_refill{*this, "root_refill",
                                  "root TLB refill exceptions served by KVM from the GPA table"};
  statistics::Counter root_inv{*this, "root_inv",
                               "root TLB pairs KVM invalidated after a GPA fault"};
};

class MipsVzWalker final : public MipsWalkerBase {
 public:
  MipsVzWalker(sc_core::sc_module_name name, const MipsRefillWalkerParams& p, const Clock& clock,
               const MipsPteFormat& guest_fmt, const MipsPteFormat& gpa_fmt,
               PagePool* table_pool, Violations* oracle, MipsRefillStats& stats,
               MipsVzStats& vz, FrameCheck frame_check);

  WalkResult walk(Addr gva, Access access, Addr guest_root_gpa, Addr gpa_root_hpa,
                  sc_core::sc_time& delay, const std::string& thread) override;
  WalkResult walk_stage2(Addr gpa, Access access, Addr gpa_root_hpa, sc_core::sc_time& delay,
                         const std::string& thread) override;
  void flush_caches() override;
  // kvm_vz_local_flush_guesttlb_all: the guest TLB only.
  void flush_guest_caches() override { guest_tlb_.flush_all(); }
  void flush_va(Addr gva) override;

 private:
  // gpa through the root TLB, refilling it from the GPA table on a miss; !ok: a GPA fault.
  Xlate root_translate(Addr gpa, Access access, Addr gpa_root_hpa, sc_core::sc_time& delay,
                            const std::string& thread, unsigned& refs);
  void tag_changed(bool dropped) override;
  // The guest TLB's tag: the guest ASID (the model names a guest address space by its table
  // root), and the vCPU's GuestID when the core has them; without, the root ASID tags only the
  // root TLB.
  uint64_t guest_tag(Addr guest_root_gpa) const {
    return p_.guestids ? (uint64_t(tag_) << 48) ^ guest_root_gpa : guest_root_gpa;
  }

  MipsVzStats& vz_;
  MipsPairTlb guest_tlb_;
  MipsPairTlb root_tlb_;
  Addr last_guest_root_ = 0;  // the guest address space of the last walk (for flush_va)
};

}  // namespace mmusim
