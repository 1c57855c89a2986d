// arm64 running the workloads that need more than demand paging: dirty logging the arm64 way
// (S2AP write protection, permission faults relaxed in place and logged, blocks split by
// writes), the MMU-notifier workloads (access tracking through the hardware-managed access
// flag, KSM merges, swap storms, idle page tracking), every x86 workload except the x86-only
// root-churn, and the refusal when an arch has no MMU notifiers (x86 shadow paging).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/arm64_config.hpp"
#include "tests/platform_run.hpp"

using mmusim::SimConfig;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;
using namespace mmusim;

namespace {

SimConfig arm(WorkloadKind workload, MmuLockMode lock, unsigned vcpus, uint64_t mem) {
  SimConfig c = mmusim::testing::arm64_demand(vcpus, mem, lock);
  c.workload = workload;
  return c;
}

size_t leaves_at_level(const std::string& leaves, unsigned level) {
  size_t n = 0;
  std::istringstream s(leaves);
  const std::string tag = " " + std::to_string(level) + " ";
  for (std::string l; std::getline(s, l);) n += l.find(tag) != std::string::npos;
  return n;
}

}  // namespace

TEST(Arm64DirtyLog, LogHoldsExactlyThePagesWrittenEachRound) {
  for (MmuLockMode lock : {MmuLockMode::Shared, MmuLockMode::Exclusive}) {
    SimConfig c = arm(WorkloadKind::DirtyLog, lock, 4, 2 << 20);
    c.iterations = 3;
    c.dirty_log_initially_set = mmusim::DirtyLogInitiallySet::Off;  // enabling protects all
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    const double pages = 4 * 512;
    // The workload compares each round's log with the pages written (dirty_log_mismatch).
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << lock;
    EXPECT_EQ(stat(r.stats_json, "workload.dirty_log.dirty_memory_cycles", "count"), 3) << lock;
    // Enabling and each clear took S2AP write away from every page; every write of every round
    // then took a permission fault that was relaxed in place and logged.
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.wrprot_leaves"), 4 * pages) << lock;
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), 3 * pages) << lock;
    EXPECT_EQ(stat(r.stats_json, "hv.fault.perm_relax"), 3 * pages) << lock;
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.block_split"), 0) << lock;
  }
}

TEST(Arm64DirtyLog, BlocksAreSplitByWritesWhileLogging) {
  SimConfig c = arm(WorkloadKind::DirtyLog, MmuLockMode::Shared, 2, 4 << 20);
  c.page_size = 2 << 20;
  c.iterations = 2;
  c.dirty_log_initially_set = mmusim::DirtyLogInitiallySet::Off;  // enabling protects the blocks
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  // 4 blocks populated and write-protected; the first write to each broke it (BBM) and mapped
  // one page; the block's other pages faulted in one by one, each logged.
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.block_split"), 4);
  EXPECT_EQ(leaves_at_level(r.leaves, 2), 0u);
  EXPECT_GE(leaves_at_level(r.leaves, 1), 2048u);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), 2 * 2048);
}

TEST(Arm64Notifiers, AccessTrackingSeesExactlyThePagesReadThroughTheAccessFlag) {
  for (MmuLockMode lock : {MmuLockMode::Shared, MmuLockMode::Exclusive}) {
    PlatformRun r = run_platform(arm(WorkloadKind::AccessTracking, lock, 4, 2 << 20));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << lock;
    EXPECT_EQ(stat(r.stats_json, "workload.access.young"), 1024) << lock;  // every other page
    EXPECT_EQ(stat(r.stats_json, "workload.access.idle"), 1024) << lock;
    // Marking idle cleared AF in all 2048 leaves; the hardware walker set it again (VTCR_EL2.HA)
    // in each page read afterwards.
    EXPECT_EQ(stat(r.stats_json, "hv.notifier.aged_leaves"), 2048) << lock;
    EXPECT_EQ(stat(r.stats_json, "walk.ad_updates"), 1024) << lock;
  }
}

