// Zapping an upper-level shadow page zaps its unsync children first (the unsync-walk change):
// kvm_mmu_prepare_zap_page runs mmu_zap_unsync_children, the unsync walk of the sync path
// (same --unsync-walk variant, same vector of 16), and zaps every unsync page it collects
// instead of syncing it. Without that, the unsync page tables below a zapped directory stay in
// the hash, unsync, with no parent linking them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/platform_run.hpp"
#include "tests/shadow_script.hpp"

using namespace mmusim;
using mmusim::testing::data_gva;
using mmusim::testing::run_scripted;
using mmusim::testing::Script;
using mmusim::testing::stat;

namespace {

// One process whose data window has `unsync` + 1 regions of 2 MiB, each with its own guest
// page table under one page directory. vCPU 0 reads a mapped page in each of the first
// `unsync` regions (their shadow page tables are linked under the directory's shadow page),
// rewrites one PTE of each of those tables through the direct map (unchanged value: each
// shadow page table goes unsync, nothing to fix at a sync), then stores three times to the
// directory entry of the last region, which it never touched: each store is emulated (the
// directory is shadowed at level 2 and cannot go unsync) and finds no shadow entry at that
// offset, and the third one zaps the directory's shadow page (write flooding). Probes log the
// unsync pages, and those no shadow entry links, before and after the zap.
std::string flood_directory(UnsyncWalk walk, unsigned unsync, PvecFull pvec = PvecFull::Kvm) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.pvec_full = pvec;
  c.vcpus = 1;
  c.churn_procs = 1;
  c.churn_proc_bytes = uint64_t(unsync + 1) << 21;
  c.unsync_walk = walk;
  return run_scripted(c, [unsync](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    X86PageFormat f(4);
    s.cr3(proc.root_gfn << kPageShift);
    std::vector<uint64_t> pages;
    for (uint64_t k = 0; k < unsync; ++k) {
      uint64_t x = k * 512;
      while (!proc.mapped.at(x)) ++x;  // half the pages are mapped at the start
      pages.push_back(x);
      s.access(data_gva(x), Access::Read);
    }
    for (uint64_t x : pages) s.pte_write(w.pte_gva(proc, x), w.leaf_pte(proc, x));
    auto probe = [&p, &log](const std::string& tag) {
      return [&p, &log, tag] {
        ShadowMmu& m = mmusim::testing::shadow_of(p);
        log << tag << ".unsync " << m.unsync_pages() << "\n"
            << tag << ".orphans " << m.orphan_unsync_pages() << "\n";
      };
    };
    s.probe(probe("before"));
    const unsigned idx = f.index(data_gva(uint64_t(unsync) * 512), 2);
    const uint64_t pde = p.phys.read64(p.host.lookup(proc.pd_gfn).hpa + idx * 8);
    const Addr pde_gva = GuestPtChurn::kDirectMapGva + (proc.pd_gfn << kPageShift) + idx * 8;
    for (int i = 0; i < 3; ++i) s.pte_write(pde_gva, pde);
    s.probe(probe("after"));
    s.access(data_gva(pages.front()), Access::Read);  // shadowed again from scratch
    return s;
  });
}

bool has(const std::string& out, const std::string& l) { return out.find(l) != std::string::npos; }

void expect_children_zapped(UnsyncWalk walk, unsigned unsync) {
  SCOPED_TRACE(std::string(mode_name(walk)) + ", " + std::to_string(unsync) + " unsync page tables");
  const std::string out = flood_directory(walk, unsync);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "before.unsync " + std::to_string(unsync) + "\n")) << out;
  EXPECT_TRUE(has(out, "before.orphans 0\n")) << out;
  EXPECT_EQ(stat(out, "shadow.flooding.pages_zapped"), 1) << out;
  // Every unsync page table went with the directory: none is left unsync, linked or not.
  EXPECT_EQ(stat(out, "shadow.zap.unsync_children"), unsync) << out;
  EXPECT_TRUE(has(out, "after.unsync 0\n")) << out;
  EXPECT_TRUE(has(out, "after.orphans 0\n")) << out;
  // Zapped, not synced (no CR3 load or TLB flush in the script syncs anything).
  EXPECT_EQ(stat(out, "shadow.sync.pages_synced"), 0) << out;
  // The directory and its unsync children are freed after the one remote flush.
  EXPECT_EQ(stat(out, "shadow.pages.freed"), unsync + 1) << out;
  // More than the vector of 16 holds: the walk returned -ENOSPC and ran again.
  if (unsync > 16) {
    EXPECT_GT(stat(out, "shadow.walk.enospc"), 0) << out;
  }
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

}  // namespace

TEST(ShadowZapUnsync, ZappingADirectoryZapsItsUnsyncPageTables) {
  for (UnsyncWalk walk : {UnsyncWalk::Rewalk, UnsyncWalk::ClearOnAdd, UnsyncWalk::ClearBeforeAdd})
    expect_children_zapped(walk, 3);
}

TEST(ShadowZapUnsync, MoreUnsyncChildrenThanTheVectorHoldsAreAllZapped) {
  // KVM's vector add keeps the page that fills the vector, so the patch's ordering loses none.
  for (UnsyncWalk walk : {UnsyncWalk::Rewalk, UnsyncWalk::ClearOnAdd, UnsyncWalk::ClearBeforeAdd})
    expect_children_zapped(walk, 20);
}

TEST(ShadowZapUnsync, HypotheticalRefusingVectorMakesThePatchOrderingLoseAChild) {
  // A vector that refuses a page when full (not KVM's add): the child's bit was cleared before
  // the failed add, so the zap drops it as a sync would: it stays unsync under the zapped
  // directory, and the check after the zap reports it.
  const std::string out = flood_directory(UnsyncWalk::ClearBeforeAdd, 20, PvecFull::Refuse);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_LT(stat(out, "shadow.zap.unsync_children"), 20) << out;
  EXPECT_FALSE(has(out, "after.orphans 0\n")) << out;
  EXPECT_GT(stat(out, "check.unsync_page_lost"), 0) << out;
}
