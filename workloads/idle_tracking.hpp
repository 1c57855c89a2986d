// idle-tracking: the host periodically runs idle page tracking over ranges of guest memory:
// for each page it first reads whether it was accessed since the last scan (test_young), then
// marks it idle again (clear_young, no flush, as /sys/kernel/mm/page_idle does). On MIPS an old
// GPA PTE is invalid to the TLB, so the guest's next refill of it takes a GPA fault that the
// fast path turns young again: that re-access cost shows in hv.mips.fast.made_young and the
// fault latency. The workload counts pages seen young and idle.
#pragma once
#include "workloads/host_event_workload.hpp"

namespace mmusim {

struct IdleTrackingParams {
  HostEventWorkloadParams events;  // slices, passes and the host thread's events
  // Share of the guest's accesses after the first pass that are writes.
  double write_fraction = 0.1;
};

class IdleTracking : public HostEventWorkload {
 public:
  explicit IdleTracking(const IdleTrackingParams& p) : HostEventWorkload(p.events, p.write_fraction) {}
  const char* name() const override { return "idle-tracking"; }
  void publish(Stats& stats) override {
    HostEventWorkload::publish(stats);
    struct IdleStats : StatsGroup {
      explicit IdleStats(Stats& s) : StatsGroup(s, "workload.idle") {}
      statistics::Counter seen_young{*this, "seen_young", "pages the aging pass found young"};
      statistics::Counter seen_idle{*this, "seen_idle", "pages the aging pass found idle"};
    } st(stats);
    st.seen_young.set(young_);
    st.seen_idle.set(idle_);
  }

 protected:
  bool event_on_page(Agent& a, uint64_t gfn) override {
    if (env_->host.lookup(gfn).level == 0) return false;
    if (env_->host.test_young(a, gfn)) ++young_;
    else ++idle_;
    env_->host.clear_young(a, gfn);
    return true;
  }
  const char* stat_prefix() const override { return "workload.idle"; }

 private:
  uint64_t young_ = 0, idle_ = 0;
};

}  // namespace mmusim
