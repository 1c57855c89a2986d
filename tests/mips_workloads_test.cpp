// --arch mips runs every workload x86 runs: ebizzy, trace replay (gva and gpa traces, with host
// events through the host mm's event sink), dirty-log (KVM MIPS logging through the fast
// path's clean -> dirty and the memslot bitmap; the workload's oracle compares the log with the
// pages written) and access-tracking (needs MMU notifiers). Each with zero violations and
// byte-identical statistics for the same seed. Also: the same host-event trace on x86, and
// without SYNC_MMU the trace's host changes leave wrong frames in the GPA table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/platform_run.hpp"

using namespace mmusim;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig mips(unsigned vcpus, uint64_t mem) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = vcpus;
  c.mem_per_vcpu = mem;
  return c;
}

// Runs c twice; both must succeed with no violation and identical statistics.
PlatformRun run_clean_twice(const SimConfig& c) {
  PlatformRun a = run_platform(c);
  PlatformRun b = run_platform(c);
  EXPECT_EQ(a.exit_code, 0) << a.stats_json;
  EXPECT_EQ(stat(a.stats_json, "check.violations"), 0) << a.stats_json;
  EXPECT_EQ(a.stats_json, b.stats_json);
  EXPECT_EQ(a.leaves, b.leaves);
  return a;
}

std::string write_file(const std::string& name, const std::string& body) {
  std::string p = ::testing::TempDir() + "/mips_wl_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(p) << body;
  return p;
}

// A gpa trace: v0 writes `pages` pages, idles, reads them again; h0 raises one event of each
// kind the host mm carries out, between the two passes. The unmap covers the first 2 MiB (a
// whole GPA pte table); `with_age` adds an age event (needs notifiers).
std::string host_event_trace(unsigned pages, bool with_age) {
  std::string s = "mmusim-trace 1\nspace gpa\nguest-mem 4M\n";
  char line[80];
  for (unsigned i = 0; i < pages; ++i) {
    std::snprintf(line, sizeof line, "v0 w 0x%x\n", i * 4096);
    s += line;
  }
  s += "v0 gap 8000000\n";
  for (unsigned i = 0; i < pages; ++i) {
    std::snprintf(line, sizeof line, "v0 r 0x%x\n", i * 4096);
    s += line;
  }
  s += "h0 gap 5000000\nh0 unmap 0x0 0x200000\nh0 cow 0x201000\nh0 ksm-merge 0x202000 0x203000\n"
       "h0 swap-out 0x204000 0x2000\nh0 change-pte 0x206000\n";
  if (with_age) s += "h0 age 0x210000 0x10000\n";
  return s;
}

}  // namespace

TEST(MipsWorkloads, EbizzyRunsCleanAndDeterministic) {
  SimConfig c = mips(4, 1 << 20);
  c.workload = WorkloadKind::Ebizzy;
  c.iterations = 8;
  PlatformRun r = run_clean_twice(c);
  EXPECT_GT(stat(r.stats_json, "workload.ebizzy.records"), 0);
  EXPECT_GT(stat(r.stats_json, "hv.fault.count"), 0);
}

TEST(MipsWorkloads, GvaTraceReplaysThroughTheGuestKernelCleanAndDeterministic) {
  std::string body = "mmusim-trace 1\n";
  for (int v = 0; v < 2; ++v)
    for (int i = 0; i < 40; ++i) {
      char line[96];
      std::snprintf(line, sizeof line, "v%d w 0x%llx 8\nv%d gap 50\nv%d r 0x%llx 8\n", v,
                    0x7f00000000ull + (unsigned long long)(v * 40 + i) * 4096, v, v,
                    0x400000ull + (unsigned long long)(i % 4) * 4096);
      body += line;
    }
  SimConfig c = mips(2, 1 << 20);
  c.workload = WorkloadKind::Trace;
  c.trace = write_file("gva.trace", body);
  PlatformRun r = run_clean_twice(c);
  EXPECT_EQ(stat(r.stats_json, "trace.pages"), 2 * 40 + 4);
  EXPECT_GT(stat(r.stats_json, "hv.fault.count"), 2 * 40 + 4 - 1);  // every data page faulted
}

TEST(MipsWorkloads, DirtyLogMatchesPagesWrittenEveryRound) {
  SimConfig c = mips(2, 256 << 10);
  c.workload = WorkloadKind::DirtyLog;
  c.iterations = 3;
  PlatformRun r = run_clean_twice(c);
  const double pages = double(c.vcpus) * double(c.mem_per_vcpu / 4096);
  // Every page written each round with logging on went clean -> dirty through the fast path
  // (populate happened before logging, so nothing logged then); the first round found its
  // bits set already (initially-set, the default), the others set them.
  EXPECT_EQ(stat(r.stats_json, "hv.dirty_log.marked"), pages * (c.iterations - 1));
  EXPECT_EQ(stat(r.stats_json, "hv.mips.fast.made_dirty"), pages * c.iterations);
  // Enabling cleaned every populated page; each clear cleaned every page of its round.
  EXPECT_EQ(stat(r.stats_json, "hv.mips.ptes_cleaned"), pages * (c.iterations + 1));
  EXPECT_GE(stat(r.stats_json, "hv.mips.flush_shadow_all"), c.iterations + 1);
  EXPECT_EQ(stat(r.stats_json, "check.dirty_log_mismatch"), -1);  // never reported
}

