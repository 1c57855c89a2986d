// The arm64 stage-2 side of KVM's MMU notifiers (kvm_unmap_gfn_range, kvm_set_spte_gfn,
// kvm_age_gfn, kvm_test_age_gfn in arch/arm64/kvm/mmu.c). MmuNotifier (sim/hv) holds mmu_lock
// for write around each call.
//   - unmap: every leaf overlapping the range is cleared (a block partly inside goes whole),
//     invalidated by IPA (--s2-unmap-tlbi per-leaf: a one-leaf flush, its DSB included) and,
//     without FWB, its frame cleaned+invalidated to the PoC (stage2_unmap_walker), as the walk
//     goes; with `range` (FWB, from 6.6) the walk only clears and one range flush over the
//     requested range follows it, whether or not a leaf was found (kvm_pgtable_stage2_unmap).
//     The stage-2 code invalidates the TLBs itself (broadcast under --flush broadcast), so it
//     asks the notifier for no further flush. Table pages stay linked until teardown (the
//     model does not refcount stage-2 tables).
//   - set_spte (change_pte, after KSM/COW moved the page): map the new frame read-only at
//     4 KiB, treated like a translation fault (cleaned to the PoC unless --cmo-policy none);
//     a valid old entry goes through break-before-make. Only where a last-level table already
//     exists: the call has no memory cache to allocate tables from. A host PTE that is gone
//     unmaps the page.
//   - age / test_age: the access flag of each leaf. KVM enables hardware access-flag
//     management for stage 2 (VTCR_EL2.HA), so the hardware walker sets AF again on the next
//     use after a TLB miss (Arm64S2Format::mark_used); aging clears it with a cmpxchg because
//     the walker may set it concurrently. KVM's handle_access_fault (AF faults on CPUs without
//     the feature) is not modelled. Aging does not invalidate TLBs; clear_flush_young's flush
//     is the notifier's.
#include "models/arm64/stage2_mmu.hpp"

#include <algorithm>

namespace mmusim {

bool Stage2Mmu::unmap_gfn_range(Agent& a, const GfnRange& r) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  const Addr gpa = r.start << kPageShift, len = (r.end - r.start) << kPageShift;
  const bool per_leaf = p_.unmap_tlbi == S2UnmapTlbi::PerLeaf;
  Addr lo = gpa, hi = gpa + len;  // a block partly inside widens what is invalidated
  rcu_.read_lock(a);
  for_each_leaf(a, gpa, len, [&](PtIter& it) {
    bool cleared = false;
    uint64_t old = it.entry();
    while (it.leaf() && !(cleared = set_pte(a, it, 0))) {
      it.set_entry(read_pte(a, it.entry_addr()));
      old = it.entry();
    }
    if (!cleared) return;
    stats_.unmapped.inc();
    flush_.note_zap(it.base(), it.span());
    if (per_leaf) flush_.flush_range(a, -1, it.base(), it.span(), TlbiShape::OneLeaf);
    unmap_cmo(a, old, it.level());
    // Removed on purpose: the lost-update oracle no longer expects these pages mapped.
    touched_.clear_range(it.base() >> kPageShift, it.span() >> kPageShift);
    lo = std::min(lo, it.base());
    hi = std::max(hi, it.base() + it.span());
  });
  if (!per_leaf) flush_.flush_range(a, -1, lo, hi - lo, TlbiShape::Range);
  rcu_.read_unlock(a);
  return false;
}

bool Stage2Mmu::set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& pte) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  rcu_.read_lock(a);
  for (uint64_t gfn = r.start; gfn < r.end; ++gfn) {
    const Addr gpa = gfn << kPageShift;
    PtIter it(fmt_, root_, gpa);
    it.set_entry(read_pte(a, it.entry_addr()));
    while (it.can_descend()) {
      it.descend();
      it.set_entry(read_pte(a, it.entry_addr()));
    }
    if (it.level() != 1) continue;  // would need a new table (or a block is in the way)
    stats_.set_spte.inc();
    if (!pte.present) {
      const uint64_t old = it.entry();
      if (it.present() && set_pte(a, it, 0)) {
        unmap_cmo(a, old, it.level());
        flush_.note_zap(gpa, kPageSize);
        touched_.clear(gfn);
        flush_.flush_range(a, -1, gpa, kPageSize);
      }
      continue;
    }
    const Addr hpa = pte.hpa & ~(kPageSize - 1);
    if (it.present() && !break_pte(a, -1, it)) continue;
    if (fault_cmo_) clean_inval_poc(a, hpa, kPageSize);
    // Read-only, not executable (KVM_PGTABLE_PROT_R): a write faults and is relaxed (and, when
    // the slot logs, logged).
    if (set_pte(a, it, fmt_.make_leaf(hpa, 1, Perms{true, false, false}, true, false)))
      touched_.set(gfn);  // mapped on purpose
  }
  rcu_.read_unlock(a);
  return false;
}

bool Stage2Mmu::age_gfn_range(Agent& a, const GfnRange& r) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  bool young = false;
  rcu_.read_lock(a);
  for_each_leaf(a, r.start << kPageShift, (r.end - r.start) << kPageShift, [&](PtIter& it) {
    uint64_t old = it.entry();
    while (fmt_.present(old) && fmt_.accessed(old)) {
      const uint64_t seen = a.cmpxchg(it.entry_addr(), old, old & ~vmsa::kAf, MemClass::PageTable);
      if (seen == old) {
        young = true;
        stats_.aged.inc();
        break;
      }
      old = seen;
    }
  });
  rcu_.read_unlock(a);
  return young;
}

bool Stage2Mmu::test_age_gfn(Agent& a, const GfnRange& r) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  bool young = false;
  rcu_.read_lock(a);
  for_each_leaf(a, r.start << kPageShift, (r.end - r.start) << kPageShift,
                [&](PtIter& it) { young |= fmt_.accessed(it.entry()); });
  rcu_.read_unlock(a);
  return young;
}

}  // namespace mmusim
