// The host kernel's LRU list of anonymous pages as the faulting thread runs it (mm/swap.c
// folio_add_lru / lru_cache_add, folio_batch_move_lru / __pagevec_lru_add, and the removal in
// __page_cache_release / release_pages), every step a simulated memory operation so its
// contention emerges (docs/ARCHITECTURE.md, Host memory manager: LRU lists):
// - a newly mapped anonymous page (first touch, THP, COW copy, swap-in, migration target)
//   goes to the adding CPU's batch (struct folio_batch, one line per CPU), which takes a
//   reference of its own (folio_get); a batch that is full after the add, or a compound page,
//   is moved to the list at once;
// - the move takes the lruvec's lru_lock once for the whole batch and, per page, sets PG_lru
//   (a locked OR on the struct page line), links the page at the head of the inactive anon
//   list (its own lru field, the list head's line and the old first page's lru field, which
//   the previous adder wrote) and updates the lruvec's size for the list (a line every CPU
//   shares); after the unlock it drops the batch's references (release_pages / folios_put);
// - a page whose last reference goes leaves the list under the same lock (its neighbours'
//   lru fields and the list head) before it is uncharged and freed.
// Every VMM process's pages share one lruvec: one memory cgroup (sim/hv/mem_cgroup.hpp) on one
// NUMA node (the model has no per-node memory), so one lock, as pgdat->lru_lock before 5.11 and
// the lruvec's lru_lock from it. Not modelled: the active list (mark_page_accessed never
// activates, sim/hv/host_mm.cpp), reclaim's scans and isolation batches (a swapped-out or
// migrated page leaves the list when freed, one lock hold each where reclaim holds it for up
// to 32), the per-CPU vmstat counters, and the multi-generational LRU.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/page_allocator.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// A bare host mm keeps no LRU lists (batch 0); the platform sets the CLI's release default.
struct PageLruParams {
  unsigned batch = 0;  // PAGEVEC_SIZE: pages a CPU's add batch holds; 0: no LRU lists
};

class PageLru {
 public:
  PageLru(const PageLruParams& p, PageAllocator& alloc, KernelHeap& heap, PhysMem& phys,
          Stats& stats);
  bool enabled() const { return p_.batch != 0; }

  // folio_add_lru for a page of 2^order frames the caller just mapped (or is about to).
  void add(Agent& a, Addr head, unsigned order);
  // Called by put_page when the last reference of `head` went: off the list if it is on it.
  void remove_freed(Agent& a, Addr head);

  // Untimed, for the harness that prepares memory before the run.
  void add_functional(Addr head);
  void remove_functional(Addr head);
  // split_huge_page: the tail pages join the list just before the head (lru_add_page_tail).
  void split_functional(Addr head, uint64_t pages);

  bool on_list(Addr head) const { return links_.count(head) != 0; }
  // Pages in the calling CPU's batch, not yet on the list.
  size_t batched(int cpu) const;
  // The first page of the list (0 if empty) and the one after `page` (0 at the end).
  Addr first() const { return first_; }
  Addr next(Addr page) const { return links_.at(page).second; }
  const SpinLock& lock() const { return lock_; }

 private:
  struct Batch {
    Addr line = 0;                                 // nr and the first pointers
    std::vector<std::pair<Addr, unsigned>> pages;  // head, order
  };
  Batch& batch(Agent& a);
  void move_to_list(Agent& a, Batch& b);
  // The line of `page`'s lru field, or the list head's line for 0.
  Addr lru_line(Addr page) const { return page ? PageAllocator::lru_word(page) : lists_line_; }
  // C++ side of list_add after `prev` (0: the list head) and of list_del.
  void link_after(Addr page, Addr prev);
  void unlink(Addr page);

  const PageLruParams p_;
  PageAllocator& alloc_;
  KernelHeap& heap_;
  PhysMem& phys_;
  Addr lists_line_;  // lruvec->lists[LRU_INACTIVE_ANON]
  Addr size_line_;   // the memcg's lru_zone_size for the list
  SpinLock lock_;
  std::unordered_map<Addr, std::pair<Addr, Addr>> links_;  // page: (prev, next); 0 = the head
  Addr first_ = 0;
  std::unordered_map<int, Batch> batches_;  // per CPU
  struct LruStats : StatsGroup {
    explicit LruStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter adds{*this, "host.mm.lru.adds",
                             "pages given to a CPU's LRU add batch (folio_add_lru)"};
    statistics::Counter moves{*this, "host.mm.lru.batch_moves",
        "batches moved to the LRU list under lru_lock (folio_batch_move_lru)"};
    statistics::Counter removes{*this, "host.mm.lru.removes",
                                "freed pages taken off the LRU list under lru_lock"};
  } stats_;
};

}  // namespace mmusim
