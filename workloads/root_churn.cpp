#include "workloads/root_churn.hpp"

#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "sim/hv/root_invalidation.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

RootChurn::RootChurn(const RootChurnParams& p) : p_(p), paging_(p.paging) {
  if (p_.unmap_bytes == 0 || p_.unmap_bytes % kPageSize != 0)
    throw UsageError("root-churn: unmap_bytes must be a positive multiple of 4 KiB");
}

void RootChurn::attach(WorkloadEnv& env) {
  if (!capability<RootInvalidation>(env.mmu))
    throw UsageError(std::string("--workload root-churn: --arch ") + mode_name(p_.arch) +
                     " does not model root invalidation (zap all): root-churn is specific to the "
                     "x86 TDP MMU's roots (--arch x86 --x86-mmu tdp)");
  env_ = &env;
}

std::vector<HostThreadSpec> RootChurn::host_threads() {
  std::vector<HostThreadSpec> t;
  const Cycles interval = p_.churn_interval;
  const unsigned rounds = p_.churn_rounds;
  RootInvalidation& roots = *capability<RootInvalidation>(env_->mmu);
  t.push_back({"zap-all", [&roots, interval, rounds](Agent& a) {
    for (unsigned i = 0; i < rounds; ++i) {
      a.wait_cycles(interval);
      roots.zap_all(a);
    }
  }});
  // The slot-walking thread unmaps one range of unmap_bytes at a random place --churn-unmaps
  // times per round, taking and putting a reference to every listed root each time.
  const unsigned per_round = p_.churn_unmaps;
  t.push_back({"unmap", [this, interval, rounds, per_round](Agent& a) {
    Rng rng(p_.seed, 1u << 20);
    const uint64_t range = p_.unmap_bytes;
    const uint64_t slots = data_bytes() / range;
    for (unsigned i = 0; i < rounds * per_round && slots; ++i) {
      a.wait_cycles(interval / per_round + 1);
      Addr gpa = GuestLayout::kDataGpa + rng.below(slots) * range;
      env_->mmu.zap_range(a, gpa, range);
    }
  }});
  return t;
}

}  // namespace mmusim
