// The arm64 KVM stage-2 MMU (arch/arm64/kvm/mmu.c user_mem_abort over hyp/pgtable.c) on real
// stage-2 descriptors in simulated memory:
//   - the host page is resolved before mmu_lock is taken (gfn_to_pfn outside the lock);
//   - mmu_lock per --mmu-lock: shared = taken for read, every descriptor change a cmpxchg, a
//     lost race returns -EAGAIN and the vCPU faults again (recent kernels); exclusive = taken
//     for write with plain stores (older kernels);
//   - a page or a block (2M/1G when the host backs the range with a huge page);
//   - break-before-make when a valid entry must change: the entry is swapped for KVM's
//     "locked" invalid marker, the old translation is invalidated from every TLB (the
//     configured flush strategy; broadcast TLBI on real arm64), then the new entry is written;
//     concurrent walkers that see the marker back off and retry;
//   - in shared mode every change of an entry by a fault first locks it: a cmpxchg to the
//     locked marker (stage2_try_break_pte); only the winner then cleans the frame to the PoC,
//     invalidates what the entry held and writes the new entry; a loser backs off with -EAGAIN
//     before any cache maintenance (hv.s2.cmo_skipped_by_loser); in exclusive mode the same
//     with a store of the marker (--s2-exclusive-break locked, from 6.2), or before 6.2 an
//     empty entry is written directly and a valid one cleared to 0 first (direct);
//   - a permission fault on a mapping of the right frame (write to a read-only mapping of a
//     writable page, execution of a non-executable one) is relaxed in place, no BBM, then the
//     IPA's TLB entries are invalidated (--s2-relax-tlbi: broadcast, or the local core only);
//     a relaxation whose cmpxchg lost (-EAGAIN) invalidates too from 6.7 (--s2-relax-race-tlbi);
//   - new mappings of normal memory are cleaned+invalidated to the PoC without FEAT_S2FWB
//     (--arm64-fwb off) unless --cmo-policy none: by the map walker just before the leaf is
//     installed, or before the walk (--s2-fault-cmo before-map, kernels before 5.14);
//   - an unmapped leaf is invalidated by IPA and then cleaned+invalidated to the PoC without
//     FWB (stage2_unmap_walker); with FWB from 6.6 the walk only clears and one range TLBI
//     follows it (--s2-unmap-tlbi);
//   - removed tables and, at teardown, every table are freed after an RCU grace period;
//   - dirty logging (stage2_dirty_log.cpp), with eager splitting of blocks when the VMM sets a
//     chunk size (stage2_split.cpp), and the MMU-notifier callbacks (stage2_notifier.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "models/arm64/arm64_s2_format.hpp"
#include "sim/core/modes.hpp"
#include "sim/core/touched_pages.hpp"
#include "sim/hv/arch_model.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/kvm_run_hook.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "sim/mmu/pt_iter.hpp"
#include "sim/sync/lockdep_assert.hpp"
#include "sim/sync/rwlock.hpp"

