// arm64 stage-2 dirty logging over blocks, as dirty_log_perf_test runs it (the dirty-log
// workload on THP or hugetlb-2M backing, 2 MiB blocks): without eager splitting a block is
// write-protected and broken by the first write's fault (one TLBI by IPA), which maps that page
// only, so the first pass faults once per page; with --arm64-eager-split-chunk (6.5 on) enabling
// splits every block into read-only 4 KiB pages, chunk by chunk, and the passes take only
// permission faults; with initially-set the clears split, and only what they clear; a 1 GiB
// block is split whole or level by level as the chunk's page cache allows. The dirty-log oracle
// holds in every mode.
#include <gtest/gtest.h>

#include <string>

#include "sim/hv/dirty_logging.hpp"
#include "tests/arm64_config.hpp"
#include "tests/platform_run.hpp"
#include "workloads/guest_layout.hpp"

using namespace mmusim;
using mmusim::testing::arm64_demand;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

constexpr uint64_t k2M = uint64_t(2) << 20, k1G = uint64_t(1) << 30;
constexpr uint64_t kMemPerVcpu = 4 << 20;  // two vCPUs: 8 MiB, four blocks
constexpr double kBlocks = 4, kPages = 2 * kMemPerVcpu / 4096;

// Demand paging over blocks of `page_size` with a chunk size (the default lock mode, shared).
SimConfig blocks(unsigned vcpus, uint64_t mem, uint64_t page_size, uint64_t chunk) {
  SimConfig c = arm64_demand(vcpus, mem, MmuLockMode::Shared);
  c.page_size = page_size;
  c.arm64_eager_split_chunk = chunk;
  return c;
}

SimConfig dirty_log(uint64_t chunk, DirtyLogInitiallySet init, HostBacking backing) {
  SimConfig c = blocks(2, kMemPerVcpu, k2M, chunk);
  c.workload = WorkloadKind::DirtyLog;
  c.backing = backing;
  c.iterations = 2;
  c.flush = FlushKind::Broadcast;
  c.dirty_log_initially_set = init;
  return c;
}

double s2(const PlatformRun& r, const std::string& name) { return stat(r.stats_json, name); }

// Leaves of the final stage-2 tables at `level` (1: 4 KiB, 2: 2 MiB) over the guest data.
unsigned leaves_at(const PlatformRun& r, unsigned level) {
  std::istringstream in(r.leaves);
  std::string gpa, hpa, perms;
  unsigned l = 0, n = 0;
  while (in >> gpa >> l >> hpa >> perms)
    n += l == level && std::stoull(gpa, nullptr, 16) >= GuestLayout::kDataGpa;
  return n;
}

const HostBacking kBackings[] = {HostBacking::Thp, HostBacking::Hugetlb2M};

}  // namespace

TEST(Arm64DirtyLogBlocks, WithoutEagerSplitTheFirstPassFaultsOncePerPageAndBreaksEachBlock) {
  for (HostBacking backing : kBackings) {
    PlatformRun r = run_platform(dirty_log(0, DirtyLogInitiallySet::Off, backing));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    const std::string at = mode_name(backing);
    // Populate maps the four blocks; enabling write-protects them. In the first pass each
    // block's first write breaks it for a table and maps its 4 KiB page; every other page of
    // the block then takes a fault of its own; the second pass relaxes each page in place.
    EXPECT_EQ(s2(r, "hv.dirty_log.block_split"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.s2.break_before_make"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.fault.count"), kBlocks + 2 * kPages) << at;
    EXPECT_EQ(s2(r, "hv.fault.perm_relax"), kPages) << at;
    // A block's break is one TLBI by IPA with its level; the slot-wide invalidations after
    // the protections are whole-VMID ones, and the relaxations' TLBIs are local (6.5 on).
    EXPECT_EQ(s2(r, "hv.tlbi.by_ipa"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.blocks"), -1) << at;  // no chunk: not registered
    EXPECT_EQ(leaves_at(r, 1), kPages) << at;
    EXPECT_EQ(leaves_at(r, 2), 0u) << at;
    EXPECT_EQ(s2(r, "check.violations"), 0) << at << r.stats_json;
  }
}

TEST(Arm64EagerSplit, EnablingSplitsEveryBlockAndThePassesTakeOnlyPermissionFaults) {
  for (HostBacking backing : kBackings) {
    PlatformRun r = run_platform(dirty_log(k2M, DirtyLogInitiallySet::Off, backing));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    const std::string at = mode_name(backing);
    EXPECT_EQ(s2(r, "hv.s2.eager_split.blocks"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.tables"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.tlbi"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.tlbi.by_ipa"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.chunks"), 8 * 1024 * 1024 / k2M) << at;
    // No write breaks a block: every write of both passes is a permission fault on a
    // read-only 4 KiB page, relaxed in place.
    EXPECT_EQ(s2(r, "hv.dirty_log.block_split"), 0) << at;
    EXPECT_EQ(s2(r, "hv.fault.count"), kBlocks + 2 * kPages) << at;
    EXPECT_EQ(s2(r, "hv.fault.perm_relax"), 2 * kPages) << at;
    EXPECT_EQ(leaves_at(r, 1), kPages) << at;
    EXPECT_EQ(s2(r, "check.violations"), 0) << at << r.stats_json;
  }
}

TEST(Arm64EagerSplit, TheCacheIsToppedUpWithMmuLockDroppedBetweenChunks) {
  // kvm_mmu_split_nr_page_tables: 2 pages for a 2M or 4K chunk, 1 + 512 for a 1G one. The
  // cache is topped up before the first chunk and before each chunk that finds it short.
  struct Case {
    uint64_t chunk;
    double chunks, drops, pages, freed;
  };
  for (const Case& k : {Case{k2M, 4, 4, 2 + 3, 1}, Case{4096, kPages, 1 + kBlocks, 2 + 4, 2},
                        Case{k1G, 1, 1, 513, 513 - kBlocks}}) {
    PlatformRun r = run_platform(dirty_log(k.chunk, DirtyLogInitiallySet::Off, HostBacking::Thp));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    const std::string at = std::to_string(k.chunk);
    EXPECT_EQ(s2(r, "hv.s2.eager_split.blocks"), kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.chunks"), k.chunks) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.lock_drops"), k.drops) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.cache_pages"), k.pages) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.cache_freed"), k.freed) << at;  // at disable
    EXPECT_EQ(s2(r, "check.violations"), 0) << at;
  }
}

