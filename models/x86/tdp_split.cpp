// Splitting huge leaves in place: on a fault (--huge-split-on-fault split, docs/KVM_RELEASES.md),
// the fault that needs a smaller mapping under a huge leaf builds a table that maps the same
// frames with the same attributes, then links it in place of the leaf with one atomic change;
// eagerly (--eager-split on), enabling dirty logging does the same to every huge leaf of the
// slot so that no write of the logging passes has to (docs/ARCHITECTURE.md, Dirty logging).
// The translations do not change, so no TLB is flushed: a vCPU may use its cached huge
// translation or the new small ones, and both are right.
#include "models/x86/tdp_mmu.hpp"

namespace mmusim {

uint64_t TdpMmu::split_child(uint64_t huge, unsigned child_level, unsigned index) const {
  // The child keeps every bit of the huge SPTE (permissions, memory type, accessed and dirty,
  // KVM's software writable bits) and adds the offset of its part of the frame
  // (make_huge_page_split_spte); a 4K child is no longer a large page.
  uint64_t child = huge | (uint64_t(index) << fmt_.shift(child_level));
  if (child_level == 1) child &= ~EptFormat::kLarge;
  return child;
}

bool TdpMmu::split_huge_leaf(Agent& a, const ChangeCtx& c, PtIter& it, Addr child) {
  assert_may_change(a, c, __func__);
  const uint64_t huge = it.entry();
  const unsigned child_level = it.level() - 1;
  // No other thread can reach the table before it is linked: plain stores fill it.
  for (unsigned i = 0; i < fmt_.entries_at(child_level); ++i)
    a.store(child + 8 * Addr(i), split_child(huge, child_level, i), MemClass::PageTable);
  // One atomic change replaces the leaf; a thread that changed the leaf first wins.
  if (!link_table(a, c, it, child)) return false;
  // Every page the huge leaf mapped stays mapped by a child: the lost-update oracle expects each
  // of them in the final tables, as it would expect the huge leaf.
  if (c.current)
    for (Addr g = it.base() >> kPageShift, end = g + (it.span() >> kPageShift); g < end; ++g)
      touched_.set(g);
  return true;
}

Addr TdpMmu::alloc_for_split(Agent& a, bool held_shared, bool& dropped) {
  // eager_split_alloc_limit stands for the host running out of memory: the try without
  // sleeping and the sleeping allocation fail alike once it is reached.
  auto allocate = [&]() -> Addr {
    if (p_.eager_split_alloc_limit && split_allocs_ >= p_.eager_split_alloc_limit) return 0;
    ++split_allocs_;
    return alloc_table(a);
  };
  dropped = false;
  // Before 6.11: first without sleeping, mmu_lock held (GFP_NOWAIT).
  if (p_.eager_split_alloc == EagerSplitAlloc::NowaitFirst)
    if (Addr t = allocate()) return t;
  // Otherwise (and always from 6.11): drop RCU and mmu_lock, allocate, take them again.
  dropped = true;
  huge_log_stats().eager_lock_drops.inc();
  rcu_.read_unlock(a);
  unlock(a, held_shared);
  const Addr t = allocate();
  lock(a, held_shared);
  rcu_.read_lock(a);
  return t;
}

size_t TdpMmu::try_split_huge_pages(Agent& a, Addr gpa, uint64_t len, bool held_shared) {
  lockdep_assert_held_mode(a, mmu_lock_, held_shared, __func__);
  Root* r = current_root();
  // A slot that allows no huge mapping (--page-size 4K) holds no huge SPTE: the walk, which
  // would only read the upper levels, is not modelled.
  if (!r || max_level_ == 1) return 0;
  HugeLogStats& st = huge_log_stats();
  const ChangeCtx c{-1, held_shared, true, true};
  size_t split = 0;
  unsigned since = 0;
  Addr spare = 0;  // a table allocated for the next split
  rcu_.read_lock(a);
  // Pre-order down to the 2M level: a 1G leaf split into 2M leaves is walked into next and
  // each of those is split in turn (for_each_tdp_pte_min_level).
  PtIter it = PtIter::range(fmt_, r->table, gpa, gpa + len, 2);
  while (it.valid()) {
    it.set_entry(read_spte(a, it.entry_addr()));
    if (it.leaf() && it.level() > 1) {
      if (!spare) {
        bool dropped = false;
        spare = alloc_for_split(a, held_shared, dropped);
        if (!spare) {  // -ENOMEM: what is still huge stays huge (and is write-protected next)
          st.eager_alloc_failed.inc();
          break;
        }
        if (dropped) {  // others ran meanwhile: walk down again to where it was
          it.restart();
          continue;
        }
      }
      const bool linked = split_huge_leaf(a, c, it, spare);
      spare = 0;  // linked, or freed by the lost race
      if (!linked) continue;  // look again at what the winner left
      ++split;
      st.eager_split.inc();
    }
    next_or_yield(a, it, held_shared, since);
  }
  rcu_.read_unlock(a);
  if (spare) {  // allocated but never linked
    pool_.free(spare);
    stats_.tables_unused.inc();
  }
  return split;
}

TdpMmu::HugeLogStats& TdpMmu::huge_log_stats() {
  if (!huge_log_stats_) huge_log_stats_ = std::make_unique<HugeLogStats>(stats_registry_);
  return *huge_log_stats_;
}

}  // namespace mmusim
