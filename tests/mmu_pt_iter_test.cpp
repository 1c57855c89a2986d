// PtIter's range pre-order walk over a table tree held in a plain map (no SystemC, no memory
// model): which entries it visits and in what order, the minimum level, ranges that start and
// end inside a table, huge leaves visited once, restart after a yield, the per-leaf re-walk
// from the root, and one-table sweeps.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "models/x86/ept_format.hpp"
#include "sim/mmu/pt_iter.hpp"

using namespace mmusim;

namespace {

constexpr Addr kRoot = 0x1000, kL3 = 0x2000, kL2 = 0x3000, kL1 = 0x4000;
constexpr Addr k2M = Addr(1) << 21, k1G = Addr(1) << 30;

struct Visit {
  unsigned level;
  Addr base, entry_addr;
  bool operator==(const Visit& o) const {
    return level == o.level && base == o.base && entry_addr == o.entry_addr;
  }
};
std::ostream& operator<<(std::ostream& os, const Visit& v) {
  return os << "{L" << v.level << " base 0x" << std::hex << v.base << " at 0x" << v.entry_addr
            << std::dec << "}";
}

// root[0] -> L3 table; L3[0] -> L2 table; L2[0] -> L1 table with 4K leaves at [0] and [1];
// L2[1] a 2M leaf; L3[1] a 1G leaf. Everything else is not present.
class PtIterRange : public ::testing::Test {
 protected:
  PtIterRange() {
    mem[kRoot] = fmt.make_table(kL3);
    mem[kL3] = fmt.make_table(kL2);
    mem[kL3 + 8] = fmt.make_leaf(0x40000000, 3, rwx, true, false);
    mem[kL2] = fmt.make_table(kL1);
    mem[kL2 + 8] = fmt.make_leaf(0x200000, 2, rwx, true, false);
    mem[kL1] = fmt.make_leaf(0x10000, 1, rwx, true, false);
    mem[kL1 + 8] = fmt.make_leaf(0x11000, 1, rwx, true, false);
  }
  uint64_t read(Addr a) const {
    auto it = mem.find(a);
    return it == mem.end() ? 0 : it->second;
  }
  Visit visit(PtIter& it) {
    it.set_entry(read(it.entry_addr()));
    return {it.level(), it.base(), it.entry_addr()};
  }
  std::vector<Visit> walk(PtIter it) {
    std::vector<Visit> v;
    for (; it.valid(); it.next()) v.push_back(visit(it));
    return v;
  }

