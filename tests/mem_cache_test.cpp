// Timing and coherence engine of the memory system, driven through MemorySystem::access (no
// simulation kernel: modules are only constructed). Expected latencies follow the composition
// documented in sim/mem/memory_system.hpp, with MemorySystemParams' default latencies. The rig
// puts its CPUs on one socket unless a test says otherwise.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <type_traits>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/mem/cache_array.hpp"
#include "sim/mem/directory.hpp"
#include "sim/mem/huge_page_allocator.hpp"
#include "sim/mem/memory_system.hpp"

using namespace mmusim;

namespace {

// Accesses without an explicit time happen one after the other, each long after the one before
// has completed, so none waits for another's transaction on its line.
constexpr Cycles kNext = ~Cycles(0);

struct Rig {
  explicit Rig(const MemorySystemParams& c)
      : cfg(c), ms(std::make_unique<MemorySystem>("mem", cfg, clock, mem, stats)) {}
  Cycles at(Cycles when) {
    if (when != kNext) return when;
    now += 100000;
    return now;
  }
  Cycles op(int cpu, Addr a, MemOp o, MemClass cls, Cycles when = kNext) {
    return ms->access(cpu, a, o, cls, at(when));
  }
  Cycles rd(int cpu, Addr a, Cycles when = kNext) { return op(cpu, a, MemOp::Read, MemClass::Data, when); }
  Cycles wr(int cpu, Addr a, Cycles when = kNext) { return op(cpu, a, MemOp::Write, MemClass::Data, when); }
  Cycles now = 0;
  uint64_t n(const char* name) const { return stats.value(name); }
  Clock clock{1.0, sc_core::sc_get_curr_simcontext()};
  MemorySystemParams cfg;
  PhysMem mem;
  Stats stats;
  std::unique_ptr<MemorySystem> ms;
};

MemorySystemParams base_config() {
  MemorySystemParams c;
  c.pcpus = 4;
  c.sockets = 1;
  return c;
}

const MemorySystemParams kLat;                  // the defaults the expectations use
const Cycles kDram = kLat.llc_hit + kLat.dram;  // an LLC miss on an idle channel

}  // namespace

// Two sockets, CPUs 0-1 on the first and 2-3 on the second: a line modified by CPU 0 reaches
// CPU 1 at the local transfer latency and CPU 2 at the remote one; only that one counts as
// remote.
TEST(MemCache, ModifiedLineFromTheOtherSocketCostsTheRemoteTransfer) {
  MemorySystemParams c = base_config();
  c.sockets = 2;
  Rig r(c);
  const Addr x = 0x4000, y = 0x8000;
  r.wr(0, x);
  EXPECT_EQ(r.rd(1, x), kLat.c2c_transfer);
  EXPECT_EQ(r.n("mem.coherence.c2c_remote"), 0u);
  r.wr(0, y);
  EXPECT_EQ(r.rd(2, y), kLat.c2c_remote);
  EXPECT_EQ(r.n("mem.coherence.c2c"), 2u);
  EXPECT_EQ(r.n("mem.coherence.c2c_remote"), 1u);
  EXPECT_GT(kLat.c2c_remote, kLat.c2c_transfer);
}

TEST(MemCache, FirstReadGoesToDramThenHitsL1) {
  Rig r(base_config());
  EXPECT_FALSE(r.ms->in_llc(0x1000));
  EXPECT_EQ(r.rd(0, 0x1000), kDram);
  EXPECT_EQ(r.n("mem.l1.miss"), 1u);
  EXPECT_EQ(r.n("mem.l2.miss"), 1u);
  EXPECT_EQ(r.n("mem.llc.miss"), 1u);
  EXPECT_EQ(r.n("mem.dram.accesses"), 1u);
  EXPECT_TRUE(r.ms->in_private(0, 0x1000));
  EXPECT_TRUE(r.ms->in_llc(0x1000));
  EXPECT_FALSE(r.ms->in_private(1, 0x1000));
  // Same line, another word: an L1 hit.
  EXPECT_EQ(r.rd(0, 0x1038), kLat.l1_hit);
  EXPECT_EQ(r.n("mem.l1.hit"), 1u);
  EXPECT_EQ(r.n("mem.dram.accesses"), 1u);
  EXPECT_EQ(r.n("mem.class.data"), 2u);
}

