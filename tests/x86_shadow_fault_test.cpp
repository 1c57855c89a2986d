// The shadow fault path walks the guest tables without mmu_lock (FNAME(walk_addr)) and checks
// under the lock that every guest entry it read is unchanged (FNAME(gpte_changed)), retrying
// the fault otherwise. The retries here come from a second vCPU rewriting a guest
// PTE while the first one faults on it: nothing forces them.
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"
#include "tests/shadow_script.hpp"

using namespace mmusim;
using mmusim::testing::data_gva;
using mmusim::testing::run_scripted;
using mmusim::testing::Script;
using mmusim::testing::stat;

namespace {

// vCPUs 0..n-2 keep reading page X of one process; the last vCPU, its kernel, keeps pointing
// X's guest PTE at the frame of X or of X+1 and invalidates X with INVLPG after each store, as
// a guest does after changing a mapping. With unsync on, X's table goes unsync and the stores
// land in guest memory without exits; INVLPG drops the shadow entry (the new PTE has not been
// accessed yet, so update_pte does not prefetch it) and every reader faults on X again.
std::string readers_and_remapper(unsigned vcpus, unsigned rounds) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = vcpus;
  c.churn_procs = 1;
  c.churn_proc_bytes = 2ull << 20;
  return run_scripted(c, [vcpus, rounds](unsigned v, Platform& p, std::ostream&) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const uint64_t x = proc.mapped_list.at(0);
    s.cr3(proc.root_gfn << kPageShift);
    const bool writer = v + 1 == vcpus, reader = !writer || vcpus == 1;
    // The remapper starts once the readers have shadowed X's table.
    if (writer && vcpus > 1) s.compute(20000);
    for (unsigned i = 0; i < rounds; ++i) {
      if (reader) s.access(data_gva(x), Access::Read);
      if (writer) {
        const uint64_t accessed = uint64_t(1) << 5;  // x86 PTE accessed bit
        s.pte_write(w.pte_gva(proc, x), w.leaf_pte(proc, x + (i % 2)) & ~accessed);
        s.invlpg(data_gva(x));
      }
      // Readers pace themselves near one remap, each at its own period, so that their faults
      // fall at every phase of the remapper's stores.
      s.compute(!writer ? 700 + 131 * v : 40);
    }
    return s;
  });
}

}  // namespace

TEST(ShadowFault, AGuestPteRewrittenBetweenTheLocklessWalkAndMmuLockRetriesTheFault) {
  const std::string out = readers_and_remapper(4, 1000);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_EQ(stat(out, "shadow.invlpg.count"), 1000) << out;
  EXPECT_GT(stat(out, "hv.fault.retry"), 0) << out;
  EXPECT_EQ(stat(out, "hv.fault.retry"), stat(out, "shadow.fault.gpte_changed"));
  // The remapper stores PTEs without the accessed bit: the readers' walks set it with a cmpxchg
  // on the guest PTE, and a cmpxchg that finds the remapper's next store there walks again.
  EXPECT_GT(stat(out, "shadow.guest_ad.set"), 0) << out;
  EXPECT_GT(stat(out, "shadow.guest_ad.retries"), 0) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowFault, OneVcpuDoingTheSameAloneNeverRetries) {
  // The same reads, remaps and INVLPGs from a single vCPU: no store can land inside a fault's
  // window.
  const std::string out = readers_and_remapper(1, 300);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_EQ(stat(out, "shadow.invlpg.count"), 300);
  EXPECT_GT(stat(out, "hv.fault.count"), 300);
  EXPECT_EQ(stat(out, "hv.fault.retry"), 0) << out;
}
