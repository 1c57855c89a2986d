// Removed SPTEs (--removed-spte, docs/KVM_RELEASES.md): a removed table is torn down to KVM's
// REMOVED_SPTE (FROZEN_SPTE from 6.11) rather than to 0, no atomic change overwrites that value,
// a fault that reads it retries, and a fault that zaps a huge leaf keeps it frozen while it
// flushes. Host threads drive the TDP MMU while the platform runs; a frozen value written by the
// test stands for another thread's change in progress.
#include <gtest/gtest.h>

#include <algorithm>

#include "app/platform.hpp"
#include "models/x86/ept_format.hpp"
#include "models/x86/tdp_mmu.hpp"
#include "tests/repeat_stream.hpp"

using namespace mmusim;

namespace {

using mmusim::testing::Nothing;
using mmusim::testing::Repeat;

SimConfig base(RemovedSpte form) {
  SimConfig c;
  c.quiet = true;
  c.vcpus = 1;
  c.mem_per_vcpu = 4 << 20;
  c.mmu_lock = MmuLockMode::Shared;
  c.removed_spte = form;
  return c;
}

void mark_touched(Platform& p, Addr gpa) { p.touched.set(gpa >> kPageShift); }

// The address of the SPTE for gpa at `level` in the VM's root (an untimed walk of the tables).
Addr sptep_at(Platform& p, Addr gpa, unsigned level) {
  const PageTableFormat& fmt = p.arch->stage2_format();
  PtIter it(fmt, p.mmu().stage2_root(), gpa);
  while (it.level() > level) {
    it.set_entry(p.phys.read64(it.entry_addr()));
    if (!it.can_descend()) return 0;
    it.descend();
  }
  return it.entry_addr();
}

}  // namespace

TEST(TdpFrozen, TheFrozenValueIsNotPresentToTheEptWalker) {
  const EptFormat fmt(4);
  EXPECT_FALSE(fmt.present(TdpMmu::kFrozenSpte));
  EXPECT_EQ(TdpMmu::kFrozenSpte & EptFormat::kAddrMask, 0u);
  EXPECT_EQ(TdpMmu::kFrozenSpte & EptFormat::kMmuPresent, 0u);
}

TEST(TdpFrozen, AFaultThatReadsAFrozenSpteRetriesAndBuildsNothing) {
  Platform* plat = nullptr;
  const Addr gpa = GuestLayout::kDataGpa;
  const Addr next2m = gpa + (2 << 20);
  FaultOutcome frozen_out{}, after{};
  uint64_t allocated_before = 0, allocated_after = 0, left_in_entry = 0;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  h.host_threads.push_back({"faulter", [&](Agent& a) {
    Platform& p = *plat;
    const TranslationFault f0 = TranslationFault::gpa(gpa, Access::Write);
    ASSERT_EQ(p.mmu().handle_fault(a, -1, f0), FaultOutcome::Fixed);
    mark_touched(p, gpa);
    // The next 2 MiB has no table yet: its level-2 entry is empty. Another thread holds it
    // frozen (the test writes the value that thread would have exchanged in).
    const Addr e = sptep_at(p, next2m, 2);
    ASSERT_NE(e, 0u);
    ASSERT_EQ(p.phys.read64(e), 0u);
    p.phys.write64(e, TdpMmu::kFrozenSpte);
    allocated_before = p.stats.value("hv.tables.allocated");
    frozen_out = p.mmu().handle_fault(a, -1, TranslationFault::gpa(next2m, Access::Write));
    allocated_after = p.stats.value("hv.tables.allocated");
    left_in_entry = p.phys.read64(e);
    // The owner finishes its change; the vCPU's next fault maps the page.
    p.phys.write64(e, 0);
    after = p.mmu().handle_fault(a, -1, TranslationFault::gpa(next2m, Access::Write));
    mark_touched(p, next2m);
  }});
  Platform p(base(RemovedSpte::On), h);
  plat = &p;
  p.run();
  EXPECT_EQ(frozen_out, FaultOutcome::Retry);
  EXPECT_EQ(p.stats.value("hv.fault.frozen_retry"), 1u);
  // No table was allocated for the frozen entry, and the entry was left to its owner.
  EXPECT_EQ(allocated_after, allocated_before);
  EXPECT_EQ(left_in_entry, TdpMmu::kFrozenSpte);
  EXPECT_EQ(after, FaultOutcome::Fixed);
  EXPECT_EQ(p.stats.value("check.violations"), 0u);
}