TEST(MemCache, LruEvictionFromTinyL1FallsBackToL2) {
  MemorySystemParams c = base_config();
  c.l1_size = 2 * 2 * kLineSize;  // 2 sets x 2 ways
  c.l1_ways = 2;
  Rig r(c);
  const Addr a = 0x000, b = 0x080, d = 0x100;  // even line numbers: all in L1 set 0
  r.rd(0, a);
  r.rd(0, b);
  EXPECT_EQ(r.rd(0, a), kLat.l1_hit);  // a is now more recent than b
  r.rd(0, d);                          // evicts b (LRU), not a (oldest fill)
  EXPECT_EQ(r.rd(0, a), kLat.l1_hit);
  EXPECT_EQ(r.rd(0, b), kLat.l2_hit);  // b fell back to L2 and refills L1, evicting d
  EXPECT_EQ(r.n("mem.l2.hit"), 1u);
  EXPECT_EQ(r.rd(0, d), kLat.l2_hit);
  EXPECT_EQ(r.rd(0, 0x040), kDram);  // odd line: set 1, unaffected
}

TEST(MemCache, L2EvictionRemovesLineFromL1) {
  MemorySystemParams c = base_config();
  c.l1_size = 2 * kLineSize;  // 1 set x 2 ways
  c.l1_ways = 2;
  c.l2_size = 2 * kLineSize;  // 1 set x 2 ways
  c.l2_ways = 2;
  Rig r(c);
  r.rd(0, 0x000);
  r.rd(0, 0x040);
  EXPECT_EQ(r.rd(0, 0x000), kLat.l1_hit);  // L1 hit also refreshes the line in L2
  r.rd(0, 0x080);                          // L2 evicts 0x040, L1 evicts 0x040 too
  EXPECT_TRUE(r.ms->in_private(0, 0x000));
  EXPECT_FALSE(r.ms->in_private(0, 0x040));
  EXPECT_EQ(r.rd(0, 0x040), kLat.llc_hit);  // still in the LLC
}

TEST(MemCache, RemoteWriteInvalidatesAndModifiedLineIsTransferredCacheToCache) {
  Rig r(base_config());
  const Addr x = 0x4000;
  EXPECT_EQ(r.rd(0, x), kDram);  // cpu 0 holds x Exclusive
  EXPECT_EQ(r.wr(1, x), kLat.llc_hit + kLat.invalidate);
  EXPECT_EQ(r.n("mem.coherence.invalidations"), 1u);
  EXPECT_FALSE(r.ms->in_private(0, x));
  EXPECT_TRUE(r.ms->in_private(1, x));
  // cpu 0 misses its private caches; cpu 1's modified copy supplies the line.
  EXPECT_EQ(r.rd(0, x), kLat.c2c_transfer);
  EXPECT_EQ(r.n("mem.coherence.c2c"), 1u);
  EXPECT_EQ(r.n("mem.l1.miss"), 3u);
  EXPECT_EQ(r.n("mem.l2.miss"), 3u);
  // Both now share it; cpu 1 writing again pays an invalidation round from its L1.
  EXPECT_EQ(r.wr(1, x), kLat.l1_hit + kLat.invalidate);
  EXPECT_EQ(r.n("mem.coherence.invalidations"), 2u);
  EXPECT_FALSE(r.ms->in_private(0, x));
  // Held Modified: further writes and reads are plain L1 hits.
  EXPECT_EQ(r.wr(1, x), kLat.l1_hit);
  EXPECT_EQ(r.rd(1, x), kLat.l1_hit);
  EXPECT_EQ(r.n("mem.coherence.invalidations"), 2u);
}

