// Tag array of one set-associative cache with true LRU replacement, shared by the private L1 and
// L2 and by the LLC. It knows line numbers (address >> kLineShift) and recency. The linked form
// (LinkedTagArray, the private levels) also keeps per slot one 32-bit link word the level uses
// to point at the same line one level down (L1 -> L2 slot, L2 -> LLC slot), beside the slot's
// recency stamp, so a hit that touches the stamp finds the link in the same host cache line.
// The LLC has nothing below it to link to and keeps its stamps dense (its victim scans read 16
// of them). What else a line carries (coherence state, directory entry) lives in parallel
// vectors owned by the cache level and indexed by the same slot number, so the lookup loop
// scans one flat array of tags.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/core/types.hpp"

namespace mmusim {

namespace cache_detail {
template <bool Linked>
struct SlotMeta {
  uint32_t stamp = 0;  // 0 = empty way (and only then); larger = more recent
  uint32_t link = 0;
};
template <>
struct SlotMeta<false> {
  uint32_t stamp = 0;
};
}  // namespace cache_detail

template <bool Linked>
class TagArrayT {
 public:
  static constexpr uint32_t kNone = ~uint32_t(0);  // "not present" slot
  static constexpr uint64_t kInvalid = ~uint64_t(0);  // tag of an empty way (no real line number)

  // size_bytes must be a non-zero multiple of ways * kLineSize. `what` names the config option
  // in the UsageError thrown for an impossible geometry.
  TagArrayT(uint64_t size_bytes, unsigned ways, const std::string& what);

  uint32_t sets() const { return sets_; }
  unsigned ways() const { return ways_; }
  uint32_t slots() const { return sets_ * ways_; }

  uint32_t set_of(uint64_t line) const {
    // Every default geometry has a power-of-two set count; keep the division for odd ones.
    return set_mask_ != kNoMask ? uint32_t(line & set_mask_) : uint32_t(line % sets_);
  }

  // Slot holding `line`, or kNone. Hot path of every access: a scan of one set, four ways per
  // step (the common geometries have 10 to 16 ways, so the loop overhead would otherwise cost
  // as much as the compares).
  uint32_t find(uint64_t line) const {
    const uint32_t base = set_of(line) * ways_;
    const uint64_t* t = tags_.data() + base;
    unsigned w = 0;
    for (; w < ways4_; w += 4) {
      if (t[w] == line) return base + w;
      if (t[w + 1] == line) return base + w + 1;
      if (t[w + 2] == line) return base + w + 2;
      if (t[w + 3] == line) return base + w + 3;
    }
    for (; w < ways_; ++w)
      if (t[w] == line) return base + w;
    return kNone;
  }

  // Marks the slot most recently used.
  void touch(uint32_t slot) {
    if (++clock_ == kStampLimit) renormalize();
    meta_[slot].stamp = clock_;
  }
  // For a caller that keeps its hot path free of calls: whether the next touch() renormalises,
  // and touch() for when it does not (the same stamp, without the check).
  bool touch_renormalizes() const { return clock_ == kStampLimit - 1; }
  void touch_unchecked(uint32_t slot) { meta_[slot].stamp = ++clock_; }

  // Slot that `line` would replace in its set: an empty way if any, else the least recently
  // used one. The caller evicts whatever tag() says is there before calling fill().
  uint32_t victim(uint64_t line) const;

  void fill(uint32_t slot, uint64_t line) {
    tags_[slot] = line;
    touch(slot);
  }
  void invalidate(uint32_t slot) {
    tags_[slot] = kInvalid;
    meta_[slot].stamp = 0;
  }
  uint64_t tag(uint32_t slot) const { return tags_[slot]; }
  // The slot's link word (linked form only; the caller sets it when it fills the slot).
  template <bool L = Linked, typename = std::enable_if_t<L>>
  uint32_t link(uint32_t slot) const {
    return meta_[slot].link;
  }
  template <bool L = Linked, typename = std::enable_if_t<L>>
  void set_link(uint32_t slot, uint32_t v) {
    meta_[slot].link = v;
  }
  bool valid(uint32_t slot) const { return tags_[slot] != kInvalid; }

  // Test hook: moves the recency clock close to its limit so renormalisation can be exercised.
  void set_clock_for_test(uint32_t c) { clock_ = c; }

 private:
  // Stamps are 32-bit to keep the per-CPU arrays small (thousands of CPUs each hold an L2);
  // when the clock would wrap, each set's stamps are replaced by their ranks, which preserves
  // the LRU order inside every set (the only order that matters).
  static constexpr uint32_t kStampLimit = ~uint32_t(0);
  void renormalize();

  uint32_t sets_ = 0;
  unsigned ways_ = 0;
  unsigned ways4_ = 0;  // ways_ rounded down to a multiple of 4
  static constexpr uint64_t kNoMask = ~uint64_t(0);
  uint64_t set_mask_ = kNoMask;  // sets - 1 for a power-of-two set count, else kNoMask
  uint32_t clock_ = 0;
  std::vector<uint64_t> tags_;
  using Meta = cache_detail::SlotMeta<Linked>;
  std::vector<Meta> meta_;
};

using TagArray = TagArrayT<false>;
using LinkedTagArray = TagArrayT<true>;

}  // namespace mmusim
