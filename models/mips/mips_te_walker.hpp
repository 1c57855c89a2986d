// KVM MIPS trap-and-emulate (--mips-virt te; KVM up to 5.12; docs/ARCHITECTURE.md, MIPS). The
// guest kernel runs in user mode, so the only hardware TLB is the host's: the vCPU's TLB arrays
// hold its GVA->HPA entries. KVM keeps, per vCPU:
//  - the emulated guest TLB: 64 entries (EntryHi, EntryLo0, EntryLo1, PageMask) in simulated
//    kernel memory, which KVM scans entry by entry with loads (kvm_mips_guest_tlb_lookup);
//  - GVA page tables (Linux PTE format) the host TLB refill handler walks on a host TLB miss.
// A host TLB miss first takes the host refill handler over the GVA tables (an exception); when
// they hold nothing usable the access exits to KVM (kvm_mips_handle_tlbmiss), which scans the
// emulated guest TLB:
//  - hit: kvm_mips_handle_mapped_seg_tlb_fault writes the GVA table pair from the GPA table
//    (the accessed half, the other cleared), and the retried access refills from it;
//  - miss: KVM delivers a TLB refill exception to the guest, whose handler loads its page-table
//    entries (through guest KSEG0, below) and executes TLBWR, which traps: KVM emulates it
//    (writes the entry, and clears the GVA table pair of the entry it replaced), and the access
//    retries -- misses again, exits, hits, fills.
// Guest KSEG0 (unmapped guest kernel addresses: the guest's table reads and writes) is mapped by
// KVM on demand: kvm_mips_handle_kseg0_tlb_fault copies the GPA table's pair into the GVA tables
// (KSEG0 GVA = 0x40000000 + GPA) and the retried access refills from there; a host TLB
// (a MipsPairTlb) caches those KSEG0 pairs, as the vCPU's TLB arrays do for data.
// A GPA table entry that is invalid (or clean, on a write) exits to KVM's GPA fault path.
//
// Simplified: one GVA table per vCPU (KVM has one for guest kernel and one for guest user
// mappings); a new guest address space flushes it, as KVM flushes the user one on a guest ASID
// change. TLBWR's random index is round-robin. A pair already in the emulated TLB whose half is
// invalid or read-only takes the guest's TLB invalid/modified handler, which rewrites it in
// place (counted as an emulated TLB write). A guest refill that finds the accessed half invalid
// goes to the guest's page-fault handler without first writing the invalid pair. Flushes
// (KVM_REQ_TLB_FLUSH, a new host ASID) clear the GVA tables' leaves written since the last one,
// with stores at the next refill (KVM does it on the next guest entry). The vCPU's TLB entries
// of a replaced emulated entry are left to be evicted (the guest mapping they hold is current).
// A guest invalidation of one page drops its emulated entry (the trapped TLBWI of an invalid
// entry); a guest flush of many pages drops the GVA tables but not the emulated guest TLB.
#pragma once
#include <unordered_map>
#include <vector>

#include "models/mips/mips_pair_tlb.hpp"
#include "models/mips/mips_walker_base.hpp"

namespace mmusim {

// The trap-and-emulate exits and emulations, summed over vCPUs ("mips.te.*"; TE runs only).
struct MipsTeStats : StatsGroup {
  explicit MipsTeStats(Stats& s) : StatsGroup(s, "mips.te") {}
  statistics::Counter host_refill{*this, "host_refill",
                                  "host TLB refills served from the GVA tables"};
  statistics::Counter tlb_exit{*this, "tlb_exit",
                               "host TLB misses on guest mapped addresses that exit to KVM"};
  statistics::Counter refill_delivered{*this, "refill_delivered",
                                       "TLB exceptions KVM delivered to the guest's handler"};
  statistics::Counter tlbwr_emulated{*this, "tlbwr_emulated",
                                     "guest TLB writes (TLBWR/TLBWI) trapped and emulated"};
  statistics::Counter gva_fill{*this, "gva_fill",
                               "GVA table pairs KVM filled after an emulated guest TLB hit"};
  statistics::Counter kseg0_fault{*this, "kseg0_fault",
                                  "guest KSEG0 accesses KVM mapped into the GVA tables"};
};

class MipsTeWalker final : public MipsWalkerBase {
 public:
  static constexpr unsigned kGuestTlbEntries = 64;  // KVM_MIPS_GUEST_TLB_SIZE
  static constexpr unsigned kEntryBytes = 32;       // EntryHi, EntryLo0, EntryLo1, PageMask
  static constexpr Addr kKseg0Gva = 0x40000000;     // KVM_GUEST_KSEG0
  // EntryHi of a written entry: VPN2 | this marker | the guest ASID (8 bits). Empty is 0.
  static constexpr uint64_t kEntryHiUsed = 1ull << 12;