TEST(Arm64Notifiers, KsmMergeFollowsTheHostWithoutViolations) {
  SimConfig c = arm(WorkloadKind::KsmMerge, MmuLockMode::Shared, 4, 1 << 20);
  c.host_event_interval = 50000;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_GT(stat(r.stats_json, "host.mm.ksm_merge"), 0);
  EXPECT_GT(stat(r.stats_json, "host.mm.cow_break"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.notifier.change_pte"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.notifier.unmapped_leaves"), 0);
  // The final tables map every touched page to the frame the host backs it with now.
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

TEST(Arm64Notifiers, SwapStormUnmapsAndFaultsPagesBack) {
  for (FlushKind flush : {FlushKind::Broadcast, FlushKind::IpiAll}) {
    SimConfig c = arm(WorkloadKind::SwapStorm, MmuLockMode::Shared, 4, 1 << 20);
    c.host_event_interval = 50000;
    c.flush = flush;
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_GT(stat(r.stats_json, "host.mm.swap_out"), 0) << flush;
    EXPECT_GT(stat(r.stats_json, "host.mm.swap_in"), 0) << flush;
    // Every swap-out and migration went through an invalidation of the page, each one ended.
    EXPECT_GE(stat(r.stats_json, "hv.notifier.invalidate_range_start"),
              stat(r.stats_json, "host.mm.swap_out") + stat(r.stats_json, "host.mm.migrate"))
        << flush;
    EXPECT_EQ(stat(r.stats_json, "hv.notifier.invalidate_range_start"),
              stat(r.stats_json, "hv.notifier.invalidate_range_end")) << flush;
    EXPECT_GT(stat(r.stats_json, "hv.notifier.unmapped_leaves"), 0) << flush;
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << flush;
  }
}

TEST(Arm64Notifiers, IdleTrackingAgesLeavesAndSeesReaccesses) {
  SimConfig c = arm(WorkloadKind::IdleTracking, MmuLockMode::Shared, 2, 16 << 20);
  c.host_event_pages = 4096;
  c.host_events = 8;
  c.host_event_interval = 400000;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.notifier.clear_young"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.notifier.aged_leaves"), 0);
  EXPECT_GT(stat(r.stats_json, "walk.ad_updates"), 0);
  EXPECT_GT(stat(r.stats_json, "workload.idle.seen_young"), 0);
}

TEST(Arm64Workloads, EveryNonX86SpecificWorkloadRunsWithoutViolations) {
  for (WorkloadKind w : {WorkloadKind::DemandPaging, WorkloadKind::Ebizzy, WorkloadKind::DirtyLog, WorkloadKind::AccessTracking, WorkloadKind::KsmMerge,
                        WorkloadKind::SwapStorm, WorkloadKind::IdleTracking, WorkloadKind::LockedBoot}) {
    SimConfig c = arm(w, MmuLockMode::Shared, 2, 1 << 20);
    c.image_size = 64 << 10;
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << w << ": " << r.stats_json;
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << w;
    EXPECT_GT(stat(r.stats_json, "guest.accesses"), 0) << w;
  }
}

TEST(Arm64Workloads, RootChurnIsRefusedAsX86Specific) {
  // The message names the x86 TDP MMU's roots as what root-churn needs.
  SimConfig c = arm(WorkloadKind::RootChurn, MmuLockMode::Shared, 2, 1 << 20);
  try {
    Platform p(c);
    FAIL() << "root-churn ran on arm64";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("x86 TDP MMU"), std::string::npos) << e.what();
  }
}

TEST(Arm64Workloads, HostEventWorkloadsNeedAnArchWithNotifiers) {
  // x86 with shadow paging does not model MMU notifiers: the host events have nowhere to go.
  SimConfig c = arm(WorkloadKind::KsmMerge, MmuLockMode::Shared, 1, 64 << 10);
  c.arch = Arch::X86;
  c.x86_mmu = X86Mmu::Shadow;
  EXPECT_THROW(Platform p(c), UsageError);
}
