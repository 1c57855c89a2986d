// The locked-boot workload (seed 004): eager vs deferred cache maintenance for locked memslots
// (counts and cycles), skipped maintenance caught by the stale-data oracle, and lockdep's
// MAX_LOCK_DEPTH reached by kvm_lock_all_vcpus with 47 vCPUs but not 46.
#include <gtest/gtest.h>

#include "tests/platform_child.hpp"

using mmusim::SimConfig;
using mmusim::testing::ChildRun;
using mmusim::testing::run_platform_in_child;
using mmusim::testing::stat;

namespace {

SimConfig boot(const char* policy, unsigned vcpus = 4) {
  SimConfig c;
  c.arch = "arm64";
  c.workload = "locked-boot";
  c.quiet = true;
  c.vcpus = vcpus;
  c.mem_per_vcpu = 256 << 10;
  c.image_size = 128 << 10;
  c.cmo_policy = policy;
  return c;
}

}  // namespace

TEST(Arm64LockedBoot, DeferredDoesTheMaintenanceOnceAndIsCheaperThanEager) {
  ChildRun eager = run_platform_in_child(boot("eager"));
  ChildRun deferred = run_platform_in_child(boot("deferred"));
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
  ChildRun none = run_platform_in_child(boot("none"));
  ASSERT_EQ(none.exit_code, 0) << none.stats_json;
  EXPECT_EQ(stat(none.stats_json, "hv.cmo.lines"), 0);
  // The image lines stayed dirty in the VMM's cache: every vCPU read every one stale.
  EXPECT_EQ(stat(none.stats_json, "check.stale_data"), 4.0 * (128 << 10) / 64);
}

TEST(Arm64LockedBoot, LockdepDepthLimitAt47VcpusNotAt46) {
  SimConfig c = boot("deferred", 47);
  c.mem_per_vcpu = 4 << 10;
  c.image_size = 4 << 10;
  ChildRun r47 = run_platform_in_child(c);
  c.vcpus = 46;
  ChildRun r46 = run_platform_in_child(c);
  ASSERT_EQ(r47.exit_code, 0) << r47.stats_json;
  ASSERT_EQ(r46.exit_code, 0) << r46.stats_json;
  // kvm->lock + 47 vcpu->mutex = 48 held locks = MAX_LOCK_DEPTH.
  EXPECT_EQ(stat(r47.stats_json, "hv.lockdep.max_depth"), 48);
  EXPECT_GE(stat(r47.stats_json, "hv.lockdep.depth_exceeded"), 1);
  EXPECT_EQ(stat(r46.stats_json, "hv.lockdep.max_depth"), 47);
  EXPECT_EQ(stat(r46.stats_json, "hv.lockdep.depth_exceeded"), 0);
  EXPECT_EQ(stat(r47.stats_json, "check.violations"), 0);
}
