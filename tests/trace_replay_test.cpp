// Trace replay end to end: the first-touch guest kernel builds real guest tables whose pages take
// stage-2 faults, replicated vCPUs get pages of their own, replay is deterministic, host events
// the arch does not model stop the run before it starts, and modelled ones are applied by a host
// thread at their recorded gaps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "app/platform.hpp"
#include "sim/core/error.hpp"
#include "tests/platform_run.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/trace_format.hpp"

using mmusim::WorkloadKind;
using mmusim::SimConfig;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

std::string write_trace(const std::string& name, const std::string& body) {
  std::string p = ::testing::TempDir() + "/trace_replay_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(p) << "mmusim-trace 1\n" << body;
  return p;
}

// Two vCPUs, each touching `pages` pages of its own and 4 pages both touch.
std::string two_vcpu_body(int pages) {
  std::string s;
  for (int v = 0; v < 2; ++v)
    for (int i = 0; i < pages; ++i) {
      char line[96];
      std::snprintf(line, sizeof line, "v%d w 0x%llx 8\nv%d gap 50\nv%d r 0x%llx 8\n", v,
                    0x7f00000000ull + (unsigned long long)(v * pages + i) * 4096, v, v,
                    0x400000ull + (unsigned long long)(i % 4) * 4096);
      s += line;
    }
  return s;
}

SimConfig trace_cfg(const std::string& path, unsigned vcpus) {
  SimConfig c;
  c.quiet = true;
  c.workload = WorkloadKind::Trace;
  c.trace = path;
  c.vcpus = vcpus;
  return c;
}

}  // namespace

TEST(TraceReplay, GuestKernelBuildsTablesThatTakeStage2Faults) {
  const int pages = 40;
  PlatformRun r = run_platform(trace_cfg(write_trace("two.trace", two_vcpu_body(pages)), 2));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  const double distinct = 2 * pages + 4;
  EXPECT_EQ(stat(r.stats_json, "trace.pages"), distinct);
  EXPECT_EQ(stat(r.stats_json, "guest.kernel.frames"), distinct);
  // Both regions (0x7f00000000 and 0x400000) sit under one PDPT, each with its own PD and PT.
  EXPECT_EQ(stat(r.stats_json, "guest.kernel.tables"), 5);
  // Every data frame and every guest table page (root included) is a stage-2 mapped page,
  // faulted in during the run: only the kernel's data page was mapped before it.
  EXPECT_EQ(stat(r.stats_json, "check.touched_pages"), distinct + 5 + 1 + 1);
  EXPECT_GE(stat(r.stats_json, "hv.fault.fixed"), distinct + 5 + 1);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  EXPECT_EQ(stat(r.stats_json, "guest.accesses"), 4 * pages);
}

TEST(TraceReplay, ExtraVcpusReplayCopiesWithPagesOfTheirOwn) {
  const int pages = 10;
  std::string t = write_trace("copies.trace", two_vcpu_body(pages));
  PlatformRun r = run_platform(trace_cfg(t, 4));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "guest.kernel.frames"), 2 * (2 * pages + 4));
  // The copy lives 1 TiB higher: a PDPT, two PDs and two PTs of its own.
  EXPECT_EQ(stat(r.stats_json, "guest.kernel.tables"), 2 * 5);
  EXPECT_EQ(stat(r.stats_json, "guest.accesses"), 2 * 4 * pages);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}

TEST(TraceReplay, SameSeedSameStatistics) {
  std::string t = write_trace("det.trace", two_vcpu_body(30));
  SimConfig c = trace_cfg(t, 4);
  c.seed = 7;
  PlatformRun a = run_platform(c);
  PlatformRun b = run_platform(c);
  ASSERT_EQ(a.exit_code, 0) << a.stats_json;
  EXPECT_EQ(a.stats_json, b.stats_json);
  EXPECT_EQ(a.leaves, b.leaves);
}

TEST(TraceReplay, QueueBudgetChangesNoStatistic) {
  // The trace holds all of v0's records before v1's: with a budget of a few records the
  // replay detaches readers (tests/trace_demux_test.cpp), and the simulation must not notice.
  std::string t = write_trace("budget.trace", two_vcpu_body(30));
  SimConfig c = trace_cfg(t, 4);
  PlatformRun roomy = run_platform(c);
  c.trace_queue = 4 * sizeof(mmusim::TraceRecord);
  PlatformRun tight = run_platform(c);
  ASSERT_EQ(roomy.exit_code, 0) << roomy.stats_json;
  EXPECT_EQ(roomy.stats_json, tight.stats_json);
  EXPECT_EQ(roomy.leaves, tight.leaves);
}

