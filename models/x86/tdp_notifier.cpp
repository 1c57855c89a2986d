// The x86 TDP MMU side of KVM's MMU notifiers (kvm_unmap_gfn_range, kvm_set_spte_gfn,
// kvm_age_gfn, kvm_test_age_gfn). MmuNotifier (sim/hv) holds mmu_lock for write around each.
// Aging walks every root: with EPT A/D bits it clears the accessed bit of each young leaf (the
// walker sets it again on the next use that misses the TLB), without them it makes the leaf
// access-tracked (tdp_access_track.cpp); the notifier flushes when asked to
// (clear_flush_young, when any page was young: every release up to 6.12).
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
  // Every root on the list, valid or not (for_each_tdp_mmu_root; only valid ones from 6.13,
  // docs/KVM_RELEASES.md), every young leaf of the range in each.
  bool young = false;
  rcu_.read_lock(a);
  for (size_t i = 0; i < roots_.size(); ++i) {
    Root& root = *roots_[i];
    if (!root.on_list || root.freed) continue;
    for_each_leaf(a, root.table, r.start << kPageShift, (r.end - r.start) << kPageShift,
                  [&](PtIter& it) {
                    if (!young_spte(it.entry())) return;
                    young = true;
                    age_spte(a, it);
                  });
  }
  rcu_.read_unlock(a);
  return young;
}

bool TdpMmu::test_age_gfn(Agent& a, const GfnRange& r) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  // Every root, every leaf: 6.13 stops at the first young one.
  bool young = false;
  rcu_.read_lock(a);
  for (size_t i = 0; i < roots_.size(); ++i) {
    Root& root = *roots_[i];
    if (!root.on_list || root.freed) continue;
    for_each_leaf(a, root.table, r.start << kPageShift, (r.end - r.start) << kPageShift,
                  [&](PtIter& it) { young |= young_spte(it.entry()); });
  }
  rcu_.read_unlock(a);
  return young;
}

}  // namespace mmusim
