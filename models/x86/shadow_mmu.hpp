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
// goes through the cache model, so the "metadata is hot in the cache" argument of the unsync-walk
// change is measured. Host-side C++ indexes stand for KVM's own lookup structures (the gfn hash,
// the page-to-kvm_mmu_page link, the parent_ptes and rmap lists, sp->gfns): they are never
// consulted for anything the simulated words hold.
//
// Files: faults, lookup/creation, write protection and emulated writes (shadow_mmu.cpp); unsync
// pages and the unsync walk (shadow_unsync.cpp); INVLPG (shadow_invlpg.cpp); roots and the
// cache of previous roots (shadow_roots.cpp); whole-page zaps for reclaim and write flooding
// (shadow_reclaim.cpp); guest 2 MiB pages: direct pages and 2 MiB shadow leaves
// (shadow_direct.cpp); functional views and the stale-TLB oracle's records (shadow_oracle.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/x86/x86_pt_format.hpp"
#include "sim/core/modes.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/mmu_stats.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/hv/shadow_paging.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/lockdep_assert.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// Offsets of the words in a shadow page's metadata header line.
struct ShadowMeta {
  static constexpr Addr kRole = 0;            // level | gfn << 8
  static constexpr Addr kUnsync = 8;          // sp->unsync
  static constexpr Addr kUnsyncChildren = 16; // sp->unsync_children
  static constexpr Addr kParents = 24;        // how many parent entries link the page
  static constexpr Addr kFlood = 32;          // sp->write_flooding_count
  static constexpr Addr kRootCount = 40;      // sp->root_count
};

// What the shadow MMU reads of the run's parameters (app/params_models.cpp builds it).
struct ShadowMmuParams {
  UnsyncWalk unsync_walk = UnsyncWalk::ClearOnAdd;  // --unsync-walk: how the walk clears bits
  PvecFull pvec_full = PvecFull::Kvm;  // --pvec-full: KVM's add, or the hypothetical refusal
  PrefetchUnsync prefetch_unsync = PrefetchUnsync::Off;     // resolved --prefetch-unsync
  LookupSyncFlush lookup_sync_flush = LookupSyncFlush::Remote;  // resolved --lookup-sync-flush
  bool unsync = true;               // --unsync: last-level shadow pages may go unsync
  unsigned vcpus = 4;               // vCPUs, each with its CR3 and cache of previous roots
  uint64_t page_size = 4096;        // --page-size: 2 MiB allows 2 MiB shadow leaves
  uint64_t shadow_max_pages = 0;    // n_max_mmu_pages; 0: KVM's default for guest_mem_bytes
  uint64_t guest_mem_bytes = 1ull << 30;  // the guest's memory (KVM's default page budget)
  Cycles fault_entry = 650;         // fault decode and dispatch before the MMU code
  Cycles page_alloc = 312;          // a page-table page from the vCPU's MMU cache
  Cycles shadow_fault_work = 910;   // shadow fault handler instructions besides memory references
  Cycles shadow_emulate = 1820;     // decoding and emulating one write to a protected table
  Cycles shadow_sync_work = 520;    // kvm_sync_page set-up per page besides its entry reads
  Cycles l1_hit = 4;                // a look at a vCPU's prev_roots (and the walk's hit bound)
};

class ShadowMmu : public HypervisorMmu, public ShadowPaging {
 public:
  static constexpr unsigned kPvecSize = 16;  // PAGE_ARRAY_NR of struct kvm_mmu_pages
  // kvm_mmu_calculate_default_mmu_pages: KVM_PERMILLE_MMU_PAGES of the guest's pages, at least
  // KVM_MIN_ALLOC_MMU_PAGES (constants of KVM, not model tunables).
  static constexpr uint64_t kPermilleMmuPages = 20;
  static constexpr uint64_t kMinAllocMmuPages = 64;

  // n_max_mmu_pages for `p`: shadow_max_pages, or KVM's default for guest_mem_bytes.
  static uint64_t max_mmu_pages(const ShadowMmuParams& p);

