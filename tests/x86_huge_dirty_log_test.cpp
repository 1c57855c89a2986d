// Huge pages around x86 TDP dirty logging: the host page size backing guest RAM limits KVM's
// mapping level (--backing); enabling logging splits huge SPTEs eagerly (--eager-split), with
// its table allocations as --eager-split-alloc says and a failed allocation leaving the rest
// huge; disabling logging zaps the collapsible tables so the next faults map huge again.
// Runs of the page-table-test workload: CREATE maps 2M blocks, logging is enabled, UPDATE
// writes each block's first 4K page and reads its second half, logging is disabled, ADJUST
// reads every page.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/platform_run.hpp"

using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;
using namespace mmusim;

namespace {

constexpr uint64_t kMem = 8 << 20, kBlock = 2 << 20;
constexpr double kBlocks = kMem / kBlock, kPerBlock = kBlock / 4096;

SimConfig blocks(EagerSplit eager) {
  SimConfig c;
  c.arch = Arch::X86;
  c.quiet = true;
  c.workload = WorkloadKind::PageTableTest;
  c.vcpus = 1;
  c.mem_per_vcpu = kMem;
  c.page_size = kBlock;
  c.eager_split = eager;
  return c;
}

// The dirty-log workload over the 2M blocks, two rounds, writing one page in 1024.
SimConfig sparse_dirty_log() {
  SimConfig c;
  c.arch = Arch::X86;
  c.quiet = true;
  c.workload = WorkloadKind::DirtyLog;
  c.vcpus = 1;
  c.mem_per_vcpu = kMem;
  c.page_size = kBlock;
  c.iterations = 2;
  c.dirty_log_write_fraction = 1024;
  return c;
}

SimConfig demand(uint64_t page_size, HostBacking backing) {
  SimConfig c;
  c.arch = Arch::X86;
  c.quiet = true;
  c.workload = WorkloadKind::DemandPaging;
  c.vcpus = 2;
  c.mem_per_vcpu = 4 << 20;
  c.page_size = page_size;
  c.backing = backing;
  return c;
}

double pt(const PlatformRun& r, const std::string& name) {
  return stat(r.stats_json, "workload.page_table_test." + name);
}

// Stage-2 leaves of the final tables by level (1: 4K, 2: 2M).
unsigned leaves_at(const PlatformRun& r, unsigned level) {
  std::istringstream in(r.leaves);
  std::string gpa, perms;
  unsigned l = 0, n = 0;
  std::string hpa;
  while (in >> gpa >> l >> hpa >> perms) n += l == level;
  return n;
}

}  // namespace

TEST(HostBacking, SmallHostPagesLimitKvmTo4kUnderA2mMemslot) {
  // --page-size 2M lets the memslot hold 2M SPTEs, but the host maps guest RAM with 4K pages:
  // host_pfn_mapping_level finds a PTE, so every fault maps 4K.
  PlatformRun small = run_platform(demand(kBlock, HostBacking::Small));
  ASSERT_EQ(small.exit_code, 0) << small.stats_json;
  EXPECT_EQ(leaves_at(small, 2), 0u);
  EXPECT_GE(leaves_at(small, 1), 2u * (4 << 20) / 4096);
  EXPECT_EQ(stat(small.stats_json, "check.violations"), 0);
  // The default (auto: THP for --page-size 2M) maps the data 2M.
  PlatformRun thp = run_platform(demand(kBlock, HostBacking::Auto));
  ASSERT_EQ(thp.exit_code, 0) << thp.stats_json;
  EXPECT_EQ(leaves_at(thp, 2), 4u);
}

TEST(HostBacking, Hugetlb2mIsMapped2mAndLimitedBy4kMemslot) {
  PlatformRun huge = run_platform(demand(kBlock, HostBacking::Hugetlb2M));
  ASSERT_EQ(huge.exit_code, 0) << huge.stats_json;
  EXPECT_EQ(leaves_at(huge, 2), 4u);
  // hugetlb_fault took the huge page's fault mutex (THP faults take none).
  EXPECT_GT(stat(huge.stats_json, "host.mm.hugetlb_fault_mutex.write_acquire"), 0);
  PlatformRun thp = run_platform(demand(kBlock, HostBacking::Thp));
  ASSERT_EQ(thp.exit_code, 0) << thp.stats_json;
  EXPECT_LE(stat(thp.stats_json, "host.mm.hugetlb_fault_mutex.write_acquire"), 0);  // or absent
  // A 4K memslot (--page-size 4K) on 2M hugetlb pages: the mapping is limited, not refused.
  PlatformRun limited = run_platform(demand(4096, HostBacking::Hugetlb2M));
  ASSERT_EQ(limited.exit_code, 0) << limited.stats_json;
  EXPECT_EQ(leaves_at(limited, 2), 0u);
  EXPECT_EQ(stat(limited.stats_json, "host.mm.pages_installed"), 4);
  EXPECT_EQ(stat(limited.stats_json, "check.violations"), 0);
}