  // `guest_tlb` is the emulated guest TLB's address (kGuestTlbEntries * kEntryBytes bytes of
  // host kernel memory); GVA table pages come from `table_pool`.
  MipsTeWalker(sc_core::sc_module_name name, const MipsRefillWalkerParams& p, const Clock& clock,
               const MipsPteFormat& guest_fmt, const MipsPteFormat& gpa_fmt,
               PagePool* table_pool, Violations* oracle, MipsRefillStats& stats,
               MipsTeStats& te, Addr guest_tlb, FrameCheck frame_check);

  WalkResult walk(Addr gva, Access access, Addr guest_root_gpa, Addr gpa_root_hpa,
                  sc_core::sc_time& delay, const std::string& thread) override;
  WalkResult walk_stage2(Addr gpa, Access access, Addr gpa_root_hpa, sc_core::sc_time& delay,
                         const std::string& thread) override;
  void flush_caches() override;
  void flush_va(Addr gva) override;
  void free_tables() override;

  Addr guest_tlb_base() const { return guest_tlb_; }
  static uint64_t entryhi(Addr gva, Addr guest_root_gpa) {
    return (gva & ~Addr(2 * kPageSize - 1)) | kEntryHiUsed | ((guest_root_gpa >> kPageShift) & 0xff);
  }

 private:
  struct Ctx {  // one walk's running state
    Addr root;  // the GPA table
    sc_core::sc_time& delay;
    const std::string& thread;
    unsigned& refs;
  };
  // Guest KSEG0 access to gpa: host TLB, GVA tables, else KVM's KSEG0 fault.
  Xlate kseg0_translate(Addr gpa, Access access, Ctx& c);
  // The guest's refill handler: its table loads through KSEG0. Ok: lo holds the pair.
  WalkResult::Status guest_refill_handler(Addr gva, Addr guest_root_gpa, uint64_t lo[2],
                                          Addr& fault_gpa, Ctx& c);
  // The emulated guest TLB (mips_te_state.cpp).
  int guest_tlb_lookup(uint64_t hi, Ctx& c);  // KVM's scan; the index or -1
  void guest_tlb_write(unsigned idx, uint64_t hi, const uint64_t lo[2], Ctx& c);
  void guest_tlb_invalidate(Addr gva, Addr guest_root_gpa, Ctx& c);
  // The GVA tables (mips_te_state.cpp): the even PTE's address of gva's pair (0: none).
  Addr gva_pair(Addr gva, bool create, Ctx& c);
  void gva_write_pair(Addr gva, const uint64_t pte[2], Ctx& c);
  void gva_clear_pair(Addr gva, Ctx& c);
  void run_pending(Addr guest_root_gpa, Ctx& c);  // deferred flushes and invalidations
  void tag_changed(bool dropped) override;

  MipsTeStats& te_;
  const Addr guest_tlb_;
  unsigned next_wr_ = 0;             // TLBWR's index
  Addr gva_root_ = 0;                // the GVA tables' top page (0: not yet allocated)
  std::vector<Addr> gva_pages_;      // every GVA table page, freed at VM teardown
  std::vector<Addr> gva_written_;    // GVA pairs written since the last flush
  std::unordered_map<Addr, Addr> gpa_of_;  // GVA page -> GPA page of filled GVA entries
  MipsPairTlb kseg0_tlb_;            // the host TLB's KSEG0 pairs
  bool flush_pending_ = false;
  std::vector<Addr> invalidate_pending_;  // guest TLB invalidations by GVA
  Addr last_guest_root_ = 0;
};

}  // namespace mmusim
