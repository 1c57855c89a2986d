// Memory-cgroup charging of the VMM's pages (sim/hv/mem_cgroup.hpp) as the faulting threads run
// it: the per-CPU stock, the batch charged to every level's counter, the uncharge of a freed
// page on every level, a THP's charge past the stock, and a split THP's subpages.
#include <gtest/gtest.h>

#include "sim/hv/host_mm.hpp"
#include "tests/host_mm_rig.hpp"

using namespace mmusim;
using mmusim::testing::HostRig;

namespace {

HostMmParams with_memcg(unsigned depth, unsigned level = 1) {
  HostMmParams p;
  p.memcg.depth = depth;
  p.backing_level = level;
  return p;
}

constexpr uint64_t kGfn = 0x4000;

// One CPU faults `n` new pages in a row, dropping each reference once mapped.
void first_touches(HostRig& r, uint64_t n) {
  r.rig.spawn(0, [&r, n](Agent& a) {
    for (uint64_t i = 0; i < n; ++i) r.host.release(a, r.host.resolve(a, kGfn + i, true));
  });
  r.rig.run();
}

}  // namespace

// 40 first touches on one CPU, depth 2: the first charge finds the stock empty and charges a
// batch of 32 to the VMMs' cgroup, its parent and the root; 31 come from the stock; the 33rd
// charges the next batch. Every level holds the 64 pages charged in batches (the stock keeps
// the 24 not yet used). Each page records its memcg in its struct page line.
TEST(MemCgroup, FirstTouchesChargeEveryLevelOncePerBatch) {
  HostRig r(1, with_memcg(2));
  first_touches(r, 40);
  EXPECT_EQ(r.stat("host.mm.memcg.charges"), 40u);
  EXPECT_EQ(r.stat("host.mm.memcg.counter_charges"), 2u);
  EXPECT_EQ(r.stat("host.mm.memcg.stock_hits"), 38u);
  for (unsigned level = 0; level <= 2; ++level) EXPECT_EQ(r.memcg_usage(level), 64u) << level;
  EXPECT_EQ(r.memcg_of(kGfn), MemCgroup::kVmmCgroup);
}

// Four CPUs race on one first touch: each charges its page (a batch into its own stock), the
// losers free theirs, and each free uncharges that page on every level at once, with no stock
// in between: the counters end at the four batches less the freed pages.
TEST(MemCgroup, ALosersFreeUnchargesEveryLevel) {
  constexpr unsigned kCpus = 4;
  HostRig r(kCpus, with_memcg(3));
  r.host.resolve_functional(kGfn + 1);  // the page tables exist: the race is on the page alone
  for (unsigned cpu = 0; cpu < kCpus; ++cpu)
    r.rig.spawn(cpu, [&r](Agent& a) { r.host.release(a, r.host.resolve(a, kGfn, true)); });
  r.rig.run();
  const uint64_t lost = r.stat("host.mm.fault_race_lost");
  ASSERT_GE(lost, 1u);
  EXPECT_EQ(r.stat("host.mm.memcg.uncharges"), lost);
  EXPECT_EQ(r.stat("host.mm.faults"), kCpus);
  for (unsigned level = 0; level <= 3; ++level)
    EXPECT_EQ(r.memcg_usage(level), kCpus * 32 - lost) << level;
  EXPECT_EQ(r.memcg_of(kGfn), MemCgroup::kVmmCgroup);
}

// Depth 0 is the root cgroup: no counter, no stock, no record.
TEST(MemCgroup, TheRootCgroupChargesNothing) {
  HostRig r(1, with_memcg(0));
  first_touches(r, 40);
  EXPECT_EQ(r.stat("host.mm.memcg.charges"), 0u);
  EXPECT_EQ(r.stat("host.mm.memcg.counter_charges"), 0u);
  EXPECT_EQ(r.memcg_of(kGfn), 0u);
}

// A THP's 512 pages are more than a batch: consume_stock refuses them even with pages in the
// stock, so the counters take exactly 512 and the stock keeps what a 4 KiB charge left there.
TEST(MemCgroup, AHugePageSkipsTheStock) {
  HostRig r(1, with_memcg(1, 2));
  r.host.set_backing_level(kGfn, 1, 1);  // one 4 KiB page first
  r.rig.spawn(0, [&](Agent& a) {
    r.host.release(a, r.host.resolve(a, kGfn, true));       // a batch of 32; 31 stay in stock
    r.host.release(a, r.host.resolve(a, kGfn + 512, true));  // a THP
    r.host.release(a, r.host.resolve(a, kGfn + 1, true));    // from the stock again
  });
  r.rig.run();
  EXPECT_EQ(r.stat("host.mm.memcg.charges"), 1u + 512 + 1);
  EXPECT_EQ(r.stat("host.mm.memcg.counter_charges"), 2u);
  EXPECT_EQ(r.stat("host.mm.memcg.stock_hits"), 1u);
  EXPECT_EQ(r.memcg_usage(0), 32u + 512);
  EXPECT_EQ(r.memcg_usage(1), 32u + 512);
}

// A THP split gives every subpage the head's memcg (split_page_memcg): freeing them one by one
// (MADV_DONTNEED) uncharges each, and the counters fall by all 512.
TEST(MemCgroup, ASplitHugePagesSubpagesEachUnchargeThemselves) {
  HostRig r(1, with_memcg(1, 2));
  r.rig.spawn(0, [&](Agent& a) { r.host.release(a, r.host.resolve(a, kGfn, true)); });
  r.rig.run();
  ASSERT_EQ(r.memcg_usage(0), 512u);
  ASSERT_TRUE(r.host.split_backing(kGfn));
  EXPECT_EQ(r.memcg_of(kGfn + 511), MemCgroup::kVmmCgroup);
  r.rig.spawn(0, [&](Agent& a) { r.host.unmap_range(a, kGfn, 512); });
  r.rig.run();
  EXPECT_EQ(r.stat("host.mm.memcg.uncharges"), 512u);
  EXPECT_EQ(r.memcg_usage(0), 0u);
  EXPECT_EQ(r.memcg_usage(1), 0u);
}