TEST(MipsWorkloads, AccessTrackingSeesExactlyThePagesReadAndNeedsSyncMmu) {
  SimConfig c = mips(2, 256 << 10);
  c.workload = WorkloadKind::AccessTracking;
  PlatformRun r = run_clean_twice(c);
  const double pages = double(c.vcpus) * double(c.mem_per_vcpu / 4096);
  EXPECT_EQ(stat(r.stats_json, "workload.access.young"), pages / 2);
  EXPECT_EQ(stat(r.stats_json, "workload.access.idle"), pages / 2);
  EXPECT_GT(stat(r.stats_json, "hv.mips.fast.made_young"), 0);  // reads of aged pages faulted
  c.mips_sync_mmu = false;
  PlatformRun off = run_platform(c);
  EXPECT_NE(off.exit_code, 0);
  EXPECT_NE(off.stats_json.find("--mips-sync-mmu on"), std::string::npos) << off.stats_json;
}

TEST(MipsWorkloads, HostEventTraceReplaysOnMipsAndFreesTheUnmappedTable) {
  SimConfig c = mips(1, 1 << 20);
  c.workload = WorkloadKind::Trace;
  c.trace = write_file("ev.trace", host_event_trace(768, true));
  PlatformRun r = run_clean_twice(c);
  EXPECT_EQ(stat(r.stats_json, "trace.host_events"), 6);
  EXPECT_EQ(stat(r.stats_json, "host.events.applied"), 6);
  EXPECT_EQ(stat(r.stats_json, "host.events.pages_skipped"), 0);
  // 512 pages from the unmap, then cow, two ksm merges (gpa2 becomes a KSM page first), two
  // swap-outs, one migration, one age: each through the notifiers.
  EXPECT_EQ(stat(r.stats_json, "host.mm.balloon"), 512);
  EXPECT_EQ(stat(r.stats_json, "host.mm.cow_break"), 1);
  EXPECT_EQ(stat(r.stats_json, "host.mm.ksm_merge"), 2);
  EXPECT_EQ(stat(r.stats_json, "host.mm.swap_out"), 2);
  EXPECT_EQ(stat(r.stats_json, "host.mm.migrate"), 1);
  EXPECT_EQ(stat(r.stats_json, "hv.notifier.clear_flush_young"), 1);
  // The unmap covered the first pte table whole: unlinked and freed after RCU (the freed-table
  // oracle saw no access to it), and the guest's re-reads faulted the range back in.
  EXPECT_EQ(stat(r.stats_json, "hv.mips.tables_unlinked"), 1);
  EXPECT_EQ(stat(r.stats_json, "check.touched_pages"), stat(r.stats_json, "check.stage2_leaves"));
  EXPECT_GT(stat(r.stats_json, "hv.fault.count"), 768 + 512 - 1);
}

TEST(MipsWorkloads, HostEventTraceWithoutSyncMmuLeavesWrongFramesAndRefusesAge) {
  SimConfig c = mips(1, 1 << 20);
  c.workload = WorkloadKind::Trace;
  c.mips_sync_mmu = false;
  c.trace = write_file("ev_noage.trace", host_event_trace(768, false));
  PlatformRun off = run_platform(c);
  ASSERT_EQ(off.exit_code, 0) << off.stats_json;
  EXPECT_EQ(stat(off.stats_json, "host.events.applied"), 5);
  EXPECT_EQ(stat(off.stats_json, "hv.notifier.invalidate_range_start"), 0);
  EXPECT_GT(stat(off.stats_json, "check.wrong_frame"), 0);
  // Aging needs the notifiers: refused before the run, never skipped.
  c.trace = write_file("ev_age.trace", host_event_trace(4, true));
  PlatformRun age = run_platform(c);
  EXPECT_NE(age.exit_code, 0);
  EXPECT_NE(age.stats_json.find("host event 'age' is not modelled by --arch mips"), std::string::npos)
      << age.stats_json;
}

TEST(MipsWorkloads, SameHostEventTraceReplaysOnX86) {
  SimConfig c;
  c.quiet = true;
  c.vcpus = 1;
  c.workload = WorkloadKind::Trace;
  c.trace = write_file("ev_x86.trace", host_event_trace(768, true));
  PlatformRun r = run_clean_twice(c);
  EXPECT_EQ(stat(r.stats_json, "host.events.applied"), 6);
  EXPECT_EQ(stat(r.stats_json, "host.mm.balloon"), 512);
  EXPECT_GT(stat(r.stats_json, "hv.notifier.invalidate_range_start"), 0);
  EXPECT_EQ(stat(r.stats_json, "check.touched_pages"), stat(r.stats_json, "check.stage2_leaves"));
}

TEST(MipsWorkloads, RootChurnIsRefusedAsX86Specific) {
  SimConfig c = mips(1, 64 << 10);
  c.workload = WorkloadKind::RootChurn;
  PlatformRun r = run_platform(c);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.stats_json.find("x86 TDP MMU"), std::string::npos) << r.stats_json;
}
