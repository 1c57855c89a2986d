#include "models/arm64/arm64_s2_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
int root_bits_for(unsigned ipa_bits, unsigned levels) {
  return int(ipa_bits) - int(vmsa::kGranuleShift) - 9 * (int(levels) - 1);
}

// Blocks at 2 MiB and 1 GiB, pages at 4 KiB; above the last level descriptor bit 1 tells a
// table (set) from a block (clear). Rights: S2AP read and write bits, execute unless XN.
EntryDecode s2_decode() {
  EntryDecode d;
  d.present_any = vmsa::kValid;
  d.leaf_levels = (1u << 1) | (1u << 2) | (1u << 3);
  d.leaf_mask = vmsa::kTypeTable;
  d.leaf_value = 0;
  d.addr_mask = vmsa::kOaMask;
  d.read.need = Arm64S2Format::kS2apRead;
  d.write.need = Arm64S2Format::kS2apWrite;
  d.exec.need = d.exec.flip = Arm64S2Format::kXn;
  // KVM turns on hardware access-flag management for stage 2 (VTCR_EL2.HA): the walker sets
  // AF in a leaf it uses. Dirty-state management (HD/DBM) stays off, so a write changes nothing
  // else; dirty tracking is done by write protection and permission faults.
  d.used_set = vmsa::kAf;
  return d;
}
}  // namespace

unsigned Arm64S2Format::auto_levels(unsigned ipa_bits) {
  for (unsigned l = 2; l <= 4; ++l) {
    const int bits = root_bits_for(ipa_bits, l);
    if (bits <= (l == 4 ? 9 : 13)) return l;
  }
  return 4;
}

Arm64S2Format::Arm64S2Format(unsigned ipa_bits, unsigned levels)
    : PageTableFormat(levels ? levels : auto_levels(ipa_bits), s2_decode()), ipa_bits_(ipa_bits) {
  if (ipa_bits < 32 || ipa_bits > 48)
    throw UsageError("--ipa-bits: " + std::to_string(ipa_bits) + " is outside 32..48");
  if (PageTableFormat::levels() < 2 || PageTableFormat::levels() > 4)
    throw UsageError("--s2-levels: " + std::to_string(PageTableFormat::levels()) + " is outside 2..4");
  const int bits = root_bits_for(ipa_bits, PageTableFormat::levels());
  if (bits < 1 || bits > 13 || (PageTableFormat::levels() == 4 && bits > 9))
    throw UsageError("--s2-levels: " + std::to_string(PageTableFormat::levels()) + " levels do not fit --ipa-bits " +
                     std::to_string(ipa_bits));
  if (bits > 9) root_pages_ = 1u << (bits - 9);
  set_root_index_bits(PageTableFormat::levels(), unsigned(bits));
}

uint64_t Arm64S2Format::make_table(Addr table) const {
  if (table & (kPageSize - 1)) throw ModelError("arm64 stage-2 table address not page aligned");
  // Stage-2 table descriptors carry no permissions (bits [11:2] are ignored by hardware). The
  // model stores S2AP read+write in those ignored bits so that the arch-neutral walker's AND of
  // every level's rights is the identity at table levels, as it is in hardware.
  return (table & vmsa::kOaMask) | vmsa::kValid | vmsa::kTypeTable | kS2apRead | kS2apWrite;
}

uint64_t Arm64S2Format::make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                                  bool dirty) const {
  if (!leaf_allowed(level))
    throw ModelError("arm64 stage-2 leaf not allowed at level " + std::to_string(level));
  if (frame & (span(level) - 1)) throw ModelError("arm64 stage-2 leaf frame not aligned to its level");
  uint64_t e = (frame & vmsa::kOaMask) | vmsa::kValid | (kMemAttrNormalWb << kMemAttrShift) |
               vmsa::kShInner;
  if (level == 1) e |= vmsa::kTypeTable;
  if (p.read) e |= kS2apRead;
  if (p.write) e |= kS2apWrite;
  if (!p.exec) e |= kXn;
  if (accessed) e |= vmsa::kAf;
  if (dirty) e |= kSwDirty;
  return e;
}

uint64_t Arm64S2Format::relax(uint64_t leaf, Perms p) const {
  if (p.read) leaf |= kS2apRead;
  if (p.write) leaf |= kS2apWrite;
  if (p.exec) leaf &= ~kXn;
  return leaf;
}

}  // namespace mmusim
