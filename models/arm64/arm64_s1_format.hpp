// The guest's own arm64 stage-1 tables (TTBR0_EL1, 4 KiB granule, 48-bit VA: 4 levels) as
// Linux builds them for user memory: the first stage of the two-dimensional walk, VA to IPA.
#pragma once
#include <cstdint>

#include "models/arm64/vmsa_descriptor.hpp"
#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class Arm64S1Format final : public PageTableFormat {
 public:
  static constexpr uint64_t kAttrIndxShift = 2;     // AttrIndx[4:2]: MAIR_EL1 slot
  static constexpr uint64_t kAttrNormal = 4;        // Linux's MT_NORMAL slot
  static constexpr uint64_t kApUser = 1ull << 6;    // AP[1]: EL0 may access
  static constexpr uint64_t kApRdonly = 1ull << 7;  // AP[2]: read-only
  static constexpr uint64_t kNg = 1ull << 11;       // not global: tagged with the ASID
  static constexpr uint64_t kPxn = 1ull << 53;
  static constexpr uint64_t kUxn = 1ull << 54;
  // Linux's software PTE_DIRTY (bit 55): the page was written while hardware DBM is not used.
  static constexpr uint64_t kSwDirty = 1ull << vmsa::kSwShift;

  explicit Arm64S1Format(unsigned levels = 4);

  const char* name() const override { return "arm64-s1-4k"; }
  bool accessed(uint64_t e) const override { return (e & vmsa::kAf) != 0; }
  bool dirty(uint64_t e) const override { return (e & kSwDirty) != 0; }

  uint64_t make_table(Addr table) const override;
  uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                     bool dirty) const override;
};

}  // namespace mmusim