TEST(Arm64EagerSplit, WithInitiallySetTheFirstClearSplitsAndTheFirstPassTakesNoFault) {
  for (uint64_t chunk : {uint64_t(0), k2M}) {
    PlatformRun r = run_platform(dirty_log(chunk, DirtyLogInitiallySet::On, HostBacking::Thp));
    ASSERT_EQ(r.exit_code, 0) << r.stats_json;
    const std::string at = std::to_string(chunk);
    // Enabling protects nothing, so the first pass writes the blocks without a fault; the
    // first clear protects them (and with a chunk splits them, one chunk per bitmap word).
    EXPECT_EQ(s2(r, "hv.s2.eager_split.blocks"), chunk ? kBlocks : -1) << at;
    EXPECT_EQ(s2(r, "hv.s2.eager_split.chunks"), chunk ? 2 * kPages / 64 : -1) << at;
    EXPECT_EQ(s2(r, "hv.dirty_log.block_split"), chunk ? 0 : kBlocks) << at;
    EXPECT_EQ(s2(r, "hv.fault.count"), kBlocks + kPages) << at;
    EXPECT_EQ(s2(r, "hv.fault.perm_relax"), chunk ? kPages : 0) << at;
    EXPECT_EQ(s2(r, "check.violations"), 0) << at << r.stats_json;
  }
}

