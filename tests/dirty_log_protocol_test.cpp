// KVM's dirty-log protocol as dirty_log_perf_test runs it (sim/hv/dirty_logging.hpp), on x86 TDP
// and arm64 stage 2: without manual protect the get clears and write-protects, with
// initially-set enabling protects no 4K mapping and the first get holds every page, and the
// workload's write fraction leaves the pages only read out of the log.
#include <gtest/gtest.h>

#include <optional>

#include "sim/hv/dirty_logging.hpp"
#include "tests/platform_run.hpp"
#include "tests/workload_config.hpp"
#include "workloads/guest_layout.hpp"

using mmusim::Access;
using mmusim::Addr;
using mmusim::Agent;
using mmusim::Arch;
using mmusim::DirtyLogCaps;
using mmusim::DirtyLogging;
using mmusim::DirtyLogInitiallySet;
using mmusim::DirtyLogManualProtect;
using mmusim::GuestLayout;
using mmusim::InitSetEnable;
using mmusim::kPageSize;
using mmusim::Op;
using mmusim::OpStream;
using mmusim::Platform;
using mmusim::PlatformHooks;
using mmusim::SimConfig;
using mmusim::WorkloadKind;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig cfg(Arch arch, unsigned vcpus, uint64_t mem) {
  return mmusim::testing::dirty_log_config(arch, vcpus, mem, 3);
}

// The pages written for dirty logging and the mappings it write-protected, per arch.
const char* wrprot_stat(Arch a) {
  return a == Arch::X86 ? "hv.dirty_log.wrprot_sptes" : "hv.dirty_log.wrprot_leaves";
}

// One vCPU's program, phase by phase with 2 M cycles of guest work after each (the host thread
// acts in those gaps): populate pages 0 and 1 (at about 0); write page 0 (about 2 M); write
// page 1 (4 M); write page 0 (6 M).
class Phases : public OpStream {
 public:
  bool next(Op& op) override {
    static const int kPlan[] = {0, 1, -1, 0, -1, 1, -1, 0, -1};
    if (i_ == sizeof kPlan / sizeof kPlan[0]) return false;
    const int page = kPlan[i_++];
    if (page < 0) {
      op.kind = Op::Kind::Compute;
      op.cycles = 2000000;
      return true;
    }
    op.kind = Op::Kind::Access;
    op.access = Access::Write;
    op.gva = GuestLayout::kDataGva + Addr(page) * kPageSize;
    return true;
  }

 private:
  size_t i_ = 0;
};

