// Splitting a huge leaf in place on a fault (--huge-split-on-fault split, docs/KVM_RELEASES.md):
// the fault that needs a smaller mapping under a huge leaf builds a table that maps the same
// frames with the same attributes, then links it in place of the leaf with one atomic change.
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

bool TdpMmu::split_huge_leaf(Agent& a, const ChangeCtx& c, PtIter& it) {
  assert_may_change(a, c, __func__);
  const uint64_t huge = it.entry();
  const unsigned child_level = it.level() - 1;
  const Addr child = alloc_table(a);
  // No other thread can reach the table before it is linked: plain stores fill it.
  for (unsigned i = 0; i < fmt_.entries_at(child_level); ++i)
    a.store(child + 8 * Addr(i), split_child(huge, child_level, i), MemClass::PageTable);
  // One atomic change replaces the leaf; a thread that changed the leaf first wins.
  if (!link_table(a, c, it, child)) return false;
  stats_.huge_split_in_place.inc();
  // Every page the huge leaf mapped stays mapped by a child: the lost-update oracle expects each
  // of them in the final tables, as it would expect the huge leaf.
  if (c.current)
    for (Addr g = it.base() >> kPageShift, end = g + (it.span() >> kPageShift); g < end; ++g)
      touched_.set(g);
  return true;
}

}  // namespace mmusim
