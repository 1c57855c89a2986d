// Whole runs under --kvm-version: each release selects the forms of the timeline's behaviours
// (sim/core/kvm_timeline.hpp), a behaviour's own option overrides the release, and each older
// form shows in the statistics -- the write-locked fault path before 5.12, the full fault path
// for dirty-logging writes before the TDP MMU's fast page fault (5.15), and arm64's
// write-locked stage-2 faults before 6.2.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "app/params_models.hpp"
#include "tests/platform_run.hpp"

using namespace mmusim;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

// The final stage-2 leaves ("gpa level hpa perms" lines) without the host frames.
std::string gpa_levels(const std::string& leaves) {
  std::istringstream in(leaves);
  std::string out, gpa, level, rest;
  while (in >> gpa >> level && std::getline(in, rest)) out += gpa + " " + level + "\n";
  return out;
}

SimConfig demand(KvmRelease r, Arch arch = Arch::X86) {
  SimConfig c;
  c.quiet = true;
  c.arch = arch;
  c.vcpus = 2;
  c.mem_per_vcpu = 1 << 20;
  c.kvm_version = r;
  return c;
}

SimConfig dirty_log(KvmRelease r) {
  SimConfig c = demand(r);
  c.workload = WorkloadKind::DirtyLog;
  c.vcpus = 4;
  return c;
}

// The runs of the release before a change and of the release that has it; both must finish.
struct BeforeAndAfter {
  PlatformRun old, now;
};
BeforeAndAfter run_both(const SimConfig& before, const SimConfig& after) {
  BeforeAndAfter r{run_platform(before), run_platform(after)};
  EXPECT_EQ(r.old.exit_code, 0) << r.old.stats_json;
  EXPECT_EQ(r.now.exit_code, 0) << r.now.stats_json;
  return r;
}

}  // namespace

TEST(KvmReleaseBuilders, TheReleaseDecidesEachFormUnlessItsOptionIsSet) {
  EXPECT_EQ(tdp_mmu_params(demand({5, 11})).mmu_lock, MmuLockMode::Exclusive);
  EXPECT_EQ(tdp_mmu_params(demand({5, 12})).mmu_lock, MmuLockMode::Shared);
  EXPECT_EQ(tdp_mmu_params(demand({5, 14})).fast_fault, TdpFastFault::SlowPath);
  EXPECT_EQ(tdp_mmu_params(demand({5, 15})).fast_fault, TdpFastFault::Lockless);
  EXPECT_EQ(tdp_mmu_params(demand({5, 11})).removed_spte, RemovedSpte::Off);
  EXPECT_EQ(tdp_mmu_params(demand({5, 12})).removed_spte, RemovedSpte::On);
  EXPECT_EQ(tdp_mmu_params(demand({6, 1})).huge_split, HugeSplitOnFault::Zap);
  EXPECT_EQ(tdp_mmu_params(demand({6, 2})).huge_split, HugeSplitOnFault::Split);
  EXPECT_EQ(stage2_mmu_params(demand({6, 1})).mmu_lock, MmuLockMode::Exclusive);
  EXPECT_EQ(stage2_mmu_params(demand({6, 2})).mmu_lock, MmuLockMode::Shared);
  // The same release on x86 already had parallel faults.
  EXPECT_EQ(tdp_mmu_params(demand({6, 1})).mmu_lock, MmuLockMode::Shared);
  SimConfig c = demand({5, 11});
  c.mmu_lock = MmuLockMode::Shared;
  c.tdp_fast_fault = TdpFastFault::Lockless;
  EXPECT_EQ(tdp_mmu_params(c).mmu_lock, MmuLockMode::Shared);
  EXPECT_EQ(tdp_mmu_params(c).fast_fault, TdpFastFault::Lockless);
  c = demand(kNewestKvmRelease);
  c.mmu_lock = MmuLockMode::Exclusive;
  c.tdp_fast_fault = TdpFastFault::SlowPath;
  EXPECT_EQ(tdp_mmu_params(c).mmu_lock, MmuLockMode::Exclusive);
  EXPECT_EQ(tdp_mmu_params(c).fast_fault, TdpFastFault::SlowPath);
}

