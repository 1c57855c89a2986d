// The x86 TDP MMU (KVM's arch/x86/kvm/mmu/tdp_mmu.c) on EPT tables in simulated memory, with
// both sides of the change that made page faults run in parallel (the parallel-faults change):
//   exclusive: mmu_lock taken for write; SPTEs written with plain stores.
//   shared:    mmu_lock taken for read; every SPTE change is a cmpxchg against the value the
//              iterator read, and a lost race returns RET_PF_RETRY (the vCPU faults again); a
//              child table whose link loses its cmpxchg is freed at once; the list of MMU pages
//              is protected by tdp_mmu_pages_lock; a removed table's entries are torn down with
//              xchg and the table is freed after an RCU grace period.
// From the same release a removed table's entries are set to REMOVED_SPTE (--removed-spte), which
// no atomic change overwrites and on which a fault retries.
// The fault path resolves the host page before taking mmu_lock, so the lock covers only what
// KVM runs under it. Every table reference goes through the memory system and the one
// iterator (PtIter) used by the hardware walker too.
//
// Roots (the root put/invalidate change): each root has a reference count and a role.invalid flag
// in simulated memory. vCPUs take a reference to a valid root before entering the guest and drop it
// on KVM_REQ_MMU_RELOAD; zap_all (memslot deletion, "zap all") invalidates every root, makes the
// vCPUs reload, and zaps the invalidated roots with yielding (mmu_lock dropped and re-taken at
// the cond_resched points KVM has: docs/KVM_RELEASES.md, Yielding); the last put frees a root
// after an RCU grace period. The put is
// selectable (--root-put): the agreed version from the seed thread and two versions the thread
// shows to be wrong; the oracle reports a root freed while referenced, a root zapped twice and a
// vCPU given an invalid root. Files: tdp_mmu.cpp (fault path, SPTE changes), tdp_root.cpp (root
// lifecycle), tdp_zap.cpp (zapping, teardown, functional views), tdp_split.cpp (a huge leaf split
// in place on a fault, and eager splitting of a range), tdp_recover.cpp (huge mappings
// recovered when dirty logging stops).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "models/x86/ept_format.hpp"
#include "sim/core/modes.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/touched_pages.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/mmu_stats.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/mmu_notifier.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "sim/hv/pml_logging.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/hv/root_invalidation.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/pt_iter.hpp"
#include "sim/sync/lockdep_assert.hpp"
#include "sim/sync/rcu.hpp"
#include "sim/sync/rwlock.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// What the TDP MMU reads of the run's parameters (app/params_models.cpp builds it).
struct TdpMmuParams {
  MmuLockMode mmu_lock = MmuLockMode::Shared;  // --mmu-lock: mmu_lock for read or for write
  // --tdp-fast-fault: whether a write to a write-protected SPTE is fixed without mmu_lock
  TdpFastFault fast_fault = TdpFastFault::Lockless;
  // --removed-spte: a removed table's entries are frozen (REMOVED_SPTE) rather than cleared
  RemovedSpte removed_spte = RemovedSpte::On;
  // --huge-split-on-fault: a huge leaf in a fault's way is split in place (tdp_split.cpp)
  // rather than zapped and flushed
  HugeSplitOnFault huge_split = HugeSplitOnFault::Split;
  // --eager-split: enabling dirty logging splits the slot's huge SPTEs in place first
  EagerSplit eager_split = EagerSplit::On;
  // --initially-set-enable: what enabling protects when the bitmap starts all set
  InitSetEnable init_set_enable = InitSetEnable::ProtectNothing;
  // --eager-split-alloc: where eager splitting allocates its tables
  EagerSplitAlloc eager_split_alloc = EagerSplitAlloc::DropLock;
  // How many tables eager splitting may allocate before an allocation fails (the GFP_NOWAIT
  // try and the sleeping one alike), for tests of the failure path; 0: never fails.
  uint64_t eager_split_alloc_limit = 0;
  uint64_t page_size = 4096;        // --page-size: the largest EPT leaf a fault may map
  unsigned vcpus = 4;               // vCPUs that hold a root reference each
  RootPut root_put = RootPut::Agreed;  // --root-put: how the last root reference is put
  // --lock-needbreak: long walks yield mmu_lock when another thread waits for it
  // (rwlock_needbreak on a preemptible host kernel); they always yield when the host scheduler
  // wants the CPU (need_resched).
  bool yield_on_contention = false;
  // --notifier-retry: which invalidations in progress make a fault retry (docs/KVM_RELEASES.md)
  NotifierRetry notifier_retry = NotifierRetry::Range;
  // --notifier-early-check: also check before resolving the host page and taking mmu_lock
  NotifierEarlyCheck notifier_early_check = NotifierEarlyCheck::On;
  // --pml: dirty logging clears the D bit of 4K SPTEs and drains the vCPUs' PML logs
  PmlMode pml = PmlMode::Off;
  PmlDrain pml_drain = PmlDrain::Kvm;  // --pml-drain (full-only: hypothetical)
  EptAd ept_ad = EptAd::On;            // --ept-ad: off makes aging access-track SPTEs
  AgeClear age_clear = AgeClear::And;  // --age-clear: how aging writes a young SPTE
  bool aging_stats = false;  // register hv.age.* (the run ages pages or runs without EPT A/D)
  Cycles ipi = 3120;                // kvm_vcpu_kick's IPI to a vCPU in guest mode
  unsigned zap_yield_every = 0;     // --zap-yield-every: also yield every N SPTEs (0: never)
  Cycles fault_entry = 650;         // fault decode and dispatch before the MMU code
  Cycles tdp_map_work = 780;        // one map call's instructions besides memory references
  Cycles spte_change_work = 208;    // handle_changed_spte bookkeeping per SPTE change
  Cycles page_alloc = 312;          // a page-table page from the vCPU's MMU cache
  Cycles cond_resched = 104;        // a yield point that dropped mmu_lock
};

