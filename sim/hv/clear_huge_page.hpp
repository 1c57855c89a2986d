// The order in which the host kernel clears the 4 KiB subpages of a huge page it allocates for
// a fault (clear_huge_page, folio_zero_user in newer kernels; process_huge_page in mm/memory.c):
// the subpage the fault hit (`target`) last, so that its lines are the ones still in the
// faulting CPU's caches when the access is retried. First the subpages far from the target on
// its longer side, then alternately one from either side, closing in on it. Pages of more than
// MAX_ORDER_NR_PAGES subpages (1 GiB) are cleared front to back instead (clear_gigantic_page);
// the caller handles those.
#pragma once

namespace mmusim {

// Calls clear(i) for every subpage index 0 .. pages - 1 once, in the kernel's order.
template <typename F>
void for_each_subpage_in_clear_order(unsigned pages, unsigned target, F&& clear) {
  unsigned base, l;
  if (2 * target <= pages) {
    base = 0;
    l = target;
    for (unsigned i = pages; i-- > 2 * target;) clear(i);
  } else {
    base = pages - 2 * (pages - target);
    l = pages - target;
    for (unsigned i = 0; i < base; ++i) clear(i);
  }
  for (unsigned i = 0; i < l; ++i) {
    clear(base + i);
    clear(base + 2 * l - 1 - i);
  }
}

}  // namespace mmusim
