// The x86 TDP MMU (KVM's arch/x86/kvm/mmu/tdp_mmu.c) on EPT tables in simulated memory, with
// both sides of the change that made page faults run in parallel (seed 000):
//   exclusive: mmu_lock taken for write; SPTEs written with plain stores.
//   shared:    mmu_lock taken for read; every SPTE change is a cmpxchg against the value the
//              iterator read, and a lost race returns RET_PF_RETRY (the vCPU faults again); a
//              child table whose link loses its cmpxchg is freed at once; the list of MMU pages
//              is protected by tdp_mmu_pages_lock; a removed table's entries are torn down with
//              xchg and the table is freed after an RCU grace period.
// The fault path resolves the host page before taking mmu_lock, so the lock covers only what
// KVM runs under it. Every table reference goes through the memory system and the one
// iterator (PtIter) used by the hardware walker too.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "models/x86/ept_format.hpp"
#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/pt_iter.hpp"
#include "sim/sync/rcu.hpp"
#include "sim/sync/rwlock.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

class TdpMmu : public HypervisorMmu {
 public:
  TdpMmu(const SimConfig& cfg, const EptFormat& fmt, PhysMem& phys, PagePool& pool,
         HostMm& host, RemoteFlush& flush, Rcu& rcu, KernelHeap& heap, Stats& stats,
         Timeline& timeline, Violations& oracle);

  FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, Addr gpa, Access access) override;
  Addr stage2_root() const override { return root_; }
  void teardown(Agent& host) override;

  // kvm_tdp_mmu_map with the host page already resolved: maps gpa at `level` to the frame at
  // `hpa_base`. Callers hold mmu_lock in the configured mode and the RCU read lock.
  FaultOutcome map(Agent& a, int vcpu_id, Addr gpa, unsigned level, Addr hpa_base, bool write,
                   bool writable);

  // Untimed map for the harness that prepares the guest before the run (guest page-table
  // pages, as KVM selftests pre-fault their page-table memslot).
  void map_functional(Addr gpa, unsigned level, Addr hpa_base) override;
  std::vector<Stage2Leaf> leaves() const override;
  bool shared_mode() const { return shared_; }
  unsigned max_level() const { return max_level_; }
  size_t linked_tables() const { return pages_.size(); }

 private:
  struct MmuPage {  // struct kvm_mmu_page, the part the model needs
    Addr gpa_base;
    unsigned level;
    Addr link_word;  // where its list link lives in simulated memory
  };
  uint64_t read_spte(Agent& a, Addr sptep);
  bool set_spte(Agent& a, int vcpu_id, PtIter& it, uint64_t new_spte);
  void handle_changed(Agent& a, int vcpu_id, Addr gpa, uint64_t old_spte, uint64_t new_spte,
                      unsigned level, bool shared);
  void handle_removed_table(Agent& a, int vcpu_id, Addr table, Addr gpa, unsigned level,
                            bool shared);
  Addr alloc_table(Agent& a);
  void link_page(Agent& a, Addr table, Addr gpa, unsigned level, bool shared);
  void unlink_page(Agent& a, Addr table, bool shared);
  void collect_leaves(Addr table, unsigned level, Addr gpa, std::vector<Stage2Leaf>& out) const;

  const SimConfig& cfg_;
  const EptFormat& fmt_;
  PhysMem& phys_;
  PagePool& pool_;
  HostMm& host_;
  RemoteFlush& flush_;
  Rcu& rcu_;
  Stats& stats_;
  Timeline& timeline_;
  Violations& oracle_;
  bool shared_;
  unsigned max_level_;
  KernelHeap& heap_;
  RwLock mmu_lock_;
  Addr pages_head_;  // tdp_mmu_pages list head, in the same line as the lock (as in kvm_arch)
  SpinLock pages_lock_;
  Addr root_;
  std::unordered_map<Addr, MmuPage> pages_;  // linked tables by host address

  Counter& faults_;
  Counter& fixed_;
  Counter& retries_;
  Counter& spurious_;
  Counter& cmpxchg_fail_;
  Counter& tables_alloc_;
  Counter& tables_freed_;
  Counter& tables_unused_;
  Counter& huge_split_;
  Counter& huge_collapse_;
  Counter& teardown_xchg_;
  Counter& teardown_store_;
  Histogram& latency_;
  Counter& cyc_host_;
  Counter& cyc_lock_;
  Counter& cyc_map_;
};

}  // namespace mmusim
