// swap-storm: the host reclaims batches of guest pages while the vCPUs keep touching them, in
// three ways taken in turn, one per event: swap-out (each page written to swap and freed; the
// guest's next touch swaps it in to a new frame), balloon inflation (the whole batch given
// back with one MADV_DONTNEED: one invalidation over the range; the next touch gets a fresh
// zero page), and compaction (each page migrated to a new frame: change_pte, no fault needed
// for the host, but the guest mapping must follow).
#pragma once
#include "workloads/host_event_workload.hpp"

namespace mmusim {

struct SwapStormParams {
  HostEventWorkloadParams events;  // slices, passes and the host thread's events
  // Share of the guest's accesses after the first pass that are writes.
  double write_fraction = 1.0 / 3;
};

class SwapStorm : public HostEventWorkload {
 public:
  explicit SwapStorm(const SwapStormParams& p) : HostEventWorkload(p.events, p.write_fraction) {}
  const char* name() const override { return "swap-storm"; }
  void publish(Stats& stats) override {
    HostEventWorkload::publish(stats);
    struct SwapStats : StatsGroup {
      explicit SwapStats(Stats& s) : StatsGroup(s, "workload.swap") {}
      statistics::Counter swapped{*this, "swapped_pages", "pages the storm swapped out"};
      statistics::Counter ballooned{*this, "ballooned_pages", "pages the storm ballooned away"};
      statistics::Counter migrated{*this, "migrated_pages", "pages the storm migrated"};
    } st(stats);
    st.swapped.set(done_[kSwap]);
    st.ballooned.set(done_[kBalloon]);
    st.migrated.set(done_[kMigrate]);
  }

 protected:
  void begin_event(Agent&) override { kind_ = (kind_ + 1) % 3; }
  uint64_t event_on_range(Agent& a, uint64_t gfn, uint64_t count) override {
    const uint64_t n = kind_ == kBalloon ? env_->host.unmap_range(a, gfn, count)
                                         : HostEventWorkload::event_on_range(a, gfn, count);
    done_[kind_] += n;
    return n;
  }
  bool event_on_page(Agent& a, uint64_t gfn) override {
    return kind_ == kSwap ? env_->host.swap_out(a, gfn) : env_->host.migrate(a, gfn);
  }
  const char* stat_prefix() const override { return "workload.swap"; }

 private:
  enum { kSwap, kBalloon, kMigrate };
  unsigned kind_ = 2;  // the first event (begin_event advances first) swaps out
  uint64_t done_[3] = {0, 0, 0};
};

}  // namespace mmusim
