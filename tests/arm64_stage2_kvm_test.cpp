// arm64 stage 2 as KVM runs it: the order of a shared-mode fault (lock the entry, then CMOs,
// then install; a loser backs off before any CMO), the TLBI after a permission relaxation
// (broadcast before 6.5, local from it), the clean+invalidate of unmapped pages without FWB,
// the DSB that waits for every core that ran a vCPU, and where a fault's CMO is done (before
// the walk before 5.14, by the walker from it).
#include <gtest/gtest.h>

#include <memory>

#include "app/params_models.hpp"
#include "tests/op_list.hpp"
#include "tests/arm64_config.hpp"
#include "tests/platform_run.hpp"

using mmusim::testing::arm64_demand;
using mmusim::testing::arm64_new_mappings;
using mmusim::testing::arm64_racing;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;
using namespace mmusim;

TEST(Arm64SharedFault, OnlyTheThreadThatLocksTheEntryCleansToThePoc) {
  PlatformRun r = run_platform(arm64_racing(MmuLockMode::Shared));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  // Racers lost the lock of the leaf entry and retried without a CMO ...
  EXPECT_GT(stat(r.stats_json, "hv.s2.cmo_skipped_by_loser"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.fault.retry"), 0);
  // ... so every CMO belongs to a mapping that was installed: one per new leaf.
  EXPECT_EQ(stat(r.stats_json, "hv.cmo.ops"), arm64_new_mappings(r));
  EXPECT_EQ(stat(r.stats_json, "hv.cmo.lines"), 64 * stat(r.stats_json, "hv.cmo.ops"));
  // The winners' mappings: each of the 128 shared pages installed once, by one fault.
  EXPECT_EQ(arm64_new_mappings(r), 128);
}

TEST(Arm64SharedFault, ExclusiveFaultsNeverLoseALock) {
  PlatformRun r = run_platform(arm64_racing(MmuLockMode::Exclusive));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.s2.cmo_skipped_by_loser"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.spte.cmpxchg_fail"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.cmo.ops"), arm64_new_mappings(r));
}

TEST(Arm64FaultCmo, BeforeTheWalkEveryRacerPaysInTheWalkerOnlyTheInstaller) {
  // Exclusive mmu_lock (as before 6.2): a vCPU that waited for the lock finds the page mapped.
  SimConfig c = arm64_racing(MmuLockMode::Exclusive);
  c.kvm_version = KvmRelease{5, 13};
  PlatformRun before = run_platform(c);
  c.kvm_version = KvmRelease{5, 14};
  PlatformRun after = run_platform(c);
  ASSERT_EQ(before.exit_code, 0) << before.stats_json;
  ASSERT_EQ(after.exit_code, 0) << after.stats_json;
  EXPECT_EQ(stat(before.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(after.stats_json, "check.violations"), 0);
  EXPECT_GT(stat(before.stats_json, "hv.fault.spurious"), 0);
  EXPECT_EQ(stat(before.stats_json, "hv.cmo.ops"),
            arm64_new_mappings(before) + stat(before.stats_json, "hv.fault.spurious"));
  EXPECT_EQ(stat(after.stats_json, "hv.cmo.ops"), arm64_new_mappings(after));
  // The option wins over the release.
  c.s2_fault_cmo = S2FaultCmo::BeforeMap;
  PlatformRun forced = run_platform(c);
  EXPECT_EQ(stat(forced.stats_json, "hv.cmo.ops"),
            arm64_new_mappings(forced) + stat(forced.stats_json, "hv.fault.spurious"));
}

namespace {

// One vCPU reads a page (mapped readable, not executable) then fetches from it: a stage-2
// permission fault relaxed in place.
std::unique_ptr<Platform> run_relax(SimConfig c) {
  PlatformHooks h;
  h.stream = [](unsigned) {
    std::vector<Op> ops(2);
    ops[0].gva = GuestLayout::kDataGva;
    ops[1].gva = GuestLayout::kDataGva + 8;
    ops[1].access = Access::Fetch;
    return std::make_unique<mmusim::testing::OpList>(ops);
  };
  auto p = std::make_unique<Platform>(c, h);
  p->run();
  return p;
}

}  // namespace

TEST(Arm64RelaxTlbi, BroadcastBefore65LocalFromIt) {
  SimConfig c = arm64_demand(1, 64 << 10, MmuLockMode::Shared);
  c.flush = FlushKind::Broadcast;
  c.kvm_version = KvmRelease{6, 4};
  auto b = run_relax(c);
  EXPECT_EQ(b->stats.value("hv.fault.perm_relax"), 1u);
  EXPECT_EQ(b->stats.value("hv.s2.relax_tlbi"), 1u);
  EXPECT_EQ(b->stats.value("hv.tlbi.by_ipa"), 1u);  // TLBI IPAS2E1IS of the page
  EXPECT_EQ(b->stats.value("check.violations"), 0u);
  c.kvm_version = KvmRelease{6, 5};
  auto l = run_relax(c);
  EXPECT_EQ(l->stats.value("hv.fault.perm_relax"), 1u);
  EXPECT_EQ(l->stats.value("hv.s2.relax_tlbi"), 1u);
  EXPECT_EQ(l->stats.value("hv.tlbi.by_ipa"), 0u);  // nothing broadcast
  EXPECT_EQ(l->stats.value("hv.tlbi.ops"), b->stats.value("hv.tlbi.ops") - 2);
  EXPECT_EQ(l->stats.value("check.violations"), 0u);
  c.s2_relax_tlbi = S2RelaxTlbi::Broadcast;  // the option wins over the release
  EXPECT_EQ(run_relax(c)->stats.value("hv.tlbi.by_ipa"), 1u);
}

TEST(Arm64UnmapCmo, UnmappedPagesAreCleanedToThePocUnlessFwb) {
  SimConfig c = arm64_demand(4, 1 << 20, MmuLockMode::Shared);
  c.workload = WorkloadKind::SwapStorm;
  PlatformRun off = run_platform(c);
  ASSERT_EQ(off.exit_code, 0) << off.stats_json;
  EXPECT_EQ(stat(off.stats_json, "check.violations"), 0);
  const double unmapped = stat(off.stats_json, "hv.notifier.unmapped_leaves");
  EXPECT_GT(unmapped, 0);
  // Every unmapped leaf, and every page change_pte found gone, was cleaned to the PoC.
  const double unmap_cmo = stat(off.stats_json, "hv.s2.unmap_cmo");
  EXPECT_GE(unmap_cmo, unmapped);
  EXPECT_LE(unmap_cmo, unmapped + stat(off.stats_json, "hv.notifier.set_spte"));
  EXPECT_GE(stat(off.stats_json, "hv.cmo.ops"), arm64_new_mappings(off) + unmap_cmo);
  c.arm64_fwb = true;
  PlatformRun on = run_platform(c);
  ASSERT_EQ(on.exit_code, 0) << on.stats_json;
  EXPECT_EQ(stat(on.stats_json, "check.violations"), 0);
  EXPECT_GT(stat(on.stats_json, "hv.notifier.unmapped_leaves"), 0);
  EXPECT_EQ(stat(on.stats_json, "hv.s2.unmap_cmo"), 0);
  EXPECT_EQ(stat(on.stats_json, "hv.cmo.ops"), 0);  // no CMO on map either
}

namespace {

// `vcpus` vCPUs fault in their pages; then a host thread flushes one page by IPA.
struct DsbProbe {
  Cycles flush_cycles = 0;
  uint64_t acks = 0;
};

DsbProbe run_dsb_probe(unsigned vcpus) {
  SimConfig c = arm64_demand(vcpus, 256 << 10, MmuLockMode::Shared);
  c.flush = FlushKind::Broadcast;
  c.passes = 3000;  // the vCPUs stay in the guest, running from their TLBs
  DsbProbe probe;
  PlatformHooks h;
  Platform* self = nullptr;
  h.host_threads.push_back({"flusher", [&probe, &self](Agent& a) {
                              a.wait_cycles(4000000);  // past every vCPU's first pass
                              const uint64_t acks0 = self->stats.value("hv.tlbi.dsb_acks");
                              const Cycles t0 = a.now();
                              self->flush.flush_range(a, -1, GuestLayout::kDataGpa, kPageSize);
                              probe.flush_cycles = a.now() - t0;
                              probe.acks = self->stats.value("hv.tlbi.dsb_acks") - acks0;
                            }});
  Platform p(c, h);
  self = &p;
  p.run();
  return probe;
}

}  // namespace

TEST(Arm64TlbiDsb, TheDsbWaitsForEveryCoreThatRanAVcpu) {
  const DsbProbe one = run_dsb_probe(1), four = run_dsb_probe(4), eight = run_dsb_probe(8);
  EXPECT_EQ(one.acks, 1u);
  EXPECT_EQ(four.acks, 4u);
  EXPECT_EQ(eight.acks, 8u);
  EXPECT_LT(one.flush_cycles, four.flush_cycles);
  EXPECT_LT(four.flush_cycles, eight.flush_cycles);
}

TEST(Arm64KvmRelease, Stage2FormsFollowTheTimeline) {
  SimConfig c;
  c.arch = Arch::Arm64;
  struct Case {
    KvmRelease r;
    S2FaultCmo cmo;
    MmuLockMode lock;
    S2RelaxTlbi relax;
  };
  for (const Case& k : {Case{{5, 10}, S2FaultCmo::BeforeMap, MmuLockMode::Exclusive,
                             S2RelaxTlbi::Broadcast},
                        Case{{5, 14}, S2FaultCmo::InWalker, MmuLockMode::Exclusive,
                             S2RelaxTlbi::Broadcast},
                        Case{{6, 2}, S2FaultCmo::InWalker, MmuLockMode::Shared,
                             S2RelaxTlbi::Broadcast},
                        Case{{6, 4}, S2FaultCmo::InWalker, MmuLockMode::Shared,
                             S2RelaxTlbi::Broadcast},
                        Case{{6, 5}, S2FaultCmo::InWalker, MmuLockMode::Shared,
                             S2RelaxTlbi::Local}}) {
    c.kvm_version = k.r;
    const Stage2MmuParams p = stage2_mmu_params(c);
    EXPECT_EQ(p.fault_cmo, k.cmo) << kvm_release_text(k.r);
    EXPECT_EQ(p.mmu_lock, k.lock) << kvm_release_text(k.r);
    EXPECT_EQ(p.relax_tlbi, k.relax) << kvm_release_text(k.r);
    EXPECT_FALSE(p.fwb);
  }
}
