// Shadow pages and roots freed during a run: the per-vCPU cache of previous roots,
// reclaim beyond n_max_mmu_pages (--shadow-max-pages) and write-flooding detection, with the
// shadow, stale-TLB, freed-table and leak oracles clean.
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

SimConfig churn(unsigned procs, uint64_t max_pages) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = 2;
  c.churn_procs = procs;
  c.churn_steps = 150;
  c.churn_switch = 0.5;
  c.shadow_max_pages = max_pages;
  return c;
}

// One vCPU reads page X, then its kernel rewrites the page-directory entry above X three
// times (each store emulated: the directory is shadowed at level 2, which cannot go unsync),
// reading X between the stores when `use_between` (a fault through the page resets its
// write-flooding count).
std::string rewrite_pde(bool use_between) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = 1;
  c.churn_procs = 1;
  c.churn_proc_bytes = 2ull << 20;
  return run_scripted(c, [use_between](unsigned, Platform& p, std::ostream&) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const uint64_t x = proc.mapped_list.at(0);
    X86PageFormat f(4);
    auto entry = [&](uint64_t gfn, unsigned level) {
      return p.phys.read64(p.host.lookup(gfn).hpa + f.index(data_gva(x), level) * 8);
    };
    const uint64_t pdpt = f.address(entry(proc.root_gfn, 4), 4) >> kPageShift;
    const uint64_t pd = f.address(entry(pdpt, 3), 3) >> kPageShift;
    const Addr pde_gva = GuestPtChurn::kDirectMapGva + (pd << kPageShift) +
                         f.index(data_gva(x), 2) * 8;
    const uint64_t pde = entry(pd, 2);
    s.cr3(proc.root_gfn << kPageShift);
    s.access(data_gva(x), Access::Read);
    for (int i = 0; i < 3; ++i) {
      s.pte_write(pde_gva, pde);
      if (use_between) s.access(data_gva(x), Access::Read);
    }
    s.access(data_gva(x), Access::Read);
    return s;
  });
}

}  // namespace

TEST(ShadowReclaim, RootsAndPagesAreFreedDuringTheRunAndTheOraclesStayClean) {
  // 6 processes per vCPU: more than the current root plus 3 cached ones, so roots lose their
  // last reference; 150 shadow pages: far fewer than the run needs.
  mmusim::testing::PlatformRun r = run_platform(churn(6, 150));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_GT(stat(r.stats_json, "shadow.reclaim.pages_zapped"), 0);
  EXPECT_GT(stat(r.stats_json, "shadow.pages.freed"), 0);
  EXPECT_GT(stat(r.stats_json, "shadow.roots.freed"), 0);
  EXPECT_GT(stat(r.stats_json, "shadow.roots.prev_hits"), 0);
  // No in-sync leaf disagrees with its guest PTE, no walk read a freed shadow page, no stale
  // TLB hit, no unsync page lost, nothing leaked at teardown.
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
}

TEST(ShadowReclaim, WithinTheDefaultLimitAndTheRootCacheNothingIsFreed) {
  // 4 processes: each vCPU's roots all fit in the current root and the 3 previous ones. No
  // fork or exec: a torn-down process's shadow pages may be zapped by write flooding.
  SimConfig c = churn(4, 0);
  c.churn_fork = 0;
  c.churn_exec = 0;
  mmusim::testing::PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_GT(stat(r.stats_json, "shadow.roots.prev_hits"), 0);
  EXPECT_EQ(stat(r.stats_json, "shadow.reclaim.pages_zapped"), 0);
  EXPECT_EQ(stat(r.stats_json, "shadow.pages.freed"), 0);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
}

TEST(ShadowReclaim, AThirdWriteToAnUnusedDirectoryZapsItsShadowPage) {
  const std::string flood = rewrite_pde(false);
  ASSERT_EQ(flood.find("exception"), std::string::npos) << flood;
  EXPECT_EQ(stat(flood, "shadow.emulated_writes"), 3);
  EXPECT_EQ(stat(flood, "shadow.flooding.pages_zapped"), 1);
  EXPECT_EQ(stat(flood, "shadow.pages.freed"), 1);
  EXPECT_EQ(stat(flood, "check.violations"), 0) << flood;
  // Used between the writes: each fault through the directory starts its count again.
  const std::string used = rewrite_pde(true);
  ASSERT_EQ(used.find("exception"), std::string::npos) << used;
  EXPECT_EQ(stat(used, "shadow.emulated_writes"), 3);
  EXPECT_EQ(stat(used, "shadow.flooding.pages_zapped"), 0);
  EXPECT_EQ(stat(used, "check.violations"), 0) << used;
}
