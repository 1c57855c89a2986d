// Data versions and cache maintenance to the Point of Coherency: cacheable accesses
// see the coherent version, non-cacheable ones DRAM's; clean writes dirty lines back, invalidate
// discards them, each CMO costs per line and level. Driven through MemPort -> b_transport.
#include <gtest/gtest.h>

#include <systemc>

#include "sim/core/clock.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/memory_system.hpp"
#include "tests/mem_test_harness.hpp"

using namespace mmusim;
using mmusim::testing::MemInitiator;
using mmusim::testing::MemRig;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {

// The tests' clock runs at 1 GHz (KernelParams' default): one cycle per nanosecond.
Cycles cyc(const sc_time& t) { return Cycles(t / sc_core::sc_time(1, sc_core::SC_NS)); }

}  // namespace

TEST(MemPoc, DirtyLineIsStaleInDramUntilCleanedToPoc) {
  const Addr a = 0x10040;
  MemPort::DataVersion nc_before, nc_after, cached;
  uint64_t written = 0;
  Cycles clean_cost = 0, clean_again_cost = 0;
  MemRig rig([&](MemInitiator& in) {
    sc_time d = SC_ZERO_TIME;
    written = in.port0.write_data(a, true, d);  // cacheable: dirty in CPU 0's cache
    nc_before = in.port1.read_data(a, false, d);  // MMU-off reader: DRAM's version
    cached = in.port1.read_data(a, true, d);      // coherent reader: the new version
    // Each maintenance operation issued once the previous access completed (a CMO waits for a
    // transaction still holding its line).
    sc_time t = d;
    in.port0.cmo(a, 64, MemOp::CmoClean, t);
    clean_cost = cyc(t - d);
    sc_time t2 = t;
    in.port0.cmo(a, 64, MemOp::CmoClean, t2);  // nothing dirty any more
    clean_again_cost = cyc(t2 - t);
    d = t2;
    nc_after = in.port1.read_data(a, false, d);
  });
  rig.run();
  EXPECT_GT(written, 0u);
  EXPECT_LT(nc_before.seen, nc_before.latest);  // the stale case the oracle looks for
  EXPECT_EQ(nc_before.latest, written);
  EXPECT_EQ(cached.seen, written);
  EXPECT_EQ(nc_after.seen, written);
  EXPECT_EQ(rig.stats.value("mem.cmo.writebacks"), 1u);
  // The clean that wrote back waited for DRAM; the second one only looked at every level.
  EXPECT_EQ(clean_again_cost, 3 * rig.cfg.cmo_line_level);
  EXPECT_GE(clean_cost, clean_again_cost + rig.cfg.dram);
}

TEST(MemPoc, CleanInvalidateWritesBackAndDropsEveryCopy) {
  const Addr a = 0x20000;
  uint64_t w = 0;
  MemPort::DataVersion nc;
  bool cached0 = true, cached1 = true, llc = true;
  MemRig rig([&](MemInitiator& in) {
    sc_time d = SC_ZERO_TIME;
    w = in.port0.write_data(a, true, d);
    in.port1.read_data(a, true, d);  // now shared by both CPUs
    in.port1.cmo(a, 64, MemOp::CmoCleanInval, d);
    nc = in.port0.read_data(a, false, d);
  });
  rig.run();
  cached0 = rig.ms->in_private(0, a);
  cached1 = rig.ms->in_private(1, a);
  llc = rig.ms->in_llc(a);
  EXPECT_FALSE(cached0);
  EXPECT_FALSE(cached1);
  EXPECT_FALSE(llc);
  EXPECT_EQ(nc.seen, w);
  EXPECT_EQ(nc.latest, w);
}

TEST(MemPoc, InvalidateDiscardsDirtyDataAndRangeCostsPerLine) {
  const Addr a = 0x30000;
  MemPort::DataVersion after;
  Cycles range_cost = 0;
  MemRig rig([&](MemInitiator& in) {
    sc_time d = SC_ZERO_TIME;
    in.port0.write_data(a, true, d);
    in.port0.cmo(a, 64, MemOp::CmoInval, d);
    after = in.port0.read_data(a, true, d);  // refetched from DRAM: the old version
    sc_time t = SC_ZERO_TIME;
    in.port0.cmo(0x800000, 4096, MemOp::CmoCleanInval, t);  // 64 lines nobody caches
    range_cost = cyc(t);
  });
  rig.run();
  EXPECT_LT(after.seen, after.latest);
  EXPECT_EQ(rig.stats.value("mem.cmo.writebacks"), 0u);
  EXPECT_EQ(range_cost, 64 * 3 * rig.cfg.cmo_line_level);
  EXPECT_EQ(rig.stats.value("mem.cmo.lines"), 1u + 64u);
}

// The writebacks of a window of cleans overlap: the core issues the next DC CVAC while the
// last one's dirty line travels to DRAM, and only the window's end waits for them all. A clean
// of 64 dirty lines therefore costs its issue plus about one DRAM write, not 64 of them.
TEST(MemPoc, CleaningDirtyLinesOverlapsTheirWritebacks) {
  const Addr a = 0x400000;
  Cycles clean_cost = 0;
  MemRig rig([&](MemInitiator& in) {
    sc_time d = SC_ZERO_TIME;
    for (Addr l = 0; l < 64; ++l) in.port0.write_data(a + l * kLineSize, true, d);
    sc_time t = d;
    in.port0.cmo(a, 64 * kLineSize, MemOp::CmoClean, t);
    clean_cost = cyc(t - d);
  });
  rig.run();
  EXPECT_EQ(rig.stats.value("mem.cmo.writebacks"), 64u);
  const Cycles issue = 64 * 3 * rig.cfg.cmo_line_level;
  // The last line's writeback starts once that line is issued and takes DRAM's latency.
  EXPECT_GE(clean_cost, issue - 3 * rig.cfg.cmo_line_level + rig.cfg.dram);
  EXPECT_LT(clean_cost, issue + 2 * rig.cfg.dram);
}

