#include "models/arm64/arm64_s2_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
int root_bits_for(unsigned ipa_bits, unsigned levels) {
  return int(ipa_bits) - int(vmsa::kGranuleShift) - 9 * (int(levels) - 1);
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
    : ipa_bits_(ipa_bits), levels_(levels ? levels : auto_levels(ipa_bits)) {
  if (ipa_bits < 32 || ipa_bits > 48)
    throw UsageError("--ipa-bits: " + std::to_string(ipa_bits) + " is outside 32..48");
  if (levels_ < 2 || levels_ > 4)
    throw UsageError("--s2-levels: " + std::to_string(levels_) + " is outside 2..4");
  const int bits = root_bits_for(ipa_bits, levels_);
  if (bits < 1 || bits > 13 || (levels_ == 4 && bits > 9))
    throw UsageError("--s2-levels: " + std::to_string(levels_) + " levels do not fit --ipa-bits " +
                     std::to_string(ipa_bits));
  if (bits > 9) root_pages_ = 1u << (bits - 9);
  set_root_index_bits(levels_, unsigned(bits));
}

bool Arm64S2Format::is_leaf(uint64_t e, unsigned level) const {
  if (level == 1) return true;
  return leaf_allowed(level) && (e & vmsa::kTypeTable) == 0;
}

Addr Arm64S2Format::address(uint64_t e, unsigned level) const {
  Addr a = e & vmsa::kOaMask;
  if (level > 1 && is_leaf(e, level)) a &= ~(span(level) - 1);
  return a;
}

Perms Arm64S2Format::perms(uint64_t e) const {
  Perms p;
  p.read = (e & kS2apRead) != 0;
  p.write = (e & kS2apWrite) != 0;
  p.exec = (e & kXn) == 0;
  return p;
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
