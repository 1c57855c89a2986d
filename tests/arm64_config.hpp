// The SimConfig the arm64 end-to-end tests start from: demand paging on --arch arm64.
#pragma once
#include <cstdint>

#include "sim/core/config.hpp"

namespace mmusim::testing {

inline SimConfig arm64_demand(unsigned vcpus, uint64_t mem_per_vcpu, MmuLockMode lock) {
  SimConfig c;
  c.arch = Arch::Arm64;
  c.quiet = true;
  c.vcpus = vcpus;
  c.mem_per_vcpu = mem_per_vcpu;
  c.mmu_lock = lock;
  return c;
}

}  // namespace mmusim::testing
