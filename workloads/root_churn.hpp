// The root-churn workload (x86 TDP roots, the root put/invalidate change): the vCPUs fault their
// slices in and keep re-touching them (demand-paging streams with --passes), while the VMM thread
// repeatedly zaps everything (kvm_mmu_zap_all_fast: invalidate every root, vCPUs reload, the
// invalidated roots are zapped with yielding and put) and an MMU-notifier thread keeps unmapping
// small GFN ranges in every root, valid or not (taking and putting references to each). That puts
// root references being taken and dropped right next to the last put of invalidated roots, which is
// where the wrong --root-put versions of the seed thread go wrong.
#pragma once
#include <cstdint>
#include <memory>

#include "workloads/demand_paging.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

class TdpMmu;

struct RootChurnParams {
  DemandPagingParams paging;        // the vCPUs' slices, re-touched --passes times
  unsigned churn_rounds = 8;        // zap-all rounds
  Cycles churn_interval = 520000;   // cycles between two zap-all rounds
  unsigned churn_unmaps = 8;        // range unmaps per zap-all round
  uint64_t unmap_bytes = 16ull << 10;  // bytes of guest memory one range unmap covers
  uint64_t seed = 1;                // where the unmapped ranges fall
  Arch arch = Arch::X86;            // named when the arch models no root invalidation
};

class RootChurn : public Workload {
 public:
  explicit RootChurn(const RootChurnParams& p);
  const char* name() const override { return "root-churn"; }
  uint64_t data_bytes() const override { return paging_.data_bytes(); }
  void attach(WorkloadEnv& env) override;
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override { return paging_.vcpu_stream(vcpu); }
  std::vector<HostThreadSpec> host_threads() override;

 private:
  RootChurnParams p_;
  DemandPaging paging_;
  WorkloadEnv* env_ = nullptr;
};

}  // namespace mmusim
