// --arch arm64 end to end: demand paging on both sides of --mmu-lock, stage-1 x stage-2 walk
// reference counts for each stage-2 geometry, determinism, permission-fault relaxation in
// place, and the broadcast TLBI flush strategy (reaches every core, no IPI).
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "tests/arm64_config.hpp"
#include "tests/platform_run.hpp"
#include "tests/op_list.hpp"

using mmusim::SimConfig;
using mmusim::testing::arm64_demand;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;
using namespace mmusim;

namespace {

std::set<std::string> leaf_gpas(const std::string& leaves) {
  std::set<std::string> s;
  std::istringstream in(leaves);
  for (std::string l; std::getline(in, l);) s.insert(l.substr(0, l.find(' ')));
  return s;
}

using ListStream = mmusim::testing::OpList;

size_t tlb_entries(Platform& p) {
  size_t n = 0;
  for (auto& v : p.vcpus) n += v->tlb_l1().valid_entries() + v->tlb_l2().valid_entries();
  return n;
}

}  // namespace

TEST(Arm64Platform, DemandPagingExclusiveAndSharedAgreeWithoutViolations) {
  SimConfig c = arm64_demand(8, 2 << 20, MmuLockMode::Shared);
  c.overlap = 0.5;
  c.pattern = AccessPattern::Random;
  PlatformRun sh = run_platform(c);
  c.mmu_lock = MmuLockMode::Exclusive;
  PlatformRun ex = run_platform(c);
  ASSERT_EQ(sh.exit_code, 0) << sh.stats_json;
  ASSERT_EQ(ex.exit_code, 0) << ex.stats_json;
  EXPECT_EQ(stat(sh.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(ex.stats_json, "check.violations"), 0);
  // Overlapping slices race in shared mode only (cmpxchg on descriptors, -EAGAIN retries).
  EXPECT_GT(stat(sh.stats_json, "hv.fault.retry"), 0);
  EXPECT_EQ(stat(ex.stats_json, "hv.fault.retry"), 0);
  EXPECT_EQ(stat(ex.stats_json, "hv.spte.cmpxchg_fail"), 0);
  EXPECT_GT(stat(sh.stats_json, "check.touched_pages"), 0);
  EXPECT_EQ(leaf_gpas(sh.leaves), leaf_gpas(ex.leaves));
  // Every new mapping is cleaned+invalidated to the PoC (no FWB) before it is installed:
  // 64 lines per 4K page, only by the fault that locked the entry (losers back off first).
  EXPECT_EQ(stat(sh.stats_json, "hv.cmo.lines"), 64 * stat(sh.stats_json, "hv.cmo.ops"));
  EXPECT_EQ(stat(sh.stats_json, "hv.cmo.ops"), stat(sh.stats_json, "hv.fault.fixed"));
  EXPECT_EQ(stat(ex.stats_json, "hv.cmo.ops"), stat(ex.stats_json, "hv.fault.fixed"));
}

TEST(Arm64Platform, SharedMmuLockWaitsLessWithManyVcpus) {
  PlatformRun sh = run_platform(arm64_demand(16, 2 << 20, MmuLockMode::Shared));
  PlatformRun ex = run_platform(arm64_demand(16, 2 << 20, MmuLockMode::Exclusive));
  ASSERT_EQ(sh.exit_code, 0);
  ASSERT_EQ(ex.exit_code, 0);
  EXPECT_LT(stat(sh.stats_json, "sim.cycles"), stat(ex.stats_json, "sim.cycles"));
  EXPECT_GT(stat(ex.stats_json, "hv.lock.mmu_lock.wait", "mean"),
            stat(sh.stats_json, "hv.lock.mmu_lock.wait", "mean"));
}

TEST(Arm64Platform, SameSeedSameStatsAndQuantumDoesNotMatter) {
  SimConfig c = arm64_demand(4, 1 << 20, MmuLockMode::Shared);
  c.overlap = 0.25;
  c.pattern = AccessPattern::Random;
  c.seed = 5;
  PlatformRun a = run_platform(c);
  PlatformRun b = run_platform(c);
  ASSERT_EQ(a.exit_code, 0);
  EXPECT_EQ(a.stats_json, b.stats_json);
  EXPECT_EQ(a.leaves, b.leaves);
  SimConfig q = arm64_demand(4, 1 << 20, MmuLockMode::Shared);
  q.quantum = 10;
  PlatformRun q1 = run_platform(q);
  q.quantum = 100000;
  PlatformRun q2 = run_platform(q);
  ASSERT_EQ(q1.exit_code, 0);
  EXPECT_EQ(q1.stats_json, q2.stats_json);
}

TEST(Arm64Platform, ColdWalkReferencesFollowTheStage2Geometry) {
  // Without walk caches a 2D walk reads every stage-2 level for each of the 4 stage-1 entries
  // and for the final IPA: 4 * (n + 1) + n references for n stage-2 levels.
  struct Case {
    unsigned ipa_bits, s2_levels;
    double refs;
  };
  for (const Case& k : {Case{40, 0, 19}, Case{48, 0, 24}, Case{40, 4, 24}, Case{33, 0, 14}}) {
    SimConfig c = arm64_demand(1, 64 << 10, MmuLockMode::Shared);
    c.pwc_entries = 0;
    c.ipa_bits = k.ipa_bits;
    c.s2_levels = k.s2_levels;
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_EQ(stat(r.stats_json, "walk.refs", "max"), k.refs) << k.ipa_bits << "/" << k.s2_levels;
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  }
}

TEST(Arm64Platform, BlockMappingsWithHugeBacking) {
  SimConfig c = arm64_demand(2, 4 << 20, MmuLockMode::Shared);
  c.page_size = 2 << 20;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "hv.fault.fixed"), 4);  // 8 MiB of 2 MiB blocks
  size_t blocks = 0;
  std::istringstream s(r.leaves);
  for (std::string l; std::getline(s, l);)
    if (l.find(" 2 ") != std::string::npos) ++blocks;
  EXPECT_EQ(blocks, 4u);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

