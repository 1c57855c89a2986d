#include "models/x86/x86_pt_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
// PS is reserved in PML4E/PML5E: only PDEs and PDPTEs (levels 2 and 3) can map large pages, and
// in a large-page entry bit 12 is the PAT bit, not an address bit (address() masks it off).
// x86 has no "present but unreadable": presence grants read. NX is active-low execute.
EntryDecode x86_decode() {
  EntryDecode d;
  d.present_any = X86PageFormat::kPresent;
  d.leaf_levels = (1u << 1) | (1u << 2) | (1u << 3);
  d.leaf_mask = d.leaf_value = X86PageFormat::kPs;
  d.addr_mask = X86PageFormat::kAddrMask;
  d.read.need = X86PageFormat::kPresent;
  d.write.need = X86PageFormat::kRw;
  d.exec.need = d.exec.flip = X86PageFormat::kNx;
  return d;
}
}  // namespace

X86PageFormat::X86PageFormat(unsigned levels) : PageTableFormat(levels, x86_decode()) {
  // 4-level paging (PML4) or LA57 5-level paging (PML5); 32-bit and PAE modes are not modelled.
  if (levels != 4 && levels != 5)
    throw UsageError("x86-64 paging supports 4 or 5 levels, not " + std::to_string(levels));
}

const char* X86PageFormat::name() const { return levels() == 5 ? "x86pt5" : "x86pt4"; }

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
