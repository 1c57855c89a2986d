#include "models/x86/ept_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

EptFormat::EptFormat(unsigned levels) : levels_(levels) {
  // Only 4-level (PML4) and 5-level (PML5) EPT exist in hardware.
  if (levels != 4 && levels != 5)
    throw UsageError("EPT supports 4 or 5 levels, not " + std::to_string(levels));
}

const char* EptFormat::name() const { return levels_ == 5 ? "ept5" : "ept4"; }

bool EptFormat::is_leaf(uint64_t e, unsigned level) const {
  if (level == 1) return true;  // a PTE always maps a 4 KiB page
  // Bit 7 only means "large page" where the architecture allows one; at levels 4/5 it is
  // reserved, so a stray bit there must not turn a table pointer into a 512 GiB mapping.
  return leaf_allowed(level) && (e & kLarge) != 0;
}

Addr EptFormat::address(uint64_t e, unsigned level) const {
  Addr a = e & kAddrMask;
  // A large leaf maps a level-aligned frame; the low address bits are reserved there.
  if (level > 1 && is_leaf(e, level)) a &= ~(span(level) - 1);
  return a;
}

Perms EptFormat::perms(uint64_t e) const {
  Perms p;
  p.read = (e & kRead) != 0;
  p.write = (e & kWrite) != 0;
  p.exec = (e & kExec) != 0;
  return p;
}

uint64_t EptFormat::make_table(Addr table) const {
  if (table & (kPageSize - 1)) throw ModelError("EPT table address not page aligned");
  // Non-leaf EPT entries grant everything: permissions are decided at the leaf, as KVM does.
  return (table & kAddrMask) | kRead | kWrite | kExec | kMmuPresent;
}

uint64_t EptFormat::make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                              bool dirty) const {
  if (!leaf_allowed(level))
    throw ModelError("EPT leaf not allowed at level " + std::to_string(level));
  if (frame & (span(level) - 1)) throw ModelError("EPT leaf frame not aligned to its level");
  uint64_t e = (frame & kAddrMask) | kMmuPresent;
  if (p.read) e |= kRead;
  if (p.write) e |= kWrite;
  if (p.exec) e |= kExec;
  // KVM maps guest RAM write-back and overrides the guest PAT (VMX_EPT_IPAT_BIT).
  e |= (kMemTypeWb << kMemTypeShift) | kIgnorePat;
  if (level > 1) e |= kLarge;
  if (accessed) e |= kAccessed;
  if (dirty) e |= kDirty;
  return e;
}

}  // namespace mmusim
