// A MIPS TLB as the KVM MIPS modes model it inside a vCPU's translation hardware: each entry
// maps an even/odd pair of 4 KiB pages (EntryHi's VPN2, EntryLo0 and EntryLo1), is tagged (a
// guest ASID, a GuestID, a root ASID) and the array is fully associative with LRU replacement
// (a JTLB). A half carries its own valid bit and permissions: the refill loads both PTEs of the
// pair whatever their state, as MIPS refill handlers do, and an access to an invalid half is a
// TLB invalid exception (docs/ARCHITECTURE.md, MIPS).
//
// Frames are whatever the TLB maps to: guest-physical in the guest TLB, host-physical in the
// root TLB.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/core/types.hpp"
#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class MipsPairTlb {
 public:
  // Entries of the JTLB of the cores KVM MIPS ran on (64: P5600, I6400, Loongson-3's VTLB).
  static constexpr unsigned kDefaultEntries = 64;

  struct Half {
    bool valid = false;
    Addr frame = 0;  // page base the half maps to
    Perms perms;
  };
  struct Entry {
    bool valid = false;
    uint64_t tag = 0;
    Addr vpn2 = 0;  // address >> 13
    Half half[2];
    uint64_t lru = 0;
  };

  explicit MipsPairTlb(unsigned entries = kDefaultEntries) : entries_(entries) {
    e_.reserve(entries);  // entries handed out stay where they are
  }

  static Addr vpn2(Addr a) { return a >> (kPageShift + 1); }
  static unsigned half_of(Addr a) { return unsigned(a >> kPageShift) & 1; }

  // The entry holding a's pair under `tag` (LRU updated), or nullptr.
  Entry* lookup(uint64_t tag, Addr a);
  // Writes the pair of `a` (replacing an entry of the same pair, else the LRU one).
  Entry& insert(uint64_t tag, Addr a, const Half& even, const Half& odd);
  // Drops the pair of `a` under `tag`; true when there was one.
  bool erase(uint64_t tag, Addr a);
  void flush_all();
  size_t valid_entries() const;

 private:
  unsigned entries_;
  std::vector<Entry> e_;
  uint64_t clock_ = 0;
};

}  // namespace mmusim
