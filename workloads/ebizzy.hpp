// An ebizzy-like workload (the benchmark behind the published PV TLB flush result): one guest
// thread per vCPU, each repeatedly allocating a chunk of memory, filling it, searching it and
// freeing it. Freeing is munmap, which the guest completes with a TLB shootdown of the chunk
// to every vCPU of the process; with many threads that is a stream of frequent shootdowns.
//
// The harness pre-maps the guest tables for the whole window (as KVM selftests do), so the
// guest's "free" is its TLB shootdown of the chunk (Op::Kind::GuestShootdown), and reusing the
// chunk later walks the tables again. Thread i cycles over `slots` chunk slots of its own.
// Throughput: each iteration is one record; stats workload.ebizzy.records, .records_per_s
// (records over the simulated time until the last thread finished) and vcpu.N.ebizzy.*.
#pragma once
#include <cstdint>
#include <memory>

#include "sim/core/types.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct EbizzyParams {
  unsigned vcpus = 4;                    // one guest thread per vCPU
  unsigned iterations = 20;              // records (chunks used) per thread
  uint64_t ebizzy_chunk = 64ull << 10;   // bytes of one chunk (allocated, used, freed)
  Cycles ebizzy_work = 52000;            // guest compute per record (searching the chunk)
  unsigned slots = 4;                    // chunk slots a thread cycles through
  double clock_ghz = 2.6;                // turns simulated cycles into records per second
};

class Ebizzy : public Workload {
 public:
  explicit Ebizzy(const EbizzyParams& p);
  const char* name() const override { return "ebizzy"; }
  uint64_t data_bytes() const override {
    return uint64_t(p_.vcpus) * p_.slots * p_.ebizzy_chunk;
  }
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  void publish(Stats& stats) override;

 private:
  EbizzyParams p_;
};

}  // namespace mmusim
