#include "models/arm64/arm64_s1_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

Arm64S1Format::Arm64S1Format(unsigned levels) : levels_(levels) {
  // The guest data window sits at 1 TiB of VA (workloads/guest_layout.hpp), beyond a 39-bit
  // (3-level) address space, and 52-bit VA (LPA2) is not modelled: 4 levels only.
  if (levels != 4)
    throw UsageError("--guest-levels: arm64 stage 1 with the 4K granule is modelled with 4 levels, not " +
                     std::to_string(levels));
}

bool Arm64S1Format::is_leaf(uint64_t e, unsigned level) const {
  if (level == 1) return true;  // last level: a page descriptor
  return leaf_allowed(level) && (e & vmsa::kTypeTable) == 0;
}

Addr Arm64S1Format::address(uint64_t e, unsigned level) const {
  Addr a = e & vmsa::kOaMask;
  if (level > 1 && is_leaf(e, level)) a &= ~(span(level) - 1);
  return a;
}

Perms Arm64S1Format::perms(uint64_t e) const {
  Perms p;
  p.read = present(e);
  p.write = (e & kApRdonly) == 0;
  p.exec = (e & kUxn) == 0;
  return p;
}

uint64_t Arm64S1Format::make_table(Addr table) const {
  if (table & (kPageSize - 1)) throw ModelError("arm64 stage-1 table address not page aligned");
  // APTable/XNTable left zero: the leaf decides the rights, as Linux builds its tables.
  return (table & vmsa::kOaMask) | vmsa::kValid | vmsa::kTypeTable;
}

uint64_t Arm64S1Format::make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                                  bool dirty) const {
  if (!leaf_allowed(level))
    throw ModelError("arm64 stage-1 leaf not allowed at level " + std::to_string(level));
  if (frame & (span(level) - 1)) throw ModelError("arm64 stage-1 leaf frame not aligned to its level");
  uint64_t e = (frame & vmsa::kOaMask) | vmsa::kValid | (kAttrNormal << kAttrIndxShift) |
               vmsa::kShInner | kApUser | kNg | kPxn;  // user page: never executable at EL1
  if (level == 1) e |= vmsa::kTypeTable;  // page descriptor is 0b11
  if (!p.write) e |= kApRdonly;
  if (!p.exec) e |= kUxn;
  if (accessed) e |= vmsa::kAf;
  if (dirty) e |= kSwDirty;
  return e;
}

}  // namespace mmusim
