// arm64 stage 2 by release, continued (docs/KVM_RELEASES.md): the locked-invalid marker in
// exclusive mode from 6.2, the TLBI after a permission relaxation that lost its race from 6.7,
// the unmap's range TLBI with FWB from 6.6, and FWB removing the locked memslots' CMOs.
#include <gtest/gtest.h>

#include <memory>

#include "app/params_models.hpp"
#include "models/arm64/stage2_mmu.hpp"
#include "models/arm64/tlbi_broadcast.hpp"
#include "tests/arm64_config.hpp"
#include "tests/platform_run.hpp"

using namespace mmusim;
using namespace mmusim::testing;  // the arm64 configs and the platform runs of tests/*.hpp

TEST(Arm64ExclusiveBreak, From62TheExclusiveMapLocksEveryEntryItChanges) {
  SimConfig c = arm64_racing(MmuLockMode::Exclusive);
  c.kvm_version = KvmRelease{6, 1};
  PlatformRun direct = run_platform(c);
  c.kvm_version = KvmRelease{6, 2};
  PlatformRun locked = run_platform(c);
  for (const PlatformRun* r : {&direct, &locked}) {
    ASSERT_EQ(r->exit_code, 0) << r->stats_json;
    EXPECT_EQ(stat(r->stats_json, "check.violations"), 0);
    EXPECT_EQ(stat(r->stats_json, "hv.cmo.ops"), arm64_new_mappings(*r));
  }
  // Before 6.2 an empty entry is stored into directly (a valid one would be cleared to 0).
  EXPECT_EQ(stat(direct.stats_json, "hv.s2.entry_locked"), 0);
  // From 6.2 every new leaf and every linked table was the locked marker first: a store of the
  // marker, then the CMO, then the new entry.
  // (hv.tables.allocated also counts the tables the harness maps before the run.)
  const double linked = stat(locked.stats_json, "hv.tables.allocated") -
                        stat(locked.stats_json, "hv.tables.freed_unlinked");
  const double bbm = stat(locked.stats_json, "hv.s2.break_before_make");
  EXPECT_GE(stat(locked.stats_json, "hv.s2.entry_locked"), arm64_new_mappings(locked) + bbm + 1);
  EXPECT_LE(stat(locked.stats_json, "hv.s2.entry_locked"), arm64_new_mappings(locked) + linked + bbm);
  // The option wins over the release.
  c.s2_exclusive_break = S2ExclusiveBreak::Direct;
  EXPECT_EQ(stat(run_platform(c).stats_json, "hv.s2.entry_locked"), 0);
}

namespace {

struct RelaxRace {
  uint64_t relaxed = 0, lost = 0, relax_tlbi = 0, violations = 0;
};

// The vCPU maps its first data page (not executable); later two host threads relax it to
// executable at the same instant, as two vCPUs' permission faults on it would: both read the
// leaf, and the second cmpxchg fails (-EAGAIN).
RelaxRace run_relax_race(SimConfig c) {
  RelaxRace out;
  PlatformHooks h;
  Platform* self = nullptr;
  const Addr gpa = GuestLayout::kDataGpa;
  auto map = [&self, gpa](Agent& a, Perms prot) {
    auto& mmu = dynamic_cast<Stage2Mmu&>(self->mmu());
    const HostPage hp = mmu.host().resolve(a, gpa >> kPageShift, false);
    mmu.lock(a);
    mmu.rcu().read_lock(a);
    mmu.map(a, -1, gpa, 1, hp.hpa, prot, false, false);
    mmu.rcu().read_unlock(a);
    mmu.unlock(a);
  };
  for (const char* name : {"relaxer.0", "relaxer.1"})
    h.host_threads.push_back({name, [&map](Agent& a) {
                                a.wait_cycles(260000);
                                map(a, Perms{true, false, true});
                              }});
  Platform p(c, h);
  self = &p;
  p.run();
  out.relaxed = p.stats.value("hv.fault.perm_relax");
  out.lost = p.stats.value("hv.s2.relax_lost");
  out.relax_tlbi = p.stats.value("hv.s2.relax_tlbi");
  out.violations = p.stats.value("check.violations");
  return out;
}

}  // namespace

