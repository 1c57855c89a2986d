// The page-table-test workload (KVM's kvm_page_table_test): every stage is timed and its
// faults and resulting leaves recorded; CREATE maps one granule per fault; UPDATE, with dirty
// logging just enabled, takes one write-protection fault per mapping and, with blocks, splits
// them (by break-before-make on arm64 and x86 before 6.2, in place on x86 from 6.2; x86's eager
// splitting is off here, tests/x86_huge_dirty_log_test.cpp has it); ADJUST, with logging
// disabled, maps blocks again (on x86 after the collapsible tables were zapped); same seed,
// same stats.
#include <gtest/gtest.h>

#include <string>

#include "tests/platform_run.hpp"

using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;
using namespace mmusim;

namespace {

SimConfig page_table_test(Arch arch, unsigned vcpus, uint64_t mem, uint64_t page_size) {
  SimConfig c;
  c.arch = arch;
  c.quiet = true;
  c.workload = WorkloadKind::PageTableTest;
  c.vcpus = vcpus;
  c.mem_per_vcpu = mem;
  c.page_size = page_size;
  return c;
}

double pt(const PlatformRun& r, const std::string& name) {
  return stat(r.stats_json, "workload.page_table_test." + name);
}

const char* arch_name(Arch a) { return mode_name(a); }

}  // namespace

TEST(PageTableTest, EveryStageIsTimedOnEveryArchAndCheckedClean) {
  for (Arch arch : {Arch::X86, Arch::Arm64, Arch::Mips}) {
    for (uint64_t page : {uint64_t(4) << 10, uint64_t(2) << 20}) {
      if (arch == Arch::Mips && page != 4096) continue;  // KVM MIPS maps 4K only
      PlatformRun r = run_platform(page_table_test(arch, 2, 4 << 20, page));
      ASSERT_EQ(r.exit_code, 0) << r.stats_json;
      const std::string at = std::string(arch_name(arch)) + " " + std::to_string(page);
      for (const char* stage : {"create", "update", "adjust"}) {
        EXPECT_GT(pt(r, std::string(stage) + "_cycles"), 0) << at << " " << stage;
        EXPECT_GE(pt(r, std::string(stage) + "_faults"), 0) << at << " " << stage;
      }
      EXPECT_GE(pt(r, "enable_dirty_log_cycles"), 0) << at;
      EXPECT_GE(pt(r, "disable_dirty_log_cycles"), 0) << at;
      EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << at;
    }
  }
}

TEST(PageTableTest, CreateTakesOneFaultPerGranule) {
  // One vCPU: no other vCPU's fault can map a granule first or race on it.
  for (Arch arch : {Arch::X86, Arch::Arm64, Arch::Mips}) {
    for (uint64_t page : {uint64_t(4) << 10, uint64_t(2) << 20}) {
      if (arch == Arch::Mips && page != 4096) continue;
      const uint64_t mem = 4 << 20;
      PlatformRun r = run_platform(page_table_test(arch, 1, mem, page));
      ASSERT_EQ(r.exit_code, 0) << r.stats_json;
      const std::string at = std::string(arch_name(arch)) + " " + std::to_string(page);
      EXPECT_EQ(pt(r, "create_faults"), double(mem / page)) << at;
      EXPECT_EQ(pt(r, page == 4096 ? "create_leaves_4k" : "create_leaves_block"),
                double(mem / page)) << at;
      EXPECT_EQ(pt(r, page == 4096 ? "create_leaves_block" : "create_leaves_4k"), 0) << at;
    }
  }
}

TEST(PageTableTest, UpdateAt4kTakesOneWriteProtectionFaultPerPageAndMapsNothingNew) {
  // Enabling dirty logging took write permission from every mapping, so each page's write in
  // UPDATE takes exactly one fault that gives it back (x86: the lockless fast path; arm64: the
  // permission fault relaxed in place; MIPS: the TLB modified exception setting D). Nothing is
  // mapped or unmapped: the leaves are the same 4K ones as after CREATE.
  for (Arch arch : {Arch::X86, Arch::Arm64, Arch::Mips}) {
    const uint64_t mem = 2 << 20, pages = mem / 4096;
    PlatformRun r = run_platform(page_table_test(arch, 1, mem, 4096));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    EXPECT_EQ(pt(r, "update_faults"), double(pages)) << arch_name(arch);
    EXPECT_EQ(pt(r, "update_leaves_4k"), double(pages)) << arch_name(arch);
    EXPECT_EQ(pt(r, "update_leaves_block"), 0) << arch_name(arch);
    // Every page is mapped and writable again: the reads of ADJUST take no fault.
    EXPECT_EQ(pt(r, "adjust_faults"), 0) << arch_name(arch);
  }
}

