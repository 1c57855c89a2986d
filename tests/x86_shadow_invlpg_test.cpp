// Guest INVLPG under shadow paging: KVM's shadow invlpg re-syncs the one last-level
// entry of an unsync page from the guest PTE, leaves the page unsync, and does nothing below a
// sync page; guest-pt-churn INVLPGs single-page munmaps and flushes for scattered ones.
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

SimConfig one_vcpu(bool unsync) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.unsync = unsync;
  c.vcpus = 1;
  c.churn_procs = 1;
  c.churn_proc_bytes = 4ull << 20;
  return c;
}

// vCPU 0 reads page X, points X's guest PTE at the frame of page Z (mprotect/remap-like), then
// INVLPGs X and reads it again. Probes record the shadow leaf of X before and after the INVLPG.
std::string remap_and_invlpg(bool unsync) {
  return run_scripted(one_vcpu(unsync), [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const uint64_t x = proc.mapped_list.at(0);
    const uint64_t z = x + 1;  // same last-level table
    const Addr cr3 = proc.root_gfn << kPageShift;
    const Addr z_gpa = proc.data_gpa + (z << kPageShift);
    s.cr3(cr3);
    s.access(data_gva(x), Access::Read);
    s.pte_write(w.pte_gva(proc, x), w.leaf_pte(proc, z));
    auto probe = [&p, &log, cr3, x, z_gpa](const char* tag) {
      return [&p, &log, cr3, x, z_gpa, tag] {
        const ShadowMmu::LeafView v = mmusim::testing::shadow_of(p).leaf_view(cr3, data_gva(x));
        X86PageFormat f(4);
        const bool to_z = v.found && f.present(v.spte) &&
                          f.address(v.spte, 1) == p.host.lookup(z_gpa >> kPageShift).hpa;
        log << tag << ".present " << (v.found && f.present(v.spte)) << "\n"
          << tag << ".maps_z " << to_z << "\n"
          << tag << ".unsync " << v.unsync << "\n"
          << tag << ".accessed " << (v.found && f.accessed(v.spte)) << "\n";
      };
    };
    s.probe(probe("before"));
    s.invlpg(data_gva(x));
    s.probe(probe("after"));
    s.access(data_gva(x), Access::Read);
    return s;
  });
}

bool line(const std::string& out, const std::string& l) { return out.find(l) != std::string::npos; }

}  // namespace

TEST(ShadowInvlpg, ResyncsTheEntryOfAnUnsyncPageFromTheGuestPteAndLeavesThePageUnsync) {
  const std::string out = remap_and_invlpg(true);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  // The guest's PTE store went straight to the unsync table: the shadow leaf still maps the old
  // frame until the INVLPG.
  EXPECT_TRUE(line(out, "before.present 1")) << out;
  EXPECT_TRUE(line(out, "before.maps_z 0")) << out;
  EXPECT_TRUE(line(out, "before.unsync 1")) << out;
  // INVLPG zapped it and installed the new guest PTE (prefetched: accessed bit clear), and the page
  // is still unsync.
  EXPECT_TRUE(line(out, "after.present 1")) << out;
  EXPECT_TRUE(line(out, "after.maps_z 1")) << out;
  EXPECT_TRUE(line(out, "after.unsync 1")) << out;
  EXPECT_TRUE(line(out, "after.accessed 0")) << out;
  EXPECT_EQ(stat(out, "shadow.invlpg.count"), 1);
  EXPECT_EQ(stat(out, "shadow.invlpg.sptes_resynced"), 1);
  EXPECT_EQ(stat(out, "shadow.invlpg.sptes_zapped"), 1);
  EXPECT_EQ(stat(out, "guest.invlpg"), 1);
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowInvlpg, StopsAtASyncPage) {
  // Without unsync the PTE store is emulated and zaps the leaf; INVLPG then finds the page in
  // sync and has nothing to do; the read faults the new translation in.
  const std::string out = remap_and_invlpg(false);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(line(out, "before.present 0")) << out;
  EXPECT_TRUE(line(out, "after.present 0")) << out;
  EXPECT_EQ(stat(out, "shadow.invlpg.count"), 1);
  EXPECT_EQ(stat(out, "shadow.invlpg.sptes_resynced"), 0);
  EXPECT_EQ(stat(out, "shadow.emulated_writes"), 1);
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowInvlpg, ChurnInvlpgsSinglePageUnmapsAndFlushesScatteredOnes) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = 2;
  c.churn_procs = 3;
  c.churn_steps = 120;
  c.churn_unmap_single = 0.5;
  mmusim::testing::PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_GT(stat(r.stats_json, "churn.invlpgs"), 0);
  EXPECT_GT(stat(r.stats_json, "churn.tlb_flushes"), 0);
  EXPECT_EQ(stat(r.stats_json, "shadow.invlpg.count"), stat(r.stats_json, "churn.invlpgs"));
  EXPECT_GT(stat(r.stats_json, "shadow.invlpg.sptes_resynced"), 0);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
  c.churn_invlpg_ceiling = 0;  // every munmap flushes the whole TLB
  mmusim::testing::PlatformRun f = run_platform(c);
  ASSERT_EQ(f.exit_code, 0) << f.stats_json;
  EXPECT_EQ(stat(f.stats_json, "churn.invlpgs"), 0);
  EXPECT_EQ(stat(f.stats_json, "shadow.invlpg.count"), 0);
  EXPECT_GT(stat(f.stats_json, "churn.tlb_flushes"), stat(r.stats_json, "churn.tlb_flushes"));
}
