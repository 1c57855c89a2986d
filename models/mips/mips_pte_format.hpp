// Linux MIPS page-table entries (pgd/pmd/pte, 4 KiB pages), the format KVM MIPS uses for a VM's
// GPA page table (GPA -> host physical) and, with four levels, for the guest's own tables.
//
// Linux MIPS keeps two kinds of bits in a PTE: software bits the kernel reasons with (present,
// readable, write permission, accessed, modified) and the "silent" bits the TLB refill handler
// copies straight into EntryLo: VALID (V) and DIRTY (D, meaning "writes allowed"). The kernel
// keeps V set only while the page is present, readable and young, and D only while it is
// writable and modified, so the hardware raises a TLB invalid exception on an old page and a TLB
// modified exception on the first write to a clean page -- that is how idle-page and dirty-page
// tracking work on MIPS without hardware accessed/dirty bits. perms() reports what the hardware
// sees (V for read/fetch, D for write).
//
// Table entries: Linux stores a bare pointer to the next table (an empty slot points at the
// shared invalid table); here a table entry is the table's address with kPresent set, and 0 is
// an empty slot, which keeps present() independent of the level.
#pragma once
#include <cstdint>

#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class MipsPteFormat : public PageTableFormat {
 public:
  static constexpr uint64_t kPresent = 1ull << 0;   // _PAGE_PRESENT
  static constexpr uint64_t kRead = 1ull << 1;      // readable (not _PAGE_NO_READ)
  static constexpr uint64_t kWrite = 1ull << 2;     // _PAGE_WRITE: write permission
  static constexpr uint64_t kAccessed = 1ull << 3;  // _PAGE_ACCESSED: young
  static constexpr uint64_t kModified = 1ull << 4;  // _PAGE_MODIFIED: dirty
  static constexpr uint64_t kGlobal = 1ull << 5;    // _PAGE_GLOBAL -> EntryLo.G
  static constexpr uint64_t kValid = 1ull << 6;     // _PAGE_VALID -> EntryLo.V
  static constexpr uint64_t kDirty = 1ull << 7;     // _PAGE_DIRTY -> EntryLo.D
  static constexpr unsigned kCacheShift = 8;        // cache attribute -> EntryLo.C (3 bits)
  static constexpr uint64_t kCacheMask = 7ull << kCacheShift;
  static constexpr uint64_t kCacheableNoncoherent = 3;  // _page_cachable_default
  static constexpr uint64_t kAddrMask = 0x000FFFFFFFFFF000ull;  // pfn << 12

  // `levels`: 3 for the GPA table (pgd/pmd/pte, 39-bit GPA), 4 for a 48-bit guest.
  explicit MipsPteFormat(unsigned levels);

  const char* name() const override;
  bool accessed(uint64_t e) const override { return (e & kAccessed) != 0; }
  bool dirty(uint64_t e) const override { return (e & kModified) != 0; }

  uint64_t make_table(Addr table) const override;
  // p.read/p.write are the software permissions; accessed/dirty set the young/modified state
  // (and with it V/D, as pte_mkyoung/pte_mkdirty would).
  uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                     bool dirty) const override;

  // The kernel's PTE helpers (their effect on the silent bits is the point of them).
  static bool writable(uint64_t e) { return (e & kWrite) != 0; }
  static bool young(uint64_t e) { return (e & kAccessed) != 0; }
  static bool modified(uint64_t e) { return (e & kModified) != 0; }
  static uint64_t pfn_bits(uint64_t e) { return e & kAddrMask; }
  static uint64_t mkyoung(uint64_t e);
  static uint64_t mkold(uint64_t e) { return e & ~(kAccessed | kValid); }
  static uint64_t mkdirty(uint64_t e);
  static uint64_t mkclean(uint64_t e) { return e & ~(kModified | kDirty); }
  static uint64_t wrprotect(uint64_t e) { return e & ~(kWrite | kDirty); }
  // What the refill handler loads into EntryLo0/1 (V, D, G, C and the pfn), as a PTE-shaped word.
  static uint64_t entrylo(uint64_t e) {
    return e & (kAddrMask | kValid | kDirty | kGlobal | kCacheMask);
  }
};

// The guest's own tables, which the harness builds before the run: the modelled guest kernel
// pre-faults its data pages young (and dirty where writable), so a guest access never needs
// the guest's own TLB-modified/invalid handling -- which is guest software outside this model.
class MipsGuestFormat final : public MipsPteFormat {
 public:
  MipsGuestFormat() : MipsPteFormat(4) {}
  const char* name() const override { return "mips-guest4"; }
  uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                     bool dirty) const override;
};

}  // namespace mmusim
