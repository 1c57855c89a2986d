#include "sim/mem/cache_array.hpp"

#include <algorithm>
#include <array>

#include "sim/core/error.hpp"

namespace mmusim {

TagArray::TagArray(uint64_t size_bytes, unsigned ways, const std::string& what) : ways_(ways) {
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
  pow2_ = (sets & (sets - 1)) == 0;
  set_mask_ = sets - 1;
  tags_.assign(size_t(sets_) * ways_, kInvalid);
  stamps_.assign(size_t(sets_) * ways_, 0);
}

uint32_t TagArray::victim(uint64_t line) const {
  const uint32_t base = set_of(line) * ways_;
  uint32_t best = base;
  for (unsigned w = 0; w < ways_; ++w) {
    const uint32_t s = base + w;
    if (tags_[s] == kInvalid) return s;
    if (stamps_[s] < stamps_[best]) best = s;
  }
  return best;
}

void TagArray::renormalize() {
  std::array<uint32_t, 255> order{};
  for (uint32_t set = 0; set < sets_; ++set) {
    const uint32_t base = set * ways_;
    for (unsigned w = 0; w < ways_; ++w) order[w] = base + w;
    std::sort(order.begin(), order.begin() + ways_,
              [this](uint32_t a, uint32_t b) { return stamps_[a] < stamps_[b]; });
    uint32_t rank = 1;
    for (unsigned w = 0; w < ways_; ++w)
      if (stamps_[order[w]] != 0) stamps_[order[w]] = rank++;  // empty ways stay 0
  }
  clock_ = ways_ + 1;  // above every rank, so the slot being touched becomes the newest
}

}  // namespace mmusim
