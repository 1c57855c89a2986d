// The locked-boot workload (the locked-memslots series): eager vs deferred cache maintenance for
// locked memslots (counts and cycles), skipped maintenance caught by the stale-data oracle, and
// lockdep's MAX_LOCK_DEPTH reached by kvm_lock_all_vcpus with 47 vCPUs but not 46.
#include <gtest/gtest.h>

#include "tests/arm64_config.hpp"
#include "tests/platform_run.hpp"

using mmusim::Arch;
using mmusim::CmoPolicy;
using mmusim::WorkloadKind;
using mmusim::SimConfig;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig boot(CmoPolicy policy, unsigned vcpus = 4) {
  return mmusim::testing::arm64_locked_boot(policy, vcpus);
}

}  // namespace

TEST(Arm64LockedBoot, DeferredDoesTheMaintenanceOnceAndIsCheaperThanEager) {
  PlatformRun eager = run_platform(boot(CmoPolicy::Eager));
  PlatformRun deferred = run_platform(boot(CmoPolicy::Deferred));
  ASSERT_EQ(eager.exit_code, 0) << eager.stats_json;
  ASSERT_EQ(deferred.exit_code, 0) << deferred.stats_json;
  const double ram_lines = 4.0 * (256 << 10) / 64;
  // Deferred: every locked line once, at the first KVM_RUN. Eager: at lock time as well.
  EXPECT_EQ(stat(deferred.stats_json, "hv.cmo.lines"), ram_lines);
  EXPECT_EQ(stat(eager.stats_json, "hv.cmo.lines"), 2 * ram_lines);
  EXPECT_EQ(stat(deferred.stats_json, "hv.pending_ops.performed"), 1);
  EXPECT_EQ(stat(eager.stats_json, "hv.pending_ops.performed"), 1);
  EXPECT_LT(stat(deferred.stats_json, "hv.cmo.cycles"), stat(eager.stats_json, "hv.cmo.cycles"));
  EXPECT_LT(stat(deferred.stats_json, "sim.cycles"), stat(eager.stats_json, "sim.cycles"));
  // Both leave the guest a correct view of the image, written after the lock.
  EXPECT_EQ(stat(deferred.stats_json, "boot.image_lines"), (128 << 10) / 64);
  EXPECT_EQ(stat(eager.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(deferred.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(deferred.stats_json, "hv.fault.count"), 0);  // all mapped at lock time
}

TEST(Arm64LockedBoot, SkippingMaintenanceMakesMmuOffGuestsReadStaleData) {
  PlatformRun none = run_platform(boot(CmoPolicy::None));
  ASSERT_EQ(none.exit_code, 0) << none.stats_json;
  EXPECT_EQ(stat(none.stats_json, "hv.cmo.lines"), 0);
  // The image lines stayed dirty in the VMM's cache: every vCPU read every one stale.
  EXPECT_EQ(stat(none.stats_json, "check.stale_data"), 4.0 * (128 << 10) / 64);
}

TEST(Arm64LockedBoot, LockdepDepthLimitAt47VcpusNotAt46) {
  SimConfig c = boot(CmoPolicy::Deferred, 47);
  c.mem_per_vcpu = 4 << 10;
  c.image_size = 4 << 10;
  PlatformRun r47 = run_platform(c);
  c.vcpus = 46;
  PlatformRun r46 = run_platform(c);
  ASSERT_EQ(r47.exit_code, 0) << r47.stats_json;
  ASSERT_EQ(r46.exit_code, 0) << r46.stats_json;
  // kvm->lock + 47 vcpu->mutex = 48 held locks = MAX_LOCK_DEPTH.
  EXPECT_EQ(stat(r47.stats_json, "hv.lockdep.max_depth"), 48);
  EXPECT_GE(stat(r47.stats_json, "hv.lockdep.depth_exceeded"), 1);
  EXPECT_EQ(stat(r46.stats_json, "hv.lockdep.max_depth"), 47);
  EXPECT_EQ(stat(r46.stats_json, "hv.lockdep.depth_exceeded"), 0);
  EXPECT_EQ(stat(r47.stats_json, "check.violations"), 0);
}

TEST(Arm64LockedBoot, RelockAfterCancelledMigrationIsCarriedOutAtTheNextKvmRunOnce) {
  // Twice: the vCPUs exit to the VMM, which unlocks (migration starts), re-locks (cancelled:
  // pending op set again) and rewrites the image; the vCPUs issue KVM_RUN again and re-read it.
  const double ram_lines = 4.0 * (256 << 10) / 64, image_lines = (128 << 10) / 64;
  PlatformRun run[3];
  CmoPolicy policies[3] = {CmoPolicy::Eager, CmoPolicy::Deferred, CmoPolicy::None};
  for (int i = 0; i < 3; ++i) {
    SimConfig c = boot(policies[i]);
    c.relock_cycles = 2;
    run[i] = run_platform(c);
    ASSERT_EQ(run[i].exit_code, 0) << policies[i] << run[i].stats_json;
    EXPECT_EQ(stat(run[i].stats_json, "boot.relocks"), 2) << policies[i];
    EXPECT_EQ(stat(run[i].stats_json, "hv.memslot.lock"), 3) << policies[i];
    EXPECT_EQ(stat(run[i].stats_json, "hv.memslot.unlock"), 2) << policies[i];
  }
  const std::string& eager = run[0].stats_json;
  const std::string& deferred = run[1].stats_json;
  const std::string& none = run[2].stats_json;
  // The op is set at each lock and performed once per KVM_RUN round, by the first vCPU back.
  for (const std::string* s : {&eager, &deferred}) {
    EXPECT_EQ(stat(*s, "hv.pending_ops.set"), 3);
    EXPECT_EQ(stat(*s, "hv.pending_ops.performed"), 3);
    EXPECT_EQ(stat(*s, "check.violations"), 0);  // no stale read (nor anything else)
  }
  // Re-locking maps nothing new (the mappings stayed), so eager's lock-time maintenance happens
  // only at the first lock.
  EXPECT_EQ(stat(deferred, "hv.cmo.lines"), 3 * ram_lines);
  EXPECT_EQ(stat(eager, "hv.cmo.lines"), 4 * ram_lines);
  // Without maintenance every read of every pass by every vCPU is stale.
  EXPECT_EQ(stat(none, "hv.pending_ops.performed"), 0);
  EXPECT_EQ(stat(none, "check.stale_data"), 3 * 4 * image_lines);
}
