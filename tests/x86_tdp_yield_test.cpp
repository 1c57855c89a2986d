// When the TDP MMU's long walks yield mmu_lock (docs/KVM_RELEASES.md, Yielding): only when the
// host scheduler wants the CPU or -- where the release and the host's preemption model make
// rwlock_needbreak report it -- when a thread waits for the lock; never on a fixed count unless
// the --zap-yield-every stress knob asks. A range zap flushes the TLBs before it yields.
#include <gtest/gtest.h>

#include "sim/core/kvm_timeline.hpp"
#include "tests/platform_run.hpp"
#include "tests/workload_config.hpp"

using mmusim::HostPreempt;
using mmusim::KvmRelease;
using mmusim::LockNeedbreak;
using mmusim::MmuLockMode;
using mmusim::SimConfig;
using mmusim::WorkloadKind;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

// Root churn: a VMM thread zaps every root and unmaps ranges while 4 vCPUs fault.
SimConfig churn(MmuLockMode lock) {
  return mmusim::testing::root_churn_config(lock);
}

PlatformRun run_ok(const SimConfig& c) { return mmusim::testing::run_clean(c); }

}  // namespace

TEST(TdpYield, ZapsYieldToWaitersOnlyWhenNeedbreakSaysSo) {
  // Exclusive mode: vCPU faults queue for mmu_lock while a zapper holds it for write.
  SimConfig c = churn(MmuLockMode::Exclusive);
  c.lock_needbreak = LockNeedbreak::Ignore;
  PlatformRun ignore = run_ok(c);
  c.lock_needbreak = LockNeedbreak::Yield;
  PlatformRun yield = run_ok(c);
  EXPECT_EQ(stat(ignore.stats_json, "hv.zap.yields"), 0);
  EXPECT_GT(stat(yield.stats_json, "hv.zap.yields"), 0);
  // Each yield let a waiter in: the longest wait for mmu_lock is shorter.
  EXPECT_LT(stat(yield.stats_json, "hv.lock.mmu_lock.wait", "max"),
            stat(ignore.stats_json, "hv.lock.mmu_lock.wait", "max"));
  // A yield needs a waiter: never more yields than contended acquisitions.
  EXPECT_LE(stat(yield.stats_json, "hv.zap.yields"),
            stat(yield.stats_json, "hv.lock.mmu_lock.contended"));
}

TEST(TdpYield, NoWaiterNoYield) {
  // One vCPU and the zapper in shared mode: a fault beside the zapper takes the read lock
  // without queueing, so nobody waits and nothing yields, although needbreak is honoured.
  SimConfig c = churn(MmuLockMode::Shared);
  c.vcpus = 1;
  c.lock_needbreak = LockNeedbreak::Yield;
  PlatformRun r = run_ok(c);
  EXPECT_LE(stat(r.stats_json, "hv.zap.yields"), stat(r.stats_json, "hv.lock.mmu_lock.contended"));
  c.zap_yield_every = 16;  // the stress knob yields regardless
  PlatformRun forced = run_ok(c);
  EXPECT_GT(stat(forced.stats_json, "hv.zap.yields"), stat(r.stats_json, "hv.zap.yields") + 100);
}

TEST(TdpYield, ReleaseAndHostPreemptionDecideNeedbreak) {
  using mmusim::needbreak_in;
  for (KvmRelease r : {KvmRelease{5, 10}, KvmRelease{5, 11}, KvmRelease{6, 11}, KvmRelease{6, 12}})
    EXPECT_FALSE(needbreak_in(r, HostPreempt::Voluntary)) << r.code();
  for (KvmRelease r : {KvmRelease{5, 12}, KvmRelease{6, 1}, KvmRelease{6, 10}})
    EXPECT_TRUE(needbreak_in(r, HostPreempt::Voluntary)) << r.code();
  for (KvmRelease r : {KvmRelease{5, 10}, KvmRelease{6, 1}, KvmRelease{6, 12}})
    EXPECT_TRUE(needbreak_in(r, HostPreempt::Full)) << r.code();
  // Whole runs: 6.10 yields to waiting vCPUs on a voluntary host, 6.12 only on a full one.
  SimConfig c = churn(MmuLockMode::Exclusive);
  c.kvm_version = {6, 10};
  EXPECT_GT(stat(run_ok(c).stats_json, "hv.zap.yields"), 0);
  c.kvm_version = {6, 12};
  EXPECT_EQ(stat(run_ok(c).stats_json, "hv.zap.yields"), 0);
  c.host_preempt = HostPreempt::Full;
  EXPECT_GT(stat(run_ok(c).stats_json, "hv.zap.yields"), 0);
}

TEST(TdpYield, RangeZapFlushesBeforeItYields) {
  // Without yields each range zap flushes once at its end; yielding after every SPTE, a zap
  // flushes what it zapped before each yield, so no thread takes mmu_lock with stale TLBs.
  SimConfig c = churn(MmuLockMode::Shared);
  PlatformRun once = run_ok(c);
  c.zap_yield_every = 1;
  PlatformRun each = run_ok(c);
  EXPECT_EQ(stat(once.stats_json, "hv.zap.yields"), 0);
  EXPECT_GT(stat(each.stats_json, "hv.flush.count"), stat(once.stats_json, "hv.flush.count"));
}