TEST(MemCache, ExclusiveLineIsWrittenSilentlyAndCleanOwnerNeedsNoTransfer) {
  Rig r(base_config());
  const Addr y = 0x8000, z = 0x9000;
  r.rd(0, y);                          // Exclusive
  EXPECT_EQ(r.wr(0, y), kLat.l1_hit);  // E -> M without the directory
  EXPECT_EQ(r.n("mem.coherence.invalidations"), 0u);
  EXPECT_EQ(r.rd(2, y), kLat.c2c_transfer);  // the silent upgrade was not lost
  EXPECT_TRUE(r.ms->in_private(0, y));       // owner keeps a Shared copy
  // A clean Exclusive owner just downgrades: the LLC serves the read.
  r.rd(0, z);
  EXPECT_EQ(r.rd(1, z), kLat.llc_hit);
  EXPECT_EQ(r.n("mem.coherence.c2c"), 1u);
  EXPECT_EQ(r.wr(0, z), kLat.l1_hit + kLat.invalidate);  // now Shared: must invalidate cpu 1
  EXPECT_FALSE(r.ms->in_private(1, z));
}

TEST(MemCache, SharedLineWhoseOtherHoldersLeftIsWrittenWithoutInvalidation) {
  MemorySystemParams c = base_config();
  c.l1_size = kLineSize;  // 1 line each, so one more read evicts
  c.l1_ways = 1;
  c.l2_size = kLineSize;
  c.l2_ways = 1;
  Rig r(c);
  r.rd(0, 0x000);
  r.rd(1, 0x000);  // both Shared
  r.rd(1, 0x040);  // cpu 1's L2 evicts 0x000 and tells the directory
  EXPECT_FALSE(r.ms->in_private(1, 0x000));
  EXPECT_EQ(r.wr(0, 0x000), kLat.l1_hit);
  EXPECT_EQ(r.n("mem.coherence.invalidations"), 0u);
  EXPECT_EQ(r.rd(1, 0x000), kLat.c2c_transfer);  // and cpu 0 did become the modified owner
}

TEST(MemCache, WriteMissOnRemotelyModifiedLinePaysTransferAndInvalidate) {
  Rig r(base_config());
  r.wr(0, 0x100);
  EXPECT_EQ(r.wr(1, 0x100), kLat.c2c_transfer + kLat.invalidate);
  EXPECT_EQ(r.n("mem.coherence.c2c"), 1u);
  EXPECT_EQ(r.n("mem.coherence.invalidations"), 1u);
  EXPECT_FALSE(r.ms->in_private(0, 0x100));
}

TEST(MemCache, AtomicsAddTheLockedRmwCost) {
  Rig r(base_config());
  const Addr w = phys_layout::kKernelBase + 0x40;
  EXPECT_EQ(r.op(0, w, MemOp::FetchAdd, MemClass::Sync), kDram + kLat.atomic);
  EXPECT_EQ(r.op(0, w, MemOp::Cmpxchg, MemClass::Sync), kLat.l1_hit + kLat.atomic);
  EXPECT_EQ(r.op(0, w, MemOp::Xchg, MemClass::Sync), kLat.l1_hit + kLat.atomic);
  EXPECT_EQ(r.op(0, w, MemOp::FetchOr, MemClass::Sync), kLat.l1_hit + kLat.atomic);
  EXPECT_EQ(r.op(0, w, MemOp::FetchAnd, MemClass::Sync), kLat.l1_hit + kLat.atomic);
  EXPECT_EQ(r.op(1, w, MemOp::Read, MemClass::Sync), kLat.c2c_transfer);
  // Shared with cpu 1: the atomic pays the invalidation round as well.
  EXPECT_EQ(r.op(0, w, MemOp::Cmpxchg, MemClass::Sync),
            kLat.l1_hit + kLat.invalidate + kLat.atomic);
  EXPECT_EQ(r.n("mem.class.sync"), 7u);
  EXPECT_EQ(r.n("mem.class.data"), 0u);
  r.op(2, 0x0, MemOp::Read, MemClass::PageTable);
  EXPECT_EQ(r.n("mem.class.page_table"), 1u);
}

