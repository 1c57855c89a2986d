// The shadow MMU's unsync decisions and kvm_sync_page as KVM takes them (docs/ARCHITECTURE.md,
// Shadow MMU): a read fault that maps a writable, dirty guest PTE over a shadowed guest table
// unsyncs that table; a sync rebuilds each entry from its guest PTE (W dropped or granted,
// an entry whose guest PTE lost its accessed bit dropped); an unsync page found by a lookup is
// synced but stays unsync, with the flush of its release (--lookup-sync-flush); a prefetch
// unsyncs only in releases before 5.16 (--prefetch-unsync).
#include <gtest/gtest.h>

#include <optional>

#include "app/params_models.hpp"
#include "tests/platform_run.hpp"
#include "tests/shadow_script.hpp"

using namespace mmusim;
using mmusim::testing::data_gva;
using mmusim::testing::run_scripted;
using mmusim::testing::Script;
using mmusim::testing::stat;

namespace {

// One vCPU, one process of two 2 MiB regions (two guest page tables), no fork or exec.
SimConfig one_process() { return mmusim::testing::shadow_one_process_config(4ull << 20); }

bool has(const std::string& out, const std::string& l) { return out.find(l) != std::string::npos; }

// What the probes log: the shadow leaf of `page` (present, writable, in an unsync page) and the
// number of unsync shadow pages.
std::function<void()> leaf_probe(Platform* plat, Addr cr3, uint64_t page, std::ostream& log,
                                 const char* tag) {
  return [plat, cr3, page, &log, tag] {
    ShadowMmu& m = mmusim::testing::shadow_of(*plat);
    const ShadowMmu::LeafView v = m.leaf_view(cr3, data_gva(page));
    log << tag << " present " << (v.found && (v.spte & X86PageFormat::kPresent) != 0)
        << " writable " << (v.found && (v.spte & X86PageFormat::kRw) != 0) << " unsync "
        << v.unsync << " pages " << m.unsync_pages() << "\n";
  };
}

// A guest PTE for the own frame of `page` of `proc`: writable, with the given A and D bits.
uint64_t pte(const GuestPtChurn::Process& proc, uint64_t page, bool writable, bool accessed,
             bool dirty) {
  return X86PageFormat(4).make_leaf(proc.own_frame(page), 1, Perms{true, writable, false},
                                    accessed, dirty);
}

// A mapped page of region 0 and another mapped page of the same table.
std::pair<uint64_t, uint64_t> two_pages(const GuestPtChurn::Process& proc) {
  uint64_t x = 0;
  while (!proc.mapped.at(x)) ++x;
  uint64_t y = x + 1;
  while (!proc.mapped.at(y)) ++y;
  return {x, y};
}

}  // namespace

TEST(ShadowUnsyncDecision, AReadFaultMappingADirtyWritablePteOverAShadowedTableUnsyncsIt) {
  // The guest kernel reads one of its page tables through its direct map, whose PTEs are
  // writable and dirty: KVM makes the shadow entry writable, so the table goes unsync on that
  // read, and the kernel's next store to it takes no exit.
  const std::string out = run_scripted(one_process(), [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const auto [x, y] = two_pages(proc);
    s.cr3(proc.root_gfn << kPageShift);
    s.access(data_gva(x), Access::Read);  // the table of x is shadowed, in sync
    Platform* plat = &p;
    s.probe([plat, &log] {
      log << "before " << mmusim::testing::shadow_of(*plat).unsync_pages() << "\n";
    });
    s.access(w.pte_gva(proc, y), Access::Read);  // the kernel reads y's PTE
    s.probe([plat, &log] {
      log << "after " << mmusim::testing::shadow_of(*plat).unsync_pages() << "\n";
    });
    s.pte_write(w.pte_gva(proc, y), 0);  // unmap y: a plain store, no exit
    return s;
  });
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "before 0\n")) << out;
  EXPECT_TRUE(has(out, "after 1\n")) << out;
  EXPECT_EQ(stat(out, "shadow.unsync.pages_unsynced"), 1) << out;
  EXPECT_EQ(stat(out, "shadow.emulated_writes"), 0) << out;
  EXPECT_EQ(stat(out, "hv.fault.count"), 2) << out;  // x, then the direct-map page of y's PTE
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

