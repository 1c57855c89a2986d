// The stale-translation oracle under shadow paging: shadow zaps and write-protections
// are reported to RemoteFlush::note_zap by the host frame the TLB entries are tagged with, so a
// flush that misses a vCPU leaves an entry the oracle flags on its next use.
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"
#include "tests/shadow_script.hpp"

using namespace mmusim;
using mmusim::testing::data_gva;
using mmusim::testing::run_platform;
using mmusim::testing::run_scripted;
using mmusim::testing::Script;
using mmusim::testing::stat;

namespace {

// A check.* counter exists once something was reported: absent means none.
double violations(const std::string& json, const char* key) {
  const double v = stat(json, key);
  return v < 0 ? 0 : v;
}

// vCPU 1 reads page X, then again much later; in between vCPU 0 points X's guest PTE at
// another frame. Unsync is off, so the store is emulated: the shadow leaf is zapped and every
// vCPU's TLB must be flushed before the emulation completes.
std::string remap_under_a_reader(FlushKind flush) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.unsync = false;
  c.flush = flush;
  c.vcpus = 2;
  c.churn_procs = 1;
  c.churn_proc_bytes = 2ull << 20;
  return run_scripted(c, [](unsigned v, Platform& p, std::ostream&) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const uint64_t x = proc.mapped_list.at(0);
    s.cr3(proc.root_gfn << kPageShift);
    if (v == 1) {
      s.access(data_gva(x), Access::Read);
      s.compute(200000);
      s.access(data_gva(x), Access::Read);
    } else {
      s.compute(50000);
      s.pte_write(w.pte_gva(proc, x), w.leaf_pte(proc, x + 1));
    }
    return s;
  });
}

}  // namespace

TEST(ShadowStaleTlb, AMissingFlushAfterAShadowZapIsCaught) {
  const std::string out = remap_under_a_reader(FlushKind::UnsafeSkip);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_EQ(stat(out, "shadow.emulated_writes"), 1);
  EXPECT_EQ(violations(out, "check.stale_tlb_hit"), 1) << out;
}

TEST(ShadowStaleTlb, TheSameRunWithRealFlushesIsClean) {
  const std::string out = remap_under_a_reader(FlushKind::IpiAll);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_EQ(stat(out, "shadow.emulated_writes"), 1);
  EXPECT_EQ(violations(out, "check.stale_tlb_hit"), 0) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
  EXPECT_GE(stat(out, "hv.flush.count"), 1);
}

TEST(ShadowStaleTlb, ChurnReportsNoStaleHitsAndCatchesSkippedFlushes) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = 2;
  c.churn_procs = 3;
  c.churn_steps = 120;
  mmusim::testing::PlatformRun ok = run_platform(c);
  ASSERT_EQ(ok.exit_code, 0) << ok.stats_json;
  EXPECT_EQ(violations(ok.stats_json, "check.stale_tlb_hit"), 0) << ok.stats_json;
  EXPECT_EQ(stat(ok.stats_json, "check.violations"), 0) << ok.stats_json;
  c.unsync = false;  // emulated writes zap leaves the writing vCPU still holds in its TLB
  c.flush = FlushKind::UnsafeSkip;
  mmusim::testing::PlatformRun bad = run_platform(c);
  ASSERT_EQ(bad.exit_code, 0) << bad.stats_json;
  EXPECT_GT(violations(bad.stats_json, "check.stale_tlb_hit"), 0) << bad.stats_json;
}