namespace mmusim {

class LockedMemslots;

// What the stage-2 MMU reads of the run's parameters (app/params_models.cpp builds it).
struct Stage2MmuParams {
  MmuLockMode mmu_lock = MmuLockMode::Shared;  // --mmu-lock: mmu_lock for read or for write
  uint64_t page_size = 4096;        // --page-size: the largest stage-2 leaf a fault may map
  CmoPolicy cmo_policy = CmoPolicy::Deferred;  // --cmo-policy: none skips the fault's CMO too
  bool fwb = false;                 // --arm64-fwb: FEAT_S2FWB, no CMO on map or unmap
  S2RelaxTlbi relax_tlbi = S2RelaxTlbi::Local;   // --s2-relax-tlbi
  S2FaultCmo fault_cmo = S2FaultCmo::InWalker;   // --s2-fault-cmo
  S2ExclusiveBreak exclusive_break = S2ExclusiveBreak::Locked;  // --s2-exclusive-break
  S2UnmapTlbi unmap_tlbi = S2UnmapTlbi::PerLeaf;  // --s2-unmap-tlbi (range needs FWB in auto)
  S2RelaxRaceTlbi relax_race_tlbi = S2RelaxRaceTlbi::Always;  // --s2-relax-race-tlbi
  // --arm64-eager-split-chunk: KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE, 0 = no eager splitting
  uint64_t eager_split_chunk = 0;
  // Eager splitting also drops mmu_lock between chunks for a thread waiting for it
  // (rwlock_needbreak; --lock-needbreak and --host-preempt as for x86's walks).
  bool yield_on_contention = false;
  Cycles fault_entry = 650;         // fault decode and dispatch before the MMU code
  Cycles s2_map_work = 780;         // one stage-2 map call's instructions besides memory refs
  Cycles spte_change_work = 208;    // bookkeeping per descriptor change
  Cycles page_alloc = 312;          // a page-table page from the vCPU's MMU cache
  Cycles cond_resched = 104;        // a yield point that dropped mmu_lock (cond_resched)
};

class Stage2Mmu : public HypervisorMmu,
                  public DirtyLogging,
                  public NotifierCallbacks,
                  public KvmRunHook {
 public:
  Stage2Mmu(const Stage2MmuParams& p, ArchDeps& deps, const Arm64S2Format& fmt);

  FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, const TranslationFault& f) override;
  Addr stage2_root() const override { return root_; }
  void teardown(Agent& host) override;
  void map_functional(Addr gpa, unsigned level, Addr hpa_base) override;
  void visit_leaves(const LeafVisitor& visit) const override;
  // KVM_RUN before the vCPU's first entry: runs the hook below (pending MMU ops), then hands
  // out the one stage-2 root.
  Addr load_root(Agent& vcpu, int vcpu_id) override;
  void set_run_hook(std::function<void(Agent&, int)> hook) { run_hook_ = std::move(hook); }
  // KVM_RUN issued again after the vCPU thread returned to the VMM: the same hook.
  void vcpu_run_again(Agent& vcpu, int vcpu_id) override {
    if (run_hook_) run_hook_(vcpu, vcpu_id);
  }

  // --- dirty logging (stage2_dirty_log.cpp) ---
  bool logging(Addr gpa) const { return gpa >= log_gpa_ && gpa - log_gpa_ < log_len_; }

