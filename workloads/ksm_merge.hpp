// ksm-merge: KSM merges batches of guest pages onto one shared read-only frame each (as if
// their contents were identical) while the vCPUs keep writing them, so every merged page the
// guest writes again breaks COW in the host (a new private frame) -- through the MMU notifiers:
// invalidate + change_pte on the merge, and again on the COW break the vCPU's write fault
// triggers inside gfn_to_pfn_prot (which makes that fault retry on mmu_notifier_seq).
#pragma once
#include "workloads/host_event_workload.hpp"

namespace mmusim {

struct KsmMergeParams {
  HostEventWorkloadParams events;  // slices, passes and the host thread's events
  // Share of the guest's accesses after the first pass that are writes.
  double write_fraction = 0.5;
};

class KsmMerge : public HostEventWorkload {
 public:
  explicit KsmMerge(const KsmMergeParams& p) : HostEventWorkload(p.events, p.write_fraction) {}
  const char* name() const override { return "ksm-merge"; }

 protected:
  void begin_event(Agent&) override { stable_ = env_->host.new_shared_frame(); }
  bool event_on_page(Agent& a, uint64_t gfn) override { return env_->host.ksm_merge(a, gfn, stable_); }
  const char* stat_prefix() const override { return "workload.ksm"; }

 private:
  Addr stable_ = 0;  // the KSM stable-tree page of the current event
};

}  // namespace mmusim
