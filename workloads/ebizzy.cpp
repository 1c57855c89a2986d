#include "workloads/ebizzy.hpp"

#include <string>

#include "sim/core/error.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

namespace {

// One thread's loop: write every page of the chunk (allocation and fill), search it (compute),
// free it (shootdown); the next iteration uses the next slot.
class EbizzyThread : public OpStream {
 public:
  EbizzyThread(Addr base, uint64_t chunk, unsigned slots, unsigned iterations, Cycles work)
      : base_(base), pages_(chunk / kPageSize), chunk_(chunk), slots_(slots),
        iterations_(iterations), work_(work) {}
  bool next(Op& op) override {
    if (iter_ >= iterations_) return false;
    const Addr chunk_va = base_ + (iter_ % slots_) * chunk_;
    if (page_ < pages_) {
      op.kind = Op::Kind::Access;
      op.access = Access::Write;
      op.gva = chunk_va + page_ * kPageSize;
      ++page_;
    } else if (page_ == pages_) {
      op.kind = Op::Kind::Compute;
      op.cycles = work_;
      ++page_;
    } else {
      op.kind = Op::Kind::GuestShootdown;
      op.gva = chunk_va;
      op.bytes = chunk_;
      page_ = 0;
      ++iter_;
    }
    return true;
  }

 private:
  Addr base_;
  uint64_t pages_, chunk_;
  unsigned slots_;
  unsigned iterations_;
  Cycles work_;
  unsigned iter_ = 0;
  uint64_t page_ = 0;
};

}  // namespace

Ebizzy::Ebizzy(const EbizzyParams& p) : p_(p) {
  if (p_.slots == 0) throw UsageError("ebizzy: a thread needs at least one chunk slot");
}

std::unique_ptr<OpStream> Ebizzy::vcpu_stream(unsigned vcpu) {
  const Addr base = GuestLayout::kDataGva + uint64_t(vcpu) * p_.slots * p_.ebizzy_chunk;
  return std::make_unique<EbizzyThread>(base, p_.ebizzy_chunk, p_.slots, p_.iterations,
                                        p_.ebizzy_work);
}

void Ebizzy::publish(Stats& stats) {
  // Every thread completes --iterations records; throughput is what the simulated time says.
  const double hz = p_.clock_ghz * 1e9;
  const uint64_t records = uint64_t(p_.vcpus) * p_.iterations;
  const Cycles makespan = stats.value("sim.cycles");
  // Records, and the rate when the time is known: for the run and for each vCPU.
  struct RecordStats : StatsGroup {
    RecordStats(Stats& s, const std::string& prefix) : StatsGroup(s, prefix) {}
    statistics::Counter records{*this, "records", "ebizzy records processed"};
  };
  struct RateStats : StatsGroup {
    RateStats(Stats& s, const std::string& prefix) : StatsGroup(s, prefix) {}
    statistics::Value records_per_s{*this, "records_per_s", "ebizzy records per simulated second"};
  };
  auto publish_records = [&](const std::string& prefix, uint64_t n, Cycles t) {
    RecordStats(stats, prefix).records.set(n);
    if (t) RateStats(stats, prefix).records_per_s.set(uint64_t(double(n) * hz / double(t)));
  };
  publish_records("workload.ebizzy", records, makespan);
  for (unsigned i = 0; i < p_.vcpus; ++i) {
    const std::string p = "vcpu." + std::to_string(i);
    publish_records(p + ".ebizzy", p_.iterations, stats.value(p + ".populate_cycles"));
  }
}

}  // namespace mmusim
