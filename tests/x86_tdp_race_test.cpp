// The mechanisms of the parallel-faults change one at a time, driven by host threads calling the
// TDP MMU directly while the platform runs: a lost cmpxchg on a table link, a huge page zapped for
// a table with a remote flush reaching a running vCPU (or, from 6.2, split in place with no
// flush), a table replaced by a huge page and freed only after an RCU grace period, and the
// stale-translation oracle catching a skipped flush.
#include <gtest/gtest.h>

#include "app/platform.hpp"
#include "tests/repeat_stream.hpp"

using namespace mmusim;

namespace {

using mmusim::testing::Nothing;
using mmusim::testing::Repeat;

SimConfig base(MmuLockMode lock) {
  SimConfig c;
  c.quiet = true;
  c.vcpus = 1;
  c.mem_per_vcpu = 4 << 20;
  c.mmu_lock = lock;
  return c;
}

// Pages mapped by a host thread count as touched for the lost-update oracle.
void mark_touched(Platform& p, Addr gpa) { p.touched.set(gpa >> kPageShift); }

void two_faulters_race(MmuLockMode lock) {
  Platform* plat = nullptr;
  FaultOutcome out[2];
  const Addr gpa = GuestLayout::kDataGpa;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  for (int t = 0; t < 2; ++t) {
    h.host_threads.push_back({"faulter" + std::to_string(t), [&, t](Agent& a) {
      // Two different pages under one missing table: both threads find the same empty entry.
      Addr g = gpa + Addr(t) * kPageSize;
      out[t] = plat->mmu().handle_fault(a, -1, TranslationFault::gpa(g, Access::Write));
      // As a vCPU would: fault again after RET_PF_RETRY until the page is mapped.
      const TranslationFault f = TranslationFault::gpa(g, Access::Write);
      while (plat->mmu().handle_fault(a, -1, f) == FaultOutcome::Retry) {}
      mark_touched(*plat, g);
    }});
  }
  Platform p(base(lock), h);
  plat = &p;
  // Both host pages exist before the run, so each thread's host lookup is GUP's short lockless
  // path and the two reach the missing table together (a first touch would put them apart by
  // the allocator's and DRAM's queues).
  for (int t = 0; t < 2; ++t) p.host.resolve_functional((gpa >> kPageShift) + t);
  p.run();
  if (lock == MmuLockMode::Shared) {
    // One installs the table; the other's cmpxchg fails, its table is freed unused, RETRY.
    // Faulting straight back, the loser may then win the race one level down and make the
    // first one retry too; every retry here is a table link that lost its cmpxchg and whose
    // unused table was freed, and in the end both pages are mapped.
    EXPECT_TRUE(out[0] == FaultOutcome::Retry || out[1] == FaultOutcome::Retry);
    EXPECT_GE(p.stats.value("hv.fault.retry"), 1u);
    EXPECT_EQ(p.stats.value("hv.spte.cmpxchg_fail"), p.stats.value("hv.fault.retry"));
    EXPECT_EQ(p.stats.value("hv.tables.freed_unlinked"), p.stats.value("hv.fault.retry"));
    EXPECT_EQ(p.stats.value("hv.fault.fixed"), 2u);
  } else {
    EXPECT_EQ(out[0], FaultOutcome::Fixed);
    EXPECT_EQ(out[1], FaultOutcome::Fixed);
    EXPECT_EQ(p.stats.value("hv.spte.cmpxchg_fail"), 0u);
    EXPECT_EQ(p.stats.value("hv.tables.freed_unlinked"), 0u);
  }
  EXPECT_EQ(p.stats.value("check.violations"), 0u);
}

}  // namespace

TEST(TdpRace, SharedModeLoserFreesItsTableAndRetries) { two_faulters_race(MmuLockMode::Shared); }

TEST(TdpRace, ExclusiveModeSerialisesTheSameRace) { two_faulters_race(MmuLockMode::Exclusive); }

