// Guest 2 MiB pages under shadow paging: a guest PDE with PS is shadowed by a direct
// last-level page (no guest table behind it, nothing write-protected for it) when the host
// backs guest memory with 4 KiB pages, and by a 2 MiB shadow leaf when the host backs it with
// 2 MiB pages (--page-size 2M). A guest store to the PDE is emulated and the next access maps the
// new frame.
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

SimConfig one_process(uint64_t page_size) {
  SimConfig c = mmusim::testing::shadow_churn_config();
  c.vcpus = 1;
  c.churn_procs = 1;
  c.churn_proc_bytes = 4ull << 20;
  c.churn_guest_huge = 0.5;  // region 1 (pages 512..1023) is a guest 2 MiB page
  c.churn_fork = 0;
  c.churn_exec = 0;
  c.page_size = page_size;
  return c;
}

// Writes and reads pages of the guest 2 MiB page, logging for each the shadow leaf that maps
// it ("page level direct writable ok", ok: the leaf maps the host frame of the page's gfn);
// then the guest kernel points the PDE at the frame of region 0 (an emulated store: the page
// directory is shadowed) and the last page is read again through the new mapping.
std::string run_huge(uint64_t page_size) {
  return run_scripted(one_process(page_size), [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const Addr cr3 = proc.root_gfn << kPageShift;
    X86PageFormat f(4);
    Platform* plat = &p;
    const Addr data_gpa = proc.data_gpa;
    auto check = [plat, cr3, &log](uint64_t page, Addr frame_gpa) {
      return [plat, cr3, &log, page, frame_gpa] {
        const ShadowMmu::LeafView v =
            mmusim::testing::shadow_of(*plat).leaf_view(cr3, data_gva(page));
        X86PageFormat fmt(4);
        const Addr host = plat->host.lookup(frame_gpa >> kPageShift).hpa;
        const Addr mapped = v.level == 2 ? fmt.address(v.spte, 2) + ((page % 512) << kPageShift)
                                         : fmt.address(v.spte, 1);
        log << "page " << page << " found " << v.found << " level " << v.level << " direct "
            << v.direct << " writable " << ((v.spte & X86PageFormat::kRw) != 0) << " ok "
            << (v.found && host != 0 && mapped == host) << "\n";
      };
    };
    s.cr3(cr3);
    const uint64_t pages[] = {512, 515, 1023};
    const Access acc[] = {Access::Write, Access::Read, Access::Write};
    for (unsigned i = 0; i < 3; ++i) {
      s.access(data_gva(pages[i]), acc[i]);
      s.probe(check(pages[i], data_gpa + (pages[i] << kPageShift)));
    }
    // The PDE of region 1 now maps region 0's frames.
    const Addr pde_gva = GuestPtChurn::kDirectMapGva + (proc.pd_gfn << kPageShift) +
                         f.index(data_gva(512), 2) * 8;
    s.pte_write(pde_gva, f.make_leaf(data_gpa, 2, Perms{true, true, false}, true, false));
    s.access(data_gva(1023), Access::Read);
    s.probe(check(1023, data_gpa + (511 << kPageShift)));
    return s;
  });
}

}  // namespace

TEST(ShadowHuge, WithSmallHostPagesAGuest2MiBPageIsShadowedByADirectPage) {
  const std::string out = run_huge(4096);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  const std::string log = out.substr(out.find("--LOG--"));
  EXPECT_NE(log.find("page 512 found 1 level 1 direct 1 writable 1 ok 1"), std::string::npos)
      << log;
  // Writable after a read too: the write to page 512 made the shadow MMU's walk set the guest
  // PDE's dirty bit, and nothing write-protects the frame's gfns.
  EXPECT_NE(log.find("page 515 found 1 level 1 direct 1 writable 1 ok 1"), std::string::npos)
      << log;
  // Before and after the PDE store, each time the right frame; the new PDE is clean, so the
  // read maps it read-only (protect_clean_gpte): another direct page, without W.
  EXPECT_NE(log.find("page 1023 found 1 level 1 direct 1 writable 1 ok 1\npage 1023 found 1 "
                     "level 1 direct 1 writable 0 ok 1"),
            std::string::npos)
      << log;
  // One direct page per (frame, W): the frame's and then region 0's. The data frames are no
  // guest table: the stores to them went straight through writable leaves; the one emulated store
  // is the guest's PDE store.
  EXPECT_EQ(stat(out, "shadow.direct.pages_created"), 2) << out;
  EXPECT_EQ(stat(out, "shadow.huge.leaves_installed"), 0);
  EXPECT_EQ(stat(out, "shadow.emulated_writes"), 1);
  EXPECT_EQ(stat(out, "hv.fault.count"), 5);  // one per 4 KiB piece, then the PDE store
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowHuge, With2MiBHostPagesAGuest2MiBPageGetsA2MiBShadowLeaf) {
  const std::string out = run_huge(2ull << 20);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  const std::string log = out.substr(out.find("--LOG--"));
  for (const char* page : {"512", "515"})
    EXPECT_NE(log.find(std::string("page ") + page + " found 1 level 2 direct 0 writable 1 ok 1"),
              std::string::npos)
        << log;
  // Before and after the PDE store, each time the right frame; the new PDE is clean, so the
  // read maps it read-only (protect_clean_gpte).
  EXPECT_NE(log.find("page 1023 found 1 level 2 direct 0 writable 1 ok 1\npage 1023 found 1 "
                     "level 2 direct 0 writable 0 ok 1"),
            std::string::npos)
      << log;
  EXPECT_EQ(stat(out, "shadow.direct.pages_created"), 0);
  EXPECT_EQ(stat(out, "shadow.huge.leaves_installed"), 2);
  // One fault maps the whole 2 MiB page: the other accesses hit its 2 MiB TLB entry.
  EXPECT_EQ(stat(out, "hv.fault.count"), 3);  // first access, the PDE store, the new frame
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowHuge, ChurnWithGuest2MiBPagesForksAndExecsKeepsTheOraclesClean) {
  for (const uint64_t page_size : {uint64_t(4096), uint64_t(2) << 20}) {
    SimConfig c = mmusim::testing::shadow_churn_config();
    c.vcpus = 2;
    c.churn_procs = 3;
    c.churn_proc_bytes = 8ull << 20;
    c.churn_steps = 300;
    c.churn_guest_huge = 0.5;
    c.churn_fork = 0.05;
    c.churn_exec = 0.05;
    c.page_size = page_size;
    mmusim::testing::PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_GT(stat(r.stats_json, "churn.forks"), 0);
    EXPECT_GT(stat(r.stats_json, page_size == 4096 ? "shadow.direct.pages_created"
                                                   : "shadow.huge.leaves_installed"),
              0);
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
  }
}
