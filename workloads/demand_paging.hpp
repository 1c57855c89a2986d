// The demand-paging workload, shaped like KVM's demand_paging_test: each vCPU writes every
// 4 KiB page of its own slice of guest memory once per pass, in sequential or random order.
// With --overlap f, consecutive slices overlap by a fraction f of a slice (vCPU i's slice starts
// at i * (1 - f) * slice), so neighbouring vCPUs fault on the same tables and pages and race.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/modes.hpp"
#include "sim/core/types.hpp"
#include "sim/cpu/op.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct DemandPagingParams {
  unsigned vcpus = 4;                          // one slice per vCPU
  uint64_t mem_per_vcpu = 64ull << 20;         // bytes of one slice
  double overlap = 0.0;                        // fraction of a slice shared with the next vCPU
  uint64_t page_size = 4096;                   // stage-2 mapping size: slices stay aligned to it
  unsigned passes = 1;                         // times each vCPU touches its slice
  AccessPattern pattern = AccessPattern::Seq;  // page order within a pass
  AccessOffset access_offset = AccessOffset::Zero;  // where in each page an access lands
  uint64_t seed = 1;                           // random page order (pattern Random)
};

class DemandPaging : public Workload {
 public:
  explicit DemandPaging(const DemandPagingParams& p);
  const char* name() const override { return "demand-paging"; }
  // Bytes of guest data all slices span together.
  uint64_t data_bytes() const override { return data_bytes_; }
  uint64_t slice_offset(unsigned vcpu) const { return uint64_t(vcpu) * stride_; }
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  // One op per page per pass.
  WorkSize vcpu_work() const override;

 private:
  DemandPagingParams p_;
  uint64_t stride_ = 0;
  uint64_t data_bytes_ = 0;
};

}  // namespace mmusim
