// The host-wide part of the host memory manager, shared by every VMM process (one HostMm each,
// sim/hv/host_mm.hpp): the page allocator (zone, per-CPU lists, struct pages), the memory
// cgroups the VMMs charge their pages to (sim/hv/mem_cgroup.hpp) and the LRU list their pages
// join (sim/hv/page_lru.hpp), so memory
// pressure and the frames KSM shares are the host's, not one VM's; the host.mm.* counters; and
// the bytes of guest memory backed over all VMs (docs/ARCHITECTURE.md, Several VMs).
#pragma once
#include <cstdint>

#include "sim/core/stats_group.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/mem_cgroup.hpp"
#include "sim/hv/page_allocator.hpp"
#include "sim/hv/page_lru.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim {

// What every VMM process's memory-manager work counts, host-wide.
struct HostMmStats : StatsGroup {
  explicit HostMmStats(Stats& s) : StatsGroup(s) {}
  statistics::Counter faults{*this, "host.mm.faults",
                             "host fault handler runs (get_user_pages found no usable PTE)"};
  statistics::Counter lookups{*this, "host.mm.lookups",
                              "host page lookups for a stage-2 fault (hva to host frame)"};
  statistics::Counter gup_fast{*this, "host.mm.gup_fast", "lookups served by GUP's lockless path"};
  statistics::Counter gup_slow{*this, "host.mm.gup_slow",
                               "lookups that took mmap_lock (GUP's slow path)"};
  statistics::Counter installed{*this, "host.mm.pages_installed",
                                "host pages installed by the fault handler"};
  statistics::Counter referenced{*this, "host.mm.page_flags.referenced",
      "locked updates of a page's referenced flag by GUP (GUP-fast's SetPageReferenced, "
      "FOLL_TOUCH's mark_page_accessed)"};
  statistics::Counter race_lost{*this, "host.mm.fault_race_lost",
      "faults that found the entry set by a racer and freed the page they had prepared"};
  statistics::Counter ev_cow{*this, "host.mm.cow_break", "copy-on-write breaks of a host page"};
  statistics::Counter ev_ksm{*this, "host.mm.ksm_merge", "host pages merged by KSM"};
  statistics::Counter ev_migrate{*this, "host.mm.migrate", "host pages migrated to another frame"};
  statistics::Counter ev_swap_out{*this, "host.mm.swap_out", "host pages swapped out"};
  statistics::Counter ev_swap_in{*this, "host.mm.swap_in", "host pages swapped back in"};
  statistics::Counter vma_changes{*this, "host.mm.vma_changes",
      "mmap/munmap calls of the VMM outside guest RAM (mmap_lock held for write)"};
  statistics::Counter ev_balloon{*this, "host.mm.balloon", "host pages given up through the balloon"};
};

struct HostMemory {
  HostMemory(const PageAllocatorParams& p, const MemCgroupParams& m, const PageLruParams& l,
             KernelHeap& heap, PhysMem& phys, Stats& stats)
      : alloc(p, heap, phys, stats), memcg(m, heap, stats), lru(l, alloc, heap, phys, stats),
        stats(stats) {
    alloc.set_memcg(memcg);
    alloc.set_lru(lru);
  }
  PageAllocator alloc;
  MemCgroup memcg;
  PageLru lru;
  HostMmStats stats;
  uint64_t backed_bytes = 0;  // guest memory backed by host pages, over every VM
};

}  // namespace mmusim
