// TDP root lifecycle (the root put/invalidate change): invalidation with vCPU reloads, zapping a
// defunct root with yielding, freeing after RCU, and the put variants of the seed thread under the
// oracle.
#include <algorithm>
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"
#include "tests/workload_config.hpp"

using mmusim::MmuLockMode;
using mmusim::RootPut;
using mmusim::WorkloadKind;
using mmusim::SimConfig;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig churn(RootPut put, MmuLockMode lock = MmuLockMode::Shared) {
  // With its slot walker taking root references next to every last put.
  SimConfig c = mmusim::testing::root_churn_config(lock);
  c.root_put = put;
  c.zap_yield_every = 16;
  return c;
}

}  // namespace

TEST(TdpRoots, AgreedPutSurvivesRootChurnWithoutViolations) {
  for (MmuLockMode lock : {MmuLockMode::Shared, MmuLockMode::Exclusive}) {
    PlatformRun r = run_platform(churn(RootPut::Agreed, lock));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_EQ(stat(r.stats_json, "hv.zap_all.count"), 20) << lock;
    // Every zap-all made a new root for the vCPUs to reload into; every root was zapped once
    // and freed by the end (after RCU), and the zappers yielded on the way.
    EXPECT_GE(stat(r.stats_json, "hv.root.allocated"), 21) << lock;
    EXPECT_EQ(stat(r.stats_json, "hv.root.freed"), stat(r.stats_json, "hv.root.allocated")) << lock;
    EXPECT_EQ(stat(r.stats_json, "hv.root.zapped"), stat(r.stats_json, "hv.root.allocated")) << lock;
    EXPECT_GT(stat(r.stats_json, "hv.zap.yields"), 0) << lock;
    EXPECT_GT(stat(r.stats_json, "hv.zap_range.count"), 0) << lock;
    EXPECT_GT(stat(r.stats_json, "hv.ipi.count"), 0) << lock;  // reload requests to running vCPUs
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << lock;
  }
}

TEST(TdpRoots, ZapAlwaysPutIsCaughtZappingARootTwice) {
  PlatformRun r = run_platform(churn(RootPut::ZapAlways));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_GE(stat(r.stats_json, "check.root_zapped_twice"), 1);
}

TEST(TdpRoots, DecNotOnePutIsCaughtFreeingAReferencedRoot) {
  // The lost reference needs a put racing a slot walker's get, a narrow window: more rounds
  // than the other tests and two seeds, so the test does not hang on one interleaving.
  double freed = 0, violations = 0;
  for (uint64_t seed = 1; seed <= 2; ++seed) {
    SimConfig c = churn(RootPut::DecNotOne);
    c.churn_rounds = 80;
    c.seed = seed;
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    freed += std::max(0.0, stat(r.stats_json, "check.root_freed_while_referenced"));
    violations += stat(r.stats_json, "check.violations");
  }
  EXPECT_GE(freed, 1);
  EXPECT_GE(violations, 1);
}

TEST(TdpRoots, YieldingZapShortensTheLongestLockWait) {
  // Exclusive mode zaps invalidated roots under mmu_lock for write: without yielding, a vCPU fault
  // waits for the whole zap.
  SimConfig c = churn(RootPut::Agreed, MmuLockMode::Exclusive);
  c.zap_yield_every = 8;
  PlatformRun yielding = run_platform(c);
  c.zap_yield_every = 1u << 20;
  PlatformRun hogging = run_platform(c);
  ASSERT_EQ(yielding.exit_code, 0);
  ASSERT_EQ(hogging.exit_code, 0);
  EXPECT_EQ(stat(hogging.stats_json, "hv.zap.yields"), 0);
  EXPECT_LT(stat(yielding.stats_json, "hv.lock.mmu_lock.wait", "max"),
            stat(hogging.stats_json, "hv.lock.mmu_lock.wait", "max"));
  EXPECT_EQ(stat(yielding.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(hogging.stats_json, "check.violations"), 0);
}
