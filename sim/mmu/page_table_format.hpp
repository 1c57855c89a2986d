// How one architecture's page-table entries look, for one translation stage. The hardware
// walker and the hypervisor's MMU code both read and build entries only through this interface.
// Levels are numbered like KVM's PG_LEVEL: 1 is the 4 KiB leaf level, levels() is the root.
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"

namespace mmusim {

struct Perms {
  bool read = false, write = false, exec = false;
  bool operator==(const Perms& o) const {
    return read == o.read && write == o.write && exec == o.exec;
  }
  bool allows(Access a) const {
    return a == Access::Read ? read : a == Access::Write ? write : exec;
  }
};

class PageTableFormat {
 public:
  virtual ~PageTableFormat() = default;
  virtual const char* name() const = 0;
  virtual unsigned levels() const = 0;
  // Entries per table is 1 << index_bits (512 for 9 bits).
  virtual unsigned index_bits() const { return 9; }
  // Bit position of the lowest address bit a level's index selects (12 for level 1).
  unsigned shift(unsigned level) const { return kPageShift + index_bits() * (level - 1); }
  uint64_t span(unsigned level) const { return uint64_t(1) << shift(level); }
  unsigned index(Addr a, unsigned level) const {
    return unsigned((a >> shift(level)) & ((uint64_t(1) << index_bits_at(level)) - 1));
  }
  // Index bits of a table at `level`. Only the start (root) level may differ: arm64 stage 2
  // concatenates up to 16 contiguous tables there, or uses a partial table for a small IPA.
  unsigned index_bits_at(unsigned level) const {
    return level == root_level_ ? root_index_bits_ : index_bits();
  }
  unsigned entries_at(unsigned level) const { return 1u << index_bits_at(level); }
  // Whether a leaf (huge page / block) may be placed at this level.
  virtual bool leaf_allowed(unsigned level) const = 0;

  virtual bool present(uint64_t e) const = 0;
  // A present entry at `level` that maps memory rather than pointing to a table.
  virtual bool is_leaf(uint64_t e, unsigned level) const = 0;
  // Physical address of the next table (non-leaf) or of the mapped frame (leaf, level-aligned).
  virtual Addr address(uint64_t e, unsigned level) const = 0;
  virtual Perms perms(uint64_t e) const = 0;
  virtual bool accessed(uint64_t e) const = 0;
  virtual bool dirty(uint64_t e) const = 0;

  virtual uint64_t make_table(Addr table) const = 0;
  // accessed/dirty pre-set as KVM does when a fault implies them.
  virtual uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed, bool dirty) const = 0;
  // What a hardware walker writes back into a leaf it used: the accessed flag, and the dirty
  // flag for a write (x86 EPT A/D, arm64 hardware AF/DBM). Formats without hardware-managed
  // flags return the entry unchanged, and the walker writes nothing.
  virtual uint64_t mark_used(uint64_t e, bool write) const {
    (void)write;
    return e;
  }

 protected:
  // For a format whose root table is not 1 << index_bits() entries (see index_bits_at).
  void set_root_index_bits(unsigned root_level, unsigned bits) {
    root_level_ = root_level;
    root_index_bits_ = bits;
  }

 private:
  unsigned root_level_ = 0;  // 0: no level differs
  unsigned root_index_bits_ = 0;
};

}  // namespace mmusim
