#include "models/mips/mips_pte_format.hpp"

#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
// KVM MIPS maps guest memory with 4 KiB GPA PTEs only: no leaf above level 1. perms() is the
// hardware's view, V and D: an invalid entry faults any access, a clean one faults writes.
EntryDecode mips_decode() {
  EntryDecode d;
  d.present_any = MipsPteFormat::kPresent;
  d.leaf_levels = 1u << 1;
  d.addr_mask = MipsPteFormat::kAddrMask;
  d.read.need = MipsPteFormat::kPresent | MipsPteFormat::kValid;
  d.write.need = d.read.need | MipsPteFormat::kDirty;
  d.exec.need = d.read.need;
  return d;
}
}  // namespace

MipsPteFormat::MipsPteFormat(unsigned levels) : PageTableFormat(levels, mips_decode()) {
  // 64-bit Linux with 4 KiB pages: three levels (pgd/pmd/pte) or four (with a pud).
  if (levels != 3 && levels != 4)
    throw UsageError("MIPS page tables have 3 or 4 levels, not " + std::to_string(levels));
}

const char* MipsPteFormat::name() const { return levels() == 3 ? "mips-gpa3" : "mips-pt4"; }

uint64_t MipsPteFormat::mkyoung(uint64_t e) {
  e |= kAccessed;
  if (e & kRead) e |= kValid;  // an unreadable page stays invalid to the TLB
  return e;
}

uint64_t MipsPteFormat::mkdirty(uint64_t e) {
  e |= kModified;
  if (e & kWrite) e |= kDirty;  // a clean write-protected page must keep faulting writes
  return e;
}

uint64_t MipsPteFormat::make_table(Addr table) const {
  if (table & (kPageSize - 1)) throw ModelError("MIPS table address not page aligned");
  return (table & kAddrMask) | kPresent;
}

uint64_t MipsPteFormat::make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                                  bool dirty) const {
  if (!leaf_allowed(level))
    throw ModelError("MIPS leaf not allowed at level " + std::to_string(level));
  if (frame & (kPageSize - 1)) throw ModelError("MIPS leaf frame not page aligned");
  uint64_t e = (frame & kAddrMask) | kPresent | (kCacheableNoncoherent << kCacheShift);
  if (p.read) e |= kRead;
  if (p.write) e |= kWrite;
  if (accessed) e = mkyoung(e);
  if (dirty) e = mkdirty(e);
  return e;
}

uint64_t MipsGuestFormat::make_leaf(Addr frame, unsigned level, Perms p, bool /*accessed*/,
                                    bool /*dirty*/) const {
  return MipsPteFormat::make_leaf(frame, level, p, true, p.write);
}

}  // namespace mmusim
