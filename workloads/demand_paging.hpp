// The demand-paging workload, shaped like KVM's demand_paging_test: each vCPU writes every
// 4 KiB page of its own slice of guest memory once per pass, in sequential or random order.
// With --overlap f, consecutive slices overlap by a fraction f of a slice (vCPU i's slice starts
// at i * (1 - f) * slice), so neighbouring vCPUs fault on the same tables and pages and race.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/cpu/op.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

class DemandPaging : public Workload {
 public:
  explicit DemandPaging(const SimConfig& cfg);
  const char* name() const override { return "demand-paging"; }
  // Bytes of guest data all slices span together.
  uint64_t data_bytes() const override { return data_bytes_; }
  uint64_t slice_offset(unsigned vcpu) const { return uint64_t(vcpu) * stride_; }
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;

 private:
  const SimConfig& cfg_;
  uint64_t stride_ = 0;
  uint64_t data_bytes_ = 0;
};

}  // namespace mmusim
