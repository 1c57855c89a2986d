// The SimConfigs end-to-end tests start from: one workload on one arch, quiet, and the shapes
// several test files share (the dirty-log protocol's rounds, the root-churn VMM). A file adds
// only what its tests are about.
#pragma once
#include <cstdint>

#include "sim/core/config.hpp"

namespace mmusim::testing {

inline SimConfig workload_config(Arch arch, WorkloadKind workload, unsigned vcpus,
                                 uint64_t mem_per_vcpu = SimConfig{}.mem_per_vcpu) {
  SimConfig c;
  c.quiet = true;
  c.arch = arch;
  c.workload = workload;
  c.vcpus = vcpus;
  c.mem_per_vcpu = mem_per_vcpu;
  return c;
}

// dirty_log_perf_test: `rounds` rounds of dirtying memory and collecting the log.
inline SimConfig dirty_log_config(Arch arch, unsigned vcpus, uint64_t mem_per_vcpu,
                                  unsigned rounds) {
  SimConfig c = workload_config(arch, WorkloadKind::DirtyLog, vcpus, mem_per_vcpu);
  c.iterations = rounds;
  return c;
}

// Root churn on x86: a VMM thread zaps every root and unmaps ranges while 4 vCPUs fault.
inline SimConfig root_churn_config(MmuLockMode lock) {
  SimConfig c = workload_config(Arch::X86, WorkloadKind::RootChurn, 4, 2 << 20);
  c.passes = 12;
  c.mmu_lock = lock;
  c.churn_rounds = 20;
  c.churn_interval = 60000;
  c.churn_unmaps = 256;
  return c;
}

}  // namespace mmusim::testing