// Zeroing stores leave the zeroes in the caches: DRAM keeps what the frame held before, which a
// reader past the caches (a guest with its MMU off) sees until the line is cleaned to the PoC.
// A line nobody versioned before counts too (its DRAM version is the frame's unknown past).
TEST(MemPoc, ZeroedLinesAreStaleInDramUntilCleaned) {
  const Addr a = 0x500000, fresh = 0x600000;
  MemPort::DataVersion nc_old, nc_fresh, nc_cleaned;
  uint64_t written = 0;
  MemRig rig([&](MemInitiator& in) {
    sc_time d = SC_ZERO_TIME;
    written = in.port0.write_data(a, true, d);  // versioned data from here on
    in.port0.cmo(a, 64, MemOp::CmoCleanInval, d);  // DRAM holds `written`, no cache does
    for (Addr p : {a, fresh})
      for (uint64_t done = 0; done < kPageSize;)
        done += in.port0.zero_lines(p + done, kPageSize - done, d);
    nc_old = in.port1.read_data(a, false, d);
    nc_fresh = in.port1.read_data(fresh, false, d);
    in.port0.cmo(a, 64, MemOp::CmoClean, d);
    nc_cleaned = in.port1.read_data(a, false, d);
  });
  rig.run();
  EXPECT_EQ(nc_old.seen, written);  // the old contents, not the zeroes
  EXPECT_GT(nc_old.latest, written);
  EXPECT_LT(nc_fresh.seen, nc_fresh.latest);
  EXPECT_EQ(nc_cleaned.seen, nc_cleaned.latest);
}

// Cache maintenance by VA goes to each line's home node (docs/ARCHITECTURE.md, Memory system):
// one core alone is bounded by its own issue rate, two cores cleaning at the same instant share
// the node's throughput and the second waits.
TEST(MemPoc, ConcurrentMaintenanceSharesTheHomeNodes) {
  const Addr range = 0x800000;
  const uint64_t bytes = 256 * kLineSize;  // one window
  Cycles first = 0, second = 0, later = 0;
  uint64_t covered = 0;
  MemRig rig(
      [&](MemInitiator& in) {
        sc_time d0 = SC_ZERO_TIME, d1 = SC_ZERO_TIME;
        covered = in.port0.cmo(range, bytes, MemOp::CmoCleanInval, d0);
        in.port1.cmo(range, bytes, MemOp::CmoCleanInval, d1);  // same instant, other core
        first = cyc(d0);
        second = cyc(d1);
        sc_time d2 = sc_time(1, sc_core::SC_MS);  // long after: the node is free again
        const sc_time start = d2;
        in.port1.cmo(range, bytes, MemOp::CmoCleanInval, d2);
        later = cyc(d2 - start);
      },
      [](MemorySystemParams& p) {
        p.home_nodes = 1;
        p.cmo_line_level = 4;       // 256 lines x 3 levels x 4 = 3072 cycles to issue a window
        p.home_node_occupancy = 8;  // 256 x 8 = 2048 cycles per window, under the issue time
      });
  rig.run();
  const Cycles issue = 256 * 3 * rig.cfg.cmo_line_level;
  EXPECT_EQ(covered, bytes);
  EXPECT_EQ(first, issue);       // alone: its own issue rate
  EXPECT_EQ(second, 2 * 2048u);  // behind the first core's 2048 cycles at the node
  EXPECT_EQ(later, issue);
  EXPECT_EQ(rig.stats.find_histogram("mem.cmo.home_wait")->count(), 1u);
}

// A range longer than one window is covered by several calls, each returning what it covered.
TEST(MemPoc, MaintenanceOfALongRangeIsIssuedInWindows) {
  uint64_t covered = 0;
  MemRig rig([&](MemInitiator& in) {
    sc_time d = SC_ZERO_TIME;
    covered = in.port0.cmo(0x800000, 1 << 20, MemOp::CmoClean, d);
  });
  rig.run();
  EXPECT_EQ(covered, 256 * kLineSize);
  EXPECT_EQ(rig.stats.value("mem.cmo.lines"), 256u);
}

TEST(MemPoc, NonCacheableWriteLeavesStaleCachedCopy) {
  const Addr a = 0x40000;
  uint64_t w1 = 0, w2 = 0;
  MemPort::DataVersion cached, nc;
  MemRig rig([&](MemInitiator& in) {
    sc_time d = SC_ZERO_TIME;
    w1 = in.port0.write_data(a, true, d);
    in.port0.cmo(a, 64, MemOp::CmoClean, d);
    w2 = in.port1.write_data(a, false, d);  // host writes through a non-cacheable alias
    cached = in.port0.read_data(a, true, d);
    nc = in.port1.read_data(a, false, d);
  });
  rig.run();
  EXPECT_EQ(cached.seen, w1);  // the clean cached copy still holds the older data
  EXPECT_EQ(cached.latest, w2);
  EXPECT_EQ(nc.seen, w2);
}