// Runs Phases on one vCPU while a host thread enables logging with `caps` at 1 M cycles and
// takes a log (and clears it with manual protect) at 3, 5 and 7 M; returns the logs' first
// words, and the stats JSON and the mappings enabling write-protected.
std::vector<uint64_t> run_phases(Arch arch, const DirtyLogCaps& caps, std::string& json,
                                 uint64_t& wrprot_at_enable) {
  SimConfig c = cfg(arch, 1, 1 << 20);
  c.workload = WorkloadKind::DemandPaging;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Phases>(); };
  Platform* plat = nullptr;
  std::vector<uint64_t> logs;
  h.host_threads.push_back({"vmm", [&](Agent& t) {
    DirtyLogging& log = *mmusim::capability<DirtyLogging>(plat->mmu());
    const mmusim::Counter* wrprot = plat->stats.find_counter(wrprot_stat(arch));
    log.set_dirty_log_caps(caps);
    t.wait_cycles(1000000);  // populated, in the first gap
    log.enable_dirty_log(t, GuestLayout::kDataGpa, 1 << 20);
    wrprot_at_enable = wrprot ? wrprot->value() : ~uint64_t(0);
    for (uint64_t at : {3000000, 5000000, 7000000}) {
      t.wait_cycles(at - t.now());
      const std::vector<uint64_t> got = log.get_dirty_log(t);
      logs.push_back(got.at(0));
      if (caps.manual_protect) log.clear_dirty_log(t, got);
    }
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  std::ostringstream out;
  p.stats.write_json(out);
  json = out.str();
  return logs;
}

// Populates 4 MiB with `page_size` pages (one write per 4K page), then enables logging with
// `caps`; returns how many mappings enabling write-protected.
uint64_t protected_at_enable(Arch arch, uint64_t page_size, const DirtyLogCaps& caps,
                             std::optional<InitSetEnable> init_set = std::nullopt) {
  SimConfig c = cfg(arch, 1, 4 << 20);
  c.workload = WorkloadKind::DemandPaging;
  c.page_size = page_size;
  c.init_set_enable = init_set;
  Platform* plat = nullptr;
  uint64_t at_enable = ~uint64_t(0);
  PlatformHooks h;
  h.host_threads.push_back({"vmm", [&](Agent& t) {
    DirtyLogging& log = *mmusim::capability<DirtyLogging>(plat->mmu());
    log.set_dirty_log_caps(caps);
    t.wait_cycles(20000000);  // the vCPU has populated its 4 MiB
    log.enable_dirty_log(t, GuestLayout::kDataGpa, 4 << 20);
    const mmusim::Counter* wrprot = plat->stats.find_counter(wrprot_stat(arch));
    at_enable = wrprot ? wrprot->value() : ~uint64_t(0);
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  return at_enable;
}

class DirtyLogProtocol : public ::testing::TestWithParam<Arch> {};

}  // namespace

TEST_P(DirtyLogProtocol, WithoutManualProtectTheGetClearsAndWriteProtects) {
  std::string json;
  uint64_t at_enable = 0;
  const std::vector<uint64_t> logs = run_phases(GetParam(), {false, false}, json, at_enable);
  ASSERT_EQ(logs.size(), 3u) << json;
  EXPECT_EQ(at_enable, 2u);  // both populated pages
  // Each log holds only the page written since the previous get (page 0, then 1, then 0):
  // the get cleared what it returned, and the third write of page 0 faulted and was logged
  // again, so the first get had write-protected it.
  EXPECT_EQ(logs[0], 1u);
  EXPECT_EQ(logs[1], 2u);
  EXPECT_EQ(logs[2], 1u);
  EXPECT_EQ(stat(json, wrprot_stat(GetParam())), 2 + 3) << json;
  EXPECT_EQ(stat(json, "hv.dirty_log.marked"), 3) << json;
  EXPECT_EQ(stat(json, "hv.fault.count"), 2 + 3) << json;
}

TEST_P(DirtyLogProtocol, WithManualProtectTheClearProtects) {
  // The same program with get + clear gives the same logs and faults.
  std::string json;
  uint64_t at_enable = 0;
  const std::vector<uint64_t> logs = run_phases(GetParam(), {true, false}, json, at_enable);
  ASSERT_EQ(logs.size(), 3u) << json;
  EXPECT_EQ(at_enable, 2u);
  EXPECT_EQ(logs[0], 1u);
  EXPECT_EQ(logs[1], 2u);
  EXPECT_EQ(logs[2], 1u);
  EXPECT_EQ(stat(json, "hv.fault.count"), 2 + 3) << json;
}

TEST_P(DirtyLogProtocol, InitiallySetEnableProtectsNo4kMappingAndTheFirstGetHoldsEveryPage) {
  std::string json;
  uint64_t at_enable = ~uint64_t(0);
  const std::vector<uint64_t> logs = run_phases(GetParam(), {true, true}, json, at_enable);
  ASSERT_EQ(logs.size(), 3u) << json;
  // Enabling protected nothing, so the first write of page 0 took no fault and marked
  // nothing; the first log still holds every page (of its first word: pages 0..63) ...
  EXPECT_EQ(at_enable, 0u);
  EXPECT_EQ(logs[0], ~uint64_t(0));
  // ... and its clear protected both mapped pages, so the later writes faulted and were logged.
  EXPECT_EQ(logs[1], 2u);
  EXPECT_EQ(logs[2], 1u);
  EXPECT_EQ(stat(json, "hv.dirty_log.marked"), 2) << json;
  EXPECT_EQ(stat(json, "hv.fault.count"), 2 + 2) << json;
  EXPECT_EQ(stat(json, wrprot_stat(GetParam())), 2 + 1 + 1) << json;
}

TEST_P(DirtyLogProtocol, InitiallySetEnableProtectsNothingFrom514) {
  // 4 MiB populated with 2M pages: two huge leaves. With initially-set, x86 before 5.14
  // write-protected them at enable (kvm_mmu_slot_remove_write_access from level 2M, so the
  // first write to each splits it); from 5.14 (the default release) enabling protects nothing,
  // and arm64 leaves them for the first clear. With 4K pages neither protects anything at
  // enable. Without initially-set, x86 (eager page splitting, on by default from 5.18) first
  // splits the two leaves and then protects their 1024 4K SPTEs.
  const bool x86 = GetParam() == Arch::X86;
  EXPECT_EQ(protected_at_enable(GetParam(), 2 << 20, {true, true}), 0u);
  if (x86)
    EXPECT_EQ(protected_at_enable(GetParam(), 2 << 20, {true, true}, InitSetEnable::ProtectHuge),
              2u);
  EXPECT_EQ(protected_at_enable(GetParam(), 2 << 20, {true, false}), x86 ? 1024u : 2u);
  EXPECT_EQ(protected_at_enable(GetParam(), 4096, {true, true}), 0u);
  EXPECT_EQ(protected_at_enable(GetParam(), 4096, {true, false}), 1024u);
}

TEST_P(DirtyLogProtocol, WorkloadWithoutManualProtectFaultsEveryRoundAndHasNoClear) {
  SimConfig c = cfg(GetParam(), 2, 1 << 20);
  c.dirty_log_manual_protect = DirtyLogManualProtect::Off;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  const double pages = 2 * 256;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "workload.dirty_log.get_log_cycles", "count"), 3);
  EXPECT_EQ(stat(r.stats_json, "workload.dirty_log.clear_log_cycles", "count"), 0);
  // Enabling and the first two gets protected every page (the last get's pages too).
  EXPECT_EQ(stat(r.stats_json, wrprot_stat(GetParam())), 4 * pages);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), 3 * pages);
}

