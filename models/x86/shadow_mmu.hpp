// KVM's shadow MMU for x86 without EPT (--x86-mmu shadow): shadow page tables map guest virtual
// addresses straight to host frames, one shadow page per (guest table gfn, level). Guest
// page-table pages are write-protected, so a guest store to one faults and is either emulated
// (the shadow entry at that offset is zapped) or, for a last-level table, lets the shadow page
// go "unsync" (the guest then writes it freely until the next CR3 load or TLB flush, when the
// unsync walk collects such pages and kvm_sync_page brings them back in line).
//
// Shadow tables are pages of the PagePool in simulated memory, read by the hardware walker
// (ShadowWalker) and written here through the vCPU's Agent. The metadata KVM keeps in struct
// kvm_mmu_page that the unsync walk reads -- role, unsync flag, unsync_children count, the
// 512-bit unsync_child_bitmap, the parent count -- lives in kernel-heap lines and every access
// goes through the cache model, so the "metadata is hot in the cache" argument of seed 002 is
// measured. Host-side C++ indexes stand for KVM's own lookup structures (the gfn hash, the
// page-to-kvm_mmu_page link, the parent_ptes and rmap lists, sp->gfns): they are never consulted
// for anything the simulated words hold.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/x86/x86_pt_format.hpp"
#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// Offsets of the words in a shadow page's metadata header line.
struct ShadowMeta {
  static constexpr Addr kRole = 0;            // level | gfn << 8
  static constexpr Addr kUnsync = 8;          // sp->unsync
  static constexpr Addr kUnsyncChildren = 16; // sp->unsync_children
  static constexpr Addr kParents = 24;        // how many parent entries link the page
};

class ShadowMmu : public HypervisorMmu {
 public:
  static constexpr unsigned kPvecSize = 16;  // PAGE_ARRAY_NR of struct kvm_mmu_pages

  ShadowMmu(const SimConfig& cfg, PhysMem& phys, PagePool& pool, HostMm& host,
            RemoteFlush& flush, KernelHeap& heap, Stats& stats, Timeline& timeline,
            Violations& oracle);

