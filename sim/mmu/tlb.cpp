#include "sim/mmu/tlb.hpp"

#include <algorithm>
#include <utility>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

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
    for (unsigned shift : a.cfg.page_shifts)
      if (shift < kPageShift || shift >= 64)
        throw UsageError("TLB " + name_ + ": page shift " + std::to_string(shift) +
                         " is not a page size");
    a.sets = a.cfg.entries / a.ways;
    a.pow2 = (a.sets & (a.sets - 1)) == 0;
    a.set_mask = a.sets - 1;
    a.entries.assign(size_t(a.sets) * a.ways, TlbEntry{});
    a.keys.assign(a.entries.size(), 0);
    a.stamps.assign(a.entries.size(), 0);
    for (unsigned shift : a.cfg.page_shifts) {
      a.shift_bits |= uint64_t(1) << shift;
      probes_.push_back({unsigned(arrays_.size()), shift});
    }
    arrays_.push_back(std::move(a));
  }
}

void Tlb::update_probes() {
  active_.clear();
  for (const Probe& p : probes_)
    if (arrays_[p.array].live[p.shift] != 0) active_.push_back(p);
}

void Tlb::drop(Array& a, TlbEntry& e) {
  e.valid = false;
  const size_t i = size_t(&e - a.entries.data());
  a.keys[i] = 0;
  a.stamps[i] = 0;
  if (--a.live[e.page_shift] == 0) update_probes();
}

TlbEntry* Tlb::lookup(uint16_t tag, Addr va) {
  // Hot path: no allocation, one set probed per (array, page size) that holds any entry.
  for (const Probe& p : active_) {
    Array& arr = arrays_[p.array];
    const Addr vpn = va >> p.shift;
    // The key holds page_shift because a unified array holds several sizes whose bases can
    // coincide (a 2 MiB page and the first 4 KiB page inside it).
    const uint64_t want = key_of(vpn << p.shift, p.shift);
    const size_t first = set_of(arr, vpn) * arr.ways;
    const uint64_t* keys = arr.keys.data() + first;
    for (unsigned w = 0; w < arr.ways; ++w) {
      if (keys[w] != want) continue;
      TlbEntry& e = arr.entries[first + w];
      if (e.tag == tag) {
        arr.stamps[first + w] = ++clock_;
        return &e;
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
  if (in.page_shift >= 64) return;  // no array holds such a size
  for (auto& arr : arrays_) {
    if (arr.sets == 0 || ((arr.shift_bits >> in.page_shift) & 1) == 0) continue;

    const Addr base = page_base(in.va_base, in.page_shift);
    const uint64_t want = key_of(base, in.page_shift);
    const size_t first = set_of(arr, base >> in.page_shift) * arr.ways;
    TlbEntry* set = arr.entries.data() + first;
    const uint64_t* keys = arr.keys.data() + first;
    uint64_t* stamps = arr.stamps.data() + first;
    // Victim: the same page if present (a set must never hold duplicates, or a later flush_va
    // would leave one behind), else the first free way (key 0), else the least recently used.
    const unsigned ways = arr.ways;
    unsigned same = ways, free_way = ways, oldest = 0;
    uint64_t oldest_stamp = ~uint64_t(0);
    for (unsigned i = 0; i < ways; ++i) {
      if (keys[i] == 0) {
        if (free_way == ways) free_way = i;
      } else if (keys[i] == want && set[i].tag == in.tag) {
        same = i;
        break;
      } else if (stamps[i] < oldest_stamp) {
        oldest_stamp = stamps[i];
        oldest = i;
      }
    }
    const unsigned w = same != ways ? same : free_way != ways ? free_way : oldest;
    TlbEntry* victim = set + w;
    const bool was_valid = victim->valid;
    const unsigned old_shift = victim->page_shift;
    *victim = in;
    victim->valid = true;
    victim->va_base = base;
    victim->stale = false;
    stamps[w] = ++clock_;
    if (victim->fill_seq == 0) victim->fill_seq = ++fill_seq_;
    arr.keys[first + w] = want;
    bool changed = false;
    if (was_valid) changed |= --arr.live[old_shift] == 0;
    changed |= arr.live[in.page_shift]++ == 0;
    if (changed) update_probes();
    return;  // one array per size: the first that holds it
  }
}

size_t Tlb::flush_all() {
  size_t n = 0;
  for (auto& arr : arrays_) {
    for (auto& e : arr.entries)
      if (e.valid) {
        e.valid = false;
        ++n;
      }
    std::fill(arr.keys.begin(), arr.keys.end(), 0);
    std::fill(arr.stamps.begin(), arr.stamps.end(), 0);
    arr.live.fill(0);
  }
  active_.clear();
  return n;
}

template <class Match>
size_t Tlb::flush_where(Match match) {
  size_t n = 0;
  for (auto& arr : arrays_)
    for (auto& e : arr.entries)
      if (e.valid && match(e)) {
        drop(arr, e);
        ++n;
      }
  return n;
}

size_t Tlb::flush_tag(uint16_t tag) {
  return flush_where([tag](const TlbEntry& e) { return e.tag == tag; });
}

size_t Tlb::flush_vm(uint16_t vm) {
  return flush_where([vm](const TlbEntry& e) { return e.vm == vm; });
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
          drop(arr, e);
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
        drop(arr, e);
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