TEST(KvmReleaseRuns, Before512FaultsTakeMmuLockForWrite) {
  const auto [old, now] = run_both(demand({5, 11}), demand({5, 12}));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(stat(old.stats_json, "sim.kvm_release"), 511);
  EXPECT_EQ(stat(now.stats_json, "sim.kvm_release"), 512);
  // 2 vCPUs x 256 pages, each a fault that takes the lock.
  EXPECT_GE(stat(old.stats_json, "hv.lock.mmu_lock.write_acquire"), 512);
  EXPECT_EQ(stat(old.stats_json, "hv.lock.mmu_lock.read_acquire"), 0);  // never taken for read
  EXPECT_GE(stat(now.stats_json, "hv.lock.mmu_lock.read_acquire"), 512);
  EXPECT_EQ(stat(old.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(now.stats_json, "check.violations"), 0);
  // The same mappings; which host frame each page got follows the order of the two vCPUs'
  // first touches, which the lock mode may change.
  EXPECT_EQ(gpa_levels(old.leaves), gpa_levels(now.leaves));
}

TEST(KvmReleaseRuns, TheMmuLockOptionOverridesTheRelease) {
  SimConfig c = demand({5, 11});
  c.mmu_lock = MmuLockMode::Shared;
  PlatformRun forced = run_platform(c);
  PlatformRun now = run_platform(demand({5, 12}));
  ASSERT_EQ(forced.exit_code, 0) << forced.stats_json;
  EXPECT_GE(stat(forced.stats_json, "hv.lock.mmu_lock.read_acquire"), 512);
  EXPECT_EQ(stat(forced.stats_json, "hv.lock.mmu_lock.read_acquire"),
            stat(now.stats_json, "hv.lock.mmu_lock.read_acquire"));
}

TEST(KvmReleaseRuns, Before515DirtyLoggingWritesTakeTheFullFaultPath) {
  const auto [old, now] = run_both(dirty_log({5, 14}), dirty_log({5, 15}));
  ASSERT_FALSE(HasFailure());
  EXPECT_GT(stat(now.stats_json, "hv.fault.fast_path"), 0);
  EXPECT_EQ(stat(old.stats_json, "hv.fault.fast_path"), 0);
  // The writes the fast path fixed without mmu_lock each take it (for read) instead.
  EXPECT_GE(stat(old.stats_json, "hv.lock.mmu_lock.read_acquire"),
            stat(now.stats_json, "hv.lock.mmu_lock.read_acquire") +
                stat(now.stats_json, "hv.fault.fast_path"));
  // Either way every write is logged and nothing is lost.
  EXPECT_GT(stat(old.stats_json, "hv.dirty_log.marked"), 0);
  EXPECT_EQ(stat(old.stats_json, "hv.dirty_log.marked"), stat(now.stats_json, "hv.dirty_log.marked"));
  EXPECT_EQ(stat(old.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(now.stats_json, "check.violations"), 0);
}

TEST(KvmReleaseRuns, TheFastFaultOptionOverridesTheRelease) {
  SimConfig c = dirty_log(kNewestKvmRelease);
  c.tdp_fast_fault = TdpFastFault::SlowPath;
  PlatformRun ablated = run_platform(c);
  ASSERT_EQ(ablated.exit_code, 0) << ablated.stats_json;
  EXPECT_EQ(stat(ablated.stats_json, "hv.fault.fast_path"), 0);
  c = dirty_log({5, 10});
  c.tdp_fast_fault = TdpFastFault::Lockless;
  PlatformRun forced = run_platform(c);
  ASSERT_EQ(forced.exit_code, 0) << forced.stats_json;
  EXPECT_GT(stat(forced.stats_json, "hv.fault.fast_path"), 0);
}

TEST(KvmReleaseRuns, Arm64StageTwoFaultsTakeMmuLockForWriteBefore62) {
  const auto [old, now] = run_both(demand({6, 1}, Arch::Arm64), demand({6, 2}, Arch::Arm64));
  ASSERT_FALSE(HasFailure());
  EXPECT_GE(stat(old.stats_json, "hv.lock.mmu_lock.write_acquire"), 512);
  EXPECT_EQ(stat(old.stats_json, "hv.lock.mmu_lock.read_acquire"), 0);
  EXPECT_GE(stat(now.stats_json, "hv.lock.mmu_lock.read_acquire"), 512);
  EXPECT_EQ(stat(old.stats_json, "check.violations"), 0);
}
