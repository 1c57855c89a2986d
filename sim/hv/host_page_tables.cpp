#include "sim/hv/host_page_tables.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

using namespace host_pte;

HostPageTables::HostPageTables(PageAllocator& alloc, KernelHeap& heap, PhysMem& phys,
                               Stats& stats)
    : alloc_(alloc),
      phys_(phys),
      root_(heap.alloc(kPageSize)),
      page_table_lock_("host.mm.page_table_lock", heap.alloc(), stats),
      ptl_stats_(stats, "host.mm.ptl") {}

// Every entry is read at this thread's true time: a read ahead of it would see what other
// threads wrote depending on how far the quantum let them run (docs/PERFORMANCE.md, the
// quantum guarantee).
HostPageTables::Walk HostPageTables::walk(Agent& a, uint64_t gfn) {
  Addr table = root_;
  for (unsigned level = kTopLevel;; --level) {
    const Addr addr = table + index(gfn, level) * 8;
    const uint64_t e = a.load(addr, MemClass::PageTable);
    if (level == 1 || !present(e) || (e & kHuge)) return Walk{e, level, addr};
    table = address(e);
  }
}

Addr HostPageTables::entry_for(Agent& a, uint64_t gfn, unsigned level) {
  Addr table = root_;
  for (unsigned l = kTopLevel; l > level; --l) {
    const Addr addr = table + index(gfn, l) * 8;
    uint64_t e = a.load(addr, MemClass::PageTable);
    if (!present(e)) {
      // __pte_alloc and its kin: a zeroed page first, then the populate under the lock that
      // guards the entry; a thread that finds it populated meanwhile frees its page.
      const Addr page = alloc_.alloc(a, 0);
      a.zero_lines(page, kPageSize);
      SpinLock& lock = lock_for(gfn, l);
      lock.lock(a);
      e = a.load(addr, MemClass::PageTable);
      if (!present(e)) {
        e = page | kPresent | kWritable;
        a.store(addr, e, MemClass::PageTable);
        lock.unlock(a);
      } else {
        lock.unlock(a);
        alloc_.put_page(a, page, 0);
      }
    }
    if (e & kHuge) return 0;
    table = address(e);
  }
  return table + index(gfn, level) * 8;
}

Addr HostPageTables::table_functional(uint64_t gfn, unsigned level) const {
  Addr table = root_;
  for (unsigned l = kTopLevel; l > level; --l) {
    const uint64_t e = phys_.read64(table + index(gfn, l) * 8);
    if (!present(e) || (e & kHuge)) return 0;
    table = address(e);
  }
  return table;
}

SpinLock& HostPageTables::lock_for(uint64_t gfn, unsigned level) {
  if (level > 2) return page_table_lock_;
  const Addr table = table_functional(gfn, level);
  if (!table) throw ModelError("host page tables: a lock of a table that does not exist");
  return lock_of_table(table);
}

SpinLock& HostPageTables::lock_of_table(Addr table) {
  std::unique_ptr<SpinLock>& l = table_locks_[table];
  // The split lock lives in the table page's struct page (its ptl field), next to its refcount.
  if (!l) l = std::make_unique<SpinLock>(ptl_stats_, PageAllocator::page_struct(table) + 40);
  return *l;
}

void HostPageTables::set_functional(uint64_t gfn, unsigned level, uint64_t entry) {
  Addr table = root_;
  for (unsigned l = kTopLevel; l > level; --l) {
    uint64_t* w = phys_.word(table + index(gfn, l) * 8);
    if (!present(*w) || (*w & kHuge)) {
      const Addr page = alloc_.alloc_functional(0);
      phys_.zero_page(page);
      *w = page | kPresent | kWritable;
    }
    table = address(*w);
  }
  *phys_.word(table + index(gfn, level) * 8) = entry;
}

uint64_t HostPageTables::get_functional(uint64_t gfn, unsigned level) const {
  const Addr table = table_functional(gfn, level);
  return table ? phys_.read64(table + index(gfn, level) * 8) : 0;
}

}  // namespace mmusim