  // `gpa` is the faulting guest VIRTUAL address (the shadow walk has no GPA stage).
  FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, Addr gva, Access access) override;
  Addr stage2_root() const override { return 0; }
  // Shadow leaves map guest virtual addresses: the GPA-indexed stage-2 oracle of the platform
  // has nothing to compare, so no vCPU marks pages touched and leaves() is empty. The shadow
  // oracle (check_shadow_consistency, run at teardown, and the check after every sync) takes
  // its place.
  bool root_is_current(Addr) const override { return false; }
  void teardown(Agent& host) override;
  void map_functional(Addr, unsigned, Addr) override {}
  std::vector<Stage2Leaf> leaves() const override { return {}; }
  Addr load_root(Agent& vcpu, int vcpu_id) override;

  void guest_cr3_load(Agent& vcpu, int vcpu_id, Addr cr3_gpa) override;
  void guest_tlb_flush(Agent& vcpu, int vcpu_id) override;
  void emulate_guest_write(Agent& vcpu, int vcpu_id, Addr gva, uint64_t value) override;

  // Functional views for tests and the oracle.
  size_t shadow_pages() const { return pages_.size() - free_slots_.size(); }
  size_t unsync_pages() const;
  // Shadow leaves that disagree with the guest tables they shadow while in sync, and writable
  // leaves that map a write-protected guest table; reported as oracle violations. Returns the
  // number of problems found.
  uint64_t check_shadow_consistency(Cycles now, const std::string& who);
  // Runs at the end of teardown (X86Arch: tears down the idle TDP MMU built beside this one).
  void set_teardown_hook(std::function<void(Agent&)> f) { teardown_hook_ = std::move(f); }

 private:
  struct Page {
    Addr spt = 0;     // the shadow table (PagePool)
    Addr meta = 0;    // metadata header line (ShadowMeta offsets)
    Addr bitmap = 0;  // unsync_child_bitmap: 8 words, one line
    unsigned level = 0;
    uint64_t gfn = 0;
    std::vector<Addr> parent_sptes;  // KVM's parent_ptes list
    bool live = false;
  };
  struct PvecEntry {
    size_t sp;
    int parent;    // pvec index of the entry of the parent page (rewalk), -1 for none
    unsigned idx;  // index of the page's entry in that parent
  };
  struct Pvec {
    PvecEntry e[kPvecSize];
    unsigned nr = 0;
    // Refuses when full: the page is then not in the vector (what the seed's review assumes).
    bool add(size_t sp, int parent, unsigned idx) {
      if (nr == kPvecSize) return false;
      e[nr++] = PvecEntry{sp, parent, idx};
      return true;
    }
  };
  enum class WalkKind { Rewalk, ClearOnAdd, ClearBeforeAdd };

  // --- guest tables (timed reads of guest memory through the host mapping) ---
  struct GuestWalk {
    uint64_t table_gfn[5] = {};  // guest table read at each level (index: level)
    uint64_t leaf = 0;           // the guest PTE
  };
  bool walk_guest(Agent& a, uint64_t cr3_gfn, Addr gva, GuestWalk& w);
  Addr guest_page_hpa(Agent& a, uint64_t gfn);

  // --- shadow pages (shadow_mmu.cpp) ---
  size_t get_page(Agent& a, uint64_t gfn, unsigned level, bool& flush);
  void link(Agent& a, size_t parent, unsigned idx, size_t child);
  void zap_spte(Agent& a, size_t sp, unsigned idx, uint64_t spte);
  bool rmap_write_protect(Agent& a, uint64_t gfn);
  bool write_protected(Agent& a, uint64_t gfn);
  bool try_unsync(Agent& a, uint64_t gfn);
  size_t page_of_spte(Addr sptep) const { return by_spt_.at(sptep & ~(kPageSize - 1)); }
  size_t root_for(Agent& a, int vcpu_id, bool& flush);

  // --- unsync pages and the unsync walk (shadow_unsync.cpp) ---
  void unsync_page(Agent& a, size_t sp);
  void mark_parents_unsync(Agent& a, size_t sp);
  void mark_unsync(Agent& a, size_t sp, unsigned idx);
  void clear_unsync_child_bit(Agent& a, size_t sp, unsigned idx);
  int unsync_walk(Agent& a, size_t root, Pvec& pv);
  int walk_rewalk(Agent& a, size_t sp, int self, Pvec& pv);
  int walk_and_clear(Agent& a, size_t sp, Pvec& pv, bool clear_before_add);
  void clear_parents(Agent& a, const Pvec& pv, unsigned entry);
  void sync_children(Agent& a, int vcpu_id, size_t root);
  bool sync_page(Agent& a, size_t sp);
  uint64_t wload(Agent& a, Addr addr);  // a metadata/table load the walk makes (miss counting)
  void wstore(Agent& a, Addr addr, uint64_t v);
  void check_no_unsync_below(Agent& a, size_t root);

  const SimConfig& cfg_;
  X86PageFormat fmt_;
  PhysMem& phys_;
  PagePool& pool_;
  HostMm& host_;
  RemoteFlush& flush_;
  KernelHeap& heap_;
  Violations& oracle_;
  SpinLock mmu_lock_;
  WalkKind walk_kind_;

  std::vector<Page> pages_;
  std::vector<size_t> free_slots_;
  std::map<std::pair<uint64_t, unsigned>, size_t> by_gfn_;  // (gfn, level) -> page
  std::unordered_map<Addr, size_t> by_spt_;                  // table page -> page
  std::map<uint64_t, std::vector<Addr>> rmap_;               // gfn -> leaf sptes mapping it
  std::unordered_map<Addr, uint64_t> spte_gfn_;              // leaf spte -> gfn (sp->gfns)
  std::vector<Addr> cr3_;                                    // per vCPU, guest CR3 (0: none)
  std::vector<size_t> lost_reported_;                        // pages reported lost already
  bool in_walk_ = false;
  std::function<void(Agent&)> teardown_hook_;

  Counter& faults_;
  Counter& emulated_;
  Counter& unsynced_;
  Counter& syncs_;
  Counter& pages_synced_;
  Counter& sptes_zapped_;
  Counter& walk_visits_;
  Counter& enospc_;
  Counter& walk_cycles_;
  Counter& walk_loads_;
  Counter& walk_misses_;
  Counter& pages_created_;
  Histogram& walk_hist_;
};

}  // namespace mmusim