TEST(Arm64Platform, ExecuteAfterReadRelaxesPermissionsInPlace) {
  SimConfig c = arm64_demand(1, 64 << 10, MmuLockMode::Shared);
  PlatformHooks h;
  h.stream = [](unsigned) {
    std::vector<Op> ops(3);
    ops[0].gva = GuestLayout::kDataGva;  // read: mapped read+write, not executable
    ops[1].gva = GuestLayout::kDataGva + 8;
    ops[1].access = Access::Fetch;       // stage-2 permission fault: XN cleared in place
    ops[2].gva = GuestLayout::kDataGva + 16;
    ops[2].access = Access::Fetch;       // now a TLB hit
    return std::make_unique<ListStream>(ops);
  };
  Platform p(c, h);
  p.run();
  EXPECT_EQ(p.stats.value("hv.fault.perm_relax"), 1u);
  EXPECT_EQ(p.stats.value("hv.fault.fixed"), 2u);
  EXPECT_EQ(p.stats.value("hv.s2.break_before_make"), 0u);
  EXPECT_EQ(p.stats.value("check.violations"), 0u);
  bool found = false;
  for (const Stage2Leaf& l : p.final_leaves)
    if (l.gpa == GuestLayout::kDataGpa) {
      found = true;
      EXPECT_EQ(l.perms, (Perms{true, true, true}));
    }
  EXPECT_TRUE(found);
}

namespace {

// Runs demand paging on 4 vCPUs with a host thread that, once the vCPUs hold translations,
// flushes `pages` pages by IPA; records the TLB entries before and after.
struct FlushProbe {
  size_t before = 0, after = 0;
  uint64_t removed = 0;  // TLB entries the probe flush removed (hv.tlbi.entries_removed)
  Cycles cycles = 0;     // the probe flush, request to completion
};

std::unique_ptr<Platform> run_flush_probe(FlushKind flush, uint64_t pages, FlushProbe& probe) {
  SimConfig c = arm64_demand(4, 1 << 20, MmuLockMode::Shared);
  c.flush = flush;
  c.passes = 3000;  // after the first pass the vCPUs run from their TLBs, in guest mode
  PlatformHooks h;
  Platform* self = nullptr;
  h.host_threads.push_back({"flusher", [&probe, &self, pages](Agent& a) {
                              a.wait_cycles(10400000);  // past the first pass (host faults)
                              probe.before = tlb_entries(*self);
                              const Cycles t0 = a.now();
                              const uint64_t r0 = self->stats.value("hv.tlbi.entries_removed");
                              self->flush.flush_range(a, -1, GuestLayout::kDataGpa,
                                                      pages * kPageSize);
                              probe.cycles = a.now() - t0;
                              probe.removed = self->stats.value("hv.tlbi.entries_removed") - r0;
                              probe.after = tlb_entries(*self);
                            }});
  auto p = std::make_unique<Platform>(c, h);
  self = p.get();
  p->run();
  return p;
}

}  // namespace

