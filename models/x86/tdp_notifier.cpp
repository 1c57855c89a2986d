// The x86 TDP MMU side of KVM's MMU notifiers (kvm_unmap_gfn_range, kvm_set_spte_gfn,
// kvm_age_gfn, kvm_test_age_gfn). MmuNotifier (sim/hv) holds mmu_lock for write around each.
// With EPT A/D bits, aging clears the accessed bit of each leaf (the walker sets it again on
// the next use that misses the TLB); the notifier flushes when asked to (clear_flush_young).
#include "models/x86/tdp_mmu.hpp"

namespace mmusim {

bool TdpMmu::unmap_gfn_range(Agent& a, const GfnRange& r) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  // Every root, valid or not; no yielding in notifier context.
  const Addr gpa = r.start << kPageShift, len = (r.end - r.start) << kPageShift;
  bool flush = false;
  rcu_.read_lock(a);
  for (size_t i = 0; i < roots_.size(); ++i) {
    Root& root = *roots_[i];
    if (!root.on_list || root.freed) continue;
    const bool current = !root_invalid(root);
    const ChangeCtx c{-1, false, current, current};
    for_each_leaf(a, root.table, gpa, len, [&](PtIter& it) {
      flush |= zap_entry(a, c, it.entry_addr(), it.base(), it.level()) && current;
    });
  }
  rcu_.read_unlock(a);
  return flush;
}

bool TdpMmu::set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& pte) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  // The host PTE changed (KSM, migration, COW): drop the old translation; the next fault maps
  // whatever the host maps then. (KVM x86 zaps here rather than re-pointing the SPTE.)
  (void)pte;
  return unmap_gfn_range(a, r);
}

bool TdpMmu::age_gfn_range(Agent& a, const GfnRange& r) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  const Addr root = stage2_root();
  if (!root) return false;
  bool young = false;
  rcu_.read_lock(a);
  for_each_leaf(a, root, r.start << kPageShift, (r.end - r.start) << kPageShift, [&](PtIter& it) {
    if (!fmt_.accessed(it.entry())) return;
    young = true;
    // Clear the accessed bit (bit 8); the walker sets it again on the next use.
    uint64_t old = it.entry();
    while (fmt_.accessed(old)) {
      uint64_t seen = a.cmpxchg(it.entry_addr(), old, old & ~(uint64_t(1) << 8), MemClass::PageTable);
      if (seen == old) break;
      old = seen;
    }
  });
  rcu_.read_unlock(a);
  return young;
}

bool TdpMmu::test_age_gfn(Agent& a, const GfnRange& r) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  const Addr root = stage2_root();
  if (!root) return false;
  bool young = false;
  rcu_.read_lock(a);
  for_each_leaf(a, root, r.start << kPageShift, (r.end - r.start) << kPageShift,
                [&](PtIter& it) { young |= fmt_.accessed(it.entry()); });
  rcu_.read_unlock(a);
  return young;
}

}  // namespace mmusim
