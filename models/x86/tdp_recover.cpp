// Huge mappings recovered when dirty logging stops (kvm_mmu_zap_collapsible_sptes ->
// kvm_tdp_mmu_zap_collapsible_sptes, mmu_lock for read when shared): every table of the slot
// at a level where the range could be mapped by one huge SPTE again -- the memslot allows it
// (--page-size) and the host maps it with a page at least that large (host_pfn_mapping_level)
// -- is zapped with its subtree and flushed, so the next fault there maps a huge page.
// From 6.13 KVM installs the huge SPTE in place instead of zapping ("KVM: x86/mmu: Recover TDP
// MMU huge page mappings in-place instead of zapping"), after the newest release modelled.
#include "models/x86/tdp_mmu.hpp"

namespace mmusim {

size_t TdpMmu::zap_collapsible_sptes(Agent& a, Addr gpa, uint64_t len) {
  lockdep_assert_held_mode(a, mmu_lock_, shared_, __func__);
  Root* r = current_root();
  // A slot that allows no huge mapping (--page-size 4K) has nothing collapsible: the walk,
  // which would only read the upper levels, is not modelled.
  if (!r || max_level_ == 1) return 0;
  const ChangeCtx c{-1, shared_, true, true};
  size_t zapped = 0;
  unsigned since = 0;
  rcu_.read_lock(a);
  // Pre-order down to the 2M level, so the largest collapsible table is zapped first.
  PtIter it = PtIter::range(fmt_, r->table, gpa, gpa + len, 2);
  while (it.valid()) {
    it.set_entry(read_spte(a, it.entry_addr()));
    // A leaf could not be larger than it is (else the walk would have stopped above it); a
    // table whose span leaves the slot cannot become one leaf.
    if (it.present() && !it.leaf() && it.level() <= max_level_ && it.base() >= gpa &&
        it.base() + it.span() <= gpa + len &&
        host_.lookup(it.base() >> kPageShift).level >= it.level()) {
      // The zap (and handle_removed_table's flush) of the table and everything below it.
      if (zap_entry(a, c, it.entry_addr(), it.base(), it.level())) {
        ++zapped;
        huge_log_stats().collapsible_zapped.inc();
      }
      it.set_entry(0);  // nothing to walk into any more
    }
    next_or_yield(a, it, shared_, since);
  }
  rcu_.read_unlock(a);
  return zapped;
}

}  // namespace mmusim