TEST_P(DirtyLogProtocol, WorkloadInitiallySetFirstRoundTakesNoFault) {
  SimConfig c = cfg(GetParam(), 2, 1 << 20);  // both on: the defaults
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  const double pages = 2 * 256;
  // The check expects every page of the slot in the first log.
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, wrprot_stat(GetParam())), 3 * pages);  // the 3 clears only
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), 2 * pages);  // rounds 2 and 3
  EXPECT_EQ(stat(r.stats_json, "hv.fault.count"), pages + 2 * pages);
}

TEST_P(DirtyLogProtocol, WriteFractionTwoLogsHalfThePages) {
  for (DirtyLogInitiallySet set : {DirtyLogInitiallySet::Off, DirtyLogInitiallySet::On}) {
    SimConfig c = cfg(GetParam(), 2, 1 << 20);
    c.dirty_log_initially_set = set;
    c.dirty_log_write_fraction = 2;
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    const double written = 2 * 256 / 2;
    // The pages only read are not in the log (the workload's check); with initially-set the
    // first log still holds every page, although half were only read.
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
    const double rounds = set == DirtyLogInitiallySet::On ? 2 : 3;
    EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), rounds * written);
  }
}

INSTANTIATE_TEST_SUITE_P(Arches, DirtyLogProtocol, ::testing::Values(Arch::X86, Arch::Arm64),
                         [](const ::testing::TestParamInfo<Arch>& i) {
                           return std::string(mmusim::mode_name(i.param));
                         });