TEST(EagerSplit, EnableLeavesNoHugeSpteAndTheDirtyPassSplitsNothing) {
  PlatformRun r = run_platform(blocks(EagerSplit::On));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(pt(r, "create_leaves_block"), kBlocks);
  EXPECT_EQ(stat(r.stats_json, "hv.huge.eager_split"), kBlocks);
  // Every page is mapped by a write-protected 4K SPTE: each block's write is fixed by the
  // lockless fast path, its reads find their pages mapped; no fault splits or zaps.
  EXPECT_EQ(stat(r.stats_json, "hv.huge.split_in_place"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.huge.zapped_for_table"), 0);
  EXPECT_EQ(pt(r, "update_faults"), kBlocks);
  EXPECT_EQ(stat(r.stats_json, "hv.fault.fast_path"), kBlocks);
  EXPECT_EQ(pt(r, "update_leaves_block"), 0);
  EXPECT_EQ(pt(r, "update_leaves_4k"), kBlocks * kPerBlock);
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.wrprot_sptes"), kBlocks * kPerBlock);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

TEST(EagerSplit, OffLeavesTheSplitToTheWriteFaults) {
  PlatformRun r = run_platform(blocks(EagerSplit::Off));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "hv.huge.eager_split"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.huge.split_in_place"), kBlocks);
  EXPECT_EQ(stat(r.stats_json, "hv.fault.fast_path"), 0);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

TEST(EagerSplit, ReleasesBefore518DoNotSplitEagerly) {
  SimConfig c = blocks(EagerSplit::On);
  c.eager_split.reset();  // auto
  c.kvm_version = KvmRelease{5, 17};
  PlatformRun old = run_platform(c);
  ASSERT_EQ(old.exit_code, 0) << old.stats_json;
  EXPECT_EQ(stat(old.stats_json, "hv.huge.eager_split"), 0);
  EXPECT_EQ(stat(old.stats_json, "hv.huge.zapped_for_table"), kBlocks);  // before 6.2
  c.kvm_version = KvmRelease{5, 18};
  PlatformRun now = run_platform(c);
  ASSERT_EQ(now.exit_code, 0) << now.stats_json;
  EXPECT_EQ(stat(now.stats_json, "hv.huge.eager_split"), kBlocks);
}

TEST(EagerSplit, TablesAreAllocatedWithMmuLockDroppedFrom611) {
  SimConfig c = blocks(EagerSplit::On);
  c.kvm_version = KvmRelease{6, 10};  // nowait-first: the allocation under the lock succeeds
  PlatformRun before = run_platform(c);
  ASSERT_EQ(before.exit_code, 0) << before.stats_json;
  EXPECT_EQ(stat(before.stats_json, "hv.huge.eager_split"), kBlocks);
  EXPECT_EQ(stat(before.stats_json, "hv.huge.eager_split_lock_drops"), 0);
  c.kvm_version = KvmRelease{6, 11};
  PlatformRun after = run_platform(c);
  ASSERT_EQ(after.exit_code, 0) << after.stats_json;
  EXPECT_EQ(stat(after.stats_json, "hv.huge.eager_split"), kBlocks);
  EXPECT_EQ(stat(after.stats_json, "hv.huge.eager_split_lock_drops"), kBlocks);
  EXPECT_EQ(stat(after.stats_json, "check.violations"), 0);
}

TEST(EagerSplit, AFailedAllocationLeavesTheRestHugeForTheFaultsToSplit) {
  for (EagerSplitAlloc alloc : {EagerSplitAlloc::NowaitFirst, EagerSplitAlloc::DropLock}) {
    SimConfig c = blocks(EagerSplit::On);
    c.eager_split_alloc = alloc;
    c.eager_split_alloc_limit = 1;
    PlatformRun r = run_platform(c);
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_EQ(stat(r.stats_json, "hv.huge.eager_split"), 1);
    EXPECT_EQ(stat(r.stats_json, "hv.huge.eager_split_alloc_failed"), 1);
    // The blocks left huge were write-protected; their writes split them on fault.
    EXPECT_EQ(stat(r.stats_json, "hv.huge.split_in_place"), kBlocks - 1);
    EXPECT_EQ(pt(r, "update_leaves_block"), 0);
    EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  }
}

TEST(Recovery, DisablingTheLogZapsCollapsibleTablesAndFaultsMapHugeAgain) {
  for (EagerSplit eager : {EagerSplit::On, EagerSplit::Off}) {
    for (HugeSplitOnFault split : {HugeSplitOnFault::Split, HugeSplitOnFault::Zap}) {
      SimConfig c = blocks(eager);
      c.huge_split_on_fault = split;
      PlatformRun r = run_platform(c);
      ASSERT_EQ(r.exit_code, 0) << r.stats_json;
      const std::string at = std::string(mode_name(eager)) + " " + mode_name(split);
      EXPECT_EQ(pt(r, "update_leaves_block"), 0) << at;
      EXPECT_EQ(stat(r.stats_json, "hv.huge.collapsible_zapped"), kBlocks) << at;
      // ADJUST's first read of each block maps it huge again; the other reads hit it.
      EXPECT_EQ(pt(r, "adjust_faults"), kBlocks) << at;
      EXPECT_EQ(pt(r, "adjust_leaves_block"), kBlocks) << at;
      EXPECT_EQ(pt(r, "adjust_leaves_4k"), 0) << at;
      EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << at;
    }
  }
}

TEST(Recovery, SmallHostPagesAreNotCollapsible) {
  // With 4K host pages nothing was huge and nothing can become huge: no table is zapped.
  SimConfig c = blocks(EagerSplit::On);
  c.backing = HostBacking::Small;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(pt(r, "create_leaves_block"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.huge.collapsible_zapped"), 0);
  EXPECT_EQ(stat(r.stats_json, "hv.huge.eager_split"), 0);
  EXPECT_EQ(pt(r, "adjust_leaves_block"), 0);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

// With initially-set, enabling splits nothing (and protects only the huge leaves); each clear
// splits the huge SPTEs over what it protects. Written with a write fraction of 1024, only
// blocks 0 and 2 of the four are written (and split by their write faults) in the first round;
// blocks 1 and 3 are only read, stay huge, and are split by the first clear.
TEST(EagerSplit, WithInitiallySetTheClearSplitsWhatItProtects) {
  auto run = [](EagerSplit eager, DirtyLogInitiallySet init) {
    SimConfig c = sparse_dirty_log();
    c.eager_split = eager;
    c.dirty_log_initially_set = init;
    return run_platform(c);
  };
  // Enabling protects nothing (from 5.14), so the first pass's two writes do not fault and the
  // first clear, which clears every page, splits all the blocks before protecting them.
  PlatformRun at_clear = run(EagerSplit::On, DirtyLogInitiallySet::On);
  ASSERT_EQ(at_clear.exit_code, 0) << at_clear.stats_json;
  EXPECT_EQ(stat(at_clear.stats_json, "hv.huge.eager_split"), kBlocks);
  EXPECT_EQ(stat(at_clear.stats_json, "hv.huge.split_in_place"), 0);
  EXPECT_EQ(stat(at_clear.stats_json, "check.violations"), 0);
  PlatformRun off = run(EagerSplit::Off, DirtyLogInitiallySet::On);
  ASSERT_EQ(off.exit_code, 0) << off.stats_json;
  EXPECT_EQ(stat(off.stats_json, "hv.huge.eager_split"), 0);
  EXPECT_EQ(stat(off.stats_json, "check.violations"), 0);
  PlatformRun at_enable = run(EagerSplit::On, DirtyLogInitiallySet::Off);
  ASSERT_EQ(at_enable.exit_code, 0) << at_enable.stats_json;
  EXPECT_EQ(stat(at_enable.stats_json, "hv.huge.eager_split"), kBlocks);
  EXPECT_EQ(stat(at_enable.stats_json, "check.violations"), 0);
}

// Before 5.14, enabling with initially-set write-protected the huge SPTEs, so the first pass's
// writes (two pages) fault and split their two blocks in place, and the clears only protect
// 4K SPTEs: the cost of leaving huge pages sits in the first dirty pass, not in the clears.
TEST(EagerSplit, BeforeInitSetProtectedNothingTheFirstWritesSplit) {
  SimConfig c = sparse_dirty_log();
  c.dirty_log_initially_set = DirtyLogInitiallySet::On;
  c.init_set_enable = InitSetEnable::ProtectHuge;
  PlatformRun r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "hv.huge.split_in_place"), 2);
  EXPECT_EQ(stat(r.stats_json, "hv.huge.eager_split"), 2);  // the clear splits the other two
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}
