// The trace demultiplexer: every consumer receives exactly its thread's records in file order,
// copies of one thread each receive all of them, and a queue budget too small for the trace's
// interleaving detaches the consumer holding the excess -- which then reads the file itself and
// continues where it was, so what each consumer receives never depends on the budget.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "workloads/trace_demux.hpp"
#include "workloads/trace_reader.hpp"
#include "workloads/trace_writer.hpp"

namespace mmusim {
namespace {

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "/trace_demux_" + std::to_string(getpid()) + "_" + name;
}

// v0, v1, v2 and host thread h0. `blocked`: each thread's records in one run (all of v0 first);
// otherwise round robin.
std::string write_trace(const std::string& name, bool blocked, int per_thread) {
  std::string p = tmp(name);
  std::ofstream out(p);
  out << "mmusim-trace 1\n";
  auto line = [&](int t, int i) {
    if (t == 3) out << "h0 gap " << (i + 1) << "\n";
    else out << "v" << t << " r 0x" << std::hex << ((t + 1) << 24 | i << 12) << std::dec << " 8\n";
  };
  if (blocked) {
    for (int t = 0; t < 4; ++t)
      for (int i = 0; i < per_thread; ++i) line(t, i);
  } else {
    for (int i = 0; i < per_thread; ++i)
      for (int t = 0; t < 4; ++t) line(t, i);
  }
  return p;
}

std::vector<TraceRecord> filtered(const std::string& path, bool host, uint32_t thread) {
  TraceReader rd(path);
  rd.only(host, thread);
  std::vector<TraceRecord> out;
  for (TraceRecord r; rd.next(r);) out.push_back(r);
  return out;
}

bool same(const std::vector<TraceRecord>& a, const std::vector<TraceRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].op != b[i].op || a[i].thread != b[i].thread || a[i].host_thread != b[i].host_thread ||
        a[i].addr != b[i].addr || a[i].cycles != b[i].cycles)
      return false;
  return true;
}

struct Pull {
  unsigned id;
  std::vector<TraceRecord> got;
  bool done = false;
};

// Consumers for v0, v1, v2, h0 and a second copy of v1; they pull in a fixed rotation starting
// with the last thread of the file, the order that makes earlier threads' records queue up.
std::vector<Pull> drain(TraceDemux& d) {
  std::vector<Pull> p;
  for (uint32_t t = 0; t < 3; ++t) p.push_back({d.add_consumer(false, t), {}});
  p.push_back({d.add_consumer(true, 0), {}});
  p.push_back({d.add_consumer(false, 1), {}});
  for (bool any = true; any;) {
    any = false;
    for (size_t k = p.size(); k-- > 0;) {
      if (p[k].done) continue;
      TraceRecord r;
      if (d.next(p[k].id, r)) p[k].got.push_back(r);
      else p[k].done = true;
      any = true;
    }
  }
  return p;
}

void expect_each_gets_its_thread(const std::string& path, const std::vector<Pull>& p) {
  for (uint32_t t = 0; t < 3; ++t) EXPECT_TRUE(same(p[t].got, filtered(path, false, t))) << "v" << t;
  EXPECT_TRUE(same(p[3].got, filtered(path, true, 0))) << "h0";
  EXPECT_TRUE(same(p[4].got, p[1].got)) << "second copy of v1";
  EXPECT_EQ(p[1].got.size(), 500u);
}

TEST(TraceDemux, InterleavedTraceIsReadOnceWithShortQueues) {
  const std::string path = write_trace("rr.trace", false, 500);
  TraceDemux d(path, size_t(64) << 20);
  std::vector<Pull> p = drain(d);
  expect_each_gets_its_thread(path, p);
  EXPECT_EQ(d.detached(), 0u);
  EXPECT_LE(d.peak_queued(), 8u);  // a round of records, not the trace
}

TEST(TraceDemux, BlockedTraceWithinBudgetQueuesTheEarlierThreads) {
  const std::string path = write_trace("blocked.trace", true, 500);
  TraceDemux d(path, size_t(64) << 20);
  std::vector<Pull> p = drain(d);
  expect_each_gets_its_thread(path, p);
  EXPECT_EQ(d.detached(), 0u);
  EXPECT_GE(d.peak_queued(), 1000u);  // h0 asked first: v0's and v1's records waited
}

TEST(TraceDemux, SmallBudgetDetachesButDeliversTheSameRecords) {
  const std::string path = write_trace("budget.trace", true, 500);
  const size_t budget_records = 100;
  TraceDemux d(path, budget_records * sizeof(TraceRecord));
  std::vector<Pull> p = drain(d);
  expect_each_gets_its_thread(path, p);
  EXPECT_GT(d.detached(), 0u);
  EXPECT_LE(d.peak_queued(), budget_records + 2);  // one record over, for each copy of its thread
}

TEST(TraceDemux, BinaryTraceDemultiplexesLikeText) {
  const std::string text = write_trace("bin.trace", true, 300);
  const std::string bin = tmp("bin.bin");
  {
    TraceReader rd(text);
    TraceHeader h = rd.header();
    h.binary = true;
    TraceWriter w(bin, h, false);
    for (TraceRecord r; rd.next(r);) w.write(r);
    w.close();
  }
  TraceDemux d(bin, 50 * sizeof(TraceRecord));
  std::vector<Pull> p = drain(d);
  for (uint32_t t = 0; t < 3; ++t) EXPECT_TRUE(same(p[t].got, filtered(text, false, t))) << "v" << t;
  EXPECT_TRUE(same(p[3].got, filtered(text, true, 0)));
  EXPECT_GT(d.detached(), 0u);
}

TEST(TraceDemux, ConsumerAddedAfterReadingBeganIsRefused) {
  const std::string path = write_trace("late.trace", false, 10);
  TraceDemux d(path, 1 << 20);
  unsigned v0 = d.add_consumer(false, 0);
  TraceRecord r;
  ASSERT_TRUE(d.next(v0, r));
  EXPECT_THROW(d.add_consumer(false, 1), std::logic_error);
}

}  // namespace
}  // namespace mmusim
