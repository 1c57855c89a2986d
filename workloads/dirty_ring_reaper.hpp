// The VMM's side of the dirty ring (docs/ARCHITECTURE.md, Dirty ring), as dirty_log_test's
// collector and QEMU's reaper do it: read each vCPU's ring from where the VMM stopped last time,
// take every entry flagged DIRTY (its page into the log) and flag it RESET, then issue
// KVM_RESET_DIRTY_RINGS so KVM frees the entries and write-protects their pages again. Every
// read and flag write is a simulated memory access to the ring KVM's vCPU threads fill.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

struct DirtyRingReaperStats : StatsGroup {
  explicit DirtyRingReaperStats(Stats& s) : StatsGroup(s, "workload.dirty_log.ring") {}
  statistics::Counter harvested{*this, "harvested", "ring entries the VMM collected"};
  statistics::Counter full_wakeups{*this, "full_wakeups",
                                   "harvests for vCPUs that returned with a full ring"};
  statistics::Histogram harvest_cycles{*this, "harvest_cycles",
                                       "cycles of one pass over every vCPU's ring"};
  statistics::Histogram reset_cycles{*this, "reset_cycles",
                                     "cycles of one KVM_RESET_DIRTY_RINGS"};
};

class DirtyRingReaper {
 public:
  DirtyRingReaper(Stats& stats, DirtyLogging& kvm, unsigned vcpus);
  // Harvests every ring into `log` (one bit per page of the logged range), then resets them.
  void collect(Agent& a, std::vector<uint64_t>& log);
  DirtyRingReaperStats& stats() { return stats_; }

 private:
  DirtyRingReaperStats stats_;
  DirtyLogging& kvm_;
  std::vector<uint64_t> fetch_;  // per vCPU: the next entry to read (the VMM's own index)
};

}  // namespace mmusim
