#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace mmusim {

// Guest frames the run has made reachable (one bit per 4 KiB guest frame from GPA 0). The
// lost-update oracle checks that the second-stage tables map exactly these at the end: the
// vCPUs set bits as they translate; a host event that legitimately removes a mapping clears
// them.
class TouchedPages {
 public:
  void resize(uint64_t frames) { bits_.assign((frames + 63) / 64, 0); }
  void set(uint64_t gfn) {
    if (gfn / 64 < bits_.size()) bits_[gfn / 64] |= uint64_t(1) << (gfn % 64);
  }
  void clear(uint64_t gfn) {
    if (gfn / 64 < bits_.size()) bits_[gfn / 64] &= ~(uint64_t(1) << (gfn % 64));
  }
  void clear_all() { std::fill(bits_.begin(), bits_.end(), 0); }
  void clear_range(uint64_t gfn, uint64_t count) {
    for (uint64_t g = gfn; g < gfn + count && g / 64 < bits_.size(); ++g) clear(g);
  }
  bool test(uint64_t gfn) const {
    return gfn / 64 < bits_.size() && ((bits_[gfn / 64] >> (gfn % 64)) & 1);
  }
  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t w : bits_) n += uint64_t(__builtin_popcountll(w));
    return n;
  }
  uint64_t frames() const { return bits_.size() * 64; }

 private:
  std::vector<uint64_t> bits_;
};

}  // namespace mmusim
