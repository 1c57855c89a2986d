// The VMM process's page tables over guest RAM, in simulated memory: what get_user_pages walks
// and what the host's fault handler fills. Four levels as x86-64 Linux with 4-level paging: the
// top page (512 GiB entries, present from the start), then PUD pages (1 GiB entries), PMD pages
// (2 MiB entries) and PTE pages (4 KiB entries) allocated on first touch from the host page
// allocator and zeroed, as __pud_alloc / __pmd_alloc / __pte_alloc do. A PMD or PUD entry may
// be a leaf (a THP or a 1 GiB hugetlb page). Guest frame g sits at HostMm::hva_of(g); the tables
// are indexed by g alone, as the mapping's offset is a whole number of 512 GiB entries.
//
// Locks (include/linux/mm.h, split page-table locks): each PTE page has its own spinlock (its
// struct page's ptl) and so has each PMD page (split PMD locks, which x86-64 enables); the PUD
// level is guarded by mm->page_table_lock.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "sim/core/types.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/page_allocator.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/lock_stats.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// Host page-table entry encoding (the x86 bits Linux uses).
namespace host_pte {
constexpr uint64_t kPresent = 1, kWritable = 2, kHuge = uint64_t(1) << 7;
constexpr uint64_t kAddrMask = ~uint64_t(0xfff) & ((uint64_t(1) << 52) - 1);
inline bool present(uint64_t e) { return e & kPresent; }
inline bool writable(uint64_t e) { return e & kWritable; }
inline Addr address(uint64_t e) { return e & kAddrMask; }
inline uint64_t leaf(Addr hpa, unsigned level, bool writable) {
  return hpa | kPresent | (writable ? kWritable : 0) | (level > 1 ? kHuge : 0);
}
}  // namespace host_pte

class HostPageTables {
 public:
  HostPageTables(PageAllocator& alloc, KernelHeap& heap, PhysMem& phys, Stats& stats);
  static constexpr unsigned kTopLevel = 4;

  // Where a walk stopped: the entry that is a leaf or not present, at `level` (4: top, 3: PUD,
  // 2: PMD, 1: PTE), and its address.
  struct Walk {
    uint64_t entry = 0;
    unsigned level = 4;
    Addr entry_addr = 0;
  };
  // Lockless walk (GUP fast, or the first look of follow_page): loads from the top down.
  Walk walk(Agent& a, uint64_t gfn);
  // The address of gfn's entry at `level` (3, 2 or 1), allocating the tables above it on the
  // way as the fault handler does (a lost populate race frees its page); 0 when a huge leaf
  // above covers gfn.
  Addr entry_for(Agent& a, uint64_t gfn, unsigned level);
  // The lock guarding gfn's entry at `level`: the PTE page's or the PMD page's split lock, or
  // mm->page_table_lock for a PUD entry. The tables above must exist.
  SpinLock& lock_for(uint64_t gfn, unsigned level);

  // Untimed: sets gfn's entry at `level` (creating tables), for the harness and the host's
  // functional events.
  void set_functional(uint64_t gfn, unsigned level, uint64_t entry);
  // Untimed read of gfn's entry at `level`; 0 when a table above is missing.
  uint64_t get_functional(uint64_t gfn, unsigned level) const;

 private:
  static unsigned index(uint64_t gfn, unsigned level) {
    return unsigned((gfn >> (9 * (level - 1))) & 511);
  }
  // The table holding gfn's entries at `level`, or 0 (untimed, from the entries above).
  Addr table_functional(uint64_t gfn, unsigned level) const;
  SpinLock& lock_of_table(Addr table);
  PageAllocator& alloc_;
  PhysMem& phys_;
  Addr root_;  // the top table, from the kernel heap
  SpinLock page_table_lock_;
  LockStats ptl_stats_;  // every split PTE/PMD lock reports here ("host.mm.ptl")
  std::unordered_map<Addr, std::unique_ptr<SpinLock>> table_locks_;  // by table page
};

}  // namespace mmusim