  // --- MMU notifiers (stage2_notifier.cpp); callers hold mmu_lock for write ---
  void notifier_lock(Agent& a) override { mmu_lock_.write_lock(a); }
  void notifier_unlock(Agent& a) override { mmu_lock_.write_unlock(a); }
  bool unmap_gfn_range(Agent& a, const GfnRange& r) override;
  bool set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& pte) override;
  bool age_gfn_range(Agent& a, const GfnRange& r) override;
  bool test_age_gfn(Agent& a, const GfnRange& r) override;
  void set_notifier(MmuNotifier* n) override { notifier_ = n; }

  // kvm_pgtable_stage2_map of one page or block with the host frame resolved. Callers hold
  // mmu_lock as the mode says and the RCU read lock. `cmo`: clean+invalidate the frame to the
  // PoC before it becomes visible (the dcache_clean_inval_poc callback).
  FaultOutcome map(Agent& a, int vcpu_id, Addr gpa, unsigned level, Addr hpa_base, Perms prot,
                   bool write, bool cmo);
  // DC CIVAC over [hpa, hpa + len) by the calling thread, counted under hv.cmo.*.
  void clean_inval_poc(Agent& a, Addr hpa, uint64_t len);
  // stage2_flush_memslot: walks the stage-2 tables over [gpa, gpa + len) (timed reads) and
  // cleans+invalidates every mapped frame to the PoC. Takes mmu_lock itself.
  void flush_dcache_range(Agent& a, Addr gpa, uint64_t len);
  void lock(Agent& a);    // mmu_lock in the configured mode
  void unlock(Agent& a);
  Rcu& rcu() { return rcu_; }
  HostMm& host() { return host_; }
  const Arm64S2Format& format() const { return fmt_; }
  bool shared_mode() const { return shared_; }
  // The VM's locked-memslot machinery (set by Arm64Arch), for workloads that drive the VMM.
  LockedMemslots* memslots() const { return memslots_; }
  void set_memslots(LockedMemslots* m) { memslots_ = m; }

 private:
  uint64_t read_pte(Agent& a, Addr ptep);
  // Writes `v` over the value `it` last read: cmpxchg in shared mode (false on a lost race),
  // a store in exclusive mode.
  bool set_pte(Agent& a, PtIter& it, uint64_t v);
  // stage2_try_break_pte: the entry becomes the locked marker (a cmpxchg in shared mode); a
  // valid one is then invalidated everywhere (break-before-make) and its old subtree torn
  // down. False if another thread changed the entry first.
  bool break_pte(Agent& a, int vcpu_id, PtIter& it);
  // The TLB invalidation after relaxing the permissions of the leaf over `gpa`.
  void relax_tlbi(Agent& a, int vcpu_id, Addr gpa);
  // stage2_unmap_clear_cache: a cleared leaf of normal memory is cleaned+invalidated to the
  // PoC unless FWB. `old` is its descriptor before it was cleared.
  void unmap_cmo(Agent& a, uint64_t old, unsigned level);
  void free_subtree(Agent& a, Addr table, unsigned level, bool shared);
  Addr alloc_table(Agent& a);
  // Timed walk of [gpa, gpa + len): `f` sees each present leaf (a block once) with the
  // iterator positioned on it. Callers hold mmu_lock and the RCU read lock.
  void for_each_leaf(Agent& a, Addr gpa, uint64_t len, const std::function<void(PtIter&)>& f);
  // Dirty logging: clear S2AP write on every writable leaf of the range (no BBM needed to
  // reduce rights); returns how many leaves changed. Callers hold mmu_lock.
  size_t write_protect(Agent& a, Addr gpa, uint64_t len);
  // The arch hooks of DirtyLogging (sim/hv/dirty_logging.hpp), stage2_dirty_log.cpp.
  Addr arch_dirty_bitmap(Agent& a, Addr gpa, uint64_t len) override;
  void arch_enable_dirty_log(Agent& a, bool initially_set) override;
  void arch_mmu_lock(Agent& a) override;
  void arch_mmu_unlock(Agent& a) override;
  void arch_protect_masked(Agent& a, size_t word, uint64_t mask) override;
  void arch_flush_logged(Agent& a) override;
  void arch_disable_dirty_log(Agent& a) override;
  KernelHeap* arch_kernel_heap() override { return &heap_; }  // the dirty rings
  void mark_dirty(Agent& a, Addr gpa);  // set_bit in the slot's bitmap (simulated memory)

  // --- eager splitting (stage2_split.cpp) ---
  // kvm_mmu_split_huge_pages: the blocks of [gpa, gpa + len) split into tables of smaller
  // mappings, chunk by chunk (--arm64-eager-split-chunk), mmu_lock held for write (and the RCU
  // read side the model holds with it) except between chunks, where it is dropped to top the
  // split cache up. Returns how many blocks were split.
  size_t split_huge_pages(Agent& a, Addr gpa, uint64_t len);
  // kvm_pgtable_stage2_split over one chunk; false when the cache could not build even one
  // table (-ENOMEM: the split, best effort, stops).
  bool split_chunk(Agent& a, Addr gpa, uint64_t len, size_t& split);
  enum class SplitStep { Split, Skipped, NoMemory };
  // stage2_split_walker on the block at `it`.
  SplitStep split_block(Agent& a, PtIter& it);
  // kvm_pgtable_stage2_create_unlinked: a table (with force_pte, a tree down to 4 KiB pages)
  // mapping the block's frames with its attributes, built from the split cache where no walker
  // can reach it.
  Addr build_unlinked(Agent& a, uint64_t block, unsigned level, bool force_pte);
  void free_unlinked(Addr table, unsigned level);  // a subtree never linked, freed at once
  void topup_split_cache(Agent& a, size_t capacity);
  void free_split_cache();  // kvm_mmu_free_memory_cache: logging stopped, or teardown

  const Stage2MmuParams p_;
  const Arm64S2Format& fmt_;
  PhysMem& phys_;
  PagePool& pool_;
  HostMm& host_;
  RemoteFlush& flush_;
  Rcu& rcu_;
  Timeline& timeline_;
  Violations& oracle_;
  const bool shared_;
  const unsigned max_level_;
  const bool fault_cmo_;  // new and unmapped frames need CMOs (no FWB, no --cmo-policy none)
  const bool lock_entries_;  // the map walk locks every entry it changes (shared, or 6.2+)
  RwLock mmu_lock_;
  Addr root_;
  std::function<void(Agent&, int)> run_hook_;
  LockedMemslots* memslots_ = nullptr;
  KernelHeap& heap_;
  TouchedPages& touched_;
  MmuNotifier* notifier_ = nullptr;
  Addr log_gpa_ = 0;
  uint64_t log_len_ = 0;  // 0: not logging
  Addr log_bitmap_ = 0;
  std::vector<Addr> split_cache_;  // kvm->arch.mmu.split_page_cache: zeroed table pages

  FaultStats& faults_;  // shared with the vCPUs and any other MMU of the run
  struct Stage2MmuStats : SpteTableStats {
    explicit Stage2MmuStats(Stats& s) : SpteTableStats(s) {}
    statistics::Counter perm_relax{*this, "hv.fault.perm_relax",
                                   "faults that only relaxed permissions of a present leaf"};
    statistics::Counter bbm{*this, "hv.s2.break_before_make",
                            "stage-2 break-before-make sequences"};
    statistics::Counter cmo_skipped_by_loser{
        *this, "hv.s2.cmo_skipped_by_loser",
        "faults that found their leaf entry locked, or lost its lock, and backed off "
        "before the CMO"};
    statistics::Counter relax_tlbi{*this, "hv.s2.relax_tlbi",
                                   "TLB invalidations after a permission relaxation"};
    statistics::Counter relax_lost{*this, "hv.s2.relax_lost",
                                   "permission relaxations that lost their cmpxchg (-EAGAIN)"};
    statistics::Counter entry_locked{*this, "hv.s2.entry_locked",
                                     "descriptors set to the locked-invalid marker before a change"};
    statistics::Counter unmap_cmo{*this, "hv.s2.unmap_cmo",
                                  "unmapped leaves cleaned+invalidated to the PoC"};
    statistics::Counter cmo_ops{*this, "hv.cmo.ops",
                                "cache maintenance operations by the hypervisor"};
    statistics::Counter cmo_lines{*this, "hv.cmo.lines",
                                  "cache lines cleaned or invalidated by the hypervisor"};
    statistics::Counter cmo_cycles{*this, "hv.cmo.cycles",
                                   "cycles of the hypervisor's cache maintenance"};
    statistics::Counter wrprot{*this, "hv.dirty_log.wrprot_leaves",
                               "stage-2 leaves write-protected for dirty logging"};
    statistics::Counter dirty_marked{*this, "hv.dirty_log.marked",
                                     "pages marked dirty in the dirty bitmap"};
    statistics::Counter split{*this, "hv.dirty_log.block_split",
                              "block mappings split for dirty logging"};
    statistics::Counter unmapped{*this, "hv.notifier.unmapped_leaves",
                                 "stage-2 leaves unmapped by notifier callbacks"};
    statistics::Counter set_spte{*this, "hv.notifier.set_spte",
                                 "stage-2 leaves changed by change_pte"};
    statistics::Counter aged{*this, "hv.notifier.aged_leaves",
                             "stage-2 leaves aged (access flag cleared) by notifier callbacks"};
  } stats_;
  // Registered only with a chunk size, so every other run's statistics stay as they were.
  struct EagerSplitStats : StatsGroup {
    explicit EagerSplitStats(Stats& s) : StatsGroup(s, "hv.s2.eager_split") {}
    statistics::Counter blocks{*this, "blocks",
                               "block mappings split into tables by eager splitting"};
    statistics::Counter tables{*this, "tables",
                               "page-table pages eager splitting built and linked (its cache's)"};
    statistics::Counter chunks{*this, "chunks", "chunks eager splitting walked"};
    statistics::Counter tlbi{*this, "tlbi",
                             "TLB invalidations of split blocks (break-before-make, by IPA)"};
    statistics::Counter lock_drops{*this, "lock_drops",
        "times eager splitting dropped mmu_lock between chunks (top-up, cond_resched)"};
    statistics::Counter cache_pages{*this, "cache_pages",
                                    "pages allocated and zeroed into the split cache"};
    statistics::Counter cache_freed{*this, "cache_freed",
        "split-cache pages freed unused (logging stopped, or teardown)"};
  };
  std::unique_ptr<EagerSplitStats> split_stats_;
};

}  // namespace mmusim
