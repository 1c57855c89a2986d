// Hardware page walker of one vCPU: the two-dimensional walk. Every guest page-table reference
// is a guest-physical address that is itself translated through the second-stage tables (EPT)
// before the guest entry is read; the final guest-physical address is translated too. With
// 4-level guest and 4-level EPT tables and no caches a cold 4 KiB walk makes 24 references.
//
// Paging-structure caches (sizable, 0 disables): for the guest stage, per level, the next
// table's guest-physical address keyed by the virtual-address prefix (like Intel's PML4E/PDPTE/
// PDE caches); for the second stage, per level, the next EPT table keyed by the GPA prefix.
// References go through the vCPU's memory port (timing and contents); every table read is
// checked against the page-table pool's liveness (the freed-table oracle).
#pragma once
#include <cstdint>
#include <string>
#include <systemc>
#include <vector>

#include "sim/core/clock.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/core/violations.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/mmu/pml_log.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

struct WalkResult {
  // PmlFull: a page-modification log-full VM exit (sim/mmu/pml_log.hpp); nothing was done.
  enum class Status { Ok, GuestFault, StageTwoFault, PmlFull };
  Status status = Status::Ok;
  // Ok: translation of the page containing the address.
  Addr gpa = 0;              // guest-physical address of the access (Ok), or the GPA whose
                             // second-stage translation failed (StageTwoFault)
  Addr hpa_base = 0;         // host frame base of the page (Ok)
  unsigned page_shift = 12;  // combined page size: min(guest leaf, stage-2 leaf)
  Perms perms;               // guest perms AND stage-2 perms (Ok)
  bool on_guest_table = false;  // StageTwoFault: the failing GPA held a guest page table
  unsigned stage2_level = 0;    // StageTwoFault: level at which the stage-2 walk stopped
  unsigned refs = 0;            // memory references made
  // Software-refilled TLBs (MIPS): one entry maps an even/odd pair of pages, so a refill also
  // yields the other page of the pair (Ok, when that half is valid); the vCPU inserts both.
  bool has_buddy = false;
  Addr buddy_gva = 0;           // guest virtual base of the other page
  Addr buddy_gpa = 0;           // its guest-physical base
  Addr buddy_hpa_base = 0;
  Perms buddy_perms;
};

// Paging-structure cache of one level: small, set-associative, LRU.
class PagingStructureCache {
 public:
  // ways 0 (or more than entries) means fully associative; 0 entries never hits.
  PagingStructureCache(unsigned entries, unsigned ways);
  bool lookup(uint64_t key, Addr& next_table) { return lookup(key, 0, next_table); }
  void insert(uint64_t key, Addr next_table) { insert(key, 0, next_table); }
  // Tagged forms: `tag` names the table tree (its root), as real caches are tagged by
  // PCID/VPID/EPTP, so walks of different address spaces never share an entry.
  // Inline: probed on every walk and every second-stage walk, and it is a few compares.
  bool lookup(uint64_t key, uint64_t tag, Addr& next_table) {
    if (sets_ == 0) return false;
    Line* set = set_of(key);
    for (unsigned w = 0; w < ways_; ++w) {
      Line& l = set[w];
      if (l.valid && l.key == key && l.tag == tag) {
        l.lru = ++clock_;
        next_table = l.next;
        return true;
      }
    }
    return false;
  }
  void insert(uint64_t key, uint64_t tag, Addr next_table);
  void flush();
  unsigned entries() const { return entries_; }
  size_t valid_lines() const;

 private:
  struct Line {
    bool valid = false;
    uint64_t key = 0, tag = 0;
    Addr next = 0;
    uint64_t lru = 0;
  };
  Line* set_of(uint64_t key) {
    const uint64_t set = pow2_ ? key & (sets_ - 1) : key % sets_;
    return lines_.data() + size_t(set) * ways_;
  }
  unsigned entries_, ways_, sets_;
  bool pow2_ = true;  // index with a mask rather than a division
  std::vector<Line> lines_;
  uint64_t clock_ = 0;
};

