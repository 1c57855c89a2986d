// Guest processes created and destroyed during guest-pt-churn: fork copies the
// parent's tables with copy-on-write (the parent's writable PTEs become read-only in both),
// exec builds new tables and tears the old ones down, and freed table pages come back as data
// pages, whose stores meet the shadow pages the hypervisor still keeps for them: emulated,
// and zapped by write-flooding detection. The shadow, stale-TLB and freed-table oracles stay
// clean and the guest tables in memory end up exactly as the guest kernel wrote them.
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"
#include "tests/shadow_script.hpp"

using namespace mmusim;
using mmusim::testing::data_gva;
using mmusim::testing::run_catching;
using mmusim::testing::run_platform;
using mmusim::testing::run_scripted;
using mmusim::testing::Script;
using mmusim::testing::stat;

namespace {

SimConfig churn(double fork, double exec, double reuse) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = 2;
  c.churn_procs = 3;
  c.churn_proc_bytes = 8ull << 20;
  c.churn_steps = 300;
  c.churn_switch = 0.4;
  c.churn_fork = fork;
  c.churn_exec = exec;
  c.churn_reuse_data = reuse;
  return c;
}

// Runs `c`, then compares every process's guest tables in guest memory with what the
// workload believes it mapped: each PTE of the window present exactly for mapped pages,
// mapping the recorded frame, read-only exactly while copy-on-write. Appends
// "mismatches N cow M" after the stats.
std::string run_and_check_tables(const SimConfig& c) {
  return run_catching([&] {
    Platform p(c);
    p.run();
    std::ostringstream out;
    p.stats.write_json(out);
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    X86PageFormat f(4);
    uint64_t bad = 0, cow = 0;
    auto entry = [&](uint64_t gfn, unsigned idx) {
      return p.phys.read64(p.host.lookup(gfn).hpa + idx * 8);
    };
    for (unsigned v = 0; v < c.vcpus; ++v)
      for (unsigned i = 0; i < c.churn_procs; ++i) {
        const GuestPtChurn::Process& proc = w.process(v, i);
        // The path from the root is the one the guest linked.
        bad += f.address(entry(proc.root_gfn, f.index(data_gva(0), 4)), 4) !=
               proc.pdpt_gfn << kPageShift;
        bad += f.address(entry(proc.pdpt_gfn, f.index(data_gva(0), 3)), 3) !=
               proc.pd_gfn << kPageShift;
        for (uint64_t page = 0; page < proc.mapped.size(); ++page) {
          const uint64_t e = entry(proc.pt_gfn[page / 512], unsigned(page % 512));
          if (!proc.mapped[page]) {
            bad += f.present(e);
            continue;
          }
          cow += proc.cow[page];
          bad += !f.present(e) || f.address(e, 1) != proc.frame[page] ||
                 f.perms(e).write == bool(proc.cow[page]);
        }
      }
    out << "\nmismatches " << bad << " cow " << cow << "\n";
    return out.str();
  });
}

uint64_t tail_value(const std::string& out, const std::string& key) {
  const size_t at = out.rfind(key + " ");
  return at == std::string::npos ? ~uint64_t(0) : std::stoull(out.substr(at + key.size() + 1));
}

}  // namespace

TEST(ShadowFork, ForksAndExecsRunAndTheGuestTablesAndShadowOraclesAgree) {
  for (const bool unsync : {true, false}) {
    SimConfig c = churn(0.05, 0.05, 0.5);
    c.unsync = unsync;
    const std::string out = run_and_check_tables(c);
    ASSERT_EQ(out.find("exception"), std::string::npos) << out;
    EXPECT_GT(stat(out, "churn.forks"), 0) << out;
    EXPECT_GT(stat(out, "churn.execs"), 0) << out;
    EXPECT_GT(stat(out, "churn.cow_protects"), 0);
    EXPECT_GT(stat(out, "churn.cow_breaks"), 0);
    EXPECT_GT(stat(out, "churn.tables_freed"), 0);
    // Every teardown's pages are freed, every new process's allocated: as many of each.
    EXPECT_EQ(stat(out, "churn.tables_freed"), stat(out, "churn.tables_allocated"));
    // The guest's table stores went through the shadow MMU (emulated, or into unsync
    // pages) and landed: the guest tables hold what the guest wrote, COW pages included.
    EXPECT_EQ(tail_value(out, "mismatches"), 0u) << out.substr(out.rfind("mismatches"));
    EXPECT_GT(tail_value(out, "cow"), 0u);
    EXPECT_GT(stat(out, "shadow.emulated_writes"), 0);
    // In-sync shadow leaves agree with the guest PTEs, no stale TLB hit, no freed shadow
    // page walked, no unsync page lost.
    EXPECT_EQ(stat(out, "check.violations"), 0) << out;
  }
}

