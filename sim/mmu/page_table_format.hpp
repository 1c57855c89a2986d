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
  // The same rights as a 3-bit set, for code that ANDs them over many levels: bit 0 read,
  // bit 1 write, bit 2 exec -- bit n is the right Access n needs.
  unsigned bits() const { return (read ? 1u : 0u) | (write ? 2u : 0u) | (exec ? 4u : 0u); }
  static Perms from_bits(unsigned b) { return Perms{(b & 1) != 0, (b & 2) != 0, (b & 4) != 0}; }
  static bool bits_allow(unsigned b, Access a) { return ((b >> unsigned(a)) & 1) != 0; }
};
static_assert(unsigned(Access::Read) == 0 && unsigned(Access::Write) == 1 &&
              unsigned(Access::Fetch) == 2, "Perms::bits() orders its bits by Access");

// One access right as a bit test: granted when every bit of `need` is set once the active-low
// bits in `flip` (NX, XN, AP[2]) are inverted.
struct PermBits {
  uint64_t need = 0, flip = 0;
  bool granted(uint64_t e) const { return ((e ^ flip) & need) == need; }
};

// The bits that answer the questions a walker asks of every entry it reads (present? leaf? where
// to? which rights?). Every modelled architecture encodes these as plain bit tests, so a format
// describes its bits once and the base class answers inline: these questions are asked several
// times per entry on the simulator's hottest path, where a virtual call each would dominate.
struct EntryDecode {
  uint64_t present_any = 0;  // present when any of these bits is set
  // Above level 1, an entry at a level in `leaf_levels` (bit L for level L) is a leaf when
  // (e & leaf_mask) == leaf_value. At level 1 every entry maps a page.
  unsigned leaf_levels = 0;
  uint64_t leaf_mask = 0, leaf_value = 0;
  uint64_t addr_mask = 0;  // next table, or frame (further aligned to the level for a leaf)
  PermBits read, write, exec;
  // What a hardware walker sets in a leaf it used (accessed flag), and on a write (dirty flag):
  // x86 EPT A/D, arm64 hardware AF. Zero where flags are software-managed.
  uint64_t used_set = 0, written_set = 0;
};

class PageTableFormat {
 public:
  virtual ~PageTableFormat() = default;
  virtual const char* name() const = 0;
  unsigned levels() const { return levels_; }
  // Entries per table is 1 << index_bits (512 for 9 bits).
  unsigned index_bits() const { return kIndexBits; }
  // Bit position of the lowest address bit a level's index selects (12 for level 1).
  unsigned shift(unsigned level) const { return kPageShift + kIndexBits * (level - 1); }
  uint64_t span(unsigned level) const { return uint64_t(1) << shift(level); }
  unsigned index(Addr a, unsigned level) const {
    return unsigned((a >> shift(level)) & ((uint64_t(1) << index_bits_at(level)) - 1));
  }
  // Index bits of a table at `level`. Only the start (root) level may differ: arm64 stage 2
  // concatenates up to 16 contiguous tables there, or uses a partial table for a small IPA.
  unsigned index_bits_at(unsigned level) const {
    return level == root_level_ ? root_index_bits_ : kIndexBits;
  }
  unsigned entries_at(unsigned level) const { return 1u << index_bits_at(level); }
  // Whether a leaf (huge page / block) may be placed at this level.
  bool leaf_allowed(unsigned level) const {
    return level < 32 && ((dec_.leaf_levels >> level) & 1) != 0;
  }

  bool present(uint64_t e) const { return (e & dec_.present_any) != 0; }
  // A present entry at `level` that maps memory rather than pointing to a table.
  bool is_leaf(uint64_t e, unsigned level) const {
    return level == 1 || (leaf_allowed(level) && (e & dec_.leaf_mask) == dec_.leaf_value);
  }
  // Physical address of the next table (non-leaf) or of the mapped frame (leaf, level-aligned:
  // the low bits of a large leaf's address field are reserved or attributes such as PAT).
  Addr address(uint64_t e, unsigned level) const {
    const Addr a = e & dec_.addr_mask;
    return (level > 1 && is_leaf(e, level)) ? a & ~(span(level) - 1) : a;
  }
  // The address of a present entry already known not to be a leaf: the next table.
  Addr table_address(uint64_t e) const { return e & dec_.addr_mask; }
  Perms perms(uint64_t e) const { return Perms::from_bits(perm_bits(e)); }
  // perms(e) as Perms::bits().
  unsigned perm_bits(uint64_t e) const {
    return (dec_.read.granted(e) ? 1u : 0u) | (dec_.write.granted(e) ? 2u : 0u) |
           (dec_.exec.granted(e) ? 4u : 0u);
  }
  virtual bool accessed(uint64_t e) const = 0;
  virtual bool dirty(uint64_t e) const = 0;

  virtual uint64_t make_table(Addr table) const = 0;
  // accessed/dirty pre-set as KVM does when a fault implies them.
  virtual uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed, bool dirty) const = 0;
  // What a hardware walker writes back into a leaf it used: the accessed flag, and the dirty
  // flag for a write (x86 EPT A/D, arm64 hardware AF/DBM). Formats without hardware-managed
  // flags return the entry unchanged, and the walker writes nothing.
  uint64_t mark_used(uint64_t e, bool write) const {
    return e | dec_.used_set | (write ? dec_.written_set : 0);
  }

 protected:
  PageTableFormat(unsigned levels, const EntryDecode& dec) : levels_(levels), dec_(dec) {}
  // For a format whose root table is not 1 << index_bits() entries (see index_bits_at).
  void set_root_index_bits(unsigned root_level, unsigned bits) {
    root_level_ = root_level;
    root_index_bits_ = bits;
  }

 private:
  // 4 KiB granule, 8-byte entries: 512 per table on every modelled architecture.
  static constexpr unsigned kIndexBits = 9;
  unsigned levels_;
  EntryDecode dec_;
  unsigned root_level_ = 0;  // 0: no level differs
  unsigned root_index_bits_ = 0;
};

}  // namespace mmusim
