// Access tracking in the TDP MMU (docs/ARCHITECTURE.md, Access tracking): how aging writes a
// young SPTE in each release (--age-clear), and, without EPT A/D flags (--ept-ad off), the
// access-tracked SPTE and the lockless fast page fault that restores it (KVM's
// mark_spte_for_access_track, restore_acc_track_spte and fast_page_fault).
#include "models/x86/tdp_mmu.hpp"

namespace mmusim {

bool TdpMmu::spte_volatile(uint64_t s) const {
  const bool writable = (s & EptFormat::kWrite) != 0;
  if (!writable && (s & kMmuWritable)) return true;  // the fast page fault may make it writable
  if (EptFormat::acc_tracked(s)) return true;         // the fast page fault may restore it
  // With A/D flags the walker may set A, or D in a writable SPTE.
  return p_.ept_ad == EptAd::On && (!fmt_.accessed(s) || (writable && !fmt_.dirty(s)));
}

void TdpMmu::age_spte(Agent& a, PtIter& it) {
  const uint64_t old = it.entry();
  const bool ad = p_.ept_ad == EptAd::On;
  // With A/D flags only A is cleared; without, the SPTE is made access-tracked (a writable
  // one's dirtiness goes to the host page first, kvm_set_pfn_dirty: no state in the model).
  const uint64_t updated = ad ? old & ~EptFormat::kAccessed : EptFormat::mark_acc_track(old);
  const bool atomic = p_.age_clear != AgeClear::Store && spte_volatile(old);
  if (age_stats_) {
    age_stats_->young.inc();
    if (!ad) age_stats_->acc_tracked.inc();
  }
  if (!atomic) {
    // Before 5.18 always, later only without volatile bits: nothing else may change the SPTE
    // under mmu_lock for write, so a store (a D bit the walker sets meanwhile is lost).
    a.store(it.entry_addr(), updated, MemClass::PageTable);
    if (age_stats_) age_stats_->store.inc();
  } else if (ad && p_.age_clear == AgeClear::And) {
    // tdp_mmu_clear_spte_bits: a locked AND keeps whatever the walker set meanwhile.
    a.fetch_and(it.entry_addr(), ~EptFormat::kAccessed, MemClass::PageTable);
    if (age_stats_) age_stats_->atomic_and.inc();
  } else {
    // kvm_tdp_mmu_write_spte: an exchange; the old value it returns says what was lost.
    a.xchg(it.entry_addr(), updated, MemClass::PageTable);
    if (age_stats_) age_stats_->xchg.inc();
  }
  it.set_entry(updated);
  // Until 6.4 aging went through the SPTE-change bookkeeping (handle_changed_spte).
  if (p_.age_clear != AgeClear::And) a.advance(p_.spte_change_work);
}

bool TdpMmu::fast_page_fault_acc_track(Agent& a, int vcpu_id, Addr gpa, bool write) {
  Root* r = fault_root(vcpu_id);
  if (!r) return false;
  rcu_.read_lock(a);  // walk_shadow_page_lockless_begin: no mmu_lock, tables kept by RCU
  PtIter it = walk_down(a, r->table, gpa);
  bool restored = false, made_writable = false;
  if (it.leaf() && EptFormat::acc_tracked(it.entry()) && age_stats_)
    age_stats_->acc_track_faults.inc();
  const bool fixed = cmpxchg_spte_retrying(a, it, [&](uint64_t old) -> std::optional<uint64_t> {
    if (!it.leaf() || is_frozen(old)) return std::nullopt;  // not shadow-present: slow path
    uint64_t updated = old;
    restored = EptFormat::acc_tracked(old);
    if (restored) updated = EptFormat::restore_acc_track(old);
    // A write to an SPTE the MMU may make writable (also one write-protected for dirty
    // logging and access-tracked meanwhile): W too, 4K only while the slot is logged.
    made_writable = write && !(updated & EptFormat::kWrite) && (updated & kMmuWritable) &&
                    !(it.level() > 1 && logging(gpa));
    if (made_writable) updated |= EptFormat::kWrite;
    // Nothing to fix, or the access is still not allowed: the slow path decides.
    if (updated == old || (write && !(updated & EptFormat::kWrite))) return std::nullopt;
    return updated;
  });
  rcu_.read_unlock(a);
  if (fixed && age_stats_ && restored) age_stats_->restored.inc();
  if (fixed && age_stats_ && restored && made_writable) age_stats_->restored_writable.inc();
  // mark_page_dirty_in_slot for an SPTE the fault made writable.
  if (fixed && made_writable && logging(gpa)) mark_dirty(a, vcpu_id, it.base());
  return fixed;
}

}  // namespace mmusim
