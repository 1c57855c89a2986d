// What the TLB tag tests share (tests/tlb_tags_test.cpp, tests/mips_tlb_tags_test.cpp): a
// stream reading a few pages round and round, an overcommitted host of one-vCPU VMs, and a run
// that sums the oracle's stale TLB hits over the VMs.
#pragma once
#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

#include "app/platform.hpp"
#include "tests/platform_run.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim::testing {

// Reads `pages` pages of the data window round and round, `rounds` times: TLB hits after the
// first round, as long as nothing invalidated the entries.
class Rounds : public OpStream {
 public:
  Rounds(uint64_t pages, uint64_t rounds) : pages_(pages), left_(pages * rounds) {}
  bool next(Op& op) override {
    if (left_ == 0) return false;
    --left_;
    op.kind = Op::Kind::Access;
    op.access = Access::Read;
    op.gva = GuestLayout::kDataGva + (i_++ % pages_) * kPageSize;
    return true;
  }

 private:
  uint64_t pages_, left_, i_ = 0;
};

inline PlatformHooks rounds(uint64_t pages, uint64_t times) {
  PlatformHooks h;
  h.stream = [=](unsigned) { return std::make_unique<Rounds>(pages, times); };
  return h;
}

// Four one-vCPU VMs on two pCPUs, preempted every few thousand cycles.
inline SimConfig overcommitted(Arch arch) {
  SimConfig c;
  c.quiet = true;
  c.arch = arch;
  c.vms = 4;
  c.vcpus = 1;
  c.pcpus = 2;
  c.mem_per_vcpu = 1 << 20;
  c.timeslice = 20000;
  return c;
}

struct Result {
  std::string json;
  double stale = 0;  // stale TLB hits the oracle saw, over every VM
};

inline Result run_vms(const SimConfig& c, const PlatformHooks& hooks) {
  Result r;
  r.json = mmusim::testing::run_catching([&] {
    Platform p(c, hooks);
    p.run();
    std::ostringstream out;
    p.stats.write_json(out);
    return out.str();
  });
  // One VM's statistics carry no "vm.<i>." prefix.
  for (unsigned vm = 0; vm < c.vms; ++vm) {
    const std::string prefix = c.vms == 1 ? "" : "vm." + std::to_string(vm) + ".";
    r.stale += std::max(0.0, stat(r.json, prefix + "check.stale_tlb_hit"));
  }
  return r;
}

}  // namespace mmusim::testing
