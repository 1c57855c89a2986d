// Tag array of one set-associative cache with true LRU replacement, shared by the private L1 and
// L2 and by the LLC. It knows line numbers (address >> kLineShift) and recency. The linked form
// (LinkedTagArray, the private levels) also keeps per slot one 32-bit link word the level uses
// to point at the same line one level down (L1 -> L2 slot, L2 -> LLC slot), beside the slot's
// recency stamp, so a hit that touches the stamp finds the link in the same host cache line.
// The LLC has nothing below it to link to and keeps its stamps dense (its victim scans read 16
// of them). What else a line carries (coherence state, directory entry) lives in parallel
// vectors owned by the cache level and indexed by the same slot number, so a lookup reads one
// flat array of tag fingerprints, then the tags those name.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sim/core/types.hpp"
#include "sim/mem/huge_page_allocator.hpp"

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

  // Slot holding `line`, or kNone. Hot path of every access. A line sits in at most one way of
  // its set, so the order of the search does not matter: the set's one-byte fingerprints (16
  // ways in one host load, compared at once) name the few ways whose full tag is worth reading.
  // A miss, the common case of the LLC, then mostly reads no tag at all (the tags of a 16-way
  // set span two host cache lines, its fingerprints a quarter of one).
  uint32_t find(uint64_t line) const {
    const uint32_t base = set_of(line) * ways_;
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi8(char(fingerprint(line)));
    const uint8_t* f = fps_.data() + base;
    const uint64_t* t = tags_.data() + base;
    for (unsigned w = 0; w < ways_; w += 16) {
      // fps_ has 15 bytes of padding at its end, so the last set's load stays inside it.
      const __m128i got = _mm_loadu_si128(reinterpret_cast<const __m128i*>(f + w));
      unsigned m = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(got, want)));
      if (ways_ - w < 16) m &= tail_mask_;
      for (; m; m &= m - 1) {
        const unsigned i = w + unsigned(__builtin_ctz(m));
        if (t[i] == line) return base + i;
      }
    }
    return kNone;
#else
    const uint64_t* t = tags_.data() + base;
    for (unsigned w = 0; w < ways_; ++w)
      if (t[w] == line) return base + w;
    return kNone;
#endif
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
    fps_[slot] = fingerprint(line);
    touch(slot);
  }
  void invalidate(uint32_t slot) {
    tags_[slot] = kInvalid;
    fps_[slot] = 0;
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
  unsigned tail_mask_ = 0;  // the ways of a set's last group of 16 fingerprints, as bits
  static constexpr uint64_t kNoMask = ~uint64_t(0);
  uint64_t set_mask_ = kNoMask;  // sets - 1 for a power-of-two set count, else kNoMask
  uint32_t clock_ = 0;
  template <typename T>
  using Array = std::vector<T, HugePageAllocator<T>>;
  Array<uint64_t> tags_;
  // Per slot, 8 bits of a hash of its tag (find() compares these first); an empty way's is
  // whatever it was, which costs at most a tag read that fails (kInvalid is no line).
  Array<uint8_t> fps_;
  static uint8_t fingerprint(uint64_t line) {
    // The top byte of a multiplicative hash depends on every bit of the line number: lines of
    // one set differ only above the set index.
    return uint8_t((line * 0x9E3779B97F4A7C15ull) >> 56);
  }
  using Meta = cache_detail::SlotMeta<Linked>;
  Array<Meta> meta_;
};

using TagArray = TagArrayT<false>;
using LinkedTagArray = TagArrayT<true>;

}  // namespace mmusim
