// An ebizzy-like workload (the benchmark behind the published PV TLB flush result): one guest
// thread per vCPU, each repeatedly allocating a chunk of memory, filling it, searching it and
// freeing it. Freeing is munmap, which the guest completes with a TLB shootdown of the chunk
// to every vCPU of the process; with many threads that is a stream of frequent shootdowns.
//
// The harness pre-maps the guest tables for the whole window (as KVM selftests do), so the
// guest's "free" is its TLB shootdown of the chunk (Op::Kind::GuestShootdown), and reusing the
// chunk later walks the tables again. Thread i cycles over kSlots chunk slots of its own.
// Throughput: each iteration is one record; stats workload.ebizzy.records, .records_per_s
// (records over the simulated time until the last thread finished) and vcpu.N.ebizzy.*.
#pragma once
#include <cstdint>
#include <memory>

#include "sim/core/config.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

class Ebizzy : public Workload {
 public:
  static constexpr unsigned kSlots = 4;  // chunks a thread cycles through
  explicit Ebizzy(const SimConfig& cfg);
  const char* name() const override { return "ebizzy"; }
  uint64_t data_bytes() const override { return uint64_t(cfg_.vcpus) * kSlots * cfg_.ebizzy_chunk; }
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  void publish(Stats& stats) override;

 private:
  const SimConfig& cfg_;
};

}  // namespace mmusim
