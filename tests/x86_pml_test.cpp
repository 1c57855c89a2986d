// Intel Page-Modification Logging for x86 TDP dirty logging (--pml on): D bits cleared instead
// of write protection, the walker's 512-entry log and its log-full exits, the drain at every
// exit and on KVM_GET_DIRTY_LOG, and huge pages still write-protected unless split eagerly.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "sim/hv/dirty_logging.hpp"
#include "tests/platform_run.hpp"
#include "tests/workload_config.hpp"
#include "workloads/guest_layout.hpp"

using mmusim::Access;
using mmusim::Addr;
using mmusim::Agent;
using mmusim::Arch;
using mmusim::Cycles;
using mmusim::DirtyLogging;
using mmusim::GuestLayout;
using mmusim::Op;
using mmusim::OpStream;
using mmusim::Platform;
using mmusim::PlatformHooks;
using mmusim::PmlDrain;
using mmusim::PmlMode;
using mmusim::SimConfig;
using mmusim::WorkloadKind;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::run_with_hooks;
using mmusim::testing::stat;

namespace {

SimConfig pml_cfg(unsigned vcpus, uint64_t mem, unsigned iterations) {
  SimConfig c = mmusim::testing::dirty_log_config(Arch::X86, vcpus, mem, iterations);
  c.pml = PmlMode::On;
  // Enabling clears every D bit, so each round (the first too) logs every page written.
  c.dirty_log_initially_set = mmusim::DirtyLogInitiallySet::Off;
  return c;
}

// Writes the pages of [base, base + pages * 4K) in turn, `rounds` times, with some guest work
// between two writes: a vCPU that stays in guest mode for a long time.
class WriteLoop : public OpStream {
 public:
  WriteLoop(Addr base, uint64_t pages, uint64_t rounds) : base_(base), left_(pages * rounds),
                                                          pages_(pages) {}
  bool next(Op& op) override {
    if (left_ == 0) return false;
    if ((work_ = !work_)) {
      op.kind = Op::Kind::Compute;
      op.cycles = 200;
      return true;
    }
    op.kind = Op::Kind::Access;
    op.access = Access::Write;
    op.gva = base_ + (--left_ % pages_) * mmusim::kPageSize;
    return true;
  }

 private:
  Addr base_;
  uint64_t left_, pages_;
  bool work_ = false;
};

// Guest work in stretches of the given lengths, noting the vCPU's cycle (`now`) at every
// operation boundary: an operation that took longer than its work was interrupted.
class TimedWork : public OpStream {
 public:
  TimedWork(std::vector<Cycles> work, std::function<Cycles()> now, std::vector<Cycles>& at)
      : work_(std::move(work)), now_(std::move(now)), at_(at) {}
  bool next(Op& op) override {
    at_.push_back(now_());
    if (next_ == work_.size()) return false;
    op = Op();
    op.kind = Op::Kind::Compute;
    op.cycles = work_[next_++];
    return true;
  }

 private:
  std::vector<Cycles> work_;
  std::function<Cycles()> now_;
  std::vector<Cycles>& at_;
  size_t next_ = 0;
};

}  // namespace

TEST(Pml, GetLogKicksVcpusInGuestMode) {
  // kvm_flush_pml_buffers: the VMM's KVM_GET_DIRTY_LOG sends an IPI to every vCPU running
  // guest code, which exits and drains its log (the dirty-log workload parks its vCPUs first).
  SimConfig c = pml_cfg(2, 1 << 20, 1);
  c.workload = mmusim::WorkloadKind::DemandPaging;
  PlatformHooks h;
  h.stream = [](unsigned v) {
    return std::make_unique<WriteLoop>(GuestLayout::kDataGva + v * (1 << 20), 256, 100);
  };
  Platform* plat = nullptr;
  h.host_threads.push_back({"get-log", [&](Agent& t) {
    DirtyLogging& log = *mmusim::capability<DirtyLogging>(plat->mmu());
    t.wait_cycles(5000000);  // both vCPUs populated (about 3.7 M cycles) and only writing
    log.enable_dirty_log(t, GuestLayout::kDataGpa, 2 << 20);
    t.wait_cycles(500000);
    log.get_dirty_log(t);
  }});
  const std::string json = run_with_hooks(c, h, &plat);
  EXPECT_EQ(stat(json, "hv.pml.kicks"), 2) << json;
  EXPECT_GE(stat(json, "guest.ipis_taken"), 2) << json;
  EXPECT_EQ(stat(json, "check.violations"), 0);
}