  EptFormat fmt{4};
  Perms rwx{true, true, true};
  std::map<Addr, uint64_t> mem;
};

TEST_F(PtIterRange, PreOrderStepsDownSidewaysAndUp) {
  const std::vector<Visit> v = walk(PtIter::range(fmt, kRoot, 0, 2 * k2M));
  ASSERT_EQ(v.size(), 3u + 512u + 1u);
  EXPECT_EQ(v[0], (Visit{4, 0, kRoot}));
  EXPECT_EQ(v[1], (Visit{3, 0, kL3}));
  EXPECT_EQ(v[2], (Visit{2, 0, kL2}));
  for (unsigned i = 0; i < 512; ++i) EXPECT_EQ(v[3 + i], (Visit{1, Addr(i) << 12, kL1 + i * 8}));
  // Past the last entry of the L1 table: up to L2 and sideways to the 2M leaf; the range ends
  // before the next one.
  EXPECT_EQ(v.back(), (Visit{2, k2M, kL2 + 8}));
}

TEST_F(PtIterRange, RangeStartsAndEndsInsideATable) {
  const std::vector<Visit> v = walk(PtIter::range(fmt, kRoot, 0x5800, 0x8000));
  const std::vector<Visit> want = {{4, 0, kRoot},          {3, 0, kL3},
                                   {2, 0, kL2},            {1, 0x5000, kL1 + 5 * 8},
                                   {1, 0x6000, kL1 + 6 * 8}, {1, 0x7000, kL1 + 7 * 8}};
  EXPECT_EQ(v, want);
  EXPECT_TRUE(walk(PtIter::range(fmt, kRoot, 0x5000, 0x5000)).empty());
}

TEST_F(PtIterRange, MinimumLevelStopsTheDescent) {
  const std::vector<Visit> v = walk(PtIter::range(fmt, kRoot, 0, 2 * k2M, 2));
  const std::vector<Visit> want = {{4, 0, kRoot}, {3, 0, kL3}, {2, 0, kL2}, {2, k2M, kL2 + 8}};
  EXPECT_EQ(v, want);
}

TEST_F(PtIterRange, HugeLeavesAreVisitedOnceAndSkipped) {
  const std::vector<Visit> v = walk(PtIter::range(fmt, kRoot, 0, 2 * k1G + 1));
  // root, L3[0], L2[0], 512 L1 entries, the other 511 L2 entries, L3[1] (1G leaf), L3[2].
  ASSERT_EQ(v.size(), 3u + 512u + 511u + 2u);
  EXPECT_EQ(v[3 + 512], (Visit{2, k2M, kL2 + 8}));
  EXPECT_EQ(v[3 + 512 + 511], (Visit{3, k1G, kL3 + 8}));
  EXPECT_EQ(v.back(), (Visit{3, 2 * k1G, kL3 + 16}));
  for (const Visit& x : v) EXPECT_FALSE(x.base > k1G && x.base < 2 * k1G) << x;
}

TEST_F(PtIterRange, RestartAfterAYieldResumesAtTheCurrentEntryFromTheRoot) {
  PtIter it = PtIter::range(fmt, kRoot, 0, 2 * k2M);
  std::vector<Visit> v;
  bool yielded = false;
  while (it.valid()) {
    if (!yielded && it.level() == 1 && it.base() == 0xA000) {
      yielded = true;  // dropped the locks here, before handling this entry
      it.restart();
      continue;
    }
    v.push_back(visit(it));
    it.next();
  }
  // Up to L1[9]; then root, L3[0], L2[0] again and L1[10] onwards.
  ASSERT_EQ(v.size(), 3u + 10u + 3u + 502u + 1u);
  EXPECT_EQ(v[12], (Visit{1, 0x9000, kL1 + 9 * 8}));
  EXPECT_EQ(v[13], (Visit{4, 0, kRoot}));
  EXPECT_EQ(v[15], (Visit{2, 0, kL2}));
  EXPECT_EQ(v[16], (Visit{1, 0xA000, kL1 + 10 * 8}));
}

TEST_F(PtIterRange, RestartFollowsWhatChangedDuringTheYield) {
  PtIter it = PtIter::range(fmt, kRoot, 0, 2 * k1G);
  std::vector<Visit> v;
  while (it.valid()) {
    if (it.level() == 1 && it.base() == 0x2000 && read(kL3)) {
      mem.erase(kL3);  // another thread zapped L3[0] while we had yielded
      it.restart();
      continue;
    }
    v.push_back(visit(it));
    it.next();
  }
  // root, L3[0], L2[0], L1[0..1]; then root, L3[0] (now a hole), L3[1] (the 1G leaf).
  const std::vector<Visit> want = {{4, 0, kRoot},      {3, 0, kL3},        {2, 0, kL2},
                                   {1, 0, kL1},        {1, 0x1000, kL1 + 8}, {4, 0, kRoot},
                                   {3, 0, kL3},        {3, k1G, kL3 + 8}};
  EXPECT_EQ(v, want);
}

TEST_F(PtIterRange, NextFromRootRewalksForEachWalkEnd) {
  PtIter it = PtIter::range(fmt, kRoot, 0x1FF000, 3 * k2M);
  std::vector<Visit> v;
  while (it.valid()) {
    v.push_back(visit(it));
    if (it.can_descend())
      it.next();
    else
      it.next_from_root();
  }
  const std::vector<Visit> want = {
      {4, 0, kRoot}, {3, 0, kL3}, {2, 0, kL2}, {1, 0x1FF000, kL1 + 511 * 8},  // last 4K entry
      {4, 0, kRoot}, {3, 0, kL3}, {2, k2M, kL2 + 8},                          // the 2M leaf
      {4, 0, kRoot}, {3, 0, kL3}, {2, 2 * k2M, kL2 + 16}};                    // a hole
  EXPECT_EQ(v, want);
}

TEST_F(PtIterRange, OneTableSweepNeverStepsDown) {
  const std::vector<Visit> v = walk(PtIter::table(fmt, kL2, 2, 0));
  ASSERT_EQ(v.size(), 512u);
  for (unsigned i = 0; i < 512; ++i) EXPECT_EQ(v[i], (Visit{2, Addr(i) * k2M, kL2 + i * 8}));
}

TEST_F(PtIterRange, OneAddressDescentMatchesTheRangeWalk) {
  PtIter one(fmt, kRoot, 0x1234);
  std::vector<Visit> v;
  while (true) {
    v.push_back(visit(one));
    if (!one.can_descend()) break;
    one.descend();
  }
  EXPECT_EQ(v, walk(PtIter::range(fmt, kRoot, 0x1234, 0x1235)));
  EXPECT_EQ(v.back(), (Visit{1, 0x1000, kL1 + 8}));
}

}  // namespace
