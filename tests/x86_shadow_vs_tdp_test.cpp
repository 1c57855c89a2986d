// One guest-pt-churn op stream under both x86 hypervisor MMUs (docs/VALIDATION.md, Shadow MMU
// against the TDP MMU): under shadow paging the guest's CR3 loads, TLB flushes, INVLPGs and
// stores to write-protected guest tables exit to KVM; under EPT none of them does, and the
// only exits are EPT violations, IPIs and the end of the run.
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"

using mmusim::Arch;
using mmusim::SimConfig;
using mmusim::WorkloadKind;
using mmusim::X86Mmu;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig churn(X86Mmu mmu) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::X86;
  c.x86_mmu = mmu;
  c.workload = WorkloadKind::GuestPtChurn;
  c.vcpus = 2;
  c.churn_procs = 3;
  c.churn_steps = 80;
  c.churn_fork = 0.05;  // fork and exec: tables torn down and reused while the guest runs
  c.churn_exec = 0.05;
  return c;
}

}  // namespace

TEST(ShadowVsTdp, TheSameGuestActivityExitsOnlyForEptViolationsUnderTdp) {
  PlatformRun sh = run_platform(churn(X86Mmu::Shadow));
  PlatformRun tdp = run_platform(churn(X86Mmu::Tdp));
  ASSERT_EQ(sh.exit_code, 0) << sh.stats_json;
  ASSERT_EQ(tdp.exit_code, 0) << tdp.stats_json;
  // The guest's own activity is the same op stream on both sides.
  for (const char* k : {"churn.pte_writes", "churn.cr3_loads", "churn.tlb_flushes",
                        "churn.invlpgs", "churn.data_accesses", "churn.forks", "churn.execs"})
    EXPECT_EQ(stat(sh.stats_json, k), stat(tdp.stats_json, k)) << k;
  EXPECT_GT(stat(tdp.stats_json, "churn.cr3_loads"), 0);
  EXPECT_GT(stat(tdp.stats_json, "churn.forks") + stat(tdp.stats_json, "churn.execs"), 0);
  for (const PlatformRun* r : {&sh, &tdp}) EXPECT_EQ(stat(r->stats_json, "check.violations"), 0);
  // Under EPT: every exit is an EPT violation, an IPI or a vCPU's final exit.
  const double tdp_exits = stat(tdp.stats_json, "guest.exits");
  EXPECT_EQ(tdp_exits, stat(tdp.stats_json, "guest.stage2_faults") +
                           stat(tdp.stats_json, "guest.ipis_taken") + 2);
  EXPECT_LT(tdp_exits, stat(sh.stats_json, "guest.exits"));
  // The guest's CR3 loads and full flushes flush its TLB locally, without KVM.
  EXPECT_EQ(stat(tdp.stats_json, "guest.tlb_flushes"),
            stat(tdp.stats_json, "churn.cr3_loads") + stat(tdp.stats_json, "churn.tlb_flushes"));
  EXPECT_EQ(stat(tdp.stats_json, "hv.flush.count"), 0);
  // The guest maps pages with PTE stores the 2D walker must see: a store that did not reach
  // the guest table would leave a page the guest accesses unmapped, and the run would stop
  // with a guest page fault (exit code 3) instead of finishing.
  // The stage-2 oracle saw the guest's pages (tables included) mapped at the end.
  EXPECT_GT(stat(tdp.stats_json, "check.touched_pages"), 0);
  EXPECT_EQ(stat(tdp.stats_json, "check.touched_pages"),
            stat(tdp.stats_json, "check.stage2_leaves"));
}

// The shadow walk is one-dimensional and, like a native walk, starts below the lowest level its
// paging-structure caches hold: with the same caches as the 2D walker's it makes fewer than
// four references per walk on average; without them every walk makes exactly one per level
// down to its leaf (four for 4 KiB pages), and nothing else about the guest changes.
TEST(ShadowVsTdp, ShadowWalksUseThePagingStructureCaches) {
  SimConfig cached = churn(X86Mmu::Shadow);
  SimConfig uncached = cached;
  uncached.pwc_entries = 0;
  PlatformRun a = run_platform(cached);
  PlatformRun b = run_platform(uncached);
  ASSERT_EQ(a.exit_code, 0) << a.stats_json;
  ASSERT_EQ(b.exit_code, 0) << b.stats_json;
  EXPECT_GT(stat(a.stats_json, "walk.pwc_hit"), 0);
  EXPECT_LT(stat(a.stats_json, "walk.refs", "mean"), 2.0);
  EXPECT_EQ(stat(b.stats_json, "walk.pwc_hit"), 0);
  EXPECT_EQ(stat(b.stats_json, "walk.refs", "p50"), 4);
  EXPECT_EQ(stat(a.stats_json, "churn.pte_writes"), stat(b.stats_json, "churn.pte_writes"));
  for (const PlatformRun* r : {&a, &b}) EXPECT_EQ(stat(r->stats_json, "check.violations"), 0);
}
