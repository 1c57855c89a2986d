// An op stream that plays a fixed list of ops, for tests that script what a vCPU does.
#pragma once
#include <utility>
#include <vector>

#include "sim/cpu/op.hpp"

namespace mmusim::testing {

class OpList : public OpStream {
 public:
  explicit OpList(std::vector<Op> ops) : ops_(std::move(ops)) {}
  bool next(Op& op) override {
    if (i_ >= ops_.size()) return false;
    op = ops_[i_++];
    return true;
  }

 private:
  std::vector<Op> ops_;
  size_t i_ = 0;
};

}  // namespace mmusim::testing