TEST(Pml, KickLandsAnIpiDeliveryAfterTheSendersTrueTime) {
  // kvm_vcpu_kick's IPI lands --lat-ipi cycles after the VMM's thread sends it, counted from
  // that thread's own time. Here the thread runs ahead of the kernel's clock when it kicks:
  // nothing else can run before the vCPU's long stretch of work ends, so its syncs are skipped.
  // It kicks half a delivery before that end, so the kick lands among the 1-cycle operations
  // after the stretch, and the operation it lengthens tells the cycle it landed at.
  SimConfig c = pml_cfg(1, 1 << 20, 1);
  c.workload = WorkloadKind::DemandPaging;
  const Cycles stretch = 1000000;
  std::vector<Cycles> work(1 + c.lat.ipi, 1);
  work[0] = stretch;
  std::vector<Cycles> at;  // the vCPU's cycle at each operation boundary
  Platform* plat = nullptr;
  PlatformHooks h;
  h.stream = [&](unsigned) {
    return std::make_unique<TimedWork>(
        work, [&plat] { return plat->vcpus[0]->agent().now(); }, at);
  };
  Cycles sent = 0;
  h.host_threads.push_back({"get-log", [&](Agent& t) {
    DirtyLogging& log = *mmusim::capability<DirtyLogging>(plat->mmu());
    log.enable_dirty_log(t, GuestLayout::kDataGpa, 2 << 20);
    t.wait_cycles(stretch / 10);  // the vCPU entered the guest and is in its stretch
    ASSERT_EQ(at.size(), 1u);
    t.advance(at[0] + stretch - c.lat.ipi / 2 - t.now());  // private work, no sync
    sent = t.now();
    log.get_dirty_log(t);
  }});
  const std::string json = run_with_hooks(c, h, &plat);
  ASSERT_EQ(stat(json, "hv.pml.kicks"), 1) << json;
  ASSERT_EQ(at.size(), work.size() + 1);
  std::vector<size_t> longer;  // the operations the kick interrupted
  for (size_t i = 0; i < work.size(); ++i)
    if (at[i + 1] - at[i] != work[i]) longer.push_back(i);
  ASSERT_EQ(longer.size(), 1u);
  // It was taken between the start and the end of that operation's work: a 1-cycle one.
  const size_t k = longer[0];
  EXPECT_EQ(work[k], 1u) << "taken in the stretch, before the kick was sent";
  EXPECT_LE(at[k], sent + c.lat.ipi);
  EXPECT_GE(at[k] + work[k], sent + c.lat.ipi);
  EXPECT_EQ(stat(json, "check.violations"), 0);
}

TEST(Pml, DirtyBitsClearedInsteadOfWriteProtectionAndNoFaultsWhileDirtying) {
  PlatformRun r = run_platform(pml_cfg(4, 2 << 20, 3));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  const double pages = 4 * 512;
  // The oracle: every round's log equals the pages written.
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  // Enabling and each of the 3 clears took the D bit of every 4K SPTE, none lost W ...
  EXPECT_EQ(stat(r.stats_json, "hv.pml.dirty_cleared"), 4 * pages);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.wrprot_sptes"), 0);
  // ... so dirtying memory took no write-protection fault: only populating faulted.
  EXPECT_EQ(stat(r.stats_json, "hv.fault.fast_path"), 0);
  EXPECT_EQ(stat(r.stats_json, "guest.stage2_faults"), pages);
  // The walker logged every written page and KVM drained each into the bitmap.
  EXPECT_EQ(stat(r.stats_json, "walk.pml.logged"), 3 * pages);
  EXPECT_EQ(stat(r.stats_json, "hv.pml.flushed"), 3 * pages);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), 3 * pages);
}

