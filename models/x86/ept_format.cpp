#include "models/x86/ept_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
// Hardware sees an entry as present when any of R/W/X is set. Bit 7 means "large page" only
// where a leaf is allowed (levels 1-3): at levels 4/5 it is reserved, so a stray bit there must
// not turn a table pointer into a 512 GiB mapping. The walker sets A on use and D on a write
// (EPT with accessed/dirty flags enabled).
EntryDecode ept_decode(EptAd ad, EptFormat::View view) {
  EntryDecode d;
  d.present_any = EptFormat::kRwx;
  if (view == EptFormat::View::Kvm) d.present_any |= EptFormat::kMmuPresent;
  d.leaf_levels = (1u << 1) | (1u << 2) | (1u << 3);
  d.leaf_mask = d.leaf_value = EptFormat::kLarge;
  d.addr_mask = EptFormat::kAddrMask;
  d.read.need = EptFormat::kRead;
  d.write.need = EptFormat::kWrite;
  d.exec.need = EptFormat::kExec;
  if (ad == EptAd::On) {
    d.used_set = EptFormat::kAccessed;
    d.written_set = EptFormat::kDirty;
  }
  return d;
}
}  // namespace

EptFormat::EptFormat(unsigned levels, EptAd ad, View view)
    : PageTableFormat(levels, ept_decode(ad, view)), ad_(ad) {
  // Only 4-level (PML4) and 5-level (PML5) EPT exist in hardware.
  if (levels != 4 && levels != 5)
    throw UsageError("EPT supports 4 or 5 levels, not " + std::to_string(levels));
}

const char* EptFormat::name() const { return levels() == 5 ? "ept5" : "ept4"; }

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
