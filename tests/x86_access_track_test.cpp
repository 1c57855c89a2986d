// Access tracking on the x86 TDP MMU (docs/ARCHITECTURE.md, Access tracking): without EPT A/D
// flags (--ept-ad off) aging makes SPTEs access-tracked, which the EPT walker sees as no entry
// and the lockless fast page fault restores; with them, how aging writes a young SPTE follows
// the release (--age-clear: store before 5.18, xchg until 6.3, atomic AND from 6.4).
#include <gtest/gtest.h>

#include <vector>

#include "app/platform.hpp"
#include "sim/core/config.hpp"
#include "models/x86/ept_format.hpp"
#include "tests/platform_run.hpp"
#include "tests/repeat_stream.hpp"

using namespace mmusim;
using mmusim::testing::Nothing;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig tracking(EptAd ad) {
  SimConfig c;
  c.quiet = true;
  c.workload = WorkloadKind::AccessTracking;
  c.vcpus = 4;
  c.mem_per_vcpu = 1 << 20;  // 256 pages each
  c.ept_ad = ad;
  return c;
}

}  // namespace

TEST(AccessTrack, AnAccessTrackedSpteIsNoEntryToTheWalkerButStillKvms) {
  const EptFormat hw(4, EptAd::Off), kvm(4, EptAd::Off, EptFormat::View::Kvm);
  const uint64_t e = hw.make_leaf(0x1234000, 1, Perms{true, true, true}, false, false) |
                     (uint64_t(1) << 58);  // MMU-writable
  const uint64_t tracked = EptFormat::mark_acc_track(e);
  EXPECT_TRUE(EptFormat::acc_tracked(tracked));
  EXPECT_FALSE(hw.present(tracked));  // the walker: not present, no permission
  EXPECT_EQ(hw.perm_bits(tracked), 0u);
  EXPECT_TRUE(kvm.present(tracked));  // KVM: still shadow-present (zapped, aged, restored)
  EXPECT_EQ(hw.address(tracked, 1), 0x1234000u);
  // Restored: R and X come back, W only by the fast page fault's write.
  EXPECT_EQ(EptFormat::restore_acc_track(tracked), e & ~EptFormat::kWrite);
  // Without A/D flags the walker writes nothing into a leaf it uses.
  EXPECT_EQ(hw.mark_used(e, true), e);
}

TEST(AccessTrack, WithoutAdFlagsAnAgedPageFaultsOnceAndTheFastPathRestoresIt) {
  PlatformRun on = run_platform(tracking(EptAd::On));
  PlatformRun off = run_platform(tracking(EptAd::Off));
  ASSERT_EQ(on.exit_code, 0) << on.stats_json;
  ASSERT_EQ(off.exit_code, 0) << off.stats_json;
  for (const std::string* j : {&on.stats_json, &off.stats_json}) {
    EXPECT_EQ(stat(*j, "check.violations"), 0);
    EXPECT_EQ(stat(*j, "workload.access.young"), 512);  // every other page read
    EXPECT_EQ(stat(*j, "workload.access.idle"), 512);
  }
  // With A/D: the walker sets A again on each page read, no fault.
  EXPECT_EQ(stat(on.stats_json, "hv.age.acc_tracked"), 0);
  EXPECT_EQ(stat(on.stats_json, "walk.ad_updates"), 512);
  EXPECT_EQ(stat(on.stats_json, "hv.fault.count"), 1024);
  // Without: every page was made access-tracked; each one read took an EPT violation (the
  // walker did not translate through it) fixed without mmu_lock by one cmpxchg.
  EXPECT_EQ(stat(off.stats_json, "hv.age.acc_tracked"), 1024);
  EXPECT_EQ(stat(off.stats_json, "walk.ad_updates"), 0);
  EXPECT_EQ(stat(off.stats_json, "hv.fault.count"), 1024 + 512);
  EXPECT_EQ(stat(off.stats_json, "hv.age.acc_track_faults"), 512);
  EXPECT_EQ(stat(off.stats_json, "hv.age.restored"), 512);
  EXPECT_EQ(stat(off.stats_json, "hv.fault.fast_path"), 512);
  EXPECT_EQ(stat(off.stats_json, "hv.lock.mmu_lock.read_acquire"),
            stat(on.stats_json, "hv.lock.mmu_lock.read_acquire"));
}

