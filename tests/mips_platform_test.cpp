// Whole MIPS runs: demand paging (zero violations, deterministic, --mmu-lock has no effect since
// KVM MIPS's mmu_lock is a spinlock either way), the even/odd pair refill, the host-event
// workloads with MMU notifiers, and both sides of KVM_CAP_SYNC_MMU on MIPS under host COW/KSM
// events (stale guest mappings only without KVM_CAP_SYNC_MMU).
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"

using namespace mmusim;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig mips(unsigned vcpus, uint64_t mem) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = vcpus;
  c.mem_per_vcpu = mem;
  return c;
}

}  // namespace

TEST(MipsPlatform, DemandPagingHasNoViolationsAndMmuLockModeChangesNothing) {
  SimConfig c = mips(4, 2 << 20);
  c.overlap = 0.5;
  c.pattern = AccessPattern::Random;
  c.mmu_lock = MmuLockMode::Shared;
  PlatformRun sh = run_platform(c);
  c.mmu_lock = MmuLockMode::Exclusive;
  PlatformRun ex = run_platform(c);
  ASSERT_EQ(sh.exit_code, 0) << sh.stats_json;
  EXPECT_EQ(stat(sh.stats_json, "check.violations"), 0);
  EXPECT_GT(stat(sh.stats_json, "check.touched_pages"), 0);
  EXPECT_EQ(stat(sh.stats_json, "check.touched_pages"), stat(sh.stats_json, "check.stage2_leaves"));
  EXPECT_GT(stat(sh.stats_json, "hv.lock.mmu_lock.contended"), 0);  // overlapping slices
  // Both --mmu-lock values take the same spinlock: identical runs.
  EXPECT_EQ(sh.stats_json, ex.stats_json);
  EXPECT_EQ(sh.leaves, ex.leaves);
}

TEST(MipsPlatform, SameSeedGivesByteIdenticalStats) {
  SimConfig c = mips(4, 1 << 20);
  c.workload = WorkloadKind::KsmMerge;
  c.host_event_interval = 50000;
  c.seed = 3;
  PlatformRun a = run_platform(c);
  PlatformRun b = run_platform(c);
  ASSERT_EQ(a.exit_code, 0) << a.stats_json;
  EXPECT_EQ(a.stats_json, b.stats_json);
  EXPECT_EQ(a.leaves, b.leaves);
  c.seed = 4;
  EXPECT_NE(run_platform(c).stats_json, a.stats_json);
}

TEST(MipsPlatform, SyncMmuOffLeavesStaleMappingsAfterKsmAndCowOnDoesNot) {
  SimConfig c = mips(4, 1 << 20);
  c.workload = WorkloadKind::KsmMerge;
  // Merges every 20,000 cycles: a guest refill then loads a replaced frame twice in this run
  // (once at 50,000, so slight timing changes could make the stale refill vanish).
  c.host_event_interval = 20000;
  PlatformRun on = run_platform(c);
  c.mips_sync_mmu = false;
  PlatformRun off = run_platform(c);
  ASSERT_EQ(on.exit_code, 0) << on.stats_json;
  ASSERT_EQ(off.exit_code, 0) << off.stats_json;
  // The host really merged pages and broke COW in both runs.
  EXPECT_GT(stat(on.stats_json, "host.mm.ksm_merge"), 0);
  EXPECT_GT(stat(on.stats_json, "host.mm.cow_break"), 0);
  EXPECT_GT(stat(off.stats_json, "host.mm.ksm_merge"), 0);
  // With notifiers every change reached the GPA table: no stale mapping, nothing lost.
  EXPECT_EQ(stat(on.stats_json, "check.violations"), 0);
  EXPECT_GT(stat(on.stats_json, "hv.notifier.change_pte"), 0);
  EXPECT_GT(stat(on.stats_json, "hv.mips.flush_shadow_all"), 0);
  EXPECT_GT(stat(on.stats_json, "hv.notifier.seq_retry"), 0);
  // Without them the guest keeps using the frames the host replaced.
  EXPECT_GT(stat(off.stats_json, "check.stale_mapping"), 0);
  EXPECT_GT(stat(off.stats_json, "check.wrong_frame"), 0);
  EXPECT_EQ(stat(off.stats_json, "hv.notifier.change_pte"), 0);
}

TEST(MipsPlatform, SwapStormFaultsPagesBackWithoutViolations) {
  SimConfig c = mips(4, 1 << 20);
  c.workload = WorkloadKind::SwapStorm;
  c.host_event_interval = 50000;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_GT(stat(r.stats_json, "host.mm.swap_out"), 0);
  EXPECT_GT(stat(r.stats_json, "host.mm.swap_in"), 0);
  // Events take turns: swap-out, balloon (one MADV_DONTNEED over the batch), migration.
  EXPECT_GT(stat(r.stats_json, "workload.swap.ballooned_pages"), 0);
  EXPECT_GT(stat(r.stats_json, "workload.swap.migrated_pages"), 0);
  EXPECT_EQ(stat(r.stats_json, "host.mm.balloon"), stat(r.stats_json, "workload.swap.ballooned_pages"));
  EXPECT_EQ(stat(r.stats_json, "host.mm.migrate"), stat(r.stats_json, "workload.swap.migrated_pages"));
  EXPECT_EQ(stat(r.stats_json, "host.mm.swap_out"), stat(r.stats_json, "workload.swap.swapped_pages"));
  // One invalidation per swapped or migrated page, one per balloon event (at most one per page).
  const double per_page = stat(r.stats_json, "host.mm.swap_out") + stat(r.stats_json, "host.mm.migrate");
  EXPECT_GT(stat(r.stats_json, "hv.notifier.invalidate_range_start"), per_page);
  EXPECT_LT(stat(r.stats_json, "hv.notifier.invalidate_range_start"),
            per_page + stat(r.stats_json, "host.mm.balloon"));
  EXPECT_EQ(stat(r.stats_json, "hv.notifier.change_pte"), stat(r.stats_json, "host.mm.migrate"));
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  c.mips_sync_mmu = false;
  PlatformRun off = run_platform(c);
  ASSERT_EQ(off.exit_code, 0);
  EXPECT_GT(stat(off.stats_json, "check.violations"), 0);
}

TEST(MipsPlatform, IdleTrackingMakesPagesOldAndReaccessesTakeFastPathFaults) {
  // Slices larger than the TLB reach, so re-accesses refill and meet the old PTEs.
  SimConfig c = mips(2, 16 << 20);
  c.workload = WorkloadKind::IdleTracking;
  c.host_event_pages = 4096;
  c.host_events = 8;
  c.host_event_interval = 400000;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.notifier.clear_young"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.mips.ptes_aged"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.mips.fast.made_young"), 0);
  EXPECT_GT(stat(r.stats_json, "workload.idle.seen_young"), 0);
  // Without notifiers the host cannot age anything: every page looks idle.
  c.mips_sync_mmu = false;
  PlatformRun off = run_platform(c);
  ASSERT_EQ(off.exit_code, 0);
  EXPECT_EQ(stat(off.stats_json, "hv.mips.fast.made_young"), 0);
  EXPECT_EQ(stat(off.stats_json, "workload.idle.seen_young"), 0);
}

// The refusal of host-event workloads on an arch without MMU notifiers (now x86 shadow paging,
// since arm64 has them) is tested in tests/arm64_host_events_test.cpp.
