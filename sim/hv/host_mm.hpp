// The host memory manager as the hypervisor sees it: it resolves a guest frame number to the
// host frame that backs it (hva_to_pfn / get_user_pages) as the host kernel does, every step a
// simulated memory operation by the faulting thread, so its contention emerges from the caches
// and DRAM (docs/ARCHITECTURE.md, "Host memory manager"):
// - GUP's lockless fast path walks the VMM's page tables (host_page_tables.hpp) and, when the
//   entry is present (and writable for a write), takes a reference on the page (a read and a
//   compare-and-exchange loop on the count in its struct page line, never raising it from 0:
//   PageAllocator::try_get_page) and re-reads the entry;
// - otherwise the slow path takes mmap_lock for read, looks the entry up under its split page
//   table lock, and runs the host fault handler until the page is there;
// - the fault handler allocates a page (page_allocator.hpp), clears it with ordinary stores
//   that leave it in the faulting CPU's caches, and installs it under the page-table lock; a
//   thread that finds the entry set by a racer meanwhile frees its own page and uses the
//   racer's (do_anonymous_page);
// - KVM drops its reference (release) once the page is mapped.
//
// Backing size: each backing page is `backing_level` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB; 2 MiB from
// THP or hugetlbfs, 1 GiB from hugetlbfs: --backing) by default; tests and host events may
// change the level of a range, which is what lets the hypervisor map a huge page over a range
// it earlier mapped with small pages, and vice versa. KVM maps a gfn at most at the level of
// the host leaf that resolve() found (host_pfn_mapping_level reads the host page tables).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <systemc>
#include <unordered_map>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/host_memory.hpp"
#include "sim/hv/host_page_tables.hpp"
#include "sim/hv/host_pte.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/page_allocator.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/rwlock.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

struct HostPage {
  Addr hpa = 0;         // host physical address of the frame backing the gfn's 4 KiB page
  unsigned level = 1;   // size of the host backing page it sits in (1, 2 or 3)
  bool writable = true;
};

