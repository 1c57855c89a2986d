// Intel EPT (extended page tables) entries as KVM's TDP MMU builds them: the host's second
// stage, guest-physical to host-physical, with 4 or 5 levels.
#pragma once
#include <cstdint>

#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class EptFormat final : public PageTableFormat {
 public:
  // Architectural EPT bits (SDM vol. 3, "EPT paging-structure entries").
  static constexpr uint64_t kRead = 1ull << 0;
  static constexpr uint64_t kWrite = 1ull << 1;
  static constexpr uint64_t kExec = 1ull << 2;
  static constexpr unsigned kMemTypeShift = 3;      // bits 3-5, leaves only
  static constexpr uint64_t kMemTypeMask = 7ull << kMemTypeShift;
  static constexpr uint64_t kMemTypeWb = 6;
  static constexpr uint64_t kIgnorePat = 1ull << 6;
  static constexpr uint64_t kLarge = 1ull << 7;     // leaf at levels 2 and 3
  static constexpr uint64_t kAccessed = 1ull << 8;
  static constexpr uint64_t kDirty = 1ull << 9;
  // KVM's software SPTE_MMU_PRESENT bit: set on every entry KVM installs, so KVM can tell a
  // shadow-present entry from a zapped one without decoding RWX.
  static constexpr uint64_t kMmuPresent = 1ull << 11;
  static constexpr uint64_t kAddrMask = 0x000FFFFFFFFFF000ull;  // bits 12..51

  explicit EptFormat(unsigned levels);

  const char* name() const override;
  bool accessed(uint64_t e) const override { return (e & kAccessed) != 0; }
  bool dirty(uint64_t e) const override { return (e & kDirty) != 0; }

  uint64_t make_table(Addr table) const override;
  uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                     bool dirty) const override;
};

}  // namespace mmusim