class TdpMmu : public HypervisorMmu,
               public RootInvalidation,
               public DirtyLogging,
               public PmlLogging,
               public NotifierCallbacks {
 public:
  TdpMmu(const TdpMmuParams& p, const EptFormat& fmt, PhysMem& phys, PagePool& pool,
         HostMm& host, RemoteFlush& flush, Rcu& rcu, KernelHeap& heap, Stats& stats,
         FaultStats& faults, LockStats& mmu_lock_stats, Timeline& timeline, Violations& oracle,
         TouchedPages& touched);

  FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, const TranslationFault& f) override;
  // The root host-side operations start from: the newest valid root.
  Addr stage2_root() const override;
  void teardown(Agent& host) override;
  Addr load_root(Agent& vcpu, int vcpu_id) override;
  void unload_root(Agent& vcpu, int vcpu_id) override;
  bool root_is_current(Addr root) const override;

  // kvm_mmu_zap_all_fast: invalidate every root, make every vCPU reload, then zap the
  // invalidated roots (mmu_lock for read in shared mode) with yielding, and put them.
  void zap_all(Agent& a) override;
  // Zap the leaves of [gpa, gpa+len) in every root, valid or not (memslot deletion / MMU
  // notifier unmap), with yielding; flushes if anything was zapped.
  void zap_range(Agent& a, Addr gpa, uint64_t len) override;
  size_t live_roots() const;

  // Page-Modification Logging (tdp_pml.cpp).
  bool pml_enabled() const override { return p_.pml == PmlMode::On; }
  void attach_pml_log(int vcpu_id, const PmlLog& log) override;
  void vcpu_exited(Agent& vcpu, int vcpu_id) override;
  void pml_full_exit(Agent& vcpu, int vcpu_id) override;

  // MMU-notifier callbacks (tdp_notifier.cpp); MmuNotifier calls them with mmu_lock held.
  void notifier_lock(Agent& a) override { lock(a, false); }
  void notifier_unlock(Agent& a) override { unlock(a, false); }
  bool unmap_gfn_range(Agent& a, const GfnRange& r) override;
  bool set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& pte) override;
  bool age_gfn_range(Agent& a, const GfnRange& r) override;
  bool test_age_gfn(Agent& a, const GfnRange& r) override;
  void set_notifier(MmuNotifier* n) override { notifier_ = n; }

  // KVM's software SPTE bits: the host page is writable / the MMU may make the SPTE writable
  // without mmu_lock (so a dirty-logging write fault can be fixed by the lockless fast path).
  static constexpr uint64_t kHostWritable = uint64_t(1) << 57;
  static constexpr uint64_t kMmuWritable = uint64_t(1) << 58;
  // KVM's REMOVED_SPTE (FROZEN_SPTE from 6.11): the value an SPTE holds while one thread owns a
  // multi-step change of it (docs/KVM_RELEASES.md). 5.12's value: bits 5, 7, 8 and 10, so none
  // of R/W/X (the EPT walker sees no entry) and no address bits. Later releases add bit 63
  // (suppress #VE), which they also set in every zapped SPTE; the model zaps to 0, so it keeps
  // the 5.12 value.
  static constexpr uint64_t kFrozenSpte = 0x5a0;
  static bool is_frozen(uint64_t spte) { return spte == kFrozenSpte; }

  // kvm_tdp_mmu_map with the host page already resolved, in the VM's own root: maps gpa at
  // `level` to the frame at `hpa_base`. Callers hold mmu_lock in the configured mode and the RCU
  // read lock.
  FaultOutcome map(Agent& a, int vcpu_id, Addr gpa, unsigned level, Addr hpa_base, bool write,
                   bool writable);

  // Eager page splitting (tdp_split.cpp; kvm_tdp_mmu_try_split_huge_pages): splits every huge
  // SPTE meeting [gpa, gpa+len) in the current root in place into a fully populated table of
  // 4K SPTEs (same frames and bits, no flush), allocating each table as --eager-split-alloc
  // says. The caller holds mmu_lock for read when `held_shared`, else for write. Stops at the
  // first table allocation that fails, leaving the rest huge. Returns the SPTEs split.
  // Enabling dirty logging calls it for the slot; KVM_CLEAR_DIRTY_LOG with manual protect
  // and initially-set calls it (write lock held) for the huge pages the cleared bits cover.
  size_t try_split_huge_pages(Agent& a, Addr gpa, uint64_t len, bool held_shared);

  // Untimed map for the harness that prepares the guest before the run (guest page-table
  // pages, as KVM selftests pre-fault their page-table memslot).
  void map_functional(Addr gpa, unsigned level, Addr hpa_base) override;
  void visit_leaves(const LeafVisitor& visit) const override;
  bool shared_mode() const { return shared_; }
  unsigned max_level() const { return max_level_; }
  size_t linked_tables() const { return pages_.size(); }

 private:
  struct MmuPage {  // struct kvm_mmu_page, the part the model needs
    Addr gpa_base;
    unsigned level;
    Addr link_word;  // where its list link lives in simulated memory
  };
  // A root: the table, its tdp_mmu_root_count and role.invalid words, and what the oracle
  // knows about it (functional bookkeeping the model's decisions never read).
  struct Root {
    uint64_t id = 0;
    Addr table = 0;
    Addr count_word = 0;
    Addr invalid_word = 0;
    Addr link_word = 0;
    bool on_list = true;  // still on tdp_mmu_roots
    bool freed = false;   // its free was queued (call_rcu)
    int holders = 0;      // references actually held
    unsigned zaps = 0;
  };
  // How a change treats the lost-update oracle and TLBs: changes in an invalid root are
  // unreachable by vCPUs (no flush needed, nothing expected of them).
  struct ChangeCtx {
    int vcpu_id;
    bool shared;
    bool flush;    // flush remote TLBs when a table is removed
    bool current;  // the root is the one vCPUs use: removed leaves leave the touched set
  };

  uint64_t read_spte(Agent& a, Addr sptep);
  // The locking rule of an SPTE change: plain stores need mmu_lock for write; an atomic change
  // (shared mode) needs it held in either mode (tdp_mmu_set_spte_atomic runs under the read
  // lock; here KVM_CLEAR_DIRTY_LOG's write-protection uses the atomic form under the write lock).
  void assert_may_change(const Agent& a, const ChangeCtx& c, const char* where) const {
    lockdep_assert_may_change(a, mmu_lock_, c.shared, where);
  }
  bool set_spte(Agent& a, const ChangeCtx& c, PtIter& it, uint64_t new_spte);
  // tdp_mmu_link_sp: installs the table `child` at `it` (a cmpxchg in shared mode; a loser frees
  // the never-visible table and returns false) and adds it to the page list.
  bool link_table(Agent& a, const ChangeCtx& c, PtIter& it, Addr child);
  void handle_changed(Agent& a, const ChangeCtx& c, Addr gpa, uint64_t old_spte,
                      uint64_t new_spte, unsigned level);
  void handle_removed_table(Agent& a, const ChangeCtx& c, Addr table, Addr gpa, unsigned level);
  FaultOutcome map_in(Agent& a, const ChangeCtx& c, Addr root, Addr gpa, unsigned level,
                      Addr hpa_base, bool write, bool writable);

  // tdp_split.cpp
  // The SPTE of child `index` at `child_level` of a split huge SPTE (make_huge_page_split_spte).
  uint64_t split_child(uint64_t huge, unsigned child_level, unsigned index) const;
  // Replaces the huge leaf at `it` by the table page `child` filled with the same
  // translations, no flush (tdp_mmu_split_huge_page); false when another thread changed the
  // leaf first (`child` is then freed in shared mode, as link_table does).
  bool split_huge_leaf(Agent& a, const ChangeCtx& c, PtIter& it, Addr child);
  // A table page for eager splitting (tdp_mmu_alloc_sp_for_split), 0 when the allocation
  // failed; `dropped` tells whether mmu_lock and RCU were dropped for it (the walk restarts).
  Addr alloc_for_split(Agent& a, bool held_shared, bool& dropped);
  uint64_t split_allocs_ = 0;  // tables eager splitting allocated (eager_split_alloc_limit)

  // tdp_recover.cpp: kvm_tdp_mmu_zap_collapsible_sptes when dirty logging is disabled.
  size_t zap_collapsible_sptes(Agent& a, Addr gpa, uint64_t len);
  // Statistics of huge pages around dirty logging, registered when logging is first enabled
  // on a slot that may hold huge SPTEs (so other runs keep their statistics unchanged).
  struct HugeLogStats : StatsGroup {
    explicit HugeLogStats(Stats& s) : StatsGroup(s, "hv.huge") {}
    statistics::Counter eager_split{*this, "eager_split",
        "huge SPTEs split in place into populated tables by eager page splitting"};
    statistics::Counter eager_alloc_failed{*this, "eager_split_alloc_failed",
        "eager splits given up because a table allocation failed (the rest stay huge)"};
    statistics::Counter eager_lock_drops{*this, "eager_split_lock_drops",
        "times eager splitting dropped mmu_lock to allocate a table"};
    statistics::Counter collapsible_zapped{*this, "collapsible_zapped",
        "tables zapped when dirty logging was disabled, their range mappable huge again"};
  };
  HugeLogStats& huge_log_stats();

  // tdp_root.cpp
  Root* alloc_root(Agent& a);
  Root* find_root(Addr table) const;
  bool root_invalid(const Root& r) const;  // functional read of role.invalid
  bool get_root(Agent& a, Root& r, bool only_valid);
  void put_root(Agent& a, Root& r, bool shared);
  void free_root(Agent& a, Root& r, bool shared);
  Root* current_root() const;  // the newest valid root (functional), or nullptr
  void lock(Agent& a, bool shared);
  void unlock(Agent& a, bool shared);

  // tdp_dirty_log.cpp: the arch hooks of DirtyLogging (sim/hv/dirty_logging.hpp).
  Addr arch_dirty_bitmap(Agent& a, Addr gpa, uint64_t len) override;
  void arch_enable_dirty_log(Agent& a, bool initially_set) override;
  void arch_sync_dirty_log(Agent& a) override;
  void arch_mmu_lock(Agent& a) override { lock(a, false); }
  void arch_mmu_unlock(Agent& a) override { unlock(a, false); }
  void arch_protect_masked(Agent& a, size_t word, uint64_t mask) override;
  void arch_flush_logged(Agent& a) override;
  void arch_disable_dirty_log(Agent& a) override;
  KernelHeap* arch_kernel_heap() override { return &heap_; }
  // vmx's cpu_dirty_log_size: a PML buffer flush pushes up to its 512 entries at once.
  unsigned arch_cpu_dirty_log_size() const override {
    return pml_enabled() ? unsigned(kPmlEntries) : 0;
  }
  bool logging(Addr gpa) const {
    return log_len_ && gpa >= log_gpa_ && gpa < log_gpa_ + log_len_;
  }
  // mark_page_dirty_in_slot: to the ring of vCPU `vcpu_id` with the dirty ring, else the bit.
  void mark_dirty(Agent& a, int vcpu_id, Addr gpa);
  // fast_page_fault: a write to a write-protected 4K SPTE that may be made writable is fixed
  // with one cmpxchg and no mmu_lock. Returns false when the slow path must run.
  bool fast_page_fault(Agent& a, int vcpu_id, Addr gpa);
  // What both fast page faults share (tdp_dirty_log.cpp): the root vCPU `vcpu_id` faulted in
  // (the host root for -1), or null; and the cmpxchg of next(old) into the SPTE at `it`, retried
  // with the value seen when the SPTE changed underneath, at most KVM's fast_page_fault retry
  // count. `next` returns nothing to leave the SPTE to the slow path. True: the SPTE changed.
  Root* fault_root(int vcpu_id);
  bool cmpxchg_spte_retrying(Agent& a, PtIter& it,
                             const std::function<std::optional<uint64_t>(uint64_t)>& next);
  // Clears the writable bit of the leaves of [gpa, gpa+len) in the current root; the caller
  // holds mmu_lock for read when `held_shared`, else for write (yields drop that mode).
  // With `clear_dirty` (PML), 4K leaves lose their D bit instead and stay writable; with
  // `huge_only`, 4K leaves are left alone (the start level 2M of kvm_mmu_slot_remove_write_access).
  size_t write_protect(Agent& a, Addr gpa, uint64_t len, bool held_shared,
                       bool clear_dirty = false, bool huge_only = false);
  // vmx_flush_pml_buffer: every GPA in the vCPU's log into the dirty bitmap, index reset.
  void drain_pml(Agent& a, int vcpu_id);
  // kvm_flush_pml_buffers before KVM_GET_DIRTY_LOG: kick every vCPU in guest mode.
  void kick_for_pml(Agent& a);

  // tdp_access_track.cpp (docs/ARCHITECTURE.md, Access tracking)
  // is_accessed_spte: the A bit with EPT A/D flags, else "not access-tracked".
  bool young_spte(uint64_t spte) const {
    return p_.ept_ad == EptAd::On ? fmt_.accessed(spte) : !EptFormat::acc_tracked(spte);
  }
  // spte_has_volatile_bits of a present leaf: a bit may change without mmu_lock (the walker's
  // A/D, the fast page fault's W or restore), so a write must be atomic not to lose it.
  bool spte_volatile(uint64_t spte) const;
  // Ages one young leaf in the form --age-clear and --ept-ad say.
  void age_spte(Agent& a, PtIter& it);
  // fast_page_fault without EPT A/D flags: an access-tracked SPTE is restored (and a write
  // also made writable when the MMU may) with one cmpxchg, no mmu_lock. False: slow path.
  bool fast_page_fault_acc_track(Agent& a, int vcpu_id, Addr gpa, bool write);

  // tdp_zap.cpp
  void zap_root(Agent& a, Root& r, bool shared);
  size_t zap_range_in_root(Agent& a, Root& r, Addr gpa, uint64_t len, bool shared);
  bool zap_entry(Agent& a, const ChangeCtx& c, Addr sptep, Addr gpa, unsigned level);
  // tdp_mmu_iter_cond_resched, asked at every entry a long walk visits: whether to yield now
  // (need_resched, contention when yield_on_contention, or the forced --zap-yield-every).
  bool should_yield(Agent& a, unsigned& since);
  // Drops and re-takes mmu_lock (and RCU) so that waiting vCPUs and threads run.
  void yield_lock(Agent& a, bool shared);
  // should_yield, then yield_lock: for walks with no TLB flush pending.
  void maybe_yield(Agent& a, bool shared, unsigned& since) {
    if (should_yield(a, since)) yield_lock(a, shared);
  }
  // The step of a pre-order range walk that changes the tree as it goes (eager splitting, the
  // collapsible zap): next(), then, after an entry it does not step into (so a yield always
  // follows progress), maybe yield and walk down again from the root to where it is.
  void next_or_yield(Agent& a, PtIter& it, bool shared, unsigned& since) {
    const bool bottom = !it.can_descend();
    it.next();
    if (bottom && should_yield(a, since)) {
      yield_lock(a, shared);
      it.restart();
    }
  }
  Addr alloc_table(Agent& a);
  void link_page(Agent& a, Addr table, Addr gpa, unsigned level, bool shared);
  void unlink_page(Agent& a, Addr table, bool shared);

  const TdpMmuParams p_;
  const EptFormat fmt_;  // KVM's view of the EPT format the walker uses (EptFormat::View::Kvm)
  PhysMem& phys_;
  PagePool& pool_;
  HostMm& host_;
  RemoteFlush& flush_;
  Rcu& rcu_;
  Timeline& timeline_;
  Violations& oracle_;
  TouchedPages& touched_;
  bool shared_;
  unsigned max_level_;
  KernelHeap& heap_;
  RwLock mmu_lock_;
  Addr pages_head_;  // tdp_mmu_pages list head, in the same line as the lock (as in kvm_arch)
  SpinLock pages_lock_;
  Addr roots_head_;  // tdp_mmu_roots list head
  std::vector<std::unique_ptr<Root>> roots_;  // every root ever made, oldest first
  std::vector<Root*> vcpu_root_;              // the root each vCPU holds a reference to
  Root* host_root_ = nullptr;  // the VM's own reference (harness mappings, host faults)
  std::unordered_map<Addr, MmuPage> pages_;  // linked tables by host address

  FaultStats& faults_;  // shared with the vCPUs and any other MMU of the run
  struct TdpMmuStats : SpteTableStats {
    explicit TdpMmuStats(Stats& s) : SpteTableStats(s) {}
    statistics::Counter huge_zapped{*this, "hv.huge.zapped_for_table",
        "huge leaves a fault zapped and flushed to link a table of smaller pages"};
    statistics::Counter huge_split_in_place{*this, "hv.huge.split_in_place",
        "huge leaves a fault replaced by a table of the same translations, without a flush"};
    statistics::Counter huge_collapse{*this, "hv.huge.replaced_table",
                                      "tables replaced by a huge leaf"};
    statistics::Counter teardown_xchg{*this, "hv.spte.teardown_xchg",
                                      "SPTEs cleared with an atomic exchange at teardown"};
    statistics::Counter teardown_store{*this, "hv.spte.teardown_store",
                                       "SPTEs cleared with a plain store at teardown"};
    statistics::Counter teardown_frozen_wait{*this, "hv.spte.teardown_frozen_wait",
        "teardown exchanges that read an SPTE another thread had frozen, and exchanged again"};
    statistics::Counter frozen_retry{*this, "hv.fault.frozen_retry",
        "faults that read a frozen SPTE (REMOVED_SPTE) on their way down and retried"};
    statistics::Counter cyc_host{*this, "hv.fault.cycles.host_page",
                                 "fault cycles spent getting the host page"};
    statistics::Counter cyc_lock{*this, "hv.fault.cycles.lock_wait",
                                 "fault cycles spent waiting for mmu_lock"};
    statistics::Counter cyc_map{*this, "hv.fault.cycles.map",
                                "fault cycles spent installing the SPTE (including flush waits)"};
    statistics::Counter fast_fixed{*this, "hv.fault.fast_path",
                                   "faults fixed by the lockless fast path"};
    statistics::Counter dirty_marked{*this, "hv.dirty_log.marked",
                                     "pages marked dirty in the dirty bitmap"};
    statistics::Counter wrprot_sptes{*this, "hv.dirty_log.wrprot_sptes",
                                     "SPTEs write-protected for dirty logging"};
    statistics::Counter roots_alloc{*this, "hv.root.allocated", "TDP roots allocated"};
    statistics::Counter roots_freed{*this, "hv.root.freed", "TDP roots freed"};
    statistics::Counter root_zaps{*this, "hv.root.zapped", "TDP roots zapped"};
    statistics::Counter zap_yields{*this, "hv.zap.yields", "zaps that yielded mmu_lock part way"};
    statistics::Counter early_retry{*this, "hv.fault.early_retry",
        "faults retried before taking mmu_lock: their gfn was being invalidated"};
    statistics::Counter zap_alls{*this, "hv.zap_all.count", "zaps of every root"};
    statistics::Counter range_zaps{*this, "hv.zap_range.count", "zaps of a GFN range"};
  } stats_;
  Stats& stats_registry_;
  std::unique_ptr<HugeLogStats> huge_log_stats_;  // huge_log_stats()
  MmuNotifier* notifier_ = nullptr;  // fault path's mmu_notifier_seq check; null: none
  // The walk every range operation uses: from `root` down for gpa, reading each entry (timed)
  // until a leaf or a non-present entry, where the iterator is left.
  PtIter walk_down(Agent& a, Addr root, Addr gpa);
  // Visits, in address order, where each walk over [gpa, gpa+len) ends (a leaf or a hole); f(iter)
  // may change the entry.
  template <class F>
  void for_each_walk_end(Agent& a, Addr root, Addr gpa, uint64_t len, F&& f) {
    mmusim::for_each_walk_end(PtIter::range(fmt_, root, gpa, gpa + len),
                              [&](Addr sptep) { return read_spte(a, sptep); }, f);
  }
  // The same, for the present leaves only.
  template <class F>
  void for_each_leaf(Agent& a, Addr root, Addr gpa, uint64_t len, F&& f) {
    for_each_walk_end(a, root, gpa, len, [&](PtIter& it) {
      if (it.leaf()) f(it);
    });
  }
  Addr log_gpa_ = 0;
  uint64_t log_len_ = 0;     // 0: dirty logging off
  bool log_initially_set_ = false;  // the slot was enabled with KVM_DIRTY_LOG_INITIALLY_SET
  Addr log_bitmap_ = 0;      // dirty bitmap words in simulated memory
  std::vector<PmlLog> pml_logs_;  // by vCPU id (tdp_pml.cpp)
  struct PmlStats : StatsGroup {
    explicit PmlStats(Stats& s) : StatsGroup(s, "hv.pml") {}
    statistics::Counter full_exits{*this, "full_exits", "PML log-full VM exits"};
    statistics::Counter flushed{*this, "flushed", "GPAs drained from PML logs into the bitmap"};
    statistics::Counter dirty_cleared{*this, "dirty_cleared",
                                      "4K SPTEs whose D bit dirty logging cleared"};
    statistics::Counter kicks{*this, "kicks", "vCPUs kicked out of guest mode for get-log"};
  };
  std::unique_ptr<PmlStats> pml_stats_;  // only with --pml on
  struct AgeStats {
    explicit AgeStats(Stats& s) : g(s, "hv.age") {}
    StatsGroup g;
    statistics::Counter young{g, "young", "young SPTEs aged"};
    statistics::Counter store{g, "store", "aged SPTEs written with a plain store"};
    statistics::Counter xchg{g, "xchg", "aged SPTEs written with an atomic exchange"};
    statistics::Counter atomic_and{g, "atomic_and", "aged SPTEs whose A bit an atomic AND cleared"};
    statistics::Counter acc_tracked{g, "acc_tracked",
        "SPTEs made access-tracked (no EPT A/D flags: R/W/X cleared)"};
    statistics::Counter acc_track_faults{g, "acc_track_faults",
        "faults whose lockless fast path found their SPTE access-tracked"};
    statistics::Counter restored{g, "restored",
        "access-tracked SPTEs restored by the lockless fast page fault"};
    statistics::Counter restored_writable{g, "restored_writable",
        "of those, also made writable (a write to an SPTE the MMU may make writable)"};
  };
  std::unique_ptr<AgeStats> age_stats_;  // only with aging_stats
};

}  // namespace mmusim
