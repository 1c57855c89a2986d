#include "workloads/guest_page_tables.hpp"

#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

GuestPageTables::GuestPageTables(const PageTableFormat& fmt, PhysMem& phys,
                                 std::function<Addr(uint64_t)> backing)
    : fmt_(fmt), phys_(phys), backing_(std::move(backing)) {
  root_gpa_ = new_table();
}

Addr GuestPageTables::new_table() {
  Addr gpa = next_gpa_;
  next_gpa_ += kPageSize;
  table_gfns_.push_back(gpa >> kPageShift);
  phys_.zero_page(hpa_of(gpa));
  return gpa;
}

Addr GuestPageTables::hpa_of(Addr gpa) const {
  return backing_(gpa >> kPageShift) + (gpa & (kPageSize - 1));
}

void GuestPageTables::map(Addr gva, Addr gpa, uint64_t bytes) {
  for (uint64_t off = 0; off < bytes; off += kPageSize) {
    // Walk in guest-physical terms; every entry address is converted to its host backing.
    PtIter it(fmt_, root_gpa_, gva + off);
    while (it.level() > 1) {
      Addr entry_hpa = hpa_of(it.entry_addr());
      uint64_t e = phys_.read64(entry_hpa);
      if (!fmt_.present(e)) {
        e = fmt_.make_table(new_table());
        phys_.write64(entry_hpa, e);
      }
      it.set_entry(e);
      it.descend();
    }
    phys_.write64(hpa_of(it.entry_addr()),
                  fmt_.make_leaf(gpa + off, 1, Perms{true, true, true}, false, false));
  }
}

}  // namespace mmusim
