// KVM MIPS's GPA page-table handling (arch/mips/kvm/mmu.c) on both sides of KVM_CAP_SYNC_MMU on
// MIPS (KVM_CAP_SYNC_MMU), on a pgd/pmd/pte table in simulated memory that the vCPUs' refill code
// reads too.
//
// Fault handling (kvm_mips_map_page), in the faulting vCPU's thread:
//   fast path, under mmu_lock: an existing PTE that is old is made young; a write to a clean
//     PTE makes it dirty and marks the page in the dirty log -- unless the PTE is not writable
//     (a shared KSM page, a read-only slot), which fails with EFAULT to the slow path;
//   slow path: read mmu_notifier_seq, resolve the gfn to a host frame and its writability
//     outside the lock (a write may break COW right there), take mmu_lock, start again if an
//     invalidation ran since the sequence was read, then install the PTE young, writable only
//     if the host page is, and dirty (logged) on a write.
// With --mips-sync-mmu off the code before the seed runs: the fast path only dirties, the slow
// path asks the host for a writable page every time and never re-checks anything, and no
// notifier reaches this code, so host changes are never reflected here.
//
// MMU-notifier callbacks (kvm_unmap_hva_range, kvm_set_spte_hva, kvm[_test]_age_hva) work on
// the same table under mmu_lock; flush_shadow_all drops every derived translation by giving
// every vCPU a new ASID (a flush request that the vCPUs act on before re-entering the guest).
//
// mmu_lock is KVM's spinlock of that era: --mmu-lock has no effect on MIPS (both values take
// the same spinlock), as MIPS never had the read/write mmu_lock of the x86 TDP MMU.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "models/mips/mips_pte_format.hpp"
#include "sim/core/types.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/touched_pages.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "sim/hv/mmu_stats.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/memslots.hpp"
#include "sim/hv/mmu_notifier.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/lockdep_assert.hpp"
#include "sim/sync/rcu.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// What KVM MIPS's GPA fault handling reads of the run's parameters (app/params_models.cpp).
struct MipsGpaMmuParams {
  bool mips_sync_mmu = true;        // KVM_CAP_SYNC_MMU: faults check the notifier sequence
  Cycles fault_entry = 650;         // fault decode and dispatch before the MMU code
  Cycles mips_map_work = 390;       // kvm_mips_map_page instructions besides memory references
  Cycles page_alloc = 312;          // a page-table page from the vCPU's MMU cache
};

class MipsGpaMmu : public HypervisorMmu, public NotifierCallbacks, public DirtyLogging {
 public:
  MipsGpaMmu(const MipsGpaMmuParams& p, const MipsPteFormat& fmt, PhysMem& phys, PagePool& pool,
             HostMm& host, RemoteFlush& flush, Rcu& rcu, KernelHeap& heap, Stats& stats,
             FaultStats& faults, Timeline& timeline, Violations& oracle, TouchedPages& touched,
             Memslots& slots);

  FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, const TranslationFault& f) override;
  Addr stage2_root() const override { return pgd_; }
  void teardown(Agent& host) override;
  void map_functional(Addr gpa, unsigned level, Addr hpa_base) override;
  void visit_leaves(const LeafVisitor& visit) const override;

  void notifier_lock(Agent& a) override { mmu_lock_.lock(a); }
  void notifier_unlock(Agent& a) override { mmu_lock_.unlock(a); }
  bool unmap_gfn_range(Agent& a, const GfnRange& r) override;
  bool set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& pte) override;
  bool age_gfn_range(Agent& a, const GfnRange& r) override;
  bool test_age_gfn(Agent& a, const GfnRange& r) override;
  void prepare_flush_remote(Agent& a) override;
  void set_notifier(MmuNotifier* n) override { notifier_ = n; }

  // Dirty logging (mips_dirty_log.cpp): KVM MIPS logs through the memslot's bitmap. Enabling
  // sets KVM_MEM_LOG_DIRTY_PAGES on the slot and cleans every GPA PTE of it
  // (kvm_mips_mkclean_gpa_pt), so the next write to each page takes a TLB modified exception
  // and the fast path's clean -> dirty marks the page; clearing bits cleans those PTEs again.
  // Every cleaning is followed by flush_shadow_all, as a vCPU's TLB may still hold D set.
  // The arch hooks of DirtyLogging (sim/hv/dirty_logging.hpp):
  Addr arch_dirty_bitmap(Agent& a, Addr gpa, uint64_t len) override;
  void arch_enable_dirty_log(Agent& a, bool initially_set) override;
  void arch_mmu_lock(Agent& a) override { mmu_lock_.lock(a); }
  void arch_mmu_unlock(Agent& a) override { mmu_lock_.unlock(a); }
  void arch_protect_masked(Agent& a, size_t word, uint64_t mask) override;
  void arch_flush_logged(Agent& a) override { flush_shadow_all(a, -1); }
  void arch_disable_dirty_log(Agent& a) override;

  // kvm_mips_callbacks->flush_shadow_all: every vCPU drops its derived translations (a new
  // ASID on its next entry); returns when all have acknowledged.
  void flush_shadow_all(Agent& a, int self);

  // The PTE of gpa (functional read; 0 when no table holds it), for tests and the oracle.
  uint64_t pte_functional(Addr gpa) const;
  // Test hook: runs in the slow path between reading mmu_notifier_seq and taking mmu_lock.
  std::function<void(Agent&)> between_seq_and_lock;

 private:
  enum class Fast { Done, Changed, NotPresent, Efault };
  Fast map_page_fast(Agent& a, Addr gpa, bool write);
  FaultOutcome map_page_slow(Agent& a, Addr gpa, bool write);
  // kvm_mips_pte_for_gpa: walks the table under mmu_lock (timed loads); allocates missing
  // tables when `alloc`, else returns 0 when a level is missing.
  Addr pte_for_gpa(Agent& a, Addr gpa, bool alloc);
  void set_pte(Agent& a, Addr ptep, uint64_t v) {
    lockdep_assert_held(a, mmu_lock_, __func__);
    a.store(ptep, v, MemClass::PageTable);
  }
  void mark_page_dirty(Agent& a, uint64_t gfn);
  uint64_t pte_from_host(const HostPte& p) const;
  void free_tables(Agent& a, Addr table, unsigned level);
  // kvm_mips_flush_gpa_{pgd,pmd,pte}: clears the leaves of guest frames [first, last] under
  // `table`; a table the range covers whole is unlinked and queued in freed_tables_. Returns
  // whether `table` itself is now covered whole (its parent may free it).
  bool flush_gpa_range(Agent& a, Addr table, unsigned level, Addr base, uint64_t first,
                       uint64_t last);
  // Flushes every vCPU, then frees the queued tables after an RCU grace period: a refill in
  // flight may hold a pointer into them until its vCPU has acknowledged the flush.
  void flush_then_free_tables(Agent& a);
  // kvm_mips_mkclean_gpa_pt: cleans the dirty PTEs of guest frames [first, last] (absent
  // tables skipped) and notes each for the flush; mmu_lock held. Returns how many it cleaned.
  uint64_t mkclean_range(Agent& a, uint64_t first, uint64_t last);
  const Memslot& log_slot() const;

  const MipsGpaMmuParams p_;
  const MipsPteFormat& fmt_;
  PhysMem& phys_;
  PagePool& pool_;
  HostMm& host_;
  RemoteFlush& flush_;
  Rcu& rcu_;
  Timeline& timeline_;
  TouchedPages& touched_;
  Memslots& slots_;
  std::vector<Addr> freed_tables_;  // unlinked by flush_gpa_range, not yet handed to RCU
  uint32_t log_slot_ = 0;           // dirty logging: the slot, and [log_gpa_, + log_len_)
  Addr log_gpa_ = 0;
  uint64_t log_len_ = 0;
  MmuNotifier* notifier_ = nullptr;
  const bool sync_mmu_;
  SpinLock mmu_lock_;
  Addr pgd_;

  FaultStats& faults_;  // shared with the vCPUs and any other MMU of the run
  struct MipsMmuStats : TableStats {
    explicit MipsMmuStats(Stats& s) : TableStats(s) {}
    statistics::Counter fast_ok{*this, "hv.mips.fast.handled",
                                "GPA faults handled by the MIPS fast path"};
    statistics::Counter fast_young{*this, "hv.mips.fast.made_young",
                                   "GPA PTEs made young by the fast path"};
    statistics::Counter fast_dirty{*this, "hv.mips.fast.made_dirty",
                                   "GPA PTEs made dirty by the fast path"};
    statistics::Counter fast_efault{*this, "hv.mips.fast.efault",
                                    "fast-path faults that fell back to the slow path"};
    statistics::Counter slow{*this, "hv.mips.slow.count", "GPA faults taken by the MIPS slow path"};
    statistics::Counter slow_readonly{*this, "hv.mips.slow.mapped_readonly",
                                      "slow-path faults that mapped the page read-only"};
    statistics::Counter flush_shadow_all{*this, "hv.mips.flush_shadow_all",
        "flushes of every guest TLB entry (kvm_mips_flush_gpa_pt and friends)"};
    statistics::Counter unmapped{*this, "hv.mips.ptes_unmapped",
                                 "GPA PTEs unmapped by notifier callbacks"};
    statistics::Counter set_spte{*this, "hv.mips.set_spte", "GPA PTEs changed by change_pte"};
    statistics::Counter set_spte_flush{*this, "hv.mips.set_spte_flush",
                                       "change_pte calls that needed a TLB flush"};
    statistics::Counter aged{*this, "hv.mips.ptes_aged", "GPA PTEs aged by notifier callbacks"};
    statistics::Counter dirty_logged{*this, "hv.dirty_log.marked",
                                     "pages marked dirty in the dirty bitmap"};
    statistics::Counter tables_unlinked{*this, "hv.mips.tables_unlinked",
                                        "GPA page-table pages unlinked"};
    statistics::Counter cleaned{*this, "hv.mips.ptes_cleaned",
                                "GPA PTEs write-protected (cleaned) for dirty logging"};
  } stats_;
};

}  // namespace mmusim
