// The one page-table iterator (in the spirit of KVM's tdp_iter): a position in a table tree
// for one address -- current level, the physical address of the entry, the value last read
// from it. It does not read memory itself: whoever drives it (hardware walker, hypervisor map
// and zap code, harness) reads the entry in its own timed or untimed way and hands the value
// in with set_entry(). That keeps every walk on the same index math.
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"
#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class PtIter {
 public:
  PtIter(const PageTableFormat& fmt, Addr root_table, Addr addr)
      : fmt_(fmt), root_(root_table), addr_(addr) { restart(); }

  void restart() {
    level_ = fmt_.levels();
    table_ = root_;
    old_ = 0;
  }
  unsigned level() const { return level_; }
  Addr table() const { return table_; }
  Addr addr() const { return addr_; }
  // Physical address of the current entry.
  Addr entry_addr() const { return table_ + Addr(fmt_.index(addr_, level_)) * 8; }
  // First address mapped by the current entry, and how many bytes it maps.
  Addr base() const { return addr_ & ~(fmt_.span(level_) - 1); }
  uint64_t span() const { return fmt_.span(level_); }
  uint64_t entry() const { return old_; }
  void set_entry(uint64_t v) { old_ = v; }
  bool present() const { return fmt_.present(old_); }
  bool leaf() const { return fmt_.present(old_) && fmt_.is_leaf(old_, level_); }
  // True when the current entry points to a lower table the walk can step into.
  bool can_descend() const { return level_ > 1 && present() && !leaf(); }
  void descend() {
    table_ = fmt_.address(old_, level_);
    --level_;
    old_ = 0;
  }
  // Positions a fresh iterator at `table`, the table below a level-`level` entry known from
  // elsewhere (a paging-structure cache), without reading the levels above.
  void resume_below(unsigned level, Addr table) {
    level_ = level - 1;
    table_ = table;
    old_ = 0;
  }
  const PageTableFormat& format() const { return fmt_; }

 private:
  const PageTableFormat& fmt_;
  Addr root_, addr_;
  unsigned level_ = 0;
  Addr table_ = 0;
  uint64_t old_ = 0;
};

}  // namespace mmusim