namespace {

// vCPU 0 maps x and makes its table unsync (a store to y's PTE through the direct map), then
// the guest rewrites x's PTE to `x_pte` without flushing, then reloads CR3: the unsync walk
// syncs the table. Probes before and after the reload.
std::string sync_after(bool write_x_first, bool x_pte_writable, bool x_pte_accessed,
                       bool x_pte_dirty) {
  return run_scripted(one_process(), [=](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const auto [x, y] = two_pages(proc);
    const Addr cr3 = proc.root_gfn << kPageShift;
    s.cr3(cr3);
    s.access(data_gva(x), write_x_first ? Access::Write : Access::Read);
    s.pte_write(w.pte_gva(proc, y), w.leaf_pte(proc, y));  // the table goes unsync
    s.pte_write(w.pte_gva(proc, x), pte(proc, x, x_pte_writable, x_pte_accessed, x_pte_dirty));
    s.probe(leaf_probe(&p, cr3, x, log, "unsync"));
    s.cr3(cr3);
    s.probe(leaf_probe(&p, cr3, x, log, "synced"));
    return s;
  });
}

}  // namespace

TEST(ShadowSyncPage, ASyncDropsWWhenTheGuestPteLostIt) {
  const std::string out = sync_after(true, false, true, true);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "unsync present 1 writable 1 unsync 1")) << out;  // stale until a flush
  EXPECT_TRUE(has(out, "synced present 1 writable 0 unsync 0")) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowSyncPage, ASyncMakesTheEntryWritableWhenTheGuestPteBecameWritableAndDirty) {
  // x was read while clean (read-only entry); the guest then marks its PTE dirty: the sync
  // recomputes W from the guest PTE (nothing shadows x's frame, the host maps it writable).
  const std::string out = sync_after(false, true, true, true);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "unsync present 1 writable 0 unsync 1")) << out;
  EXPECT_TRUE(has(out, "synced present 1 writable 1 unsync 0")) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowSyncPage, ASyncDropsAnEntryWhoseGuestPteLostItsAccessedBit) {
  const std::string out = sync_after(false, true, false, false);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "unsync present 1 writable 0 unsync 1")) << out;
  EXPECT_TRUE(has(out, "synced present 0 writable 0 unsync 0")) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

namespace {

// x is written (writable entry), its table made unsync, x's PTE made read-only by the guest
// without a flush; then the guest rewrites the directory entry of region 0 with its own value
// (an emulated store to the shadowed directory: the shadow entry linking the table is zapped,
// the table stays unsync in the hash), and reads x: the fault's lookup finds the unsync table.
std::string lookup_finds_unsync(std::optional<LookupSyncFlush> form) {
  SimConfig c = one_process();
  c.lookup_sync_flush = form;
  return run_scripted(c, [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const auto [x, y] = two_pages(proc);
    const Addr cr3 = proc.root_gfn << kPageShift;
    X86PageFormat f(4);
    s.cr3(cr3);
    s.access(data_gva(x), Access::Write);
    s.pte_write(w.pte_gva(proc, y), w.leaf_pte(proc, y));
    s.pte_write(w.pte_gva(proc, x), pte(proc, x, false, true, true));
    const unsigned idx = f.index(data_gva(x), 2);
    const uint64_t pde = p.phys.read64(p.host.lookup(proc.pd_gfn).hpa + idx * 8);
    s.pte_write(GuestPtChurn::kDirectMapGva + (proc.pd_gfn << kPageShift) + idx * 8, pde);
    s.access(data_gva(x), Access::Read);
    s.probe(leaf_probe(&p, cr3, x, log, "looked-up"));
    s.cr3(cr3);
    s.probe(leaf_probe(&p, cr3, x, log, "synced"));
    return s;
  });
}

}  // namespace