// Why a MIPS vCPU's TLB tag changed (TranslationWalker::retag; sim/hv/tlb_tags.hpp).
enum class TagChange {
  First,    // its context's first tag on this pCPU
  Fresh,    // a new one from the pCPU's counter (a flush, or an old version)
  Wrapped,  // ... whose taking wrapped the counter
  Shared,   // another vCPU of the VM took the VM context's new one (VZ without GuestIDs)
};

// What a vCPU needs from its translation hardware. The default is the two-dimensional
// hardware Walker below; an arch whose TLB is refilled by software supplies its own.
class TranslationWalker {
 public:
  virtual ~TranslationWalker() = default;
  virtual MemPort& mem_port() = 0;  // bind mem_port().socket to the memory system
  virtual void set_cpu(int cpu) = 0;
  virtual WalkResult walk(Addr gva, Access access, Addr guest_root_gpa, Addr stage2_root_hpa,
                          sc_core::sc_time& delay, const std::string& thread) = 0;
  virtual WalkResult walk_stage2(Addr gpa, Access access, Addr stage2_root_hpa,
                                 sc_core::sc_time& delay, const std::string& thread) = 0;
  virtual void flush_caches() = 0;
  // A guest-linear invalidation (a guest CR3 load or TLB flush under EPT): the caches of the
  // guest's own tables go, those of the second stage stay. By default everything goes.
  virtual void flush_guest_caches() { flush_caches(); }
  // The guest invalidated its translation of one page (INVLPG, or a MIPS guest's TLB write of
  // an invalid entry). Hardware whose TLBs the vCPU's arrays already cover ignores it; MIPS
  // keeps guest TLBs behind them (models/mips).
  virtual void flush_va(Addr gva) { (void)gva; }
  // VM teardown (kvm_arch_vcpu_destroy): table pages the translation hardware's software side
  // allocated for this vCPU go back to the pool (MIPS trap and emulate's GVA tables).
  virtual void free_tables() {}
  // Page-Modification Logging (sim/mmu/pml_log.hpp): where this vCPU's log is. Hardware
  // without PML ignores it.
  virtual void set_pml_log(const PmlLog& log) { (void)log; }
  // Whether the TLBs are tagged by ASIDs from the pCPU's counter (MIPS; sim/hv/tlb_tags.hpp):
  // a flush request then moves the vCPU to a new ASID instead of invalidating its entries.
  virtual bool asid_tagged() const { return false; }
  // MIPS: the vCPU runs with tag `tag` (an ASID or GuestID) from now on, for the reason
  // `change`. `dropped`: the pCPU's TLBs were flushed since the vCPU last ran (a wrap of its
  // counter), so the TLBs behind the arrays go too. Returns the cycles.
  virtual Cycles retag(uint16_t tag, TagChange change, bool dropped) {
    (void)tag, (void)change, (void)dropped;
    return 0;
  }
};

// The statistics of a run's page walks, shared by every vCPU's walker ("walk.*"): one group per
// run, owned by the arch model that builds the walkers.
struct WalkStats : StatsGroup {
  WalkStats(Stats& s, const std::string& prefix) : StatsGroup(s, prefix) {}
  statistics::Histogram refs{*this, "refs", "memory references per page walk"};
  statistics::Counter count{*this, "count", "page walks by the vCPUs' translation hardware"};
};

// The 2D hardware walker's: also its paging-structure caches and accessed/dirty updates.
struct HwWalkStats : WalkStats {
  HwWalkStats(Stats& s, const std::string& prefix) : WalkStats(s, prefix) {}
  statistics::Counter pwc_hit{*this, "pwc_hit", "paging-structure cache hits during walks"};
  statistics::Counter ad_updates{*this, "ad_updates",
                                 "accessed/dirty flags written back into stage-2 leaves by walks"};
};