  ShadowMmu(const ShadowMmuParams& p, PhysMem& phys, PagePool& pool, HostMm& host,
            RemoteFlush& flush, KernelHeap& heap, Stats& stats, FaultStats& faults,
            LockStats& mmu_lock_stats, Timeline& timeline, Violations& oracle);

  uint64_t max_pages() const { return max_pages_; }  // n_max_mmu_pages of this VM

  // Guest #PFs: the faulting guest VIRTUAL address (FaultSpace::Gva; no GPA stage).
  FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, const TranslationFault& f) override;
  Addr stage2_root() const override { return 0; }
  // Shadow leaves map guest virtual addresses: the GPA-indexed stage-2 oracle of the platform
  // has nothing to compare, so no vCPU marks pages touched and leaves() is empty. The shadow
  // oracle (check_shadow_consistency, run at teardown, and the check after every sync) takes its
  // place.
  bool root_is_current(Addr) const override { return false; }
  void teardown(Agent& host) override;
  void map_functional(Addr, unsigned, Addr) override {}
  void visit_leaves(const LeafVisitor&) const override {}
  Addr load_root(Agent& vcpu, int vcpu_id) override;
  // KVM_REQ_MMU_RELOAD (a root the vCPU uses was zapped): kvm_mmu_unload drops the current root
  // and every cached previous root (shadow_roots.cpp).
  void unload_root(Agent& vcpu, int vcpu_id) override;

  void guest_cr3_load(Agent& vcpu, int vcpu_id, Addr cr3_gpa) override;
  void guest_tlb_flush(Agent& vcpu, int vcpu_id) override;
  void emulate_guest_write(Agent& vcpu, int vcpu_id, Addr gva, uint64_t value) override;
  // INVLPG exits under shadow paging (shadow_invlpg.cpp).
  void guest_invlpg(Agent& vcpu, int vcpu_id, Addr gva) override;

  // Functional views for tests and the oracle.
  size_t shadow_pages() const { return pages_.size() - free_slots_.size(); }
  size_t unsync_pages() const;
  // Unsync pages that no shadow entry links: nothing but a lookup by gfn reaches them.
  size_t orphan_unsync_pages() const;
  // Shadow leaves that disagree with the guest tables they shadow while in sync, and writable
  // leaves that map a write-protected guest table; reported as oracle violations. Returns the
  // number of problems found.
  uint64_t check_shadow_consistency(Cycles now, const std::string& who);
  // The last-level shadow entry for `gva` under the shadow root of guest CR3 `cr3_gpa`
  // (functional walk, shadow_oracle.cpp): `found` when every level above is present.
  struct LeafView {
    bool found = false;
    uint64_t spte = 0;
    unsigned level = 1;   // 2: a 2 MiB shadow leaf
    bool unsync = false;  // the last-level shadow page holding it is unsync
    bool direct = false;  // the page holding it is a direct page (no guest table behind it)
  };
  LeafView leaf_view(Addr cr3_gpa, Addr gva) const;

 private:
  struct Page {
    Addr spt = 0;     // the shadow table (PagePool)
    Addr meta = 0;    // metadata header line (ShadowMeta offsets)
    Addr bitmap = 0;  // unsync_child_bitmap: 8 words, one line
    unsigned level = 0;
    uint64_t gfn = 0;
    std::vector<Addr> parent_sptes;  // KVM's parent_ptes list
    bool live = false;
    // sp->root_count (also in the metadata line), role.invalid and the page's place in
    // active_mmu_pages, i.e. its creation order (shadow_roots.cpp, shadow_reclaim.cpp).
    int root_count = 0;
    bool invalid = false;
    uint64_t seq = 0;
    // role.direct: a last-level page standing for a guest 2 MiB page (gfn: its first gfn),
    // with no guest table behind it (shadow_direct.cpp); `direct_w`: the guest PDE's W bit.
    bool direct = false;
    bool direct_w = false;
  };
  struct PvecEntry {
    size_t sp;
    int parent;    // pvec index of the entry of the parent page (rewalk), -1 for none
    unsigned idx;  // index of the page's entry in that parent
  };
  // struct kvm_mmu_pages and mmu_pages_add (docs/ARCHITECTURE.md, Shadow MMU).
  struct Pvec {
    explicit Pvec(PvecFull m) : mode(m) {}
    PvecEntry e[kPvecSize];
    unsigned nr = 0;
    PvecFull mode;
    // Adds `sp` (`unsync`: an unsync last-level page) and returns true when the walk must stop
    // with -ENOSPC. KVM's add always appends, except an unsync page the vector already holds
    // (linked by two parents), then reports whether the vector is now full: the page that
    // fills it is in the vector and the caller syncs it. The hypothetical `refuse` add keeps
    // a full vector as it is: the page is left out.
    bool add(size_t sp, bool unsync, int parent, unsigned idx) {
      if (unsync)
        for (unsigned i = 0; i < nr; ++i)
          if (e[i].sp == sp) return false;
      if (mode == PvecFull::Refuse && nr == kPvecSize) return true;
      e[nr++] = PvecEntry{sp, parent, idx};
      return mode == PvecFull::Kvm && nr == kPvecSize;
    }
  };

  // --- guest tables (timed reads of guest memory through the host mapping) ---
  // What FNAME(walk_addr) records: the table and the entry read at each level (index: level),
  // so that the fault can check under mmu_lock that none of them changed since.
  struct GuestWalk {
    uint64_t table_gfn[5] = {};  // guest table read at each level
    uint64_t pte[5] = {};        // the entry read in it
    Addr pte_hpa[5] = {};        // where that entry lives (host address of guest memory)
    uint64_t leaf = 0;           // the guest PTE (pte[1]), or a 2 MiB PDE (pte[2])
    unsigned leaf_level = 1;     // 2: the guest maps a 2 MiB page
  };
  // Counts a fault's outcome and samples its latency from `t0`; returns `out`.
  FaultOutcome counted(const Agent& a, Cycles t0, FaultOutcome out);
  // FNAME(walk_addr) for an `access` to gva, with the accessed/dirty bits it sets in the guest
  // entries (shadow_guest_walk.cpp); false when the guest does not map gva.
  bool walk_guest(Agent& a, uint64_t cr3_gfn, Addr gva, Access access, GuestWalk& w);
  bool read_guest_walk(Agent& a, uint64_t cr3_gfn, Addr gva, GuestWalk& w);
  bool set_accessed_dirty(Agent& a, GuestWalk& w, bool write);
  // FNAME(gpte_changed): the guest entry at `level` differs from what the walk read.
  bool gpte_changed(Agent& a, const GuestWalk& w, unsigned level);
  Addr guest_page_hpa(Agent& a, uint64_t gfn);

  // --- shadow pages (shadow_mmu.cpp) ---
  // kvm_mmu_get_page for the fault or root load of vCPU `vcpu_id`.
  size_t get_page(Agent& a, int vcpu_id, uint64_t gfn, unsigned level, bool& flush);
  size_t new_page(Agent& a, uint64_t gfn, unsigned level, bool direct);
  // A present entry of a `level` page that links a child shadow page (not a 2 MiB leaf).
  bool links_child(uint64_t e, unsigned level) const {
    return level > 1 && fmt_.present(e) && !fmt_.is_leaf(e, level);
  }
  void link(Agent& a, size_t parent, unsigned idx, size_t child);
  void zap_spte(Agent& a, size_t sp, unsigned idx, uint64_t spte);
  bool rmap_write_protect(Agent& a, uint64_t gfn);
  bool write_protected(Agent& a, uint64_t gfn);
  bool try_unsync(Agent& a, uint64_t gfn);
  size_t page_of_spte(Addr sptep) const { return by_spt_.at(sptep & ~(kPageSize - 1)); }
  size_t root_for(Agent& a, int vcpu_id, bool& flush);
  // mmu_set_spte: entry `idx` of last-level page `sp` maps guest PTE `gpte`. The entry is
  // writable when the guest PTE is writable and dirty (protect_clean_gpte) and the host maps
  // the frame writable, unless the target gfn is a shadowed guest table: then a fault's install
  // (`prefetch` false), read or write, lets that table go unsync (mmu_try_to_unsync_pages), and
  // a write answers Emulate when it stays write-protected; a prefetch (invlpg's update_pte)
  // unsyncs only with --prefetch-unsync on and leaves the accessed bit clear. `hp`: the host
  // frame of the PTE's gfn, resolved by the caller. Sets `flush` when a translation was
  // removed or downgraded.
  FaultOutcome set_leaf(Agent& a, size_t sp, unsigned idx, uint64_t gpte, const HostPage& hp,
                        Access access, bool prefetch, bool& flush);
  // The software bit of a shadow leaf recording that the host maps its frame writable
  // (shadow_host_writable_mask): what a sync may restore W from.
  static constexpr uint64_t kSpteHostWritable = uint64_t(1) << 9;
  // Whether any shadow page of a guest table shadows `gfn` (the target of a sync's entry may
  // then not be made writable: mmu_try_to_unsync_pages without can_unsync).
  bool shadowed(uint64_t gfn) const;
  // The oracle's record of a shadow leaf removed or downgraded (before the flush covering it):
  // shadow TLB entries are tagged with the host frame (ShadowWalker puts it in `gpa`).
  void note_leaf_zap(uint64_t spte) { flush_.note_zap(fmt_.address(spte, 1), kPageSize); }
  // The same for every leaf below a zapped entry of a `level` page (shadow_oracle.cpp).
  void note_subtree_zap(uint64_t spte, unsigned level);

  // --- guest 2 MiB pages (shadow_direct.cpp) ---
  // The guest PDE gw.leaf maps gva with a 2 MiB page; `pd` is the shadow page of the guest
  // page directory holding it. A 2 MiB shadow leaf when the host backs the whole frame with
  // one 2 MiB page, --page-size allows it and no gfn of the frame is a shadowed guest table
  // (KVM's disallow_lpage); a direct last-level page otherwise.
  FaultOutcome map_guest_huge(Agent& a, size_t pd, Addr gva, const GuestWalk& gw,
                              const HostPage& hp, Access access, bool& flush);
  size_t get_direct_page(Agent& a, uint64_t base_gfn, bool writable);
  // The 2 MiB shadow leaves over a gfn that becomes a shadowed guest table are zapped.
  bool zap_huge_over(Agent& a, uint64_t gfn);
  uint64_t check_huge_consistency(Cycles now, const std::string& who);

  // --- roots: the current root and KVM_MMU_NUM_PREV_ROOTS cached ones per vCPU
  //     (shadow_roots.cpp) ---
  static constexpr unsigned kPrevRoots = 3;
  struct CachedRoot {
    Addr cr3 = 0;
    size_t sp = SIZE_MAX;
  };
  // kvm_mmu_new_pgd at a CR3 load: the current root goes to the front of the cache; a cached
  // root of the new CR3 becomes current (fast_pgd_switch); the root pushed out is put.
  void switch_root(Agent& a, int vcpu_id, Addr new_cr3);
  // FNAME(invlpg) on one root (shadow_invlpg.cpp).
  void invlpg_root(Agent& a, int vcpu_id, size_t root, Addr gva);
  void put_root(Agent& a, size_t sp, std::vector<size_t>& freed);

  // --- zapping shadow pages: reclaim and write flooding (shadow_reclaim.cpp) ---
  // kvm_mmu_prepare_zap_page: zaps the unsync pages below `sp` (their number goes to
  // `children`), unlinks `sp` from its parents, clears its entries and drops it from the hash;
  // a page with no root reference joins `freed`, a root in use is marked invalid (its vCPUs
  // reload) and freed when the last reference goes. Returns whether a reload was requested.
  bool zap_page(Agent& a, size_t sp, std::vector<size_t>& freed, unsigned* children = nullptr);
  // kvm_mmu_commit_zap_page: one remote flush, then the pages go back to the pool.
  void commit_zap(Agent& a, int vcpu_id, std::vector<size_t>& freed, bool reload);
  // make_mmu_pages_available: below KVM_MIN_FREE_MMU_PAGES free, zap the oldest pages no root
  // reference holds until KVM_REFILL_PAGES are free.
  void make_pages_available(Agent& a, int vcpu_id);
  // kvm_mmu_pte_write's detect_write_flooding / detect_write_misaligned for one shadow page.
  bool flooded(Agent& a, size_t sp, Addr offset, unsigned bytes);
  void clear_flooding(Agent& a, size_t sp);

  // --- unsync pages and the unsync walk (shadow_unsync.cpp) ---
  void unsync_page(Agent& a, size_t sp);
  void mark_parents_unsync(Agent& a, size_t sp);
  void mark_unsync(Agent& a, size_t sp, unsigned idx);
  void clear_unsync_child_bit(Agent& a, size_t sp, unsigned idx);
  int unsync_walk(Agent& a, size_t root, Pvec& pv);
  int walk_rewalk(Agent& a, size_t sp, int self, Pvec& pv);
  int walk_and_clear(Agent& a, size_t sp, Pvec& pv, bool clear_before_add);
  void clear_parents(Agent& a, const Pvec& pv, unsigned entry);
  int timed_walk(Agent& a, size_t sp, Pvec& pv, unsigned rounds, Cycles& walk);
  void timed_clear_parents(Agent& a, const Pvec& pv, unsigned e, Cycles& walk);
  void sync_children(Agent& a, int vcpu_id, size_t root);
  // mmu_zap_unsync_children: the unsync walk from `sp`, zapping what it collects.
  unsigned zap_unsync_children(Agent& a, size_t sp, std::vector<size_t>& freed);
  // kvm_sync_page (shadow_unsync.cpp): every present entry of unsync page `sp` brought back in
  // line with its guest PTE; the page's unsync flag is the caller's (a sync of the walk clears
  // it first, a lookup leaves it). Returns whether a translation was removed or downgraded.
  bool sync_page(Agent& a, size_t sp);
  uint64_t wload(Agent& a, Addr addr);  // a metadata/table load the walk makes (miss counting)
  void wstore(Agent& a, Addr addr, uint64_t v);
  void check_no_unsync_below(Agent& a, size_t root, const char* after);

  const ShadowMmuParams p_;
  X86PageFormat fmt_;
  PhysMem& phys_;
  PagePool& pool_;
  HostMm& host_;
  RemoteFlush& flush_;
  KernelHeap& heap_;
  Violations& oracle_;
  SpinLock mmu_lock_;
  UnsyncWalk walk_kind_;

  std::vector<Page> pages_;
  std::vector<size_t> free_slots_;
  std::map<std::pair<uint64_t, unsigned>, size_t> by_gfn_;  // (gfn, level) -> page
  std::unordered_map<Addr, size_t> by_spt_;                  // table page -> page
  std::map<uint64_t, std::vector<Addr>> rmap_;               // gfn -> leaf sptes mapping it
  std::unordered_map<Addr, uint64_t> spte_gfn_;              // leaf spte -> gfn (sp->gfns)
  std::map<std::pair<uint64_t, bool>, size_t> direct_by_gfn_;  // (base gfn, W) -> direct page
  std::map<uint64_t, std::vector<Addr>> huge_rmap_;          // base gfn -> 2 MiB leaf sptes
  std::map<uint64_t, unsigned> tracked_2m_;                  // gfn >> 9 -> shadowed gfns in it
  unsigned max_level_ = 1;                                   // --page-size
  std::vector<Addr> cr3_;                                    // per vCPU, guest CR3 (0: none)
  std::vector<size_t> cur_root_;                             // per vCPU (SIZE_MAX: none)
  std::vector<std::vector<CachedRoot>> prev_roots_;          // per vCPU, most recent first
  uint64_t seq_ = 0;                                         // creation order of pages
  uint64_t max_pages_ = 0;                                   // n_max_mmu_pages
  std::vector<size_t> lost_reported_;                        // pages reported lost already
  bool in_walk_ = false;

  FaultStats& faults_;  // shared with the vCPUs and any other MMU of the run
  struct ShadowMmuStats : StatsGroup {
    explicit ShadowMmuStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter gpte_changed{*this, "shadow.fault.gpte_changed",
                                     "shadow faults retried because the guest PTE changed"};
    statistics::Counter guest_ad_set{*this, "shadow.guest_ad.set",
                                     "guest page-table entries whose accessed/dirty bits the "
                                     "shadow MMU's walk set (one cmpxchg each)"};
    statistics::Counter guest_ad_retries{*this, "shadow.guest_ad.retries",
                                         "guest walks restarted because an accessed/dirty "
                                         "cmpxchg found the entry changed"};
    statistics::Counter emulated{*this, "shadow.emulated_writes",
                                 "guest writes to write-protected page tables emulated"};
    statistics::Counter unsynced{*this, "shadow.unsync.pages_unsynced",
                                 "shadow pages marked unsync"};
    statistics::Counter syncs{*this, "shadow.sync.count",
                              "syncs of unsync shadow pages (kvm_mmu_sync_roots and friends)"};
    statistics::Counter pages_synced{*this, "shadow.sync.pages_synced",
                                     "unsync shadow pages synced"};
    statistics::Counter lookup_synced{*this, "shadow.sync.lookup_synced",
                                      "unsync shadow pages synced (and left unsync) by a lookup"};
    statistics::Counter sptes_zapped{*this, "shadow.sync.sptes_zapped",
                                     "SPTEs zapped while syncing"};
    statistics::Counter walk_visits{*this, "shadow.walk.visits",
                                    "shadow pages visited by unsync walks"};
    statistics::Counter enospc{*this, "shadow.walk.enospc",
                               "unsync walks that ran out of room and restarted"};
    statistics::Counter walk_cycles{*this, "shadow.walk.cycles",
                                    "cycles of guest page-table walks by the shadow MMU"};
    statistics::Counter walk_loads{*this, "shadow.walk.loads",
                                   "guest PTE loads by the shadow MMU's walks"};
    statistics::Counter walk_misses{*this, "shadow.walk.l1_misses",
                                    "L1 misses of the shadow MMU's guest walks"};
    statistics::Counter pages_created{*this, "shadow.pages.created", "shadow pages created"};
    statistics::Counter roots_freed{*this, "shadow.roots.freed", "shadow roots freed"};
    statistics::Counter pages_freed{*this, "shadow.pages.freed", "shadow pages freed"};
    statistics::Counter reclaim_zapped{*this, "shadow.reclaim.pages_zapped",
                                       "shadow pages zapped to reclaim memory"};
    statistics::Counter flood_zapped{*this, "shadow.flooding.pages_zapped",
                                     "shadow pages zapped for write flooding"};
    statistics::Counter flood_unlinked{*this, "shadow.flooding.unlinked_zapped",
                                       "unlinked shadow pages zapped for write flooding"};
    statistics::Counter zap_unsync_children{*this, "shadow.zap.unsync_children",
                                            "unsync children zapped with their parent"};
    statistics::Counter prev_root_hits{*this, "shadow.roots.prev_hits",
                                       "CR3 loads that found the root in the previous-roots cache"};
    statistics::Counter reloads{*this, "shadow.roots.reload_requests",
                                "requests to reload a vCPU's shadow root"};
    statistics::Counter invlpgs{*this, "shadow.invlpg.count", "guest INVLPGs intercepted"};
    statistics::Counter invlpg_resynced{*this, "shadow.invlpg.sptes_resynced",
                                        "SPTEs resynced from the guest PTE on INVLPG"};
    statistics::Counter invlpg_zapped{*this, "shadow.invlpg.sptes_zapped",
                                      "SPTEs zapped on INVLPG"};
    statistics::Counter direct_created{*this, "shadow.direct.pages_created",
                                       "direct shadow pages created (guest huge pages)"};
    statistics::Counter huge_leaves{*this, "shadow.huge.leaves_installed",
                                    "huge shadow leaves installed"};
    statistics::Histogram walk_hist{*this, "shadow.walk.latency",
                                    "cycles per guest page-table walk by the shadow MMU"};
  } stats_;
};

}  // namespace mmusim
