// The software TLB refill loads an even/odd pair: a refill of an odd page whose even buddy is
// mapped inserts both halves, so the buddy's next access hits without a refill; pages of two
// different pairs do not help each other. Also: a flush gives a vCPU a new ASID instead of
// invalidating its TLB.
#include <gtest/gtest.h>

#include <vector>

#include "app/platform.hpp"

using namespace mmusim;

namespace {

class Script : public OpStream {
 public:
  explicit Script(std::vector<Op> ops) : ops_(std::move(ops)) {}
  bool next(Op& op) override {
    if (i_ == ops_.size()) return false;
    op = ops_[i_++];
    return true;
  }

 private:
  std::vector<Op> ops_;
  size_t i_ = 0;
};

Op access(unsigned page, Access a) {
  Op op;
  op.kind = Op::Kind::Access;
  op.access = a;
  op.gva = GuestLayout::kDataGva + Addr(page) * kPageSize;
  return op;
}

struct Counts {
  uint64_t refills, buddies, l1_hits;
};

Counts run_pages(unsigned first, unsigned second) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = 1;
  c.mem_per_vcpu = 64 << 10;
  PlatformHooks h;
  h.stream = [&](unsigned) {
    return std::make_unique<Script>(std::vector<Op>{
        access(first, Access::Write), access(second, Access::Write),
        access(first, Access::Read), access(second, Access::Read)});
  };
  Platform p(c, h);
  p.run();
  EXPECT_EQ(p.stats.value("check.violations"), 0u);
  return {p.stats.value("mips.tlb.refill"), p.stats.value("mips.tlb.buddy_loaded"),
          p.stats.value("tlb.l1.hit")};
}

}  // namespace

TEST(MipsRefill, OddPageRefillLoadsItsMappedEvenBuddyToo) {
  // Page 0 is faulted in first; the refill after page 1's fault loads the pair (0, 1).
  Counts c = run_pages(0, 1);
  EXPECT_EQ(c.buddies, 1u);
  // Each write: a refill that faults, and the refill after the fault. The two reads hit.
  EXPECT_EQ(c.refills, 4u);
  EXPECT_EQ(c.l1_hits, 2u);
}

TEST(MipsRefill, PagesOfDifferentPairsLoadNoBuddy) {
  Counts c = run_pages(1, 2);  // pairs (0, 1) and (2, 3): the buddies 0 and 3 are unmapped
  EXPECT_EQ(c.buddies, 0u);
  EXPECT_EQ(c.refills, 4u);
  EXPECT_EQ(c.l1_hits, 2u);
}