TEST(ShadowFork, FreedTablePagesReusedAsDataAreZappedByWriteFlooding) {
  const std::string reuse = run_and_check_tables(churn(0.05, 0.05, 1.0));
  const std::string none = run_and_check_tables(churn(0.05, 0.05, 0.0));
  ASSERT_EQ(reuse.find("exception"), std::string::npos) << reuse;
  ASSERT_EQ(none.find("exception"), std::string::npos) << none;
  // The same forks and execs (reuse draws from its own random stream).
  EXPECT_EQ(stat(reuse, "churn.forks"), stat(none, "churn.forks"));
  EXPECT_EQ(stat(reuse, "churn.execs"), stat(none, "churn.execs"));
  EXPECT_EQ(stat(reuse, "churn.tables_reused_as_data"), stat(reuse, "churn.tables_freed"));
  EXPECT_EQ(stat(none, "churn.tables_reused_as_data"), 0);
  // Stores to stale shadow pages (of freed tables) are emulated, and flooding zaps them.
  EXPECT_GT(stat(reuse, "shadow.emulated_writes"), stat(none, "shadow.emulated_writes"));
  EXPECT_GT(stat(reuse, "shadow.flooding.unlinked_zapped"),
            stat(none, "shadow.flooding.unlinked_zapped"));
  EXPECT_EQ(stat(reuse, "check.violations"), 0) << reuse;
  EXPECT_EQ(tail_value(reuse, "mismatches"), 0u);
}

// One vCPU faults through process 0's tables (so its page directory is shadowed at level 2),
// switches to process 1, and its kernel frees the directory as exit_mmap does (the PD entry
// of the data, then the PDPT entry of the PD are cleared: both stores emulated), then reuses
// the page as data: the first data store is emulated (the page is still write-protected for
// its stale shadow page: the fault answers Emulate on a data access), the second is the
// third write without a fault through the page and zaps it, the third goes through a
// writable mapping.
TEST(ShadowFork, DataStoresToAFreedDirectoryAreEmulatedUntilFloodingZapsIt) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = 1;
  c.churn_procs = 2;
  c.churn_proc_bytes = 2ull << 20;
  const std::string out = run_scripted(c, [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& p0 = w.process(0, 0);
    const GuestPtChurn::Process& p1 = w.process(0, 1);
    X86PageFormat f(4);
    const uint64_t x = p0.mapped_list.at(0);
    auto pte_gva = [](uint64_t table, unsigned idx) {
      return GuestPtChurn::kDirectMapGva + (table << kPageShift) + idx * 8;
    };
    const Addr pd_page = GuestPtChurn::kDirectMapGva + (p0.pd_gfn << kPageShift);
    s.cr3(p0.root_gfn << kPageShift);
    s.access(data_gva(x), Access::Read);
    s.cr3(p1.root_gfn << kPageShift);
    s.pte_write(pte_gva(p0.pd_gfn, f.index(data_gva(0), 2)), 0);
    s.pte_write(pte_gva(p0.pdpt_gfn, f.index(data_gva(0), 3)), 0);
    Platform* plat = &p;
    auto counters = [plat, &log](const char* when) {
      log << when << " emulated " << plat->stats.value("shadow.emulated_writes") << " flood "
          << plat->stats.value("shadow.flooding.pages_zapped") << " unlinked "
          << plat->stats.value("shadow.flooding.unlinked_zapped") << "\n";
    };
    s.probe([counters] { counters("freed"); });
    for (unsigned i = 0; i < 3; ++i) {
      s.access(pd_page + i * 512, Access::Write);
      s.probe([counters, i] { counters(i == 0 ? "store1" : i == 1 ? "store2" : "store3"); });
    }
    const Addr root1 = p1.root_gfn << kPageShift;
    s.probe([plat, root1, pd_page, &log] {
      const ShadowMmu::LeafView v = mmusim::testing::shadow_of(*plat).leaf_view(root1, pd_page);
      log << "leaf " << v.found << " writable " << ((v.spte & X86PageFormat::kRw) != 0) << "\n";
    });
    return s;
  });
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  const std::string log = out.substr(out.find("--LOG--"));
  EXPECT_NE(log.find("freed emulated 2 flood 0 unlinked 0"), std::string::npos) << log;
  EXPECT_NE(log.find("store1 emulated 3 flood 0 unlinked 0"), std::string::npos) << log;
  EXPECT_NE(log.find("store2 emulated 4 flood 1 unlinked 1"), std::string::npos) << log;
  EXPECT_NE(log.find("store3 emulated 4 flood 1 unlinked 1"), std::string::npos) << log;
  EXPECT_NE(log.find("leaf 1 writable 1"), std::string::npos) << log;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowFork, SameSeedGivesIdenticalStatistics) {
  const SimConfig c = churn(0.05, 0.05, 0.5);
  mmusim::testing::PlatformRun a = run_platform(c);
  mmusim::testing::PlatformRun b = run_platform(c);
  ASSERT_EQ(a.exit_code, 0) << a.stats_json;
  EXPECT_GT(stat(a.stats_json, "churn.forks"), 0);
  EXPECT_EQ(a.stats_json, b.stats_json);
}
