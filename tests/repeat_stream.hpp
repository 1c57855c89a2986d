// Op streams for tests whose host threads drive the hypervisor MMU while the platform runs: a
// vCPU that reads one page again and again, and one that does nothing.
#pragma once
#include <cstdint>

#include "sim/cpu/op.hpp"

namespace mmusim::testing {

// Reads gva `times` times, `gap` cycles of computation after each read.
class Repeat : public OpStream {
 public:
  Repeat(Addr gva, uint64_t times, Cycles gap) : gva_(gva), left_(times), gap_(gap) {}
  bool next(Op& op) override {
    if (left_ == 0) return false;
    if (compute_) {
      op.kind = Op::Kind::Compute;
      op.cycles = gap_;
      --left_;
    } else {
      op.kind = Op::Kind::Access;
      op.access = Access::Read;
      op.gva = gva_;
    }
    compute_ = !compute_;
    return true;
  }

 private:
  Addr gva_;
  uint64_t left_;
  Cycles gap_;
  bool compute_ = false;
};

class Nothing : public OpStream {
 public:
  bool next(Op&) override { return false; }
};

}  // namespace mmusim::testing
