// Addresses for the host kernel's own objects in simulated memory (lock words, request and mode
// words, list heads, per-page metadata). Each allocation is cache-line aligned unless asked to
// share a line, so which objects bounce together is an explicit modelling choice.
#pragma once
#include "sim/core/types.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim {

class KernelHeap {
 public:
  explicit KernelHeap(Addr base = phys_layout::kKernelBase) : next_(base) {}
  // `bytes` rounded up to whole cache lines.
  Addr alloc(uint64_t bytes = kLineSize) {
    Addr a = next_;
    next_ += (bytes + kLineSize - 1) & ~(kLineSize - 1);
    return a;
  }

 private:
  Addr next_;
};

}  // namespace mmusim
