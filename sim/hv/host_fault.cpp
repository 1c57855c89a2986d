// The host fault handler (handle_mm_fault) for guest RAM, an anonymous private mapping of the
// VMM: what get_user_pages runs when the page is missing or must be made writable
// (docs/ARCHITECTURE.md, "Host memory manager").
#include "sim/hv/host_mm.hpp"

#include "sim/hv/clear_huge_page.hpp"

namespace mmusim {

using namespace host_pte;

namespace {

// MAX_ORDER_NR_PAGES with 4 KiB pages in every modelled release (x86-64 and arm64).
constexpr unsigned kMaxOrderNrPages = 1024;

// clear_huge_page: subpage by subpage in process_huge_page's order (clear_huge_page.hpp), or
// front to back for a gigantic page.
void clear_huge_page(Agent& a, Addr page, unsigned order, unsigned target) {
  const unsigned pages = 1u << order;
  if (pages > kMaxOrderNrPages) {
    a.zero_lines(page, Addr(pages) * kPageSize);
    return;
  }
  for_each_subpage_in_clear_order(pages, target, [&](unsigned i) {
    a.zero_lines(page + Addr(i) * kPageSize, kPageSize);
  });
}

}  // namespace

void HostMm::handle_fault(Agent& a, uint64_t gfn, bool write) {
  stats_.faults.inc();
  a.advance(p_.host_page_fault);
  const HostPageTables::Walk w = pt_.walk(a, gfn);
  if (usable(w.entry, w.level, false)) {
    // There already: a write to a read-only page breaks COW (do_wp_page: a private copy
    // replaces the shared frame under the notifiers); otherwise a racer installed it.
    if (write && !writable(w.entry)) cow_break(a, gfn);
    return;
  }
  // 2M backing is THP unless it comes from hugetlbfs (--backing); 1G backing is hugetlbfs.
  const unsigned level = level_of(gfn);
  if (level == 1)
    anonymous_fault(a, gfn, w);
  else if (level == 2 && !p_.hugetlb)
    huge_pmd_fault(a, gfn, w);
  else
    hugetlb_fault(a, gfn, level);
}

// do_anonymous_page: the new page is allocated and zeroed before the PTE lock is taken, so
// threads that fault on the same page at once each prepare one; the first to take the lock
// installs its page, the others find the entry set, free theirs and use the winner's.
void HostMm::anonymous_fault(Agent& a, uint64_t gfn, const HostPageTables::Walk& w) {
  const Addr pte = w.level == 1 ? w.entry_addr : pt_.entry_for(a, gfn, 1);
  if (!pte) return;  // a huge leaf appeared above: follow_page uses it
  const bool swapped = swapped_.count(gfn) != 0;
  const Addr page = alloc_.alloc(a, 0);
  if (swapped) {
    charge(a, page, 0);  // mem_cgroup_swapin_charge_page, before the read
    // The synchronous swap-in (zram, docs/CALIBRATION.md D6) adds the page to the LRU before
    // reading it, outside the PTE lock.
    memory_.lru.add(a, page, 0);
    a.advance(p_.host_swap_io);  // do_swap_page reads it back instead of zeroing it
  } else {
    a.zero_lines(page, kPageSize);
    charge(a, page, 0);  // mem_cgroup_charge of the zeroed page
  }
  if (!install(a, gfn, 1, pte, page, swapped ? LruAdd::None : LruAdd::UnderEntryLock)) return;
  if (swapped) {
    swapped_.erase(gfn);
    stats_.ev_swap_in.inc();
  }
}

// do_huge_pmd_anonymous_page: a 2 MiB page, cleared (clear_huge_page), installed under the PMD
// page's split lock; a racer that lost frees its huge page.
void HostMm::huge_pmd_fault(Agent& a, uint64_t gfn, const HostPageTables::Walk& w) {
  if (w.level < 2) {
    // A PTE table is there already (the range was mapped small before): handle_pte_fault.
    anonymous_fault(a, gfn, w);
    return;
  }
  const Addr pmd = w.level == 2 ? w.entry_addr : pt_.entry_for(a, gfn, 2);
  if (!pmd) return;
  const uint64_t e = w.level == 2 ? w.entry : a.load(pmd, MemClass::PageTable);
  if (present(e) && !(e & kHuge)) {
    anonymous_fault(a, gfn, HostPageTables::Walk{});
    return;
  }
  if (e) return;
  const Addr page = alloc_.alloc(a, 9);
  charge(a, page, 9);  // mem_cgroup_charge comes before the clearing
  clear_huge_page(a, page, 9, unsigned(gfn & 511));
  install(a, gfn, 2, pmd, page, LruAdd::UnderEntryLock);
}

// The end of every anonymous fault: under the lock that guards the entry, the page goes in if
// the entry is still empty (folio_add_new_anon_rmap writes the page's mapping, folio_add_lru
// gives it to this CPU's LRU batch, then the entry is written); a racer got there first
// otherwise, and this page's reference goes back (its only one unless a swap-in already gave
// it to the LRU batch, whose move to the list then frees it). Where it
// goes back differs: do_anonymous_page drops it before releasing the PTE lock (its `release:`
// label runs put_page / folio_put and jumps back to the unlock), so a 4 KiB loser's page free
// lengthens the lock's hold for every thread queued behind it; __do_huge_pmd_anonymous_page
// releases the PMD lock first (`unlock_release:`), as does hugetlb_no_page.
bool HostMm::install(Agent& a, uint64_t gfn, unsigned level, Addr entry, Addr page,
                     LruAdd lru) {
  const uint64_t pages = uint64_t(1) << order_of(level);
  SpinLock& lock = pt_.lock_for(gfn, level);
  lock.lock(a);
  if (a.load(entry, MemClass::PageTable) != 0) {
    stats_.race_lost.inc();
    if (level == 1) {
      alloc_.put_page(a, page, 0);
      lock.unlock(a);
    } else {
      lock.unlock(a);
      alloc_.put_page(a, page, order_of(level));
    }
    return false;
  }
  a.store(PageAllocator::mapping_word(page), hva_of(gfn & ~(pages - 1)));
  if (lru == LruAdd::UnderEntryLock) memory_.lru.add(a, page, order_of(level));
  a.store(entry, leaf(page, level, true), MemClass::PageTable);
  lock.unlock(a);
  stats_.installed.inc();
  backed_bytes_ += pages * kPageSize;
  return true;
}

// hugetlb_fault: faults on one huge page serialise on its fault mutex (the kernel hashes the
// mapping and index onto a table of mutexes; the model gives every huge page its own, so
// unrelated pages never collide), so the page is allocated and zeroed once.
void HostMm::hugetlb_fault(Agent& a, uint64_t gfn, unsigned level) {
  RwLock& mutex = hugetlb_mutex(gfn, level);
  mutex.write_lock(a);
  const Addr entry = pt_.entry_for(a, gfn, level);
  const uint64_t e = entry ? a.load(entry, MemClass::PageTable) : 0;
  if (present(e) && !(e & kHuge)) {
    // Tables below (the range was mapped with smaller pages before).
    mutex.write_unlock(a);
    if (level == 3)
      huge_pmd_fault(a, gfn, HostPageTables::Walk{});
    else
      anonymous_fault(a, gfn, HostPageTables::Walk{});
    return;
  }
  if (entry && e == 0) {
    const unsigned order = order_of(level);
    const Addr page = alloc_.alloc(a, order);
    clear_huge_page(a, page, order, unsigned(gfn & ((uint64_t(1) << order) - 1)));
    // The fault mutex keeps racers out: it always goes in. Hugetlb pages are on no LRU list.
    install(a, gfn, level, entry, page, LruAdd::None);
  }
  mutex.write_unlock(a);
}

RwLock& HostMm::hugetlb_mutex(uint64_t gfn, unsigned level) {
  std::unique_ptr<RwLock>& m = hugetlb_mutexes_[(gfn >> order_of(level)) << 2 | level];
  if (!m) m = std::make_unique<RwLock>(hugetlb_mutex_stats_, heap_.alloc());
  return *m;
}

}  // namespace mmusim