TEST(TraceReplay, VcpuBeyondVcpusIsAUsageErrorNamingTheLine) {
  std::string t = write_trace("many.trace", "v0 r 0x1000\nv3 r 0x2000\n");
  try {
    mmusim::Platform p(trace_cfg(t, 2));
    FAIL() << "no error";
  } catch (const mmusim::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(t + ":3: thread: v3 but --vcpus is 2"), std::string::npos) << e.what();
  }
}

TEST(TraceReplay, UnmodelledHostEventStopsBeforeTheRun) {
  // x86 replays host mm events through its notifiers, but not memslot ioctls.
  std::string t = write_trace("ev.trace", "v0 r 0x1000\nh0 gap 10\nh0 memslot-delete 1\n");
  try {
    mmusim::Platform p(trace_cfg(t, 1));
    FAIL() << "no error";
  } catch (const mmusim::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(t + ":4: op: host event 'memslot-delete' is not modelled by --arch x86"),
              std::string::npos)
        << e.what();
  }
}

namespace {

// Records what it is asked to do and when.
struct RecordingSink : mmusim::HostEventSink {
  std::vector<std::pair<mmusim::Cycles, mmusim::HostEvent>> seen;
  bool supports(mmusim::HostEventKind k) const override { return k != mmusim::HostEventKind::Cow; }
  void apply(mmusim::Agent& a, const mmusim::HostEvent& ev) override {
    seen.push_back({a.now(), ev});
    a.advance(10);
  }
};

}  // namespace

TEST(TraceReplay, ModelledHostEventsRunOnAHostThreadAtTheirGaps) {
  std::string t = write_trace("host.trace",
                              "guest-mem 1M\nv0 w 0x1000\nh0 gap 5000\nh0 age 0x2000 0x1000\nh0 gap 1000\n"
                              "h0 ksm-merge 0x3000 0x5000\n");
  RecordingSink sink;
  mmusim::PlatformHooks hooks;
  hooks.host_events = &sink;
  mmusim::Platform p(trace_cfg(t, 1), hooks);
  p.run();
  ASSERT_EQ(sink.seen.size(), 2u);
  EXPECT_EQ(sink.seen[0].first, 5000u);
  EXPECT_EQ(sink.seen[0].second.kind, mmusim::HostEventKind::Age);
  EXPECT_EQ(sink.seen[0].second.gpa, mmusim::GuestLayout::kDataGpa + 0x2000);
  EXPECT_EQ(sink.seen[0].second.bytes, 0x1000u);
  EXPECT_EQ(sink.seen[1].first, 5000u + 10 + 1000);
  EXPECT_EQ(sink.seen[1].second.gpa2, mmusim::GuestLayout::kDataGpa + 0x5000);
  EXPECT_EQ(p.stats.value("trace.host_events"), 2u);
}

TEST(TraceReplay, SinkThatLacksAKindIsRefused) {
  std::string t = write_trace("cow.trace", "v0 w 0x1000\nh2 cow 0x0\n");
  RecordingSink sink;
  mmusim::PlatformHooks hooks;
  hooks.host_events = &sink;
  try {
    mmusim::Platform p(trace_cfg(t, 1), hooks);
    FAIL() << "no error";
  } catch (const mmusim::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(t + ":3: op: host event 'cow' is not modelled"), std::string::npos)
        << e.what();
  }
}

// mmap/munmap replay on the host mm: each takes mmap_lock for write (the VMA tree changes), and
// a vCPU whose first touch needs GUP's slow path meanwhile queues behind it.
TEST(TraceReplay, MmapAndMunmapTakeMmapLockForWrite) {
  std::string body = "space gpa\nguest-mem 1M\nh0 mmap\nh0 gap 20000\nh0 munmap\n";
  for (int i = 0; i < 64; ++i) body += "v0 w " + std::to_string(i * 4096) + "\n";
  PlatformRun r = run_platform(trace_cfg(write_trace("mmap.trace", body), 1));
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "host.mm.vma_changes"), 2);
  EXPECT_EQ(stat(r.stats_json, "host.mm.mmap_lock.write_acquire"), 2);
  EXPECT_EQ(stat(r.stats_json, "trace.host_events"), 2);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
}