namespace {

// vCPU 0 keeps reading one page of a 2 MiB mapping; a host thread splits the host page and
// faults a neighbouring 4K page under the huge SPTE: the zap form zaps it and flushes the
// running vCPU, the split form replaces it by a table of the same translations.
void split_under_running_vcpu(FlushKind flush, Platform** out_platform, FaultOutcome* outcome,
                              HugeSplitOnFault form = HugeSplitOnFault::Zap) {
  Platform* plat = nullptr;
  SimConfig c = base(MmuLockMode::Shared);
  c.page_size = 2 << 20;
  c.flush = flush;
  c.huge_split_on_fault = form;
  const Addr gva = GuestLayout::kDataGva;
  const Addr gpa = GuestLayout::kDataGpa;
  PlatformHooks h;
  h.stream = [&](unsigned) { return std::make_unique<Repeat>(gva, 4000, 100); };
  h.host_threads.push_back({"splitter", [&](Agent& a) {
    a.wait_cycles(150000);  // the vCPU has long since mapped and cached the huge page
    ASSERT_TRUE(plat->host.split_backing(gpa >> kPageShift));
    *outcome = plat->mmu().handle_fault(a, -1,
                                        TranslationFault::gpa(gpa + kPageSize, Access::Write));
    mark_touched(*plat, gpa + kPageSize);
  }});
  static std::unique_ptr<Platform> keep;
  keep.reset();  // the previous run's platform (and its simulation context) goes first
  keep = std::make_unique<Platform>(c, h);
  plat = keep.get();
  // The huge host page exists before the run: the vCPU maps it at once (its first touch would
  // take longer than the splitter's wait, zeroing 2 MiB through DRAM).
  plat->host.resolve_functional(gpa >> kPageShift);
  plat->run();
  *out_platform = plat;
}

}  // namespace

TEST(TdpRace, HugePageZappedForTableFlushesTheRunningVcpu) {
  Platform* p = nullptr;
  FaultOutcome o{};
  split_under_running_vcpu(FlushKind::IpiAll, &p, &o);
  EXPECT_EQ(o, FaultOutcome::Fixed);
  EXPECT_EQ(p->stats.value("hv.huge.zapped_for_table"), 1u);
  // The vCPU was in guest mode: exactly one IPI, taken, acknowledged, and its TLB flushed.
  EXPECT_EQ(p->stats.value("hv.ipi.count"), 1u);
  EXPECT_EQ(p->stats.value("vcpu.0.ipis_taken"), 1u);
  EXPECT_GE(p->stats.value("vcpu.0.tlb_flushes"), 1u);
  // After the flush the vCPU had to walk again and fault its page back in at 4K.
  EXPECT_EQ(p->stats.value("vcpu.0.stage2_faults"), 2u);
  EXPECT_EQ(p->stats.value("check.violations"), 0u);
  bool small0 = false, small1 = false, huge = false;
  for (const Stage2Leaf& l : p->final_leaves) {
    if (l.gpa == GuestLayout::kDataGpa && l.level == 1) small0 = true;
    if (l.gpa == GuestLayout::kDataGpa + kPageSize && l.level == 1) small1 = true;
    if (l.level == 2) huge = true;
  }
  EXPECT_TRUE(small0);
  EXPECT_TRUE(small1);
  EXPECT_FALSE(huge);
}