TEST(ShadowLookupSync, AnUnsyncPageFoundByALookupIsSyncedButStaysUnsync) {
  const std::string out = lookup_finds_unsync(std::nullopt);  // 6.12: remote
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_EQ(stat(out, "shadow.sync.lookup_synced"), 1) << out;
  // The entry follows the guest PTE (W dropped), but the table is neither write-protected nor
  // marked sync: only the guest's TLB flush (the CR3 reload) syncs it for good.
  EXPECT_TRUE(has(out, "looked-up present 1 writable 0 unsync 1 pages 1")) << out;
  EXPECT_TRUE(has(out, "synced present 1 writable 0 unsync 0 pages 0")) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowLookupSync, BeforeFiveSixteenTheLookupFlushesOnlyTheCurrentVcpu) {
  const std::string remote = lookup_finds_unsync(LookupSyncFlush::Remote);
  const std::string current = lookup_finds_unsync(LookupSyncFlush::Current);
  for (const std::string* out : {&remote, &current}) {
    ASSERT_EQ(out->find("exception"), std::string::npos) << *out;
    EXPECT_EQ(stat(*out, "shadow.sync.lookup_synced"), 1) << *out;
    EXPECT_EQ(stat(*out, "check.violations"), 0) << *out;
  }
  // The lookup's sync dropped W: a remote flush in 5.16 and later, none before (the vCPU's
  // own request flushes its TLB on entry).
  EXPECT_EQ(stat(remote, "hv.flush.count"), stat(current, "hv.flush.count") + 1)
      << remote << current;
  // --kvm-version picks the form.
  SimConfig c;
  c.kvm_version = {5, 15};
  EXPECT_EQ(mmusim::shadow_mmu_params(c).lookup_sync_flush, LookupSyncFlush::Current);
  c.kvm_version = {5, 16};
  EXPECT_EQ(mmusim::shadow_mmu_params(c).lookup_sync_flush, LookupSyncFlush::Remote);
}

namespace {

// Region 0's table P is made unsync; the guest then points a PTE of P (a page it never
// accessed) at the frame of region 1's table Q, writable, accessed and dirty, and INVLPGs it:
// update_pte prefetches the entry while Q is a shadowed table in sync.
std::string prefetch_over_table(std::optional<PrefetchUnsync> form) {
  SimConfig c = one_process();
  c.prefetch_unsync = form;
  return run_scripted(c, [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const auto [x, y] = two_pages(proc);
    uint64_t z = 512;
    while (!proc.mapped.at(z)) ++z;  // a mapped page of region 1
    uint64_t u = 0;
    while (proc.mapped.at(u)) ++u;  // an unmapped page of region 0
    const Addr cr3 = proc.root_gfn << kPageShift;
    s.cr3(cr3);
    s.access(data_gva(x), Access::Read);
    s.access(data_gva(z), Access::Read);  // Q is shadowed
    s.pte_write(w.pte_gva(proc, y), w.leaf_pte(proc, y));  // P goes unsync
    const uint64_t over_q = X86PageFormat(4).make_leaf(proc.pt_gfn[1] << kPageShift, 1,
                                                       Perms{true, true, false}, true, true);
    s.pte_write(w.pte_gva(proc, u), over_q);
    s.invlpg(data_gva(u));
    Platform* plat = &p;
    s.probe([plat, cr3, u, &log] {
      ShadowMmu& m = mmusim::testing::shadow_of(*plat);
      const ShadowMmu::LeafView v = m.leaf_view(cr3, data_gva(u));
      log << "prefetched present " << (v.found && (v.spte & X86PageFormat::kPresent) != 0)
          << " writable " << (v.found && (v.spte & X86PageFormat::kRw) != 0) << " pages "
          << m.unsync_pages() << "\n";
    });
    return s;
  });
}

}  // namespace

TEST(ShadowPrefetchUnsync, FromFiveSixteenAPrefetchNeverUnsyncsAndMapsReadOnly) {
  const std::string out = prefetch_over_table(std::nullopt);  // 6.12: off
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "prefetched present 1 writable 0 pages 1\n")) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowPrefetchUnsync, BeforeFiveSixteenAPrefetchUnsyncsTheTargetTable) {
  const std::string out = prefetch_over_table(PrefetchUnsync::On);
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "prefetched present 1 writable 1 pages 2\n")) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
  SimConfig c;
  c.kvm_version = {5, 15};
  EXPECT_EQ(mmusim::shadow_mmu_params(c).prefetch_unsync, PrefetchUnsync::On);
  c.kvm_version = {5, 16};
  EXPECT_EQ(mmusim::shadow_mmu_params(c).prefetch_unsync, PrefetchUnsync::Off);
}