TEST(Arm64RelaxRaceTlbi, From67ALostRelaxationInvalidatesToo) {
  SimConfig c = arm64_demand(1, 64 << 10, MmuLockMode::Shared);
  c.flush = FlushKind::Broadcast;
  c.kvm_version = KvmRelease{6, 6};
  const RelaxRace skip = run_relax_race(c);
  c.kvm_version = KvmRelease{6, 7};
  const RelaxRace always = run_relax_race(c);
  for (const RelaxRace* r : {&skip, &always}) {
    EXPECT_EQ(r->relaxed, 1u);
    EXPECT_EQ(r->lost, 1u);  // the race happened
    EXPECT_EQ(r->violations, 0u);
  }
  EXPECT_EQ(skip.relax_tlbi, 1u);    // only the winner invalidated
  EXPECT_EQ(always.relax_tlbi, 2u);  // the loser too
  c.s2_relax_race_tlbi = S2RelaxRaceTlbi::Skip;  // the option wins over the release
  EXPECT_EQ(run_relax_race(c).relax_tlbi, 1u);
}

TEST(Arm64UnmapTlbi, RangeInstructionsPerScaleDigit) {
  EXPECT_EQ(range_tlbi_ops(1), 1u);    // one single-page TLBI
  EXPECT_EQ(range_tlbi_ops(2), 1u);    // scale 0, num 0
  EXPECT_EQ(range_tlbi_ops(3), 2u);
  EXPECT_EQ(range_tlbi_ops(64), 1u);   // scale 1
  EXPECT_EQ(range_tlbi_ops(66), 2u);
  EXPECT_EQ(range_tlbi_ops(512), 1u);  // a 2 MiB range
  EXPECT_EQ(range_tlbi_ops(513), 2u);
}

namespace {

struct UnmapProbe {
  uint64_t tlbi_ops = 0, dsb_waits = 0, unmapped = 0, violations = 0;
  Cycles cycles = 0;
};

// 4 vCPUs fault in their pages and keep running; then a host thread unmaps 64 pages of the
// first vCPU's data as an MMU-notifier invalidation does (mmu_lock for write).
UnmapProbe run_unmap_probe(SimConfig c) {
  c.flush = FlushKind::Broadcast;
  c.passes = 3000;
  UnmapProbe probe;
  PlatformHooks h;
  Platform* self = nullptr;
  h.host_threads.push_back({"unmapper", [&probe, &self](Agent& a) {
                              a.wait_cycles(4000000);  // past every vCPU's first pass
                              auto& mmu = dynamic_cast<Stage2Mmu&>(self->mmu());
                              const uint64_t ops0 = self->stats.value("hv.tlbi.ops");
                              const uint64_t leaves0 =
                                  self->stats.value("hv.notifier.unmapped_leaves");
                              const Cycles t0 = a.now();
                              GfnRange r;
                              r.start = GuestLayout::kDataGpa >> kPageShift;
                              r.end = r.start + 64;
                              mmu.notifier_lock(a);
                              mmu.unmap_gfn_range(a, r);
                              mmu.notifier_unlock(a);
                              probe.cycles = a.now() - t0;
                              probe.tlbi_ops = self->stats.value("hv.tlbi.ops") - ops0;
                              probe.unmapped =
                                  self->stats.value("hv.notifier.unmapped_leaves") - leaves0;
                            }});
  Platform p(c, h);
  self = &p;
  p.run();
  probe.violations = p.stats.value("check.violations");
  return probe;
}

}  // namespace