TEST(TdpRace, HugePageSplitInPlaceNeedsNoFlush) {
  Platform* p = nullptr;
  FaultOutcome o{};
  split_under_running_vcpu(FlushKind::IpiAll, &p, &o, HugeSplitOnFault::Split);
  EXPECT_EQ(o, FaultOutcome::Fixed);
  EXPECT_EQ(p->stats.value("hv.huge.split_in_place"), 1u);
  EXPECT_EQ(p->stats.value("hv.huge.zapped_for_table"), 0u);
  // The table was built from the huge SPTE: no flush, no IPI, and the vCPU never faulted
  // again -- its cached 2 MiB translation stayed right.
  EXPECT_EQ(p->stats.value("hv.flush.count"), 0u);
  EXPECT_EQ(p->stats.value("hv.ipi.count"), 0u);
  EXPECT_EQ(p->stats.value("vcpu.0.ipis_taken"), 0u);
  EXPECT_EQ(p->stats.value("vcpu.0.stage2_faults"), 1u);
  EXPECT_EQ(p->stats.value("check.violations"), 0u);
  // One table of 512 4K leaves, each mapping its part of the huge frame; no huge leaf left.
  size_t small = 0;
  bool huge = false;
  Addr base_hpa = 0;
  for (const Stage2Leaf& l : p->final_leaves) {
    if (l.level == 2) huge = true;
    if (l.level != 1 || l.gpa < GuestLayout::kDataGpa ||
        l.gpa >= GuestLayout::kDataGpa + (2 << 20))
      continue;
    ++small;
    if (l.gpa == GuestLayout::kDataGpa) base_hpa = l.hpa;
  }
  EXPECT_EQ(small, 512u);
  EXPECT_FALSE(huge);
  for (const Stage2Leaf& l : p->final_leaves)
    if (l.level == 1 && l.gpa > GuestLayout::kDataGpa && l.gpa < GuestLayout::kDataGpa + (2 << 20))
      EXPECT_EQ(l.hpa - base_hpa, l.gpa - GuestLayout::kDataGpa);
}

TEST(TdpRace, SkippedFlushIsCaughtAsStaleTranslation) {
  Platform* p = nullptr;
  FaultOutcome o{};
  split_under_running_vcpu(FlushKind::UnsafeSkip, &p, &o);
  EXPECT_EQ(p->stats.value("hv.huge.zapped_for_table"), 1u);
  EXPECT_EQ(p->stats.value("hv.ipi.count"), 0u);
  // The vCPU kept hitting its TLB entry for the zapped huge page.
  EXPECT_GE(p->stats.value("check.stale_tlb_hit"), 1u);
  EXPECT_GE(p->stats.value("check.violations"), 1u);
}

TEST(TdpRace, TableReplacedByHugePageIsFreedOnlyAfterGracePeriod) {
  Platform* plat = nullptr;
  SimConfig c = base(MmuLockMode::Shared);
  c.page_size = 2 << 20;
  const Addr gpa = GuestLayout::kDataGpa;
  uint64_t freed_while_reading = 99, freed_after = 99;
  FaultOutcome collapse{};
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  h.host_threads.push_back({"mapper", [&](Agent& a) {
    Platform& p = *plat;
    p.host.set_backing_level(gpa >> kPageShift, 512, 1);  // small host pages at first
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(p.mmu().handle_fault(a, -1, TranslationFault::gpa(gpa + Addr(i) * kPageSize,
                                                                  Access::Write)),
                FaultOutcome::Fixed);
      mark_touched(p, gpa + Addr(i) * kPageSize);
    }
    a.wait_cycles(10000);
    p.host.collapse_backing(gpa >> kPageShift, 2);  // khugepaged made it one huge page
    collapse = p.mmu().handle_fault(a, -1, TranslationFault::gpa(gpa, Access::Write));
    mark_touched(p, gpa);
  }});
  h.host_threads.push_back({"reader", [&](Agent& a) {
    Platform& p = *plat;
    a.wait_cycles(9000);  // enter a read-side section before the table is removed
    p.rcu.read_lock(a);
    a.wait_cycles(200000);
    freed_while_reading = p.stats.value("hv.tables.freed_rcu");
    p.rcu.read_unlock(a);
    a.wait_cycles(10000);
    freed_after = p.stats.value("hv.tables.freed_rcu");
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  EXPECT_EQ(collapse, FaultOutcome::Fixed);
  EXPECT_EQ(p.stats.value("hv.huge.replaced_table"), 1u);
  // Shared mode tears the removed table down entry by entry with xchg.
  EXPECT_EQ(p.stats.value("hv.spte.teardown_xchg"), 512u);
  EXPECT_EQ(freed_while_reading, 0u);
  EXPECT_EQ(freed_after, 1u);
  bool huge = false;
  for (const Stage2Leaf& l : p.final_leaves)
    if (l.gpa == gpa) huge = l.level == 2 && l.hpa == p.host.lookup(gpa >> kPageShift).hpa;
  EXPECT_TRUE(huge);
  EXPECT_EQ(p.stats.value("check.violations"), 0u);
}