TEST(Pml, LogFullExitComesWithThe513thEntry) {
  // 512 pages a round fill the log exactly: the drain at the round's sync exit empties it.
  PlatformRun full = run_platform(pml_cfg(1, 2 << 20, 2));
  ASSERT_EQ(full.exit_code, 0) << full.stats_json;
  EXPECT_EQ(stat(full.stats_json, "hv.pml.full_exits"), 0);
  EXPECT_EQ(stat(full.stats_json, "check.violations"), 0);
  // One page more: its write finds the index out of range, exits, and is logged after.
  PlatformRun over = run_platform(pml_cfg(1, (2 << 20) + 4096, 2));
  ASSERT_EQ(over.exit_code, 0) << over.stats_json;
  EXPECT_EQ(stat(over.stats_json, "hv.pml.full_exits"), 2);
  EXPECT_EQ(stat(over.stats_json, "walk.pml.full"), 2);
  EXPECT_EQ(stat(over.stats_json, "walk.pml.logged"), 2 * 513);
  EXPECT_EQ(stat(over.stats_json, "check.violations"), 0);
}

TEST(Pml, HugePagesAreStillWriteProtected) {
  SimConfig c = pml_cfg(2, 4 << 20, 2);
  c.page_size = 2 << 20;
  c.eager_split = mmusim::EagerSplit::Off;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  // Enabling write-protected the four 2M leaves; the writes then faulted and mapped at 4K.
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.wrprot_sptes"), 4);
  EXPECT_GT(stat(r.stats_json, "guest.stage2_faults"), 4);
  // Split eagerly, they are 4K SPTEs whose D bits enabling cleared: nothing write-protected.
  c.eager_split = mmusim::EagerSplit::On;
  PlatformRun eager = run_platform(c);
  ASSERT_EQ(eager.exit_code, 0) << eager.stats_json;
  EXPECT_EQ(stat(eager.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(eager.stats_json, "hv.huge.eager_split"), 4);
  EXPECT_EQ(stat(eager.stats_json, "hv.dirty_log.wrprot_sptes"), 0);
  // Enable's 2048 D bits, then each of the two rounds' clear of the 2048 pages written.
  EXPECT_EQ(stat(eager.stats_json, "hv.pml.dirty_cleared"), 3 * 4 * 512);
}

TEST(Pml, DrainingOnlyOnLogFullExitsLosesPages) {
  // Hypothetical: no drain at ordinary exits nor on get-log. A round's last entries stay in
  // the logs when the VMM reads the bitmap, and the oracle sees them missing.
  SimConfig c = pml_cfg(2, 1 << 20, 2);
  c.pml_drain = PmlDrain::FullOnly;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_GT(stat(r.stats_json, "check.dirty_log_mismatch"), 0);
}

TEST(Pml, SameSeedSameStats) {
  PlatformRun a = run_platform(pml_cfg(4, 1 << 20, 2));
  PlatformRun b = run_platform(pml_cfg(4, 1 << 20, 2));
  ASSERT_EQ(a.exit_code, 0) << a.stats_json;
  EXPECT_EQ(a.stats_json, b.stats_json);
}

TEST(Pml, RefusedWithoutTheTdpMmu) {
  SimConfig c = pml_cfg(2, 1 << 20, 1);
  c.arch = Arch::Arm64;
  PlatformRun r = run_platform(c);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.stats_json.find("--pml on"), std::string::npos) << r.stats_json;
}