// Page-Modification Logging's counts, registered only when PML is on ("walk.pml.*").
struct PmlWalkStats : StatsGroup {
  explicit PmlWalkStats(Stats& s) : StatsGroup(s, "walk.pml") {}
  statistics::Counter logged{*this, "logged", "GPAs written into PML logs by the walkers"};
  statistics::Counter full{*this, "full", "walks stopped by a full PML log (log-full VM exits)"};
};

// What the 2D hardware walker is built from (app/params_hardware.cpp fills it).
struct WalkerParams {
  unsigned pwc_entries = 32;  // entries per paging-structure cache (per stage and level); 0: none
  unsigned pwc_ways = 4;      // their associativity; 0 or more than pwc_entries: fully associative
  Cycles pwc = 1;             // paging-structure cache lookup
  bool pml = false;           // Page-Modification Logging on setting an EPT leaf's dirty flag
};

class Walker final : public sc_core::sc_module, public TranslationWalker {
 public:
  MemPort port;  // bind port.socket to the memory system
  MemPort& mem_port() override { return port; }

  Walker(sc_core::sc_module_name name, const WalkerParams& p, const Clock& clock,
         const PageTableFormat& guest_fmt, const PageTableFormat& stage2_fmt,
         PagePool* table_pool, Violations* oracle, HwWalkStats& stats,
         PmlWalkStats* pml_stats = nullptr);
  void set_pml_log(const PmlLog& log) override { pml_ = log; }
  void set_cpu(int cpu) override { port.set_cpu(cpu); }

  // Walks gva under guest root (a GPA) and stage-2 root (an HPA). Access latency is added to
  // `delay`. `thread` names the agent for violation reports.
  WalkResult walk(Addr gva, Access access, Addr guest_root_gpa, Addr stage2_root_hpa,
                  sc_core::sc_time& delay, const std::string& thread) override;
  // Second-stage walk alone (gpa -> hpa), as used for every guest table reference.
  WalkResult walk_stage2(Addr gpa, Access access, Addr stage2_root_hpa, sc_core::sc_time& delay,
                         const std::string& thread) override;
  // Drops every paging-structure cache entry (done with a TLB flush).
  void flush_caches() override;
  void flush_guest_caches() override;

 private:
  // What the two-dimensional walk needs from a second-stage translation: WalkResult carries
  // much more, and building one per guest table reference showed in profiles.
  struct Stage2 {
    bool ok = false;
    unsigned level = 0;       // where the walk ended (the leaf's level, or where it faulted)
    unsigned page_shift = 0;  // ok: the leaf's page size
    unsigned perm_bits = 0;   // ok: Perms::bits() over every level
    Addr hpa_base = 0;        // ok: the leaf's frame
    bool pml_full = false;    // !ok: a PML log-full event, not a fault
  };
  // Logs gpa's page in the PML log; false: the log is full (a log-full event).
  bool pml_log(Addr gpa, sc_core::sc_time& delay);
  Stage2 translate_stage2(Addr gpa, Access access, Addr stage2_root_hpa,
                          sc_core::sc_time& delay, const std::string& thread, unsigned& refs);
  uint64_t read_table_entry(Addr hpa, sc_core::sc_time& delay, const std::string& thread,
                            unsigned& refs);
  // The oracle's report, kept out of read_table_entry so that stays small enough to inline.
  void report_freed_table(Addr hpa, const sc_core::sc_time& delay, const std::string& thread);
  const WalkerParams p_;
  const PageTableFormat& guest_fmt_;
  const PageTableFormat& s2_fmt_;
  PagePool* pool_;
  Violations* oracle_;
  std::vector<PagingStructureCache> guest_pwc_;  // index: level
  std::vector<PagingStructureCache> s2_pwc_;     // index: level
  HwWalkStats& stats_;  // shared with the other vCPUs' walkers
  bool pwc_enabled_ = false;
  PmlLog pml_;                       // where the log is (buffer 0 until the platform sets it)
  PmlWalkStats* pml_stats_ = nullptr;  // non-null when PML is on
};

}  // namespace mmusim
