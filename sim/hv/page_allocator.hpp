// The host kernel's page allocator as the faulting thread runs it (mm/page_alloc.c), every step
// a simulated memory operation so its contention emerges:
// - each host frame has a struct page: one 64-byte line of the vmemmap holding its flags, its
//   free-list link, its rmap fields and its reference count (get_page / put_page are atomic
//   adds on it, GUP's lockless grab a compare-and-exchange loop, so threads that share a page
//   bounce its line);
// - order-0 pages come from the allocating CPU's per-CPU list (struct per_cpu_pages, one line
//   per CPU); an empty list is refilled with `pcp_batch` pages taken from the zone's free lists
//   under zone->lock (rmqueue_bulk), and a list grown past `pcp_high` by frees gives `pcp_batch`
//   pages back under the same lock (free_pcppages_bulk);
// - higher orders (THP, 1 GiB pages) come from the zone under zone->lock.
// Frames are handed out from one zone that never runs dry (memory pressure is the host events'
// business, sim/hv/host_mm.hpp).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/mem_cgroup.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

class PageLru;

struct PageAllocatorParams {
  unsigned pcp_batch = 63;  // pages moved between a per-CPU list and the zone at once
  unsigned pcp_high = 378;  // a per-CPU list longer than this gives a batch back
  Addr first_frame = phys_layout::kDataBase + (Addr(1) << 30);  // frame 0 region kept unused
};

class PageAllocator {
 public:
  PageAllocator(const PageAllocatorParams& p, KernelHeap& heap, PhysMem& phys, Stats& stats);

  // The struct page line of a frame (its head page for a compound page).
  static Addr page_struct(Addr hpa) { return kVmemmap + (hpa >> kPageShift) * kLineSize; }
  static Addr refcount_word(Addr hpa) { return page_struct(hpa) + kRefcountOffset; }
  static Addr mapping_word(Addr hpa) { return page_struct(hpa) + kMappingOffset; }
  // page->lru: a free page's link in a free list here, an in-use page's in the LRU list
  // (sim/hv/page_lru.hpp).
  static Addr lru_word(Addr hpa) { return page_struct(hpa) + kLruOffset; }
  // page->memcg_data: the memory cgroup a page is charged to (sim/hv/mem_cgroup.hpp), 0 if none.
  static Addr memcg_word(Addr hpa) { return page_struct(hpa) + kMemcgOffset; }
  // page->flags, and the one flag the model uses, PG_referenced (include/linux/page-flags.h;
  // its bit number differs between releases, which changes nothing here: only the line counts).
  static Addr flags_word(Addr hpa) { return page_struct(hpa) + kFlagsOffset; }
  static constexpr uint64_t kPgReferenced = uint64_t(1) << 1;
  static constexpr uint64_t kPgLru = uint64_t(1) << 4;  // on an LRU list

  // A page of 2^order frames, aligned to its size, with its reference count set to 1; timed in
  // the calling thread. Its contents are whatever the frame held: callers zero it.
  Addr alloc(Agent& a, unsigned order);
  // Gives a page whose last reference is gone back (free_unref_page / __free_pages).
  void free(Agent& a, Addr hpa, unsigned order);
  // The memory cgroups whose charge put_page drops with a page's last reference.
  void set_memcg(MemCgroup& m) { memcg_ = &m; }
  // The LRU list put_page takes a page off with its last reference.
  void set_lru(PageLru& l) { lru_ = &l; }
  // Reference counting on the (head) page: get_page, and put_page that frees the page when it
  // dropped the last reference (returns true then), uncharging it first if it was charged.
  void get_page(Agent& a, Addr head);
  bool put_page(Agent& a, Addr head, unsigned order);
  // GUP's lockless grab (try_grab_folio -> folio_ref_try_add -> atomic_add_unless(count, 1, 0)):
  // no lock keeps the page from being freed meanwhile, so the count is read and replaced by a
  // compare-and-exchange, retried with the value it found, and never raised from 0 (returns
  // false then). x86 has no add-unless instruction and takes the kernel's generic fallback,
  // this loop (include/linux/atomic/atomic-arch-fallback.h, raw_atomic_fetch_add_unless), so
  // every exchange lost to another CPU costs one more trip of the line.
  bool try_get_page(Agent& a, Addr head);

  // Untimed, for the harness that prepares memory before the run: a page with refcount 1.
  Addr alloc_functional(unsigned order);
  void set_refcount_functional(Addr head, uint64_t count) {
    *phys_.word(refcount_word(head)) = count;
  }
  uint64_t refcount(Addr head) const { return phys_.read64(refcount_word(head)); }

 private:
  // The vmemmap sits 4 GiB into the kernel window, above everything KernelHeap hands out.
  static constexpr Addr kVmemmap = phys_layout::kKernelBase + (Addr(4) << 30);
  static constexpr Addr kFlagsOffset = 0, kLruOffset = 8, kMappingOffset = 24, kMemcgOffset = 48,
                        kRefcountOffset = 56;
  MemCgroup* memcg_ = nullptr;
  PageLru* lru_ = nullptr;
  struct PerCpuPages {
    Addr line = 0;                  // count and list head
    std::vector<Addr> pages;        // the list (LIFO: the most recently freed page first)
  };
  PerCpuPages& pcp(Agent& a);
  Addr take_from_zone(unsigned order);   // C++ side of the zone's free lists
  void give_to_zone(Addr hpa, unsigned order);
  const PageAllocatorParams p_;
  KernelHeap& heap_;
  PhysMem& phys_;
  Addr zone_free_area_;  // the zone's free_area counters (nr_free), beside its lock
  SpinLock zone_lock_;
  std::unordered_map<int, PerCpuPages> pcps_;  // by physical CPU
  std::map<unsigned, std::vector<Addr>> zone_free_;  // by order
  Addr next_frame_;
  struct AllocStats : StatsGroup {
    explicit AllocStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter allocs{*this, "host.mm.alloc.pages",
                               "pages allocated by the host page allocator (any order)"};
    statistics::Counter frees{*this, "host.mm.alloc.frees", "pages freed to the host allocator"};
    statistics::Counter refills{*this, "host.mm.alloc.pcp_refills",
                                "per-CPU list refills from the zone (rmqueue_bulk)"};
    statistics::Counter drains{*this, "host.mm.alloc.pcp_drains",
                               "per-CPU list batches given back to the zone"};
    statistics::Counter gets{*this, "host.mm.refcount.get", "page reference count increments"};
    statistics::Counter puts{*this, "host.mm.refcount.put", "page reference count decrements"};
    statistics::Counter try_get_retries{
        *this, "host.mm.refcount.try_get_retries",
        "compare-and-exchanges GUP's lockless grab lost to another CPU"};
  } stats_;
};

}  // namespace mmusim