TEST(MemCache, SimultaneousMissesOnOneDramChannelQueue) {
  MemorySystemParams c = base_config();
  c.dram_channels = 2;
  Rig r(c);
  const Cycles t = 1000;
  // Line numbers 0 and 2 share channel 0; line 1 is on channel 1.
  EXPECT_EQ(r.rd(0, 0x000, t), kDram);
  EXPECT_EQ(r.rd(1, 0x080, t), kDram + kLat.dram_occupancy);
  EXPECT_EQ(r.rd(2, 0x040, t), kDram);
  EXPECT_EQ(r.rd(3, 0x100, t), kDram + 2 * kLat.dram_occupancy);
  // Once the channel is free again, no wait.
  EXPECT_EQ(r.rd(0, 0x200, t + 10 * kLat.dram_occupancy), kDram);
  const Histogram* h = r.stats.find_histogram("mem.dram.queue_wait");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->count(), 5u);
  EXPECT_EQ(h->sum(), 3 * kLat.dram_occupancy);
  EXPECT_EQ(h->max(), 2 * kLat.dram_occupancy);
  EXPECT_EQ(r.n("mem.dram.accesses"), 5u);
}

// The directory handles one transaction per line at a time (docs/ARCHITECTURE.md, "Memory
// system"): requests that meet a line in transfer wait for it.
TEST(MemCache, RequestsForALineInTransferWaitForIt) {
  Rig r(base_config());
  const Addr x = 0x3000;
  const Cycles t = 1000;
  // cpu 0's miss holds the line until DRAM has delivered it; cpu 1 asks at the same instant and
  // gets it from cpu 0's cache after that.
  EXPECT_EQ(r.wr(0, x, t), kDram);
  EXPECT_EQ(r.rd(1, x, t), kDram + kLat.c2c_transfer);
  const Histogram* h = r.stats.find_histogram("mem.coherence.line_wait");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->count(), 1u);
  EXPECT_EQ(h->sum(), kDram);
  // Another line at the same instant does not wait.
  EXPECT_EQ(r.rd(2, 0x3040, t), kDram);
  EXPECT_EQ(h->count(), 1u);
}

TEST(MemCache, AtomicsOnOneLineFromManyCoresSerialise) {
  Rig r(base_config());
  const Addr w = phys_layout::kKernelBase + 0x80;
  r.op(0, w, MemOp::FetchAdd, MemClass::Sync);  // cpu 0 holds it Modified
  const Cycles t = r.at(kNext);
  // Three cores take the line for an atomic at once: each transfer, invalidation and locked
  // read-modify-write must finish before the next can start.
  const Cycles one = kLat.c2c_transfer + kLat.invalidate + kLat.atomic;
  for (int cpu = 1; cpu <= 3; ++cpu)
    EXPECT_EQ(r.op(cpu, w, MemOp::FetchAdd, MemClass::Sync, t), Cycles(cpu) * one) << cpu;
  // Later, once all of that is over, the same request costs one transfer again.
  EXPECT_EQ(r.op(1, w, MemOp::FetchAdd, MemClass::Sync), one);
}

TEST(MemCache, ReadersOfACleanSharedLineDoNotQueue) {
  Rig r(base_config());
  const Addr x = 0x7000;
  r.rd(0, x);
  r.rd(1, x);  // now Shared by two, clean: the LLC serves further readers alone
  const Cycles t = r.at(kNext);
  for (int cpu = 2; cpu < 4; ++cpu) EXPECT_EQ(r.rd(cpu, x, t), kLat.llc_hit) << cpu;
  EXPECT_EQ(r.stats.find_histogram("mem.coherence.line_wait")->count(), 0u);
}

TEST(MemCache, LlcEvictionBackInvalidatesPrivateCopiesAndWritesBackModified) {
  MemorySystemParams c = base_config();
  c.llc_size = 2 * kLineSize;  // 1 set x 2 ways: the third line evicts
  c.llc_ways = 2;
  Rig r(c);
  const Addr a = 0x000, b = 0x040, d = 0x080, e = 0x0c0;
  r.rd(0, a);  // clean
  r.wr(0, b);  // modified in cpu 0's L1
  r.rd(1, d);  // LLC evicts a (LRU)
  EXPECT_FALSE(r.ms->in_llc(a));
  EXPECT_FALSE(r.ms->in_private(0, a));
  EXPECT_TRUE(r.ms->in_private(0, b));
  EXPECT_EQ(r.n("mem.llc.back_invalidations"), 1u);
  EXPECT_EQ(r.n("mem.writebacks"), 0u);
  r.rd(1, e);  // evicts b, modified in cpu 0: written back
  EXPECT_FALSE(r.ms->in_private(0, b));
  EXPECT_EQ(r.n("mem.writebacks"), 1u);
  EXPECT_EQ(r.n("mem.llc.back_invalidations"), 2u);
  EXPECT_EQ(r.rd(0, b), kDram);  // gone from everywhere: DRAM again
  EXPECT_EQ(r.rd(0, a), kDram);
}

