#include "models/x86/x86_pt_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

X86PageFormat::X86PageFormat(unsigned levels) : levels_(levels) {
  // 4-level paging (PML4) or LA57 5-level paging (PML5); 32-bit and PAE modes are not modelled.
  if (levels != 4 && levels != 5)
    throw UsageError("x86-64 paging supports 4 or 5 levels, not " + std::to_string(levels));
}

const char* X86PageFormat::name() const { return levels_ == 5 ? "x86pt5" : "x86pt4"; }

bool X86PageFormat::is_leaf(uint64_t e, unsigned level) const {
  if (level == 1) return true;
  // PS is reserved in PML4E/PML5E: only PDEs and PDPTEs can map large pages.
  return leaf_allowed(level) && (e & kPs) != 0;
}

Addr X86PageFormat::address(uint64_t e, unsigned level) const {
  Addr a = e & kAddrMask;
  // In a large-page entry bit 12 is the PAT bit, not an address bit: mask to the level.
  if (level > 1 && is_leaf(e, level)) a &= ~(span(level) - 1);
  return a;
}

Perms X86PageFormat::perms(uint64_t e) const {
  Perms p;
  // x86 has no "present but unreadable": presence grants read.
  p.read = present(e);
  p.write = (e & kRw) != 0;
  p.exec = (e & kNx) == 0;
  return p;
}

uint64_t X86PageFormat::make_table(Addr table) const {
  if (table & (kPageSize - 1)) throw ModelError("x86 table address not page aligned");
  // Permissive upper levels, as Linux builds them: the leaf decides the access rights.
  return (table & kAddrMask) | kPresent | kRw | kUser | kAccessed;
}

uint64_t X86PageFormat::make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                                  bool dirty) const {
  if (!leaf_allowed(level))
    throw ModelError("x86 leaf not allowed at level " + std::to_string(level));
  if (frame & (span(level) - 1)) throw ModelError("x86 leaf frame not aligned to its level");
  // p.read is implied by presence (x86 cannot express a present, unreadable page).
  uint64_t e = (frame & kAddrMask) | kPresent | kUser;
  if (p.write) e |= kRw;
  if (!p.exec) e |= kNx;
  if (level > 1) e |= kPs;
  if (accessed) e |= kAccessed;
  if (dirty) e |= kDirty;
  return e;
}

}  // namespace mmusim
