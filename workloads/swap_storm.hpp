// swap-storm: the host reclaims batches of guest pages to swap while the vCPUs keep touching
// them; every swapped page the guest touches again faults back in (swap-in, a new frame).
#pragma once
#include "workloads/host_event_workload.hpp"

namespace mmusim {

class SwapStorm : public HostEventWorkload {
 public:
  // A third of the accesses after the first pass are writes.
  explicit SwapStorm(const SimConfig& cfg) : HostEventWorkload(cfg, 1.0 / 3) {}
  const char* name() const override { return "swap-storm"; }

 protected:
  bool event_on_page(Agent& a, uint64_t gfn) override { return env_->host.swap_out(a, gfn); }
  const char* stat_prefix() const override { return "workload.swap"; }
};

}  // namespace mmusim
