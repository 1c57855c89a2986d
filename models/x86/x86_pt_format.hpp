// The guest's own x86-64 page tables (4-level or 5-level paging, 4 KiB / 2 MiB / 1 GiB pages):
// the first stage of the two-dimensional walk, guest-virtual to guest-physical.
#pragma once
#include <cstdint>

#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class X86PageFormat final : public PageTableFormat {
 public:
  static constexpr uint64_t kPresent = 1ull << 0;
  static constexpr uint64_t kRw = 1ull << 1;
  static constexpr uint64_t kUser = 1ull << 2;
  static constexpr uint64_t kAccessed = 1ull << 5;
  static constexpr uint64_t kDirty = 1ull << 6;
  static constexpr uint64_t kPs = 1ull << 7;  // page size: leaf at levels 2 and 3
  static constexpr uint64_t kNx = 1ull << 63;
  static constexpr uint64_t kAddrMask = 0x000FFFFFFFFFF000ull;  // bits 12..51

  explicit X86PageFormat(unsigned levels);

  const char* name() const override;
  bool accessed(uint64_t e) const override { return (e & kAccessed) != 0; }
  bool dirty(uint64_t e) const override { return (e & kDirty) != 0; }

  uint64_t make_table(Addr table) const override;
  uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                     bool dirty) const override;
};

}  // namespace mmusim
