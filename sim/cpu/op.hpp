// What a vCPU executes: a stream of guest operations produced by a workload.
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"

namespace mmusim {

struct Op {
  enum class Kind : uint8_t { Access, Compute };
  Kind kind = Kind::Access;
  Access access = Access::Read;
  Addr gva = 0;        // Access: guest virtual address
  Cycles cycles = 0;   // Compute: guest work that touches no memory
};

class OpStream {
 public:
  virtual ~OpStream() = default;
  // Fills `op` with the next operation; false at the end of the stream.
  virtual bool next(Op& op) = 0;
};

}  // namespace mmusim
