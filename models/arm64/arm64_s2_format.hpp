// arm64 stage-2 translation table descriptors (VMSAv8-64, 4 KiB granule) as KVM builds them:
// IPA to PA, configurable IPA size (VTCR_EL2.T0SZ) and start level (VTCR_EL2.SL0). When the
// IPA space needs more index bits at the start level than one table has, the architecture lets
// up to 16 tables be concatenated there (contiguous, aligned to their total size) instead of
// adding a level; KVM uses that to keep the walk short (kvm_get_pgtable_levels-style choice:
// the fewest levels whose start level needs at most 16 tables). A start level of Arm level 0
// cannot be concatenated.
#pragma once
#include <cstdint>

#include "models/arm64/vmsa_descriptor.hpp"
#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class Arm64S2Format final : public PageTableFormat {
 public:
  static constexpr uint64_t kMemAttrShift = 2;     // MemAttr[5:2]
  static constexpr uint64_t kMemAttrMask = 0xFull << kMemAttrShift;
  static constexpr uint64_t kMemAttrNormalWb = 0xF;  // outer and inner write-back
  static constexpr uint64_t kMemAttrDevice = 0x1;    // Device-nGnRE
  static constexpr uint64_t kS2apRead = 1ull << 6;   // S2AP[0]
  static constexpr uint64_t kS2apWrite = 1ull << 7;  // S2AP[1]
  static constexpr uint64_t kXn = 1ull << 54;        // XN[1]: no execution at EL1 or EL0
  // Software bits [58:55]: the model keeps the "mapped by a write fault" hint in bit 55.
  static constexpr uint64_t kSwDirty = 1ull << vmsa::kSwShift;
  // An invalid descriptor with bit 10 set is KVM's "locked" marker: one thread is breaking the
  // entry (break-before-make); everybody else backs off and retries.
  static constexpr uint64_t kInvalidLocked = 1ull << 10;

  // levels 0: as KVM chooses for ipa_bits. Throws UsageError naming --ipa-bits/--s2-levels if
  // the combination is not architectural.
  Arm64S2Format(unsigned ipa_bits, unsigned levels);
  static unsigned auto_levels(unsigned ipa_bits);

  const char* name() const override { return "arm64-s2-4k"; }
  unsigned ipa_bits() const { return ipa_bits_; }
  // Contiguous 4 KiB pages forming the start-level table (1, or 2..16 when concatenated).
  unsigned root_pages() const { return root_pages_; }
  // VTCR_EL2.SL0-style start level in Arm numbering (0..2).
  unsigned arm_start_level() const { return 4 - levels(); }
  bool accessed(uint64_t e) const override { return (e & vmsa::kAf) != 0; }
  bool dirty(uint64_t e) const override { return (e & kSwDirty) != 0; }
  uint64_t memattr(uint64_t e) const { return (e & kMemAttrMask) >> kMemAttrShift; }
  bool locked(uint64_t e) const { return !present(e) && (e & kInvalidLocked) != 0; }

  uint64_t make_table(Addr table) const override;
  // Normal write-back, inner shareable memory.
  uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                     bool dirty) const override;
  // The same leaf with the permissions widened to `p` (permission-fault relaxation).
  uint64_t relax(uint64_t leaf, Perms p) const;

 private:
  unsigned ipa_bits_, root_pages_ = 1;
};

}  // namespace mmusim
