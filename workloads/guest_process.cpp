#include "workloads/guest_process.hpp"

#include <algorithm>

#include "sim/core/error.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

GuestProcessOps::GuestProcessOps(const GuestProcessParams& p, const PageTableFormat& fmt,
                                 uint64_t dm_entry, unsigned dm_idx,
                                 std::deque<uint64_t>& free_tables, ChurnCounters& n,
                                 std::deque<Op>& q, unsigned vcpu)
    : p_(p), fmt_(fmt), dm_entry_(dm_entry), dm_idx_(dm_idx), free_(free_tables), n_(n),
      q_(q), rng_(p.seed, 0x2e05e + vcpu) {
  // The stores are 512 bytes apart within the freed 4 KiB page.
  if (p_.reuse_stores > kPageSize / 512)
    throw UsageError("guest-pt-churn: reuse_stores " + std::to_string(p_.reuse_stores) +
                     " stores 512 bytes apart do not fit in a 4 KiB page");
}

uint64_t GuestProcessOps::leaf(Addr frame, bool writable) const {
  // Accessed set from the start, as Linux's user page protections have it (_PAGE_ACCESSED).
  return fmt_.make_leaf(frame, 1, Perms{true, writable, false}, true, false);
}

void GuestProcessOps::write(uint64_t table_gfn, unsigned idx, uint64_t e) {
  Op o;
  o.kind = Op::Kind::GuestPteWrite;
  o.gva = pte_gva(table_gfn, idx);
  o.value = e;
  q_.push_back(o);
  ++n_.pte_writes;
}

void GuestProcessOps::map(GuestProcess& p, uint64_t page) {
  write(p.pt_gfn[page / 512], unsigned(page % 512), leaf(p.own_frame(page), true));
  p.mapped[page] = true;
  p.cow[page] = false;
  p.frame[page] = p.own_frame(page);
  p.mapped_list.push_back(uint32_t(page));
}

void GuestProcessOps::unmap(GuestProcess& p, uint64_t page) {
  write(p.pt_gfn[page / 512], unsigned(page % 512), 0);
  p.mapped[page] = false;
  p.cow[page] = false;
  for (auto& m : p.mapped_list)
    if (m == page) {
      m = p.mapped_list.back();
      p.mapped_list.pop_back();
      break;
    }
}

uint64_t GuestProcessOps::alloc_table() {
  if (free_.empty()) throw ModelError("guest-pt-churn: the guest ran out of page-table pages");
  const uint64_t g = free_.front();
  free_.pop_front();
  ++n_.tables_allocated;
  return g;
}

void GuestProcessOps::free_table(uint64_t gfn) {
  ++n_.tables_freed;
  if (p_.churn_reuse_data > 0 && rng_.uniform() < p_.churn_reuse_data) {
    // Reused as a data page (and freed again right after): the guest's stores go through the
    // direct map like any data store. A data store carries no value in this model; the page
    // keeps its zeros (see Vcpu::stage2_fault_exit for the emulated ones).
    ++n_.tables_reused_as_data;
    for (unsigned i = 0; i < p_.reuse_stores; ++i) {
      Op a;
      a.kind = Op::Kind::Access;
      a.access = Access::Write;
      a.gva = kDirectMapGva + (gfn << kPageShift) + i * 512;
      q_.push_back(a);
    }
  }
  free_.push_back(gfn);
}

void GuestProcessOps::create(GuestProcess& p) {
  const uint64_t pages = p_.churn_proc_bytes >> kPageShift;
  const Addr w = GuestLayout::kDataGva;
  p.root_gfn = alloc_table();
  p.pdpt_gfn = alloc_table();
  p.pd_gfn = alloc_table();
  p.pt_gfn.clear();
  for (uint64_t k = 0; k < pages / 512; ++k) p.pt_gfn.push_back(alloc_table());
  // pgd_alloc copies the kernel half (the direct map) into the new root; then the user
  // tables are linked top-down as they are allocated.
  write(p.root_gfn, dm_idx_, dm_entry_);
  write(p.root_gfn, fmt_.index(w, 4), fmt_.make_table(p.pdpt_gfn << kPageShift));
  write(p.pdpt_gfn, fmt_.index(w, 3), fmt_.make_table(p.pd_gfn << kPageShift));
  for (uint64_t k = 0; k < p.pt_gfn.size(); ++k)
    write(p.pd_gfn, fmt_.index(w + (k << 21), 2), fmt_.make_table(p.pt_gfn[k] << kPageShift));
  p.mapped.assign(pages, false);
  p.cow.assign(pages, false);
  p.frame.assign(pages, 0);
  p.mapped_list.clear();
  p.huge_regions = 0;
}

void GuestProcessOps::fork(GuestProcess& parent, GuestProcess& child) {
  ++n_.forks;
  create(child);
  std::vector<uint32_t> order = parent.mapped_list;  // copy_pte_range: in address order
  std::sort(order.begin(), order.end());
  for (uint32_t page : order) {
    if (!parent.cow[page]) {  // ptep_set_wrprotect on the parent's private writable PTE
      write(parent.pt_gfn[page / 512], page % 512, leaf(parent.frame[page], false));
      parent.cow[page] = true;
      ++n_.cow_protects;
    }
    write(child.pt_gfn[page / 512], page % 512, leaf(parent.frame[page], false));
    child.mapped[page] = true;
    child.cow[page] = true;
    child.frame[page] = parent.frame[page];
  }
  child.mapped_list = parent.mapped_list;
  Op f;
  f.kind = Op::Kind::GuestTlbFlush;
  q_.push_back(f);
  ++n_.tlb_flushes;
}

void GuestProcessOps::break_cow(GuestProcess& p, uint64_t page) {
  ++n_.cow_breaks;
  write(p.pt_gfn[page / 512], unsigned(page % 512), leaf(p.own_frame(page), true));
  p.cow[page] = false;
  p.frame[page] = p.own_frame(page);
  Op f;
  f.kind = Op::Kind::GuestInvlpg;
  f.gva = GuestLayout::kDataGva + (page << kPageShift);
  q_.push_back(f);
  ++n_.invlpgs;
}

void GuestProcessOps::teardown(GuestProcess& p) {
  const Addr w = GuestLayout::kDataGva;
  std::vector<uint32_t> order = p.mapped_list;  // zap_pte_range: in address order
  std::sort(order.begin(), order.end());
  for (uint32_t page : order) write(p.pt_gfn[page / 512], page % 512, 0);
  // free_pgtables: each table is cleared from its parent, then freed.
  for (uint64_t k = 0; k < p.pt_gfn.size(); ++k) {
    write(p.pd_gfn, fmt_.index(w + (k << 21), 2), 0);
    if (p.pt_gfn[k]) free_table(p.pt_gfn[k]);  // none behind a guest 2 MiB page
  }
  write(p.pdpt_gfn, fmt_.index(w, 3), 0);
  free_table(p.pd_gfn);
  write(p.root_gfn, fmt_.index(w, 4), 0);
  free_table(p.pdpt_gfn);
  write(p.root_gfn, dm_idx_, 0);
  free_table(p.root_gfn);
  p.pt_gfn.clear();
  p.mapped.assign(p.mapped.size(), false);
  p.cow.assign(p.cow.size(), false);
  p.mapped_list.clear();
  p.huge_regions = 0;
  p.root_gfn = p.pdpt_gfn = p.pd_gfn = 0;
}

}  // namespace mmusim
