// The dirty ring (KVM_CAP_DIRTY_LOG_RING; docs/ARCHITECTURE.md, Dirty ring) under the dirty-log
// workload: each round's harvest equals the pages written on x86 TDP (with and without PML)
// and arm64; a small ring sends vCPUs back to the VMM (KVM_EXIT_DIRTY_RING_FULL) and the run
// still logs every page; the reset coalesces consecutive pages into 64-page masks; and a reset
// that does not write-protect the harvested pages again loses the next rounds' writes.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/platform_run.hpp"
#include "tests/workload_config.hpp"

using mmusim::Arch;
using mmusim::DirtyRingReset;
using mmusim::DirtyTracking;
using mmusim::PmlMode;
using mmusim::SimConfig;
using mmusim::WorkloadKind;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

constexpr unsigned kVcpus = 2;
constexpr unsigned kRounds = 3;

SimConfig ring_cfg(Arch arch, uint64_t pages_per_vcpu, unsigned entries) {
  SimConfig c = mmusim::testing::dirty_log_config(arch, kVcpus, pages_per_vcpu * 4096, kRounds);
  c.dirty_tracking = DirtyTracking::Ring;
  c.dirty_ring_entries = entries;
  return c;
}

// The checks every ring run must pass: the workload's oracle (each round's harvest equals the
// pages written), and every entry pushed was harvested, then freed and re-protected by a reset.
void expect_every_write_logged(const PlatformRun& r, uint64_t pages_written) {
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  const std::string& s = r.stats_json;
  EXPECT_EQ(stat(s, "check.violations"), 0) << s;
  EXPECT_EQ(stat(s, "check.dirty_log_mismatch"), -1) << s;
  const double pushes = stat(s, "hv.dirty_ring.pushes");
  EXPECT_GE(pushes, double(pages_written * kRounds)) << s;
  EXPECT_EQ(stat(s, "workload.dirty_log.ring.harvested"), pushes);
  EXPECT_EQ(stat(s, "hv.dirty_ring.entries_reset"), pushes);
  EXPECT_EQ(stat(s, "hv.dirty_ring.reprotected_pages"), pushes);
  // The bitmap is not used: no bit set, no get-log.
  EXPECT_EQ(stat(s, "hv.dirty_log.marked"), 0) << s;
  EXPECT_EQ(stat(s, "workload.dirty_log.get_log_cycles", "count"), 0);
}

TEST(DirtyRing, HarvestEqualsPagesWrittenOnX86Tdp) {
  const PlatformRun r = run_platform(ring_cfg(Arch::X86, 128, 4096));
  expect_every_write_logged(r, kVcpus * 128);
  // A ring that never reaches its soft limit: one push per page written per round, each round
  // harvested and reset once, and the write faults of the next round pushed them again.
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.pushes"), kRounds * kVcpus * 128);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.full_exits"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.resets"), kRounds);
  // Each vCPU's slice was written in page order: the reset coalesced its 128 entries into two
  // masks of 64 pages, one mmu_lock hold each.
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.reset_batches"), kRounds * kVcpus * 2);
  // Enabling write-protected the slot; the resets protected the pages written again.
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.wrprot_sptes"), (kRounds + 1) * kVcpus * 128);
}

TEST(DirtyRing, PmlBufferFlushesPushToTheRing) {
  SimConfig c = ring_cfg(Arch::X86, 1024, 1024);
  c.pml = PmlMode::On;
  const PlatformRun r = run_platform(c);
  expect_every_write_logged(r, kVcpus * 1024);
  // With PML the write is done before it is logged, so no page is pushed twice; the D bits the
  // resets cleared made the walker log each page again in the next round.
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.pushes"), kRounds * kVcpus * 1024);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.wrprot_sptes"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.pml.flushed"), 0);
  // 1024 entries, 576 reserved (64 + the PML buffer's 512): a vCPU's 1024 pages overrun the
  // soft limit of 448 every round.
  EXPECT_GT(stat(r.stats_json, "hv.dirty_ring.full_exits"), 0);
}

TEST(DirtyRing, HarvestEqualsPagesWrittenOnArm64) {
  const PlatformRun r = run_platform(ring_cfg(Arch::Arm64, 128, 4096));
  expect_every_write_logged(r, kVcpus * 128);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.pushes"), kRounds * kVcpus * 128);
}

TEST(DirtyRing, SmallRingSendsVcpusToTheVmmAndTheRunStillLogsEveryPage) {
  // 256 entries, 64 reserved: a vCPU comes back after 192 pushes; it has 1024 pages to write.
  for (Arch arch : {Arch::X86, Arch::Arm64}) {
    const PlatformRun r = run_platform(ring_cfg(arch, 1024, 256));
    expect_every_write_logged(r, kVcpus * 1024);
    const double exits = stat(r.stats_json, "hv.dirty_ring.full_exits");
    EXPECT_GE(exits, kRounds * kVcpus * (1024 / 192)) << arch;
    EXPECT_GT(stat(r.stats_json, "workload.dirty_log.ring.full_wakeups"), 0) << arch;
    // A write whose fault pushed the last entry is retried after the reset protected its page
    // again: it faults and pushes once more, as the guest instruction did not complete.
    EXPECT_GT(stat(r.stats_json, "hv.dirty_ring.pushes"), kRounds * kVcpus * 1024.0) << arch;
  }
}

TEST(DirtyRing, ResetWithoutReprotectionLosesTheNextRoundsWrites) {
  for (Arch arch : {Arch::X86, Arch::Arm64}) {
    SimConfig c = ring_cfg(arch, 128, 4096);
    c.dirty_ring_reset = DirtyRingReset::SkipProtect;
    const PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    // Round 1 is logged (enabling protected the slot); the pages stay writable after its
    // reset, so rounds 2 and 3 write them without a fault and the oracle reports both.
    EXPECT_EQ(stat(r.stats_json, "check.dirty_log_mismatch"), kRounds - 1) << arch;
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.pushes"), kVcpus * 128) << arch;
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_ring.reprotected_pages"), 0) << arch;
  }
}

}  // namespace
