#include "workloads/demand_paging.hpp"

#include <numeric>

#include "sim/core/rng.hpp"

namespace mmusim {

namespace {

class SliceStream : public OpStream {
 public:
  SliceStream(uint64_t base, uint64_t pages, unsigned passes, bool random, uint64_t seed,
              unsigned vcpu, bool spread)
      : base_(base), pages_(pages), passes_(passes), random_(random), spread_(spread),
        rng_(seed, vcpu) {
    if (random_) {
      order_.resize(pages_);
      std::iota(order_.begin(), order_.end(), uint64_t(0));
      shuffle();
    }
  }
  bool next(Op& op) override {
    if (pass_ >= passes_ || pages_ == 0) return false;
    uint64_t page = random_ ? order_[i_] : i_;
    op.kind = Op::Kind::Access;
    op.access = Access::Write;
    op.gva = GuestLayout::kDataGva + base_ + page * kPageSize +
             (spread_ ? (page % (kPageSize / kLineSize)) * kLineSize : 0);
    if (++i_ == pages_) {
      i_ = 0;
      ++pass_;
      if (random_) shuffle();
    }
    return true;
  }

 private:
  void shuffle() {
    for (uint64_t k = pages_; k > 1; --k) std::swap(order_[k - 1], order_[rng_.below(k)]);
  }
  uint64_t base_, pages_;
  unsigned passes_;
  bool random_;
  bool spread_;
  Rng rng_;
  std::vector<uint64_t> order_;
  uint64_t i_ = 0;
  unsigned pass_ = 0;
};

}  // namespace

DemandPaging::DemandPaging(const DemandPagingParams& p) : p_(p) {
  uint64_t m = p_.mem_per_vcpu;
  // Stride rounded down to the mapping size, so slices stay aligned to huge pages.
  stride_ = uint64_t(double(m) * (1.0 - p_.overlap));
  stride_ -= stride_ % p_.page_size;
  data_bytes_ = stride_ * (p_.vcpus - 1) + m;
}

std::unique_ptr<OpStream> DemandPaging::vcpu_stream(unsigned vcpu) {
  return std::make_unique<SliceStream>(slice_offset(vcpu), p_.mem_per_vcpu / kPageSize,
                                       p_.passes, p_.pattern == AccessPattern::Random, p_.seed, vcpu,
                                       p_.access_offset == AccessOffset::Spread);
}

WorkSize DemandPaging::vcpu_work() const {
  return {uint64_t(p_.vcpus) * (p_.mem_per_vcpu / kPageSize) * p_.passes, "pages"};
}

}  // namespace mmusim