TEST(MemCache, DowngradedModifiedLineLeavesTheLlcDirty) {
  MemorySystemParams c = base_config();
  c.llc_size = 2 * kLineSize;
  c.llc_ways = 2;
  Rig r(c);
  r.wr(0, 0x000);
  EXPECT_EQ(r.rd(1, 0x000), kLat.c2c_transfer);  // both Shared now; LLC got the data
  r.rd(2, 0x040);
  r.rd(2, 0x080);  // evicts 0x000 from the LLC: no private copy is modified, the LLC copy is
  EXPECT_EQ(r.n("mem.writebacks"), 1u);
  EXPECT_FALSE(r.ms->in_private(0, 0x000));
  EXPECT_FALSE(r.ms->in_private(1, 0x000));
}

TEST(MemCache, PrivateEvictionOfModifiedLineMakesLlcDirty) {
  MemorySystemParams c = base_config();
  c.l1_size = kLineSize;  // 1 line
  c.l1_ways = 1;
  c.l2_size = kLineSize;
  c.l2_ways = 1;
  c.llc_size = 2 * kLineSize;
  c.llc_ways = 2;
  Rig r(c);
  r.wr(0, 0x000);
  r.rd(0, 0x040);  // L2 evicts 0x000 (modified) into the LLC
  EXPECT_FALSE(r.ms->in_private(0, 0x000));
  EXPECT_EQ(r.n("mem.writebacks"), 0u);
  r.rd(1, 0x080);  // LLC evicts 0x000: dirty there
  EXPECT_EQ(r.n("mem.writebacks"), 1u);
  EXPECT_EQ(r.n("mem.llc.back_invalidations"), 0u);  // nobody held it privately
}

TEST(MemCache, SharersScaleToThousandsOfCpus) {
  MemorySystemParams c = base_config();
  c.pcpus = 4096;
  c.l1_size = 2 * kLineSize;
  c.l1_ways = 2;
  c.l2_size = 4 * kLineSize;
  c.l2_ways = 4;
  c.llc_size = 64 * kLineSize;
  c.llc_ways = 4;
  Rig r(c);
  const Addr lock = phys_layout::kKernelBase;
  EXPECT_EQ(r.rd(0, lock), kDram);
  for (int cpu = 1; cpu < 4096; ++cpu) ASSERT_EQ(r.rd(cpu, lock), kLat.llc_hit) << cpu;
  for (int cpu = 0; cpu < 4096; ++cpu) ASSERT_TRUE(r.ms->in_private(cpu, lock)) << cpu;
  EXPECT_EQ(r.op(4095, lock, MemOp::Xchg, MemClass::Sync),
            kLat.l1_hit + kLat.invalidate + kLat.atomic);
  EXPECT_EQ(r.n("mem.coherence.invalidations"), 1u);  // one round, however many sharers
  for (int cpu = 0; cpu < 4095; ++cpu) ASSERT_FALSE(r.ms->in_private(cpu, lock)) << cpu;
  EXPECT_EQ(r.rd(17, lock), kLat.c2c_transfer);
  EXPECT_THROW(r.rd(4096, lock), ModelError);
}

