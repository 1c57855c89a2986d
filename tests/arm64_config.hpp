// The SimConfig the arm64 end-to-end tests start from: demand paging on --arch arm64.
#pragma once
#include <cstdint>

#include "sim/core/config.hpp"
#include "tests/platform_run.hpp"

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

// Every vCPU touches the same pages: faults on one page race.
inline SimConfig arm64_racing(MmuLockMode lock) {
  SimConfig c = arm64_demand(8, 512 << 10, lock);
  c.partition = Partition::Off;
  c.pattern = AccessPattern::Random;
  return c;
}

// Leaves a run's faults installed (fixed faults that were not permission relaxations).
inline double arm64_new_mappings(const PlatformRun& r) {
  return stat(r.stats_json, "hv.fault.fixed") - stat(r.stats_json, "hv.fault.perm_relax");
}

// The locked-boot workload: the VMM locks the guest's RAM, writes an image, MMU-off vCPUs read it.
inline SimConfig arm64_locked_boot(CmoPolicy policy, unsigned vcpus) {
  SimConfig c;
  c.arch = Arch::Arm64;
  c.workload = WorkloadKind::LockedBoot;
  c.quiet = true;
  c.vcpus = vcpus;
  c.mem_per_vcpu = 256 << 10;
  c.image_size = 128 << 10;
  c.cmo_policy = policy;
  return c;
}

}  // namespace mmusim::testing