TEST(Arm64Platform, BroadcastTlbiEmptiesEveryTlbWithoutIpis) {
  FlushProbe probe;
  const auto p = run_flush_probe(FlushKind::Broadcast, 1, probe);
  EXPECT_GT(probe.before, 4u);
  // VMALLE1IS removed every entry there was; the vCPUs keep running and refill some while the
  // DSB waits for the other cores' acknowledgements.
  EXPECT_GE(probe.removed, probe.before);
  EXPECT_LT(probe.after, probe.before);
  EXPECT_EQ(p->stats.value("hv.ipi.count"), 0u);
  EXPECT_EQ(p->stats.value("guest.ipis_taken"), 0u);
  // One TLBI IPAS2E1IS + one VMALLE1IS for the page, then the teardown's VMALLS12E1IS.
  EXPECT_EQ(p->stats.value("hv.tlbi.by_ipa"), 1u);
  EXPECT_EQ(p->stats.value("hv.tlbi.ops"), 3u);
  EXPECT_EQ(p->stats.value("check.violations"), 0u);
}

TEST(Arm64Platform, BroadcastTlbiAboveThresholdInvalidatesTheWholeVmid) {
  FlushProbe probe;
  const auto p = run_flush_probe(FlushKind::Broadcast, 65, probe);  // threshold 64 pages
  // Every entry went (the vCPUs keep running and may refill a few during the DSB wait).
  EXPECT_GE(probe.removed, probe.before);
  EXPECT_LT(probe.after, probe.before);
  EXPECT_EQ(p->stats.value("hv.tlbi.by_ipa"), 0u);
  EXPECT_EQ(p->stats.value("hv.tlbi.full_vmid"), 2u);  // this one and the teardown's
  EXPECT_EQ(p->stats.value("hv.tlbi.ops"), 2u);
}

TEST(Arm64Platform, IpiAllOnArm64StillInterruptsTheVcpus) {
  FlushProbe probe;
  const auto p = run_flush_probe(FlushKind::IpiAll, 1, probe);
  EXPECT_GT(p->stats.value("hv.ipi.count"), 0u);
  EXPECT_EQ(p->stats.value("hv.tlbi.ops"), 0u);
  EXPECT_EQ(p->stats.value("check.violations"), 0u);
}

namespace {
// The probe's flush time and IPI count.
std::pair<Cycles, uint64_t> probe_once(FlushKind flush) {
  FlushProbe probe;
  const auto p = run_flush_probe(flush, 1, probe);
  return {probe.cycles, p->stats.value("hv.ipi.count")};
}
}  // namespace

TEST(Arm64Platform, FlushStrategyComparisonBroadcastBeatsIpis) {
  const auto ipi = probe_once(FlushKind::IpiAll);
  const auto bc = probe_once(FlushKind::Broadcast);
  EXPECT_GT(ipi.second, 0u);
  EXPECT_EQ(bc.second, 0u);
  EXPECT_GT(ipi.first, 0u);
  EXPECT_GT(bc.first, 0u);
  // Interrupting running vCPUs and waiting for their acknowledgements costs more than the
  // hardware broadcast and its DSB.
  EXPECT_LT(bc.first, ipi.first);
  std::cout << "flush of one page with 4 running vCPUs: broadcast " << bc.first
            << " cycles, ipi-all " << ipi.first << " cycles\n";
}