// The host mm's MMU-notifier subscriber (KVM registers one per VM): called around every change
// to the VMM's mappings of guest RAM, in the thread that makes the change. Ranges are host virtual
// addresses [start, end).
class HostMmNotifier {
 public:
  virtual ~HostMmNotifier() = default;
  virtual void invalidate_range_start(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual void invalidate_range_end(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual void change_pte(Agent& a, Addr hva, const HostPte& pte) = 0;
  virtual bool clear_flush_young(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual bool clear_young(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual bool test_young(Agent& a, Addr hva) = 0;
};

// What the host memory manager is built from (app/params_hardware.cpp fills it).
struct HostMmParams {
  unsigned backing_level = 1;     // backing of guest RAM by default: 1 (4K), 2 (2M), 3 (1G)
  // Huge backing pages come from hugetlbfs (a fault mutex per page, never split by the host)
  // rather than THP (faulted under the PMD lock, falling back to 4K where a table is).
  bool hugetlb = false;
  // The fault handler's own work besides the memory operations the model performs (entry,
  // VMA checks, rmap and per-CPU counters; docs/CALIBRATION.md derives it).
  Cycles host_page_fault = 1724;
  Cycles host_pte_update = 260;    // changing one host PTE (with rmap walk)
  Cycles host_page_copy = 1040;    // copying one 4 KiB page (COW break, KSM, migration)
  Cycles host_swap_io = 20800;     // one page written to or read from swap
  PageAllocatorParams alloc;
  MemCgroupParams memcg;
  PageLruParams lru;
};

class HostMm {
 public:
  // A host with one VMM process: it owns the host-wide part too.
  HostMm(const HostMmParams& p, KernelHeap& heap, PhysMem& phys, Stats& stats);
  // One VMM process's mm (its page tables, mmap_lock, MMU notifier) over the host-wide part
  // `shared` (page allocator, host.mm.* counters) that every VM's HostMm uses; the mm's own
  // locks report to `stats` (docs/ARCHITECTURE.md, Several VMs).
  HostMm(const HostMmParams& p, KernelHeap& heap, PhysMem& phys, HostMemory& shared,
         Stats& stats);

  // Timed resolution in the calling thread (outside any hypervisor lock): returns with a
  // reference on the page, which the caller drops with release() once it mapped the page
  // (kvm_release_pfn_clean).
  HostPage resolve(Agent& a, uint64_t gfn, bool write);
  void release(Agent& a, const HostPage& page);
  // A kernel access to the page through the VMM's mapping (copy_from_user / copy_to_user, as
  // KVM reads and writes guest memory): the MMU finds a present host PTE, or the access faults
  // it in under mmap_lock; no reference is taken.
  HostPage user_access(Agent& a, uint64_t gfn, bool write);
  // Untimed resolution for the harness that prepares the guest before the run.
  HostPage resolve_functional(uint64_t gfn);
  // The backing of a gfn if it was ever touched (for the oracle); hpa 0 level 0 when not.
  HostPage lookup(uint64_t gfn) const;
  // The host-wide part this process's mm works on (allocator, memory cgroups).
  const HostMemory& memory() const { return memory_; }
  // The split lock guarding gfn's entry at `level` (the tables above must exist), for checks
  // of which code runs under it.
  const SpinLock& page_table_lock(uint64_t gfn, unsigned level) { return pt_.lock_for(gfn, level); }
  // Sets the backing level for gfns in [gfn, gfn + count) not yet backed.
  void set_backing_level(uint64_t gfn, uint64_t count, unsigned level);
  // Host events on huge backing pages (what THP does):
  // split_backing: the huge backing page containing gfn becomes small pages over the same
  //   frames (a THP split); returns false if gfn has no huge backing, or its page has a
  //   reference besides its mapping's (the kernel's split fails then; the host event that
  //   needed it does nothing).
  // collapse_backing: the small backing pages of the `level`-sized range containing gfn are
  //   replaced by one new huge page (khugepaged copies into a fresh frame).
  bool split_backing(uint64_t gfn);
  void collapse_backing(uint64_t gfn, unsigned level);
  uint64_t backed_bytes() const { return backed_bytes_; }  // over every VM

  // --- Host memory-manager events -------------------------------------------------
  // Guest RAM is one anonymous mapping of the VMM at kGuestRamHva (guest frame g at
  // kGuestRamHva + g * 4 KiB), as QEMU maps a RAM block; memslots describe the same layout.
  static constexpr Addr kGuestRamHva = Addr(0x7f00) << 32;
  static Addr hva_of(uint64_t gfn) { return kGuestRamHva + (gfn << kPageShift); }
  // The MMU-notifier subscriber; null (the default, and --mips-sync-mmu off): host changes are
  // made without telling KVM, as before KVM_CAP_SYNC_MMU.
  void set_notifier(HostMmNotifier* n) { notifier_ = n; }
  HostMmNotifier* notifier() const { return notifier_; }
  // Each event runs in the calling host thread, pays its host-side work, and raises the
  // notifiers around the change as Linux does. Each returns false (doing nothing) when gfn has
  // no backing. A huge backing page is split first (THP split before a 4 KiB change).
  // cow_break: the page gets a private copy in a new frame, writable.
  bool cow_break(Agent& a, uint64_t gfn);
  // ksm_merge: the page is merged onto the shared read-only frame `shared` (new_shared_frame).
  bool ksm_merge(Agent& a, uint64_t gfn, Addr shared);
  Addr new_shared_frame();
  // migrate: the contents move to a new frame; permissions stay.
  bool migrate(Agent& a, uint64_t gfn);
  // swap_out: written to swap and freed; the next resolve swaps it in (new frame).
  bool swap_out(Agent& a, uint64_t gfn);
  // balloon: the guest gave the page back (MADV_DONTNEED); the next resolve gets a zero page.
  bool balloon(Agent& a, uint64_t gfn);
  // unmap_range: MADV_DONTNEED over [gfn, gfn + count) (a balloon inflating by a whole range,
  // zap_page_range): ONE invalidation around dropping every backed page of it, so KVM sees the
  // whole range at once (and may free GPA tables it covers). Returns the pages dropped.
  uint64_t unmap_range(Agent& a, uint64_t gfn, uint64_t count);
  // mmap or munmap by the VMM of a range outside guest RAM (a buffer, a thread's stack): no
  // guest page changes, but the VMA tree does, under mmap_lock held for write, so GUP's slow
  // path and faulting kernel accesses wait meanwhile.
  void vma_change(Agent& a);
  // Idle page tracking: clear_young / test_young on the page through the notifier (false when
  // no notifier: the host cannot see guest accesses at all then).
  bool clear_young(Agent& a, uint64_t gfn);
  bool test_young(Agent& a, uint64_t gfn);
  bool swapped(uint64_t gfn) const { return swapped_.count(gfn) != 0; }

 private:
  HostMm(const HostMmParams& p, KernelHeap& heap, PhysMem& phys, std::unique_ptr<HostMemory> own,
         HostMemory* shared, Stats& stats);
  unsigned level_of(uint64_t gfn) const;
  static unsigned order_of(unsigned level) { return 9 * (level - 1); }
  // Whether the entry at `level` maps a page an access may use: a present PTE or huge leaf,
  // writable for a write (GUP's check, the fault handler's and a kernel access's).
  static bool usable(uint64_t entry, unsigned level, bool write);
  // GUP's lockless path; false when the slow path must run.
  bool gup_fast(Agent& a, uint64_t gfn, bool write, HostPage& out);
  // follow_page under mmap_lock: takes a reference if gfn's page is there (and writable for a
  // write), with FOLL_TOUCH (get_user_pages_unlocked sets it).
  bool follow_page(Agent& a, uint64_t gfn, bool write, HostPage& out);
  // The page-flag updates of GUP (docs/ARCHITECTURE.md, Host memory manager: GUP).
  void set_page_referenced(Agent& a, Addr page);
  void mark_page_accessed(Agent& a, Addr page);
  // handle_mm_fault for gfn (host_fault.cpp): installs a page, breaks COW, or finds a racer's.
  void handle_fault(Agent& a, uint64_t gfn, bool write);
  // `w`: the fault's walk; where it reached the entry's level, its address and value are used
  // as __handle_mm_fault passes them down (vmf->pte, vmf->orig_pmd) instead of a second walk.
  void anonymous_fault(Agent& a, uint64_t gfn, const HostPageTables::Walk& w);  // do_anonymous_page
  void huge_pmd_fault(Agent& a, uint64_t gfn, const HostPageTables::Walk& w);  // do_huge_pmd_anonymous_page
  void hugetlb_fault(Agent& a, uint64_t gfn, unsigned level);  // hugetlb_fault
  // Where a new page joins the LRU list (sim/hv/page_lru.hpp) on its way into a mapping:
  // under the lock of the entry it goes into (do_anonymous_page, the THP fault, wp_page_copy),
  // after that lock (migration's putback), or not there (a hugetlb page never does; a swap-in
  // page was added before its read; KSM's stable page is on the list already).
  enum class LruAdd { UnderEntryLock, AfterEntryLock, None };
  // Puts a new page of `level` into gfn's empty entry under its lock; false (the page freed)
  // when a racer filled the entry first.
  bool install(Agent& a, uint64_t gfn, unsigned level, Addr entry, Addr page, LruAdd lru);
  // mem_cgroup_charge of a new page of this process (sim/hv/mem_cgroup.hpp).
  void charge(Agent& a, Addr page, unsigned order) {
    memory_.memcg.charge(a, PageAllocator::memcg_word(page), uint64_t(1) << order);
  }
  RwLock& hugetlb_mutex(uint64_t gfn, unsigned level);
  // Whether gfn has a 4 KiB backing page, splitting a huge page first.
  bool small_backing(uint64_t gfn);
  // Replaces gfn's frame under the notifiers: start, copy, change_pte, end.
  void replace_frame(Agent& a, uint64_t gfn, Addr frame, bool writable, bool young, bool dirty,
                     Cycles work, LruAdd lru);
  // Clears gfn's PTE under its lock and drops the mapping's reference; returns the old entry.
  uint64_t clear_pte(Agent& a, uint64_t gfn);
  void drop_backing(Agent& a, uint64_t gfn, Cycles work);
  HostMmNotifier* notifier_ = nullptr;
  std::set<uint64_t> swapped_;
  const HostMmParams p_;
  std::map<uint64_t, std::pair<uint64_t, unsigned>> level_ranges_;  // start -> (end, level)
  PhysMem& phys_;
  std::unique_ptr<HostMemory> own_memory_;  // a HostMm built alone owns the host-wide part
  HostMemory& memory_;
  PageAllocator& alloc_;
  HostPageTables pt_;
  RwLock mmap_lock_;
  Addr vma_word_;  // the VMA tree's root as find_vma reads it
  // What a VMA tree update writes besides the root: the new leaf node (a 256-byte maple node)
  // and the vm_area_struct (three lines). Allocated on the first update; reused after, as the
  // slab hands the same objects back.
  std::vector<Addr> vma_update_lines_;
  LockStats hugetlb_mutex_stats_;
  std::unordered_map<uint64_t, std::unique_ptr<RwLock>> hugetlb_mutexes_;  // by huge page
  KernelHeap& heap_;
  uint64_t& backed_bytes_;  // host-wide
  HostMmStats& stats_;  // host-wide (HostMemory)
};

}  // namespace mmusim