TEST(MemCache, PerformImplementsEveryOperation) {
  Rig r(base_config());
  const Addr w = phys_layout::kKernelBase + 8;
  EXPECT_EQ(r.ms->perform(w, MemOp::Read, 0, 0), 0u);
  EXPECT_EQ(r.mem.backed_pages(), 0u);  // reading a zero word backs nothing
  EXPECT_EQ(r.ms->perform(w, MemOp::Write, 5, 0), 0u);
  EXPECT_EQ(r.mem.read64(w), 5u);
  EXPECT_EQ(r.ms->perform(w, MemOp::Cmpxchg, 9, 5), 5u);  // succeeds
  EXPECT_EQ(r.mem.read64(w), 9u);
  EXPECT_EQ(r.ms->perform(w, MemOp::Cmpxchg, 11, 5), 9u);  // fails: unchanged
  EXPECT_EQ(r.mem.read64(w), 9u);
  EXPECT_EQ(r.ms->perform(w, MemOp::Xchg, 3, 0), 9u);
  EXPECT_EQ(r.ms->perform(w, MemOp::FetchAdd, ~uint64_t(0), 0), 3u);  // adds -1, wrapping
  EXPECT_EQ(r.ms->perform(w, MemOp::FetchOr, 0x10, 0), 2u);  // sets a bit
  EXPECT_EQ(r.mem.read64(w), 0x12u);
  EXPECT_EQ(r.ms->perform(w, MemOp::FetchAnd, ~uint64_t(0x10), 0), 0x12u);  // clears it
  EXPECT_EQ(r.ms->perform(w, MemOp::Read, 0, 0), 2u);
  EXPECT_THROW(r.ms->perform(w + 4, MemOp::Read, 0, 0), ModelError);
}

TEST(MemCache, ImpossibleGeometryIsAUsageError) {
  MemorySystemParams c = base_config();
  c.l2_size = 1000;
  PhysMem m;
  Stats s;
  const Clock clock{1.0, sc_core::sc_get_curr_simcontext()};
  EXPECT_THROW(MemorySystem("bad", c, clock, m, s), UsageError);
  EXPECT_THROW(TagArray(3 * kLineSize, 2, "x"), UsageError);  // not a multiple of ways x line
  EXPECT_THROW(TagArray(4 * kLineSize, 0, "x"), UsageError);
}

TEST(TagArray, TrueLruSurvivesStampRenormalisation) {
  TagArray t(4 * kLineSize, 4, "test");  // 1 set x 4 ways
  ASSERT_EQ(t.sets(), 1u);
  for (uint64_t line = 0; line < 4; ++line) t.fill(t.victim(line + 10), line + 10);
  t.touch(t.find(10));  // recency now 11 < 12 < 13 < 10
  t.set_clock_for_test(~uint32_t(0) - 2);
  t.touch(t.find(11));  // 12 < 13 < 10 < 11; the clock wraps on one of these touches
  t.touch(t.find(12));  // 13 < 10 < 11 < 12
  EXPECT_EQ(t.tag(t.victim(99)), 13u);
  t.touch(t.find(13));
  EXPECT_EQ(t.tag(t.victim(99)), 10u);
  const uint32_t s11 = t.find(11);  // the most recent line but one
  t.invalidate(s11);
  EXPECT_EQ(t.find(11), TagArray::kNone);
  EXPECT_EQ(t.victim(99), s11);  // an empty way is preferred over the LRU line
}