TEST(Arm64UnmapTlbi, WithFwbFrom66OneRangeSequenceReplacesATlbiPerLeaf) {
  SimConfig c = arm64_demand(4, 256 << 10, MmuLockMode::Shared);
  c.arm64_fwb = true;
  c.kvm_version = KvmRelease{6, 5};
  const UnmapProbe leaf = run_unmap_probe(c);
  c.kvm_version = KvmRelease{6, 6};
  const UnmapProbe range = run_unmap_probe(c);
  EXPECT_EQ(leaf.unmapped, 64u);
  EXPECT_EQ(range.unmapped, 64u);
  EXPECT_EQ(leaf.violations, 0u);
  EXPECT_EQ(range.violations, 0u);
  // Per leaf: IPAS2E1IS + VMALLE1IS for each page, a DSB each. Range: RIPAS2E1IS (64 pages =
  // scale 1, num 0) + VMALLE1IS, one DSB.
  EXPECT_EQ(leaf.tlbi_ops, 2u * 64);
  EXPECT_EQ(range.tlbi_ops, 2u);
  EXPECT_LT(range.cycles, leaf.cycles);
  // Without FWB every release invalidates per leaf (the walk cleans each page to the PoC).
  c.arm64_fwb = false;
  EXPECT_EQ(run_unmap_probe(c).tlbi_ops, 2u * 64);
  c.s2_unmap_tlbi = S2UnmapTlbi::Range;  // the option wins
  EXPECT_EQ(run_unmap_probe(c).tlbi_ops, 2u);
}

TEST(Arm64KvmRelease, UnmapTlbiAutoNeedsFwb) {
  SimConfig c;
  c.arch = Arch::Arm64;
  c.kvm_version = KvmRelease{6, 12};
  EXPECT_EQ(stage2_mmu_params(c).unmap_tlbi, S2UnmapTlbi::PerLeaf);
  c.arm64_fwb = true;
  EXPECT_EQ(stage2_mmu_params(c).unmap_tlbi, S2UnmapTlbi::Range);
  c.kvm_version = KvmRelease{6, 5};
  EXPECT_EQ(stage2_mmu_params(c).unmap_tlbi, S2UnmapTlbi::PerLeaf);
  EXPECT_EQ(stage2_mmu_params(c).exclusive_break, S2ExclusiveBreak::Locked);
  EXPECT_EQ(stage2_mmu_params(c).relax_race_tlbi, S2RelaxRaceTlbi::Skip);
  c.kvm_version = KvmRelease{6, 1};
  EXPECT_EQ(stage2_mmu_params(c).exclusive_break, S2ExclusiveBreak::Direct);
}

TEST(Arm64LockedBootFwb, FwbRemovesTheLockedMemslotCmosUnderEveryPolicy) {
  for (CmoPolicy policy : {CmoPolicy::Eager, CmoPolicy::Deferred, CmoPolicy::None}) {
    SimConfig c = arm64_locked_boot(policy, 2);
    PlatformRun off = run_platform(c);
    c.arm64_fwb = true;
    PlatformRun on = run_platform(c);
    ASSERT_EQ(on.exit_code, 0) << on.stats_json;
    EXPECT_EQ(stat(on.stats_json, "hv.cmo.ops"), 0) << mode_name(policy);
    // The guest's MMU-off reads are cacheable under FWB: the image is seen without maintenance.
    EXPECT_EQ(stat(on.stats_json, "check.violations"), 0) << mode_name(policy);
    // The policy's bookkeeping stays: the pending op is set and performed (a walk-less flush).
    EXPECT_EQ(stat(on.stats_json, "hv.pending_ops.performed"),
              stat(off.stats_json, "hv.pending_ops.performed"))
        << mode_name(policy);
    if (policy != CmoPolicy::None) {
      EXPECT_GT(stat(off.stats_json, "hv.cmo.ops"), 0) << mode_name(policy);
      EXPECT_EQ(stat(off.stats_json, "check.violations"), 0) << mode_name(policy);
    } else {
      EXPECT_GT(stat(off.stats_json, "check.violations"), 0);  // what FWB makes unnecessary
    }
  }
}
