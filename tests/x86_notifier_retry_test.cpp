// Which MMU-notifier invalidations make an x86 fault retry (docs/KVM_RELEASES.md): before 5.12
// any invalidation in progress; from 5.12 only one whose recorded range covers the faulting gfn
// (or one that completed since the fault read the sequence); from 6.8 the fault also checks
// before resolving the host page and before taking mmu_lock, and retries without the lock.
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"
#include "tests/workload_config.hpp"

using mmusim::KvmRelease;
using mmusim::NotifierEarlyCheck;
using mmusim::NotifierRetry;
using mmusim::SimConfig;
using mmusim::WorkloadKind;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

// Swap storm: a host thread swaps guest pages out and in (notifier invalidations) while 4 vCPUs
// fault on their own pages.
SimConfig storm() {
  SimConfig c = mmusim::testing::workload_config(mmusim::Arch::X86, WorkloadKind::SwapStorm, 4,
                                                 1 << 20);
  c.host_events = 200;
  return c;
}

std::string run_ok(const SimConfig& c) { return mmusim::testing::run_clean(c).stats_json; }

}  // namespace

TEST(NotifierRetry, AnInvalidationElsewhereCausesNoRetry) {
  SimConfig c = storm();
  c.notifier_early_check = NotifierEarlyCheck::Off;
  c.notifier_retry = NotifierRetry::Any;
  const std::string any = run_ok(c);
  c.notifier_retry = NotifierRetry::Range;
  const std::string range = run_ok(c);
  EXPECT_EQ(stat(any, "hv.notifier.out_of_range"), 0);
  // Faults that met an invalidation of other pages went on instead of retrying.
  EXPECT_GT(stat(range, "hv.notifier.out_of_range"), 0);
  EXPECT_LT(stat(range, "hv.notifier.seq_retry"), stat(any, "hv.notifier.seq_retry"));
  EXPECT_LT(stat(range, "hv.fault.retry"), stat(any, "hv.fault.retry"));
}

TEST(NotifierRetry, EarlyCheckRetriesBeforeTakingMmuLock) {
  SimConfig c = storm();
  c.notifier_retry = NotifierRetry::Range;
  c.notifier_early_check = NotifierEarlyCheck::Off;
  const std::string late = run_ok(c);
  c.notifier_early_check = NotifierEarlyCheck::On;
  const std::string early = run_ok(c);
  EXPECT_EQ(stat(late, "hv.fault.early_retry"), 0);
  EXPECT_GT(stat(early, "hv.fault.early_retry"), 0);
  // Every early retry is a retry, taken without mmu_lock.
  EXPECT_LE(stat(early, "hv.fault.early_retry"), stat(early, "hv.fault.retry"));
}

TEST(NotifierRetry, ReleasesSelectTheForms) {
  SimConfig c = storm();
  c.kvm_version = KvmRelease{5, 11};
  const std::string v511 = run_ok(c);
  c.kvm_version = KvmRelease{6, 7};
  const std::string v607 = run_ok(c);
  c.kvm_version = KvmRelease{6, 8};
  const std::string v608 = run_ok(c);
  EXPECT_EQ(stat(v511, "hv.notifier.out_of_range"), 0);
  EXPECT_GT(stat(v607, "hv.notifier.out_of_range"), 0);
  EXPECT_EQ(stat(v607, "hv.fault.early_retry"), 0);
  EXPECT_GT(stat(v608, "hv.fault.early_retry"), 0);
  // The option wins over the release.
  c.notifier_retry = NotifierRetry::Any;
  c.notifier_early_check = NotifierEarlyCheck::Off;
  const std::string forced = run_ok(c);
  EXPECT_EQ(stat(forced, "hv.notifier.out_of_range"), 0);
  EXPECT_EQ(stat(forced, "hv.fault.early_retry"), 0);
}
