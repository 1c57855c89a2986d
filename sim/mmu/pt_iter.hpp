// The one page-table iterator (in the spirit of KVM's tdp_iter): a position in a table tree --
// current level, the physical address of the entry, the value last read from it. It does not
// read memory itself: whoever drives it (hardware walker, hypervisor map/zap/dirty-log code,
// oracle and harness) reads each entry in its own timed or untimed way and hands the value in
// with set_entry(). So every walk of a table shares this index math; nothing outside the
// iterator and the formats computes an entry's address.
//
// Two ways to drive it:
//  - One address: PtIter(fmt, root, addr), then descend() while can_descend() -- the walk of
//    a TLB miss or of a fault.
//  - A range, in pre-order (KVM's for_each_tdp_pte_min_level): PtIter::range(fmt, root, start,
//    end, min_level) visits, for as long as valid(), the entries whose span meets [start, end);
//    next() steps down into a present non-leaf entry above min_level, else sideways to the next
//    entry of the table, else up (as often as needed) and sideways there. A huge leaf is thus
//    visited once and its span skipped. The driver must hand in the value it found (or wrote)
//    before next(), as next() decides from it whether to step down.
//    After the driver dropped its locks (a yield), restart() walks again from the root to the
//    entry it was at: the entries on the path down are visited again, and nothing it did not
//    yet reach is skipped. PtIter::table(fmt, table, level, base) visits one table's entries.
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"
#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class PtIter {
 public:
  // Deepest tree any modelled format has (x86 five-level paging).
  static constexpr unsigned kMaxLevels = 5;

  // One-address descent from `root_table` (a table at the format's top level).
  PtIter(const PageTableFormat& fmt, Addr root_table, Addr addr)
      : PtIter(fmt, root_table, fmt.levels(), addr, addr + 1, 1) {}
  // Pre-order over the entries meeting [start, end) of the tree whose top table is `table` at
  // `table_level`, stepping down to min_level at the lowest.
  PtIter(const PageTableFormat& fmt, Addr table, unsigned table_level, Addr start, Addr end,
         unsigned min_level)
      : fmt_(fmt), top_(table_level), min_(min_level), addr_(start), end_(end) {
    path_[top_] = table;
    done_ = start >= end;
    restart();
  }
  static PtIter range(const PageTableFormat& fmt, Addr root_table, Addr start, Addr end,
                      unsigned min_level = 1) {
    return PtIter(fmt, root_table, fmt.levels(), start, end, min_level);
  }
  // Every entry of one table at `level` whose first entry maps `base`, without stepping down.
  static PtIter table(const PageTableFormat& fmt, Addr table, unsigned level, Addr base) {
    return PtIter(fmt, table, level, base, base + fmt.entries_at(level) * fmt.span(level), level);
  }

  // Back to the top-level entry covering addr() (tdp_iter_restart); the driver reads it next.
  // In a range walk this is how it resumes after a yield: it visits that entry, not next().
  void restart() {
    level_ = top_;
    old_ = 0;
  }
  // Range walks: whether the iterator is at an entry still to visit; where the range ends.
  bool valid() const { return !done_ && base() < end_; }
  Addr end() const { return end_; }
  // The pre-order step: down, else sideways, else up and sideways (tdp_iter_next).
  void next() {
    if (can_descend()) return descend();
    do {
      if (step_side()) return;
    } while (step_up());
    done_ = true;
  }
  // Past the current entry like next() when it does not step down, but by a new walk from the
  // root (what restart() after a yield does) -- the per-leaf re-walk some range operations make
  // where KVM's iterator steps sideways.
  void next_from_root() {
    const Addr next = base() + span();
    if (next == 0 || next >= end_) done_ = true;
    addr_ = next;
    restart();
  }

  unsigned level() const { return level_; }
  Addr table() const { return path_[level_]; }
  // The address the walk is for: the one-address walk's target; in a range walk, where the
  // walk resumes after a restart (inside the current entry's span).
  Addr addr() const { return addr_; }
  // The current entry's index in its table, and its physical address.
  unsigned index() const { return fmt_.index(addr_, level_); }
  Addr entry_addr() const { return entry_at(path_[level_], index()); }
  // Entry `index` of `table` (8-byte entries on every modelled format): for code that names
  // entries by table and index, as KVM's shadow MMU does (sp->spt[idx]).
  static Addr entry_at(Addr table, unsigned index) { return table + Addr(index) * 8; }
  // First address mapped by the current entry, and how many bytes it maps.
  Addr base() const { return addr_ & ~(fmt_.span(level_) - 1); }
  uint64_t span() const { return fmt_.span(level_); }
  uint64_t entry() const { return old_; }
  void set_entry(uint64_t v) { old_ = v; }
  bool present() const { return fmt_.present(old_); }
  bool leaf() const { return fmt_.present(old_) && fmt_.is_leaf(old_, level_); }
  // True when the current entry points to a lower table the walk may step into.
  bool can_descend() const { return level_ > min_ && present() && !leaf(); }
  void descend() {
    path_[level_ - 1] = fmt_.address(old_, level_);
    --level_;
    old_ = 0;
  }
  // Positions a fresh one-address iterator at `table`, the table below a level-`level` entry
  // known from elsewhere (a paging-structure cache), without reading the levels above.
  void resume_below(unsigned level, Addr table) {
    level_ = level - 1;
    path_[level_] = table;
    old_ = 0;
  }
  const PageTableFormat& format() const { return fmt_; }

 private:
  bool step_side() {
    if (fmt_.index(addr_, level_) == fmt_.entries_at(level_) - 1) return false;
    addr_ = base() + span();
    old_ = 0;
    return true;
  }
  bool step_up() {
    if (level_ == top_) return false;
    ++level_;
    old_ = 0;
    return true;
  }

  const PageTableFormat& fmt_;
  unsigned top_, min_;
  Addr addr_, end_;
  Addr path_[kMaxLevels + 1] = {};  // path_[l]: the table holding the level-l entries
  unsigned level_ = 0;
  uint64_t old_ = 0;
  bool done_ = false;
};

// The two range walks most callers make, with `read(entry_addr)` reading an entry the caller's
// way (timed or not). for_each_entry: every entry in pre-order; visit(it) may change the entry
// (and must hand the new value in) before the walk steps on.
template <class Read, class Visit>
void for_each_entry(PtIter it, Read&& read, Visit&& visit) {
  for (; it.valid(); it.next()) {
    it.set_entry(read(it.entry_addr()));
    visit(it);
  }
}
// for_each_walk_end: only where each one-address walk ends (a leaf, a hole, or an entry at the
// minimum level), reaching each by a new walk from the root (next_from_root) as the models'
// range operations do today; KVM's iterator steps sideways instead.
template <class Read, class Visit>
void for_each_walk_end(PtIter it, Read&& read, Visit&& visit) {
  while (it.valid()) {
    it.set_entry(read(it.entry_addr()));
    if (it.can_descend()) {
      it.next();
      continue;
    }
    visit(it);
    it.next_from_root();
  }
}

}  // namespace mmusim
