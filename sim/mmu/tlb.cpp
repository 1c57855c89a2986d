#include "sim/mmu/tlb.hpp"

#include <utility>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
// Fill order shared by every TLB in the process, so the oracle can tell which of two entries
// (possibly in different vCPUs' TLBs) was filled later.
uint64_t g_fill_seq = 0;

inline Addr page_base(Addr a, unsigned shift) { return (a >> shift) << shift; }
}  // namespace

Tlb::Tlb(std::string name, std::vector<TlbArrayConfig> arrays) : name_(std::move(name)) {
  arrays_.reserve(arrays.size());
  for (auto& c : arrays) {
    Array a;
    a.cfg = std::move(c);
    if (a.cfg.entries == 0) {  // an absent array: never hits, never fills
      a.sets = 0;
      a.ways = 0;
      arrays_.push_back(std::move(a));
      continue;
    }
    // ways 0 (or more ways than entries) means fully associative.
    a.ways = (a.cfg.ways == 0 || a.cfg.ways > a.cfg.entries) ? a.cfg.entries : a.cfg.ways;
    if (a.cfg.entries % a.ways != 0)
      throw UsageError("TLB " + name_ + ": " + std::to_string(a.cfg.entries) +
                       " entries is not a multiple of " + std::to_string(a.ways) + " ways");
    a.sets = a.cfg.entries / a.ways;
    a.pow2 = (a.sets & (a.sets - 1)) == 0;
    a.set_mask = a.sets - 1;
    a.entries.assign(size_t(a.sets) * a.ways, TlbEntry{});
    arrays_.push_back(std::move(a));
  }
}

TlbEntry* Tlb::lookup(uint16_t tag, Addr va) {
  // Hot path: no allocation, one set probed per (array, page size).
  for (auto& arr : arrays_) {
    if (arr.sets == 0) continue;
    const unsigned ways = arr.ways;
    for (unsigned shift : arr.cfg.page_shifts) {
      const Addr vpn = va >> shift;
      const Addr base = vpn << shift;
      TlbEntry* set = arr.entries.data() + set_of(arr, vpn) * ways;
      for (unsigned w = 0; w < ways; ++w) {
        TlbEntry& e = set[w];
        // page_shift is compared because a unified array holds several sizes whose bases
        // can coincide (a 2 MiB page and the first 4 KiB page inside it).
        if (e.valid && e.va_base == base && e.tag == tag && e.page_shift == shift) {
          e.lru = ++clock_;
          return &e;
        }
      }
    }
  }
  return nullptr;
}

bool Tlb::holds_size(unsigned page_shift) const {
  for (const auto& arr : arrays_) {
    if (arr.sets == 0) continue;
    for (unsigned s : arr.cfg.page_shifts)
      if (s == page_shift) return true;
  }
  return false;
}

void Tlb::insert(const TlbEntry& in) {
  for (auto& arr : arrays_) {
    if (arr.sets == 0) continue;
    bool holds = false;
    for (unsigned s : arr.cfg.page_shifts) holds |= (s == in.page_shift);
    if (!holds) continue;

    const Addr base = page_base(in.va_base, in.page_shift);
    TlbEntry* set = arr.entries.data() + set_of(arr, base >> in.page_shift) * arr.ways;
    TlbEntry* victim = nullptr;
    for (unsigned w = 0; w < arr.ways; ++w) {
      TlbEntry& e = set[w];
      // Refill of the same page replaces it in place: a set must never hold duplicates,
      // or a later flush_va would leave one behind.
      if (e.valid && e.tag == in.tag && e.va_base == base && e.page_shift == in.page_shift) {
        victim = &e;
        break;
      }
      if (!e.valid) {
        if (!victim || victim->valid) victim = &e;
      } else if (!victim || (victim->valid && e.lru < victim->lru)) {
        victim = &e;
      }
    }
    *victim = in;
    victim->valid = true;
    victim->va_base = base;
    victim->stale = false;
    victim->lru = ++clock_;
    if (victim->fill_seq == 0) victim->fill_seq = ++g_fill_seq;
    return;  // one array per size: the first that holds it
  }
}

size_t Tlb::flush_all() {
  size_t n = 0;
  for (auto& arr : arrays_)
    for (auto& e : arr.entries)
      if (e.valid) {
        e.valid = false;
        ++n;
      }
  return n;
}

size_t Tlb::flush_tag(uint16_t tag) {
  size_t n = 0;
  for (auto& arr : arrays_)
    for (auto& e : arr.entries)
      if (e.valid && e.tag == tag) {
        e.valid = false;
        ++n;
      }
  return n;
}

size_t Tlb::flush_va(uint16_t tag, Addr va) {
  // Entries sit in the set their own page number selects, so only those sets can cover va.
  size_t n = 0;
  for (auto& arr : arrays_) {
    if (arr.sets == 0) continue;
    for (unsigned shift : arr.cfg.page_shifts) {
      const Addr vpn = va >> shift;
      TlbEntry* set = arr.entries.data() + set_of(arr, vpn) * arr.ways;
      for (unsigned w = 0; w < arr.ways; ++w) {
        TlbEntry& e = set[w];
        if (e.valid && e.tag == tag && e.page_shift == shift && e.va_base == (vpn << shift)) {
          e.valid = false;
          ++n;
        }
      }
    }
  }
  return n;
}

size_t Tlb::flush_gpa_range(uint16_t tag, Addr gpa, uint64_t len) {
  if (len == 0) return 0;
  // Inclusive ends avoid overflow for ranges that reach the top of the address space.
  const Addr last = (gpa + len - 1 < gpa) ? ~Addr(0) : gpa + len - 1;
  size_t n = 0;
  for (auto& arr : arrays_)
    for (auto& e : arr.entries) {
      if (!e.valid || e.tag != tag) continue;
      const Addr e_last = e.gpa_base + ((Addr(1) << e.page_shift) - 1);
      if (e.gpa_base <= last && gpa <= e_last) {
        e.valid = false;
        ++n;
      }
    }
  return n;
}

size_t Tlb::valid_entries() const {
  size_t n = 0;
  for (const auto& arr : arrays_)
    for (const auto& e : arr.entries) n += e.valid ? 1 : 0;
  return n;
}

}  // namespace mmusim
