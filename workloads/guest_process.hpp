// Guest process lifetimes for the guest-pt-churn workload: the guest kernel of one
// vCPU creating page tables for a process (exec), copying a parent's for a child (fork, with
// copy-on-write), breaking COW on a write, and tearing a process's tables down (exit, or the
// old image of an exec). Every table store is a GuestPteWrite op through the guest's direct
// map, so under shadow paging it meets write-protected or unsync shadow pages; nothing here
// writes guest memory itself. Table pages come from and go back to a free list of the
// vCPU's own (one per vCPU: the ops of different vCPUs run in no fixed order). A freed table
// page is all zeros (its entries were cleared before it was freed, as Linux's teardown
// leaves them), so it can be handed out again as a table without clearing; a freed page may
// be reused at once as a data page, written through the direct map while the hypervisor may
// still shadow it (what KVM's write-flooding detection is for).
#pragma once
#include <cstdint>
#include <deque>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/cpu/op.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

// One guest process: 4-level tables over the data window (GuestLayout::kDataGva).
struct GuestProcess {
  uint64_t root_gfn = 0, pdpt_gfn = 0, pd_gfn = 0;
  std::vector<uint64_t> pt_gfn;  // last-level table of each 2 MiB of the window
  std::vector<bool> mapped;      // per 4 KiB page of the window
  std::vector<uint32_t> mapped_list;  // pages currently mapped (random choice)
  std::vector<bool> cow;         // mapped read-only by a fork; a write breaks COW first
  std::vector<Addr> frame;       // guest frame a mapped page maps (its own, or a parent's)
  Addr data_gpa = 0;             // the process's own frames: data_gpa + page * 4 KiB
  // The last `huge_regions` 2 MiB regions of the window are guest 2 MiB pages (no page
  // table: pt_gfn is 0 there; always mapped, never in mapped_list).
  unsigned huge_regions = 0;
  Addr own_frame(uint64_t page) const { return data_gpa + (page << kPageShift); }
  uint64_t small_pages() const { return mapped.size() - uint64_t(huge_regions) * 512; }
};

// What the guest did, published as churn.* by the workload.
struct ChurnCounters {
  uint64_t pte_writes = 0, cr3_loads = 0, tlb_flushes = 0, invlpgs = 0, data_accesses = 0;
  uint64_t forks = 0, execs = 0, cow_protects = 0, cow_breaks = 0;
  uint64_t tables_allocated = 0, tables_freed = 0, tables_reused_as_data = 0;
};

struct GuestProcessParams {
  uint64_t churn_proc_bytes = 64ull << 20;  // data window of one process (4 KiB pages)
  double churn_reuse_data = 0.5;  // probability a freed table page is reused as data at once
  // Stores the guest makes to a freed table page it reuses as data (the first stores of
  // clearing it, 512 bytes apart): enough to take a shadowed directory past KVM's flooding
  // threshold and, after the zap, one store through the writable mapping. At most 8.
  unsigned reuse_stores = 4;
  uint64_t seed = 1;              // the choice of freed pages reused as data
};

class GuestProcessOps {
 public:
  static constexpr Addr kDirectMapGva = Addr(0x08) << 36;  // maps every guest table page

  // `dm_entry`: the root entry (index `dm_idx`) every process shares for the direct map.
  // Ops go to the back of `q`; `vcpu` seeds the random choice of freed pages reused as data
  // (a stream of its own, so --churn-reuse-data leaves the workload's other choices alone).
  GuestProcessOps(const GuestProcessParams& p, const PageTableFormat& fmt, uint64_t dm_entry,
                  unsigned dm_idx, std::deque<uint64_t>& free_tables, ChurnCounters& n,
                  std::deque<Op>& q, unsigned vcpu);

  static Addr pte_gva(uint64_t table_gfn, unsigned idx) {
    return PtIter::entry_at(kDirectMapGva + (table_gfn << kPageShift), idx);
  }
  uint64_t leaf(Addr frame, bool writable) const;
  // A PTE store through the direct map.
  void write(uint64_t table_gfn, unsigned idx, uint64_t e);
  void map(GuestProcess& p, uint64_t page);    // own frame, writable
  void unmap(GuestProcess& p, uint64_t page);

  // New, empty tables for `p` (root, PDPT, PD, every PT) linked top-down (exec's new mm, or
  // a fork's child). For an exec the caller then maps pages, loads the new CR3 and tears
  // down the old tables.
  void create(GuestProcess& p);
  // fork: `child` (its slot's old tables torn down by the caller) gets new tables holding
  // the parent's 4 KiB mappings read-only (its 2 MiB pages are not copied); the parent's writable
  // PTEs become read-only too (copy_page_range with ptep_set_wrprotect), then the parent's TLB is
  // flushed (flush_tlb_mm; the parent is the current process).
  void fork(GuestProcess& parent, GuestProcess& child);
  // The write fault on a COW page of the current process (do_wp_page): the PTE maps the
  // process's own frame writable again and the old translation is invalidated (INVLPG). The
  // guest's #PF itself (which KVM reflects to the guest) is not modelled: the workload never
  // makes a store the guest tables forbid.
  void break_cow(GuestProcess& p, uint64_t page);
  // exit_mmap: every PTE cleared, then each table unlinked from its parent and freed, the
  // root last (its direct-map entry cleared too, which stands for the zeroing a reused page
  // gets). The process must not be the current one.
  void teardown(GuestProcess& p);

 private:
  uint64_t alloc_table();
  void free_table(uint64_t gfn);

  GuestProcessParams p_;
  const PageTableFormat& fmt_;
  uint64_t dm_entry_;
  unsigned dm_idx_;
  std::deque<uint64_t>& free_;
  ChurnCounters& n_;
  std::deque<Op>& q_;
  Rng rng_;
};

}  // namespace mmusim
