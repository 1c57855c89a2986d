// A set-associative, LRU translation buffer of one physical CPU, holding entries of several page sizes
// (4 KiB, 2 MiB, 1 GiB; each size its own array, as real L1 DTLBs do; a unified array may hold
// several sizes, as an STLB does). Entries are tagged (VM/VPID), remember the guest-physical page
// they came through (for GPA-ranged invalidation) and when they were filled (for the oracle).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/types.hpp"
#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

struct TlbEntry {
  bool valid = false;
  uint16_t tag = 0;         // VM / VPID tag
  unsigned page_shift = 12; // 12, 21 or 30
  Addr va_base = 0;         // guest virtual base of the page
  Addr gpa_base = 0;        // guest physical base the translation went through
  Addr hpa_base = 0;        // host physical base of the page
  Perms perms;              // combined guest and second-stage permissions
  // Which VM and which of its vCPUs filled the entry: the oracle's knowledge, not the
  // hardware's (which only compares `tag`). A pCPU's TLB holds entries of every vCPU thread
  // pinned to it (sim/cpu/pcpu_tlbs.hpp).
  uint16_t vm = 0;
  uint16_t vcpu = 0;
  uint64_t fill_seq = 0;    // global fill order, for the stale-translation oracle
  bool stale = false;       // set by the oracle: the mapping behind it was removed and flushed
};

// Geometry of one array: how many entries, how many ways, which page sizes it holds.
struct TlbArrayConfig {
  unsigned entries = 64;
  unsigned ways = 4;
  std::vector<unsigned> page_shifts = {12};
};

class Tlb {
 public:
  Tlb(std::string name, std::vector<TlbArrayConfig> arrays);
  // Looks every array up for va; returns the hit entry (LRU updated) or nullptr.
  TlbEntry* lookup(uint16_t tag, Addr va);
  // Inserts into the array holding e.page_shift (evicting the set's LRU entry).
  // Ignored when no array holds that size.
  void insert(const TlbEntry& e);
  bool holds_size(unsigned page_shift) const;
  // Invalidation. Each returns how many valid entries it removed.
  size_t flush_all();
  size_t flush_tag(uint16_t tag);
  // Every entry VM `vm` filled, whatever its tag (an x86 INVEPT single-context: the combined
  // mappings of one EPTP, which the model does not keep, are those of the VM's roots).
  size_t flush_vm(uint16_t vm);
  size_t flush_va(uint16_t tag, Addr va);
  size_t flush_gpa_range(uint16_t tag, Addr gpa, uint64_t len);
  size_t valid_entries() const;
  // Visits every valid entry (oracle scans, tests). Visitors may mark entries stale; valid,
  // tag, va_base and page_shift change only through the Tlb, which indexes entries by them.
  template <class F>
  void for_each(F&& f) {
    for (auto& arr : arrays_)
      for (auto& e : arr.entries)
        if (e.valid) f(e);
  }
  const std::string& name() const { return name_; }

 private:
  // Drops every valid entry `match` accepts; returns how many.
  template <class Match>
  size_t flush_where(Match match);
  struct Array {
    TlbArrayConfig cfg;
    unsigned sets = 1;
    std::vector<TlbEntry> entries;  // sets * ways
    // Per entry, what a lookup matches on besides the tag, packed into one word so a set scan
    // reads 8 bytes per way instead of a whole entry: va_base | page_shift when valid (va_base
    // is aligned to its page, so the low 12 bits are free), 0 when not.
    std::vector<uint64_t> keys;
    // Per entry, its recency stamp (larger = more recently used; 0 only while invalid), apart
    // from the entries for the same reason as keys: an insert picks its victim from keys and
    // stamps alone, two cache lines per set instead of one line per way.
    std::vector<uint64_t> stamps;
    unsigned ways = 1;              // effective ways (cfg.ways clamped to entries)
    uint64_t set_mask = 0;          // sets - 1 when sets is a power of two
    bool pow2 = true;               // index with a mask (fast) rather than a modulo
    uint64_t shift_bits = 0;        // bit s set: the array holds pages of shift s
    // Valid entries per page shift. A size with none is not probed: most runs use one page
    // size, and an STLB miss would otherwise scan a whole set once per size it could hold.
    std::array<uint32_t, 64> live{};
  };
  // One (array, page size) a lookup probes, in probing order.
  struct Probe {
    unsigned array, shift;
  };
  static size_t set_of(const Array& a, Addr vpn) {
    return a.pow2 ? size_t(vpn & a.set_mask) : size_t(vpn % a.sets);
  }
  static uint64_t key_of(Addr va_base, unsigned shift) { return va_base | shift; }
  // An entry leaving the valid state (eviction or invalidation).
  void drop(Array& a, TlbEntry& e);
  // Recomputes active_ after a page size's live count went to or from zero.
  void update_probes();
  std::string name_;
  std::vector<Array> arrays_;
  std::vector<Probe> probes_;  // every (array, size), arrays in order, sizes in config order
  std::vector<Probe> active_;  // the probes_ whose size has valid entries, in the same order
  uint64_t clock_ = 0;
  // Fill order for entries inserted without one (fill_seq 0). A vCPU gives every entry one from
  // its platform's FillClock (sim/hv/remote_flush.hpp), shared by all its TLBs, so the oracle
  // can tell which of two entries in different vCPUs' TLBs was filled later.
  uint64_t fill_seq_ = 0;
};

}  // namespace mmusim