TEST(AccessTrack, BeforeTheTdpFastPathTheSlowPathReplacesAnAccessTrackedSpte) {
  SimConfig c = tracking(EptAd::Off);
  c.kvm_version = KvmRelease{5, 14};
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(r.stats_json, "workload.access.young"), 512);
  EXPECT_EQ(stat(r.stats_json, "hv.age.restored"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.fault.fast_path"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.fault.count"), 1024 + 512);
}

TEST(AccessTrack, EptAdOffRefusesPml) {
  std::vector<const char*> argv{"mmusim", "--ept-ad", "off", "--pml", "on"};
  SimConfig c;
  try {
    parse_config(static_cast<int>(argv.size()), argv.data(), c);
    ADD_FAILURE() << "--ept-ad off --pml on accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--ept-ad"), std::string::npos) << e.what();
  }
}

namespace {

struct AgeCounts {
  uint64_t store = 0, xchg = 0, atomic_and = 0;
  uint64_t spte_after = 0;
};

// A host thread maps two pages by write faults, clears the D bit of the first (a writable
// SPTE the walker may still dirty: volatile bits), and ages both with clear_young.
AgeCounts age_two_pages(KvmRelease release) {
  Platform* plat = nullptr;
  const Addr gpa = GuestLayout::kDataGpa;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  AgeCounts n;
  Addr sptep = 0;
  h.host_threads.push_back({"ager", [&](Agent& a) {
    Platform& p = *plat;
    for (Addr g : {gpa, gpa + kPageSize}) {
      ASSERT_EQ(p.mmu().handle_fault(a, -1, TranslationFault::gpa(g, Access::Write)),
                FaultOutcome::Fixed);
      p.touched.set(g >> kPageShift);
    }
    const PageTableFormat& fmt = p.arch->stage2_format();
    PtIter it(fmt, p.mmu().stage2_root(), gpa);
    while (it.level() > 1) {
      it.set_entry(p.phys.read64(it.entry_addr()));
      it.descend();
    }
    sptep = it.entry_addr();
    p.phys.write64(sptep, p.phys.read64(sptep) & ~EptFormat::kDirty);
    const uint64_t gfn = gpa >> kPageShift;
    EXPECT_TRUE(p.host.notifier()->clear_young(a, HostMm::hva_of(gfn), HostMm::hva_of(gfn + 2)));
    n.spte_after = p.phys.read64(sptep);
  }});
  SimConfig c;
  c.quiet = true;
  c.vcpus = 1;
  c.mem_per_vcpu = 1 << 20;
  c.workload = WorkloadKind::IdleTracking;  // registers the aging statistics
  c.host_events = 0;
  c.kvm_version = release;
  Platform p(c, h);
  plat = &p;
  p.run();
  n.store = p.stats.value("hv.age.store");
  n.xchg = p.stats.value("hv.age.xchg");
  n.atomic_and = p.stats.value("hv.age.atomic_and");
  return n;
}

}  // namespace

TEST(AccessTrack, AgingAtomicsFollowTheRelease) {
  const AgeCounts v517 = age_two_pages(KvmRelease{5, 17});
  const AgeCounts v603 = age_two_pages(KvmRelease{6, 3});
  const AgeCounts v612 = age_two_pages(KvmRelease{6, 12});
  // Before 5.18 both are stored; then the volatile one is exchanged; from 6.4 its A bit is
  // cleared by an atomic AND. The written-and-dirty one is stored in every release.
  EXPECT_EQ(v517.store, 2u);
  EXPECT_EQ(v517.xchg + v517.atomic_and, 0u);
  EXPECT_EQ(v603.store, 1u);
  EXPECT_EQ(v603.xchg, 1u);
  EXPECT_EQ(v603.atomic_and, 0u);
  EXPECT_EQ(v612.store, 1u);
  EXPECT_EQ(v612.xchg, 0u);
  EXPECT_EQ(v612.atomic_and, 1u);
  for (const AgeCounts* n : {&v517, &v603, &v612})
    EXPECT_EQ(n->spte_after & EptFormat::kAccessed, 0u);
}
