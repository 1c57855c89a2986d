// The dirty-log workload, shaped like KVM's dirty_log_perf_test: each vCPU writes every page of
// its own slice (populate), then, for --iterations rounds, writes every page again while the
// VMM, between rounds, gets and clears the dirty log. Dirty logging is enabled after the
// populate phase and disabled at the end. The VMM thread times every phase in simulated
// cycles ("workload.dirty_log.*"), and checks that each round's log holds exactly the pages
// the vCPUs wrote ("check.dirty_log_mismatch" otherwise).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/cpu/vmm_rendezvous.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct DirtyLogParams {
  DemandPagingParams paging;  // the vCPUs' slices (vcpus, mem_per_vcpu, overlap, ...)
  unsigned iterations = 20;   // dirty-and-get-log rounds after the populate round
  Arch arch = Arch::X86;      // named when the arch models no dirty logging
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
  DirtyLogParams p_;
  DemandPaging paging_;
  VmmRendezvous rendezvous_;
  WorkloadEnv* env_ = nullptr;
};

}  // namespace mmusim