namespace {

constexpr uint64_t kMem = 8 << 20, kBlock = 2 << 20;
constexpr double kBlocks = kMem / kBlock, kPerBlock = kBlock / 4096;

PlatformRun blocks_run(Arch arch, HugeSplitOnFault split) {
  SimConfig c = page_table_test(arch, 1, kMem, kBlock);
  c.huge_split_on_fault = split;
  c.eager_split = EagerSplit::Off;  // the writes of UPDATE break the blocks
  return run_platform(c);
}

// A block broken for a table while logging (break-before-make): the write maps the written 4K
// page alone; each read of the block's second half then faults and maps its 4K page (4K only
// while logging). After logging stops, the first read of a still unmapped page of the first
// half maps a block again (arm64: over the table; x86: in the entry the zap of collapsible
// tables emptied when logging stopped): one fault per block.
void expect_broken_then_rebuilt(const PlatformRun& r) {
  EXPECT_EQ(pt(r, "create_leaves_block"), kBlocks);
  EXPECT_EQ(pt(r, "update_faults"), kBlocks * (1 + kPerBlock / 2));
  EXPECT_EQ(pt(r, "update_leaves_4k"), kBlocks * (1 + kPerBlock / 2));
  EXPECT_EQ(pt(r, "update_leaves_block"), 0);
  EXPECT_EQ(pt(r, "adjust_faults"), kBlocks);
  EXPECT_EQ(pt(r, "adjust_leaves_block"), kBlocks);
  EXPECT_EQ(pt(r, "adjust_leaves_4k"), 0);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

}  // namespace

TEST(PageTableTest, Arm64BreaksBlocksWhileLoggingAndMapsThemAgainAfter) {
  PlatformRun r = blocks_run(Arch::Arm64, HugeSplitOnFault::Zap);  // the split mode is x86's
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.block_split"), kBlocks);
  expect_broken_then_rebuilt(r);
}

TEST(PageTableTest, X86ZappedForTableBlocksAreMappedAgainAfterLogging) {
  // --huge-split-on-fault zap (before 6.2): the write zaps the huge SPTE, as arm64 breaks it.
  PlatformRun r = blocks_run(Arch::X86, HugeSplitOnFault::Zap);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "hv.huge.zapped_for_table"), kBlocks);
  expect_broken_then_rebuilt(r);
}

TEST(PageTableTest, X86BlocksSplitInPlaceAreMappedHugeAgainAfterLogging) {
  // --huge-split-on-fault split (6.2 on): the write's fault splits the huge SPTE in place, all
  // 512 children mapped, so the second half's reads take no fault. Disabling logging zaps the
  // collapsible tables (the host still backs each block with a THP), so ADJUST's first read
  // of each block maps it huge again.
  PlatformRun r = blocks_run(Arch::X86, HugeSplitOnFault::Split);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "hv.huge.split_in_place"), kBlocks);
  EXPECT_EQ(pt(r, "create_leaves_block"), kBlocks);
  EXPECT_EQ(pt(r, "update_faults"), kBlocks);
  EXPECT_EQ(pt(r, "update_leaves_block"), 0);
  EXPECT_EQ(pt(r, "update_leaves_4k"), kBlocks * kPerBlock);
  EXPECT_EQ(stat(r.stats_json, "hv.huge.collapsible_zapped"), kBlocks);
  EXPECT_EQ(pt(r, "adjust_faults"), kBlocks);
  EXPECT_EQ(pt(r, "adjust_leaves_block"), kBlocks);
  EXPECT_EQ(pt(r, "adjust_leaves_4k"), 0);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

TEST(PageTableTest, SameSeedGivesIdenticalStats) {
  for (Arch arch : {Arch::X86, Arch::Arm64}) {
    SimConfig c = page_table_test(arch, 4, 4 << 20, 2 << 20);
    c.seed = 7;
    PlatformRun a = run_platform(c), b = run_platform(c);
    ASSERT_EQ(a.exit_code, 0) << a.stats_json;
    EXPECT_EQ(a.stats_json, b.stats_json) << arch_name(arch);
  }
}
