#include "sim/mem/cache_array.hpp"

#include <algorithm>
#include <array>

#include "sim/core/error.hpp"

namespace mmusim {

template <bool Linked>
TagArrayT<Linked>::TagArrayT(uint64_t size_bytes, unsigned ways, const std::string& what)
    : ways_(ways), tail_mask_((1u << ((ways - 1) % 16 + 1)) - 1) {
  if (ways == 0 || ways > 255)
    throw UsageError(what + ": associativity must be between 1 and 255 ways");
  const uint64_t way_bytes = uint64_t(ways) * kLineSize;
  if (size_bytes == 0 || size_bytes % way_bytes != 0)
    throw UsageError(what + ": size " + std::to_string(size_bytes) +
                     " is not a non-zero multiple of ways x 64-byte lines");
  const uint64_t sets = size_bytes / way_bytes;
  // Slot numbers are 32-bit (kNone reserved); a 256 GiB cache is far beyond anything modelled.
  if (sets * ways >= kNone) throw UsageError(what + ": cache too large");
  sets_ = uint32_t(sets);
  if ((sets & (sets - 1)) == 0) set_mask_ = sets - 1;
  tags_.assign(size_t(sets_) * ways_, kInvalid);
  meta_.assign(size_t(sets_) * ways_, Meta{});
  fps_.assign(size_t(sets_) * ways_ + 15, 0);
}

// An empty way is exactly a way with stamp 0 (fill stamps at least 1, invalidate resets to 0,
// renormalisation keeps 0 for empty ways), and 0 is below every valid stamp. So "the first
// empty way, else the least recently used" is the first way with the smallest stamp, found by
// one pass over the stamps alone; stamps of valid ways are distinct, so ties only occur
// between empty ways, and the first of them wins as before.
template <bool Linked>
uint32_t TagArrayT<Linked>::victim(uint64_t line) const {
  const uint32_t base = set_of(line) * ways_;
  const Meta* st = meta_.data() + base;
  // Without branches: which way is older is a coin toss the host's branch predictor loses
  // half the time.
  uint32_t best = 0, best_stamp = st[0].stamp;
  for (unsigned w = 1; w < ways_; ++w) {
    const uint32_t s = st[w].stamp;
    const bool older = s < best_stamp;
    best_stamp = older ? s : best_stamp;
    best = older ? w : best;
  }
  return base + best;
}

template <bool Linked>
void TagArrayT<Linked>::renormalize() {
  std::array<uint32_t, 255> order{};
  for (uint32_t set = 0; set < sets_; ++set) {
    const uint32_t base = set * ways_;
    for (unsigned w = 0; w < ways_; ++w) order[w] = base + w;
    std::sort(order.begin(), order.begin() + ways_,
              [this](uint32_t a, uint32_t b) { return meta_[a].stamp < meta_[b].stamp; });
    uint32_t rank = 1;
    for (unsigned w = 0; w < ways_; ++w)
      if (meta_[order[w]].stamp != 0) meta_[order[w]].stamp = rank++;  // empty ways stay 0
  }
  clock_ = ways_ + 1;  // above every rank, so the slot being touched becomes the newest
}

template class TagArrayT<false>;
template class TagArrayT<true>;

}  // namespace mmusim
