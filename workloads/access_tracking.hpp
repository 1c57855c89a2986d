// The access-tracking workload, shaped like KVM's access_tracking_perf_test: the vCPUs write
// every page of their slices (populate); the VMM marks all of guest memory idle through the
// host's MMU notifiers (clear_flush_young per 2 MiB, so TLBs drop the translations and the
// next use sets the accessed bit again); the vCPUs then read every other page; the VMM asks
// each page whether it is young (test_young). The pages read must be young and the others
// idle, exactly ("check.access_tracking_mismatch" otherwise). Phases are timed in cycles.
#pragma once
#include <memory>
#include <vector>

#include "sim/cpu/vmm_rendezvous.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct AccessTrackingParams {
  DemandPagingParams paging;  // the vCPUs' slices (vcpus, mem_per_vcpu, overlap, ...)
  // Bytes of guest memory one clear_flush_young call covers when the VMM marks memory idle.
  uint64_t mark_idle_bytes = 2ull << 20;
  Arch arch = Arch::X86;      // named when the arch has no MMU notifiers
};

class AccessTracking : public Workload {
 public:
  explicit AccessTracking(const AccessTrackingParams& p);
  const char* name() const override { return "access-tracking"; }
  uint64_t data_bytes() const override { return paging_.data_bytes(); }
  void attach(WorkloadEnv& env) override;
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  std::vector<HostThreadSpec> host_threads() override;
  VmmRendezvous* rendezvous() override { return &rendezvous_; }

 private:
  void vmm(Agent& a);
  AccessTrackingParams p_;
  DemandPaging paging_;
  VmmRendezvous rendezvous_;
  WorkloadEnv* env_ = nullptr;
};

}  // namespace mmusim
