#include "models/arm64/arm64_s1_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
// Blocks at 2 MiB and 1 GiB (Arm levels 2 and 1), pages at 4 KiB; no block at Arm level 0 with
// this granule. Above the last level descriptor bit 1 tells a table (set) from a block (clear).
// User memory: read whenever valid, write unless AP[2], execute unless UXN.
EntryDecode s1_decode() {
  EntryDecode d;
  d.present_any = vmsa::kValid;
  d.leaf_levels = (1u << 1) | (1u << 2) | (1u << 3);
  d.leaf_mask = vmsa::kTypeTable;
  d.leaf_value = 0;
  d.addr_mask = vmsa::kOaMask;
  d.read.need = vmsa::kValid;
  d.write.need = d.write.flip = Arm64S1Format::kApRdonly;
  d.exec.need = d.exec.flip = Arm64S1Format::kUxn;
  return d;
}
}  // namespace

Arm64S1Format::Arm64S1Format(unsigned levels) : PageTableFormat(levels, s1_decode()) {
  // The guest data window sits at 1 TiB of VA (workloads/guest_layout.hpp), beyond a 39-bit
  // (3-level) address space, and 52-bit VA (LPA2) is not modelled: 4 levels only.
  if (levels != 4)
    throw UsageError("--guest-levels: arm64 stage 1 with the 4K granule is modelled with 4 levels, not " +
                     std::to_string(levels));
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