// find / victim / touch / invalidate against a plain reference model (way order for empty ways,
// 64-bit use counts for recency) over random traffic, for several geometries (odd set counts,
// way counts that are and are not multiples of four), across stamp renormalisations, and with
// the unchecked touch a caller may use when touch_renormalizes() says no. The linked form (the
// private caches') must choose the same slots, and each slot's link must stay with its line.
template <class Array>
void expect_reference_true_lru() {
  constexpr bool kLinked = std::is_same_v<Array, LinkedTagArray>;
  const auto link_of = [](uint64_t line) { return uint32_t(line * 2654435761u + 1); };
  struct Geometry {
    uint32_t sets;
    unsigned ways;
  };
  for (const Geometry g : {Geometry{4, 12}, Geometry{3, 5}, Geometry{2, 16}, Geometry{1, 1},
                           Geometry{2, 20}, Geometry{1, 33}}) {
    Array t(uint64_t(g.sets) * g.ways * kLineSize, g.ways, "test");
    const uint32_t slots = g.sets * g.ways;
    std::vector<uint64_t> tag(slots, TagArray::kInvalid), used(slots, 0);
    uint64_t now = 0;
    std::mt19937_64 rng(g.sets * 100 + g.ways);
    for (int i = 0; i < 20000; ++i) {
      if (i % 5000 == 4000) t.set_clock_for_test(~uint32_t(0) - 3);  // renormalise soon
      const uint64_t line = rng() % (3 * slots + 1);
      const uint32_t base = uint32_t(line % g.sets) * g.ways;
      uint32_t want = TagArray::kNone;
      for (unsigned w = 0; w < g.ways; ++w)
        if (tag[base + w] == line) want = base + w;
      const uint32_t s = t.find(line);
      ASSERT_EQ(s, want) << "find, step " << i;
      if constexpr (kLinked) {
        if (s != TagArray::kNone) {
          ASSERT_EQ(t.link(s), link_of(line)) << "link, step " << i;
        }
      }
      if (s != TagArray::kNone && rng() % 8 == 0) {
        t.invalidate(s);
        tag[s] = TagArray::kInvalid;
        continue;
      }
      if (s != TagArray::kNone) {
        if (!t.touch_renormalizes() && rng() % 2)
          t.touch_unchecked(s);
        else
          t.touch(s);
        used[s] = ++now;
        continue;
      }
      uint32_t v = TagArray::kNone;
      for (unsigned w = 0; w < g.ways && v == TagArray::kNone; ++w)
        if (tag[base + w] == TagArray::kInvalid) v = base + w;
      if (v == TagArray::kNone) {
        v = base;
        for (unsigned w = 1; w < g.ways; ++w)
          if (used[base + w] < used[v]) v = base + w;
      }
      ASSERT_EQ(t.victim(line), v) << "victim, step " << i;
      EXPECT_EQ(t.valid(v), tag[v] != TagArray::kInvalid);
      t.fill(v, line);
      if constexpr (kLinked) t.set_link(v, link_of(line));
      tag[v] = line;
      used[v] = ++now;
    }
  }
}

TEST(TagArray, MatchesAReferenceTrueLruModel) { expect_reference_true_lru<TagArray>(); }
TEST(LinkedTagArray, MatchesAReferenceTrueLruModelAndKeepsLinks) {
  expect_reference_true_lru<LinkedTagArray>();
}

TEST(SharerSet, InlineThenBitsetAndBack) {
  SharerSet s;
  EXPECT_TRUE(s.empty());
  s.add(7);
  s.add(3);
  s.add(7);  // duplicate
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.heap_words(), 0u);  // common case stays inline
  EXPECT_EQ(s.first(), 3u);
  s.remove(3);
  EXPECT_EQ(s.first(), 7u);
  for (unsigned cpu = 0; cpu < 4096; cpu += 3) s.add(cpu);
  EXPECT_GT(s.heap_words(), 0u);
  EXPECT_EQ(s.size(), 1366u + 1u);  // multiples of 3 below 4096, plus 7
  EXPECT_TRUE(s.contains(4095));
  EXPECT_TRUE(s.contains(7));
  EXPECT_FALSE(s.contains(4094));
  s.remove(0);
  EXPECT_EQ(s.first(), 3u);
  std::vector<unsigned> seen;
  s.for_each([&](unsigned cpu) { seen.push_back(cpu); });
  EXPECT_EQ(seen.size(), s.size());
  EXPECT_EQ(seen.front(), 3u);
  EXPECT_EQ(seen.back(), 4095u);
  SharerSet moved(std::move(s));
  EXPECT_EQ(moved.size(), 1366u);
  EXPECT_EQ(s.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  moved.clear();
  EXPECT_EQ(moved.heap_words(), 0u);
  moved.add(65535);
  EXPECT_TRUE(moved.contains(65535));
  EXPECT_THROW(moved.add(65536), ModelError);
}

// The large arrays' allocator: a block of 2 MiB or more starts on a 2 MiB boundary (so the host
// can back it with huge pages); smaller ones come from the ordinary heap; both hold what was
// written.
TEST(HugePageAllocator, LargeBlocksAreHugePageAlignedAndHoldTheirContents) {
  std::vector<uint64_t, HugePageAllocator<uint64_t>> big(size_t(3) << 18, 7);  // 6 MiB
  std::vector<uint64_t, HugePageAllocator<uint64_t>> small(100, 9);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % (size_t(2) << 20), 0u);
  big.back() = 42;
  EXPECT_EQ(big.front(), 7u);
  EXPECT_EQ(big.back(), 42u);
  EXPECT_EQ(small[99], 9u);
}
