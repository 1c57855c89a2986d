// A host memory manager (sim/hv/host_mm.hpp) on a SyncRig, one agent per simulated CPU: the rig
// of the hv_host_mm and hv_mem_cgroup tests, with readers of the simulated memory they check.
#pragma once
#include <cstdint>

#include "sim/hv/host_mm.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "tests/sync_test_harness.hpp"

namespace mmusim::testing {

struct HostRig {
  SyncRig rig;
  KernelHeap heap;
  HostMm host;
  explicit HostRig(unsigned cpus, const HostMmParams& p = HostMmParams())
      : rig(cpus), host(p, heap, rig.mem, rig.stats) {}
  uint64_t stat(const char* name) const { return rig.stats.value(name); }
  // The usage word of the memory-cgroup counter `level` steps above the VMMs' cgroup.
  uint64_t memcg_usage(unsigned level) const {
    return rig.mem.read64(host.memory().memcg.counter_line(level));
  }
  // page->memcg_data of the frame backing `gfn`.
  uint64_t memcg_of(uint64_t gfn) const {
    return rig.mem.read64(PageAllocator::memcg_word(host.lookup(gfn).hpa));
  }
};

}  // namespace mmusim::testing