namespace {

// 8 MiB of 2 MiB blocks populated by one vCPU, then, with initially-set, logging enabled and
// only the bitmap words of `cleared_pages` (page indices into the slot) cleared, one clear
// each. Returns the blocks split after enabling and after each clear, and the final leaves.
std::vector<uint64_t> clear_some(uint64_t chunk, const std::vector<uint64_t>& cleared_pages,
                                 PlatformRun& out) {
  const SimConfig c = blocks(1, 8 << 20, k2M, chunk);
  Platform* plat = nullptr;
  std::vector<uint64_t> split;
  PlatformHooks h;
  h.host_threads.push_back({"vmm", [&](Agent& t) {
    DirtyLogging& log = *capability<DirtyLogging>(plat->mmu());
    const mmusim::Counter* blocks = plat->stats.find_counter("hv.s2.eager_split.blocks");
    auto now = [&] { return blocks ? blocks->value() : 0; };
    log.set_dirty_log_caps({true, true});
    t.wait_cycles(20000000);  // the vCPU has populated its 8 MiB
    log.enable_dirty_log(t, GuestLayout::kDataGpa, 8 << 20);
    split.push_back(now());
    for (uint64_t page : cleared_pages) {
      std::vector<uint64_t> bits(page / 64 + 1, 0);
      bits[page / 64] = ~uint64_t(0);
      log.clear_dirty_log(t, bits);
      split.push_back(now());
    }
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  std::ostringstream json, leaves;
  p.stats.write_json(json);
  for (const Stage2Leaf& l : p.final_leaves)
    leaves << std::hex << l.gpa << " " << l.level << " " << l.hpa << " " << l.perms.read
           << l.perms.write << l.perms.exec << "\n";
  out.exit_code = 0;
  out.stats_json = json.str();
  out.leaves = leaves.str();
  return split;
}

}  // namespace

TEST(Arm64EagerSplit, WithInitiallySetEachClearSplitsOnlyTheBlocksOfWhatItClears) {
  PlatformRun r;
  // Pages 0..63 lie in block 0, pages 1024..1087 in block 2.
  const std::vector<uint64_t> split = clear_some(k2M, {0, 1024}, r);
  EXPECT_EQ(split, (std::vector<uint64_t>{0, 1, 2})) << r.stats_json;
  EXPECT_EQ(leaves_at(r, 2), 2u);        // blocks 1 and 3 untouched
  EXPECT_EQ(leaves_at(r, 1), 2u * 512);  // blocks 0 and 2 as 4 KiB pages
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << r.stats_json;
  // Without a chunk the clears only write-protect: every block stays a block.
  PlatformRun off;
  EXPECT_EQ(clear_some(0, {0, 1024}, off), (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(leaves_at(off, 2), 4u);
}

namespace {

// One vCPU writes the first page of a 1 GiB hugetlb block; logging is then enabled over the
// block (without initially-set). Returns the run's statistics.
std::string split_1g_block(uint64_t chunk) {
  const SimConfig c = blocks(1, k1G, k1G, chunk);
  struct OneWrite : OpStream {
    bool done = false;
    bool next(Op& op) override {
      if (done) return false;
      done = true;
      op.kind = Op::Kind::Access;
      op.access = Access::Write;
      op.gva = GuestLayout::kDataGva;
      return true;
    }
  };
  Platform* plat = nullptr;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<OneWrite>(); };
  h.keep_final_leaves = false;
  h.host_threads.push_back({"vmm", [&](Agent& t) {
    DirtyLogging& log = *capability<DirtyLogging>(plat->mmu());
    log.set_dirty_log_caps({true, false});
    t.wait_cycles(1000000000);  // the host zeroed the 1 GiB page, the block is mapped
    log.enable_dirty_log(t, GuestLayout::kDataGpa, k1G);
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  std::ostringstream json;
  p.stats.write_json(json);
  return json.str();
}

}  // namespace

TEST(Arm64EagerSplit, A1gBlockIsSplitWholeOrLevelByLevelAsTheCacheAllows) {
  // A 1G chunk's cache holds 1 + 512 pages: the block becomes a full tree of 4 KiB pages in
  // one break-before-make.
  const std::string whole = split_1g_block(k1G);
  EXPECT_EQ(stat(whole, "hv.s2.eager_split.blocks"), 1) << whole;
  EXPECT_EQ(stat(whole, "hv.s2.eager_split.tables"), 513);
  EXPECT_EQ(stat(whole, "hv.s2.eager_split.tlbi"), 1);
  EXPECT_EQ(stat(whole, "check.violations"), 0);
  // A 2M chunk's cache holds 2: the 1G block becomes one table of 2 MiB blocks, which are
  // split one per chunk as the walk steps in -- a TLBI for each of the 513 blocks.
  const std::string levels = split_1g_block(k2M);
  EXPECT_EQ(stat(levels, "hv.s2.eager_split.blocks"), 1 + 512) << levels;
  EXPECT_EQ(stat(levels, "hv.s2.eager_split.tables"), 513);
  EXPECT_EQ(stat(levels, "hv.s2.eager_split.tlbi"), 513);
  EXPECT_EQ(stat(levels, "hv.s2.eager_split.chunks"), 512);
  EXPECT_EQ(stat(levels, "check.violations"), 0);
}

TEST(Arm64EagerSplit, TheDirtyLogOracleHoldsInEveryMode) {
  for (uint64_t chunk : {uint64_t(0), uint64_t(4096), k2M, k1G}) {
    for (DirtyLogManualProtect manual : {DirtyLogManualProtect::On, DirtyLogManualProtect::Off}) {
      for (DirtyLogInitiallySet init : {DirtyLogInitiallySet::On, DirtyLogInitiallySet::Off}) {
        if (manual == DirtyLogManualProtect::Off && init == DirtyLogInitiallySet::On) continue;
        for (unsigned fraction : {1u, 3u}) {
          SimConfig c = dirty_log(chunk, init, HostBacking::Hugetlb2M);
          c.dirty_log_manual_protect = manual;
          c.dirty_log_write_fraction = fraction;
          c.iterations = 3;
          PlatformRun r = run_platform(c);
          const std::string at = std::to_string(chunk) + " " + mode_name(manual) + " " +
                                 mode_name(init) + " 1/" + std::to_string(fraction);
          ASSERT_EQ(r.exit_code, 0) << at << r.stats_json;
          EXPECT_EQ(s2(r, "check.violations"), 0) << at << r.stats_json;
          if (chunk) EXPECT_EQ(s2(r, "hv.s2.eager_split.blocks"), kBlocks) << at;
        }
      }
    }
  }
}

TEST(Arm64EagerSplit, SameSeedGivesIdenticalStats) {
  SimConfig c = dirty_log(k2M, DirtyLogInitiallySet::On, HostBacking::Thp);
  c.vcpus = 4;
  c.seed = 5;
  PlatformRun a = run_platform(c), b = run_platform(c);
  ASSERT_EQ(a.exit_code, 0) << a.stats_json;
  EXPECT_EQ(a.stats_json, b.stats_json);
}
