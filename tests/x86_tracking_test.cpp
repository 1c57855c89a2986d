// Dirty logging and access tracking on the x86 TDP MMU, shaped like KVM's
// dirty_log_perf_test and access_tracking_perf_test, in both mmu_lock modes.
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"

using mmusim::EagerSplit;
using mmusim::HugeSplitOnFault;
using mmusim::MmuLockMode;
using mmusim::WorkloadKind;
using mmusim::SimConfig;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig cfg(WorkloadKind workload, MmuLockMode lock, unsigned vcpus, uint64_t mem) {
  SimConfig c;
  c.quiet = true;
  c.workload = workload;
  c.mmu_lock = lock;
  c.vcpus = vcpus;
  c.mem_per_vcpu = mem;
  return c;
}

}  // namespace

TEST(DirtyLog, LogHoldsExactlyThePagesWrittenEachRound) {
  for (MmuLockMode lock : {MmuLockMode::Shared, MmuLockMode::Exclusive}) {
    SimConfig c = cfg(WorkloadKind::DirtyLog, lock, 4, 2 << 20);
    c.iterations = 3;
    c.dirty_log_initially_set = mmusim::DirtyLogInitiallySet::Off;  // enabling protects all
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    const double pages = 4 * 512;
    // The workload compares each round's log with the pages written (dirty_log_mismatch).
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << lock;
    EXPECT_EQ(stat(r.stats_json, "workload.dirty_log.dirty_memory_cycles", "count"), 3) << lock;
    // Every write after enabling hit a write-protected page and was fixed by the lockless fast
    // path, which logged it; enabling and each clear write-protected every page.
    EXPECT_EQ(stat(r.stats_json, "hv.fault.fast_path"), 3 * pages) << lock;
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), 3 * pages) << lock;
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.wrprot_sptes"), 4 * pages) << lock;
  }
}

TEST(DirtyLog, HugePagesAreSplitByWritesWhileLogging) {
  SimConfig c = cfg(WorkloadKind::DirtyLog, MmuLockMode::Shared, 2, 4 << 20);
  c.page_size = 2 << 20;
  c.iterations = 2;
  c.eager_split = EagerSplit::Off;  // eager splitting: tests/x86_huge_dirty_log_test.cpp
  auto run = [&](HugeSplitOnFault form) {
    c.huge_split_on_fault = form;
    PlatformRun r = run_platform(c);
    EXPECT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << form;
    // Logging stops at the end of the run: each table of 4K pages is collapsible again.
    EXPECT_EQ(stat(r.stats_json, "hv.huge.collapsible_zapped"), 4) << form;
    return r;
  };
  // 4 huge pages populated, write-protected, then each replaced by a table of 4K pages.
  PlatformRun zap = run(HugeSplitOnFault::Zap);
  PlatformRun split = run(HugeSplitOnFault::Split);
  EXPECT_EQ(stat(zap.stats_json, "hv.huge.zapped_for_table"), 4);
  EXPECT_EQ(stat(zap.stats_json, "hv.huge.split_in_place"), 0);
  EXPECT_EQ(stat(split.stats_json, "hv.huge.zapped_for_table"), 0);
  EXPECT_EQ(stat(split.stats_json, "hv.huge.split_in_place"), 4);
  // Zapped: every other page of a huge page is mapped again by the full fault path. Split:
  // its children are write-protected 4K SPTEs, which the lockless fast path makes writable.
  EXPECT_GT(stat(split.stats_json, "hv.fault.fast_path"),
            stat(zap.stats_json, "hv.fault.fast_path"));
  EXPECT_LT(stat(split.stats_json, "hv.lock.mmu_lock.read_acquire"),
            stat(zap.stats_json, "hv.lock.mmu_lock.read_acquire"));
  EXPECT_LT(stat(split.stats_json, "hv.flush.count"), stat(zap.stats_json, "hv.flush.count"));
}

TEST(DirtyLog, PartitionedPopulateGainsInSharedModeButEnablingDoesNot) {
  PlatformRun sh = run_platform([] { SimConfig c = cfg(WorkloadKind::DirtyLog, MmuLockMode::Shared, 32, 1 << 20); c.iterations = 1; return c; }());
  PlatformRun ex = run_platform([] { SimConfig c = cfg(WorkloadKind::DirtyLog, MmuLockMode::Exclusive, 32, 1 << 20); c.iterations = 1; return c; }());
  ASSERT_EQ(sh.exit_code, 0);
  ASSERT_EQ(ex.exit_code, 0);
  const double pop = stat(sh.stats_json, "workload.dirty_log.populate_cycles") /
                     stat(ex.stats_json, "workload.dirty_log.populate_cycles");
  const double en = stat(sh.stats_json, "workload.dirty_log.enable_cycles") /
                    stat(ex.stats_json, "workload.dirty_log.enable_cycles");
  // Parallel faults remove the wait for mmu_lock and make populating faster; how much faster
  // is bounded by the host memory manager they all go through (zone->lock and DRAM bandwidth
  // for zeroing: docs/VALIDATION.md, Parallel page faults).
  EXPECT_LT(pop, 0.9);
  EXPECT_LT(stat(sh.stats_json, "hv.fault.cycles.lock_wait") * 10,
            stat(ex.stats_json, "hv.fault.cycles.lock_wait"));
  EXPECT_GT(stat(sh.stats_json, "host.mm.zone_lock.wait", "mean"),
            stat(ex.stats_json, "host.mm.zone_lock.wait", "mean"));
  EXPECT_GT(en, 0.9);   // enabling (one thread write-protecting) gains nothing
}

TEST(AccessTracking, YoungPagesAreReportedExactly) {
  for (MmuLockMode lock : {MmuLockMode::Shared, MmuLockMode::Exclusive}) {
    PlatformRun r = run_platform(cfg(WorkloadKind::AccessTracking, lock, 4, 2 << 20));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << lock;
    EXPECT_EQ(stat(r.stats_json, "workload.access.young"), 1024) << lock;  // every other page read
    EXPECT_EQ(stat(r.stats_json, "workload.access.idle"), 1024) << lock;
    // Marking idle cleared accessed bits; each page read afterwards had its bit set again by
    // the walker.
    EXPECT_EQ(stat(r.stats_json, "walk.ad_updates"), 1024) << lock;
  }
}

TEST(DirtyLog, VcpusWaitingForTheVmmGiveTheirPhysicalCpuAway) {
  // 8 vCPUs on 4 physical CPUs: a vCPU blocked at a sync point must not hold its pCPU, or the
  // vCPUs queued behind it never reach the sync point.
  SimConfig c = cfg(WorkloadKind::DirtyLog, MmuLockMode::Shared, 8, 1 << 20);
  c.pcpus = 4;
  c.iterations = 2;
  c.timeslice = 1000000;  // several ticks within the run
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  EXPECT_GT(stat(r.stats_json, "sched.preemptions"), 0);
  EXPECT_EQ(stat(r.stats_json, "workload.dirty_log.dirty_memory_cycles", "count"), 2);
}