namespace {

// A table of 4K leaves is replaced by a huge leaf (the host collapsed the page): the removed
// table's entries are read while a reader still holds RCU, before the table is freed. *xchgs
// and *stores are the teardown's exchanges and stores.
std::vector<uint64_t> torn_down_entries(RemovedSpte form, MmuLockMode lock, uint64_t* xchgs,
                                        uint64_t* stores) {
  Platform* plat = nullptr;
  SimConfig c = base(form);
  c.mmu_lock = lock;
  c.page_size = 2 << 20;
  const Addr gpa = GuestLayout::kDataGpa;
  std::vector<uint64_t> entries;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  h.host_threads.push_back({"collapser", [&](Agent& a) {
    Platform& p = *plat;
    p.host.set_backing_level(gpa >> kPageShift, 512, 1);
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(p.mmu().handle_fault(a, -1, TranslationFault::gpa(gpa + Addr(i) * kPageSize,
                                                                  Access::Write)),
                FaultOutcome::Fixed);
      mark_touched(p, gpa + Addr(i) * kPageSize);
    }
    const Addr table = p.phys.read64(sptep_at(p, gpa, 2)) & EptFormat::kAddrMask;
    p.rcu.read_lock(a);  // keeps the removed table from being freed while it is read
    p.host.collapse_backing(gpa >> kPageShift, 2);
    const uint64_t x0 = p.stats.value("hv.spte.teardown_xchg");
    const uint64_t s0 = p.stats.value("hv.spte.teardown_store");
    ASSERT_EQ(p.mmu().handle_fault(a, -1, TranslationFault::gpa(gpa, Access::Write)),
              FaultOutcome::Fixed);
    *xchgs = p.stats.value("hv.spte.teardown_xchg") - x0;
    *stores = p.stats.value("hv.spte.teardown_store") - s0;
    mark_touched(p, gpa);
    for (unsigned i = 0; i < 512; ++i) entries.push_back(p.phys.read64(table + 8 * i));
    p.rcu.read_unlock(a);
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  EXPECT_EQ(p.stats.value("check.violations"), 0u);
  return entries;
}

size_t count_of(const std::vector<uint64_t>& v, uint64_t value) {
  return size_t(std::count(v.begin(), v.end(), value));
}

}  // namespace

TEST(TdpFrozen, ARemovedTableIsTornDownToFrozenEntries) {
  uint64_t xchgs = 0, stores = 0;
  std::vector<uint64_t> e = torn_down_entries(RemovedSpte::On, MmuLockMode::Shared, &xchgs, &stores);
  ASSERT_EQ(e.size(), 512u);
  EXPECT_EQ(count_of(e, TdpMmu::kFrozenSpte), 512u);
  EXPECT_EQ(xchgs, 512u);  // one exchange each: nobody else held an entry frozen
  EXPECT_EQ(stores, 0u);
}

TEST(TdpFrozen, BeforeRemovedSptesTheTableIsTornDownToZero) {
  uint64_t xchgs = 0, stores = 0;
  std::vector<uint64_t> e = torn_down_entries(RemovedSpte::Off, MmuLockMode::Shared, &xchgs, &stores);
  ASSERT_EQ(e.size(), 512u);
  EXPECT_EQ(count_of(e, 0), 512u);
  EXPECT_EQ(xchgs, 512u);
}

TEST(TdpFrozen, UnderTheWriteLockOnlyPresentEntriesAreWritten) {
  // The frozen form stores the value into the 3 present entries only; 5.10/5.11 cleared all 512.
  uint64_t xchgs = 0, stores = 0;
  std::vector<uint64_t> on = torn_down_entries(RemovedSpte::On, MmuLockMode::Exclusive, &xchgs, &stores);
  EXPECT_EQ(count_of(on, TdpMmu::kFrozenSpte), 3u);
  EXPECT_EQ(count_of(on, 0), 509u);
  EXPECT_EQ(stores, 3u);
  EXPECT_EQ(xchgs, 0u);
  std::vector<uint64_t> off = torn_down_entries(RemovedSpte::Off, MmuLockMode::Exclusive, &xchgs, &stores);
  EXPECT_EQ(count_of(off, 0), 512u);
  EXPECT_EQ(stores, 512u);
}

namespace {

// vCPU 0 keeps reading a page of a 2 MiB mapping. A host thread splits the host page and
// faults a 4K page under the huge leaf, which zaps the leaf and flushes vCPU 0 (an IPI it must
// acknowledge). A second host thread faults another 4K page of the same 2 MiB meanwhile, again
// and again until it is mapped; returns its outcomes.
struct ZapRace {
  std::vector<FaultOutcome> racer;
  uint64_t frozen_retry = 0, violations = 0, zapped = 0;
};
ZapRace zap_with_racer(RemovedSpte form) {
  Platform* plat = nullptr;
  SimConfig c = base(form);
  c.page_size = 2 << 20;
  c.huge_split_on_fault = HugeSplitOnFault::Zap;  // the form that zaps the leaf
  const Addr gpa = GuestLayout::kDataGpa;
  ZapRace r;
  PlatformHooks h;
  h.stream = [&](unsigned) { return std::make_unique<Repeat>(GuestLayout::kDataGva, 4000, 100); };
  h.host_threads.push_back({"zapper", [&](Agent& a) {
    a.wait_cycles(150000);  // the vCPU has long since mapped and cached the huge page
    ASSERT_TRUE(plat->host.split_backing(gpa >> kPageShift));
    EXPECT_EQ(plat->mmu().handle_fault(a, -1, TranslationFault::gpa(gpa + kPageSize,
                                                                    Access::Write)),
              FaultOutcome::Fixed);
    mark_touched(*plat, gpa + kPageSize);
  }});
  h.host_threads.push_back({"racer", [&](Agent& a) {
    a.wait_cycles(150400);  // just after the zapper's fault began
    const TranslationFault f = TranslationFault::gpa(gpa + 2 * kPageSize, Access::Write);
    FaultOutcome o;
    do {
      o = plat->mmu().handle_fault(a, -1, f);
      r.racer.push_back(o);
    } while (o == FaultOutcome::Retry && r.racer.size() < 10000);
    mark_touched(*plat, gpa + 2 * kPageSize);
  }});
  Platform p(c, h);
  plat = &p;
  // The huge host page exists before the run: the vCPU maps it at once (its first touch would
  // take longer than the zapper's wait, zeroing 2 MiB through DRAM).
  p.host.resolve_functional(gpa >> kPageShift);
  p.run();
  r.frozen_retry = p.stats.value("hv.fault.frozen_retry");
  r.violations = p.stats.value("check.violations");
  r.zapped = p.stats.value("hv.huge.zapped_for_table");
  return r;
}

}  // namespace

TEST(TdpFrozen, AHugeLeafStaysFrozenWhileItsZapFlushes) {
  ZapRace on = zap_with_racer(RemovedSpte::On);
  // The racer met the frozen leaf while the zapper waited for the vCPU's acknowledgement, and
  // retried until the zapper had cleared it.
  EXPECT_GE(on.frozen_retry, 1u);
  ASSERT_FALSE(on.racer.empty());
  EXPECT_EQ(on.racer.back(), FaultOutcome::Fixed);
  EXPECT_EQ(on.zapped, 1u);
  EXPECT_EQ(on.violations, 0u);
  // Before, the zapped leaf is 0 during the flush: nothing makes the racer wait for it.
  ZapRace off = zap_with_racer(RemovedSpte::Off);
  EXPECT_EQ(off.frozen_retry, 0u);
  EXPECT_LT(off.racer.size(), on.racer.size());
  EXPECT_EQ(off.violations, 0u);
}
