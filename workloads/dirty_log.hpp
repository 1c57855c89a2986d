// The dirty-log workload, shaped like KVM's dirty_log_perf_test: each vCPU goes over every page
// of its own slice (populate), then, for --iterations rounds, over every page again while the
// VMM, between rounds, gets the dirty log and (with manual protect) clears it. Page i of a
// slice is written when i % write_fraction == 0 and only read otherwise (the selftest's -f).
// The VMM enables the manual-protect capabilities it is given, then dirty logging after the
// populate phase, and disables it at the end. It times every phase in simulated cycles
// ("workload.dirty_log.*"), and checks that each round's log holds exactly the pages the
// vCPUs wrote -- every page of the slot in the first round with initially-set, whose bitmap
// starts all set ("check.dirty_log_mismatch" otherwise).
// With the dirty ring (--dirty-tracking ring) the VMM enables KVM_CAP_DIRTY_LOG_RING before the
// vCPUs exist, and instead of getting and clearing the log it harvests the rings and resets
// them (workloads/dirty_ring_reaper.hpp): at the end of each round, and whenever a vCPU comes
// back with a full ring during one; the round's log is every page it harvested.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/cpu/vmm_rendezvous.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/dirty_ring_reaper.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct DirtyLogParams {
  DemandPagingParams paging;  // the vCPUs' slices (vcpus, mem_per_vcpu, overlap, ...)
  unsigned iterations = 20;   // dirty-and-get-log rounds after the populate round
  Arch arch = Arch::X86;      // named when the arch models no dirty logging
  DirtyLogCaps caps{true, true};  // KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 as the selftest enables it
  unsigned write_fraction = 1;    // the selftest's -f
  DirtyTracking tracking = DirtyTracking::Bitmap;
  DirtyRingParams ring;  // with DirtyTracking::Ring
};

class DirtyLog : public Workload {
 public:
  explicit DirtyLog(const DirtyLogParams& p);
  const char* name() const override { return "dirty-log"; }
  uint64_t data_bytes() const override { return paging_.data_bytes(); }
  void attach(WorkloadEnv& env) override;
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  std::vector<HostThreadSpec> host_threads() override;
  VmmRendezvous* rendezvous() override { return &rendezvous_; }

 private:
  void vmm(Agent& a);
  // A round with the ring: harvests into `log` whenever a vCPU returns with a full ring, until
  // every vCPU reached the end of the round.
  void ring_round(Agent& a, std::vector<uint64_t>& log);
  DirtyLogParams p_;
  std::unique_ptr<DirtyRingReaper> reaper_;
  DemandPaging paging_;
  VmmRendezvous rendezvous_;
  WorkloadEnv* env_ = nullptr;
};

}  // namespace mmusim
