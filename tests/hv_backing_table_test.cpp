// The host memory manager's flat record of backing pages (sim/hv/backing_table.hpp): it must
// behave as the map keyed by base gfn that it replaced.
#include <gtest/gtest.h>

#include "sim/hv/backing_table.hpp"

namespace mmusim {
namespace {

TEST(BackingTable, AbsentKeysReadAsNoRecord) {
  BackingTable t;
  EXPECT_FALSE(t.contains(0));
  EXPECT_FALSE(t.get(12345).present);
  t.erase(777);  // erasing what is not there is harmless and allocates nothing
  EXPECT_EQ(t.chunks(), 0u);
}

TEST(BackingTable, RecordsRoundTripEveryField) {
  BackingTable t;
  const Addr far = Addr(1) << 50;  // frames far above 4 GiB keep every bit
  t.put(5, {true, far + 0x7000, 1, true, false});
  t.put(512, {true, 0x40000000, 2, false, true});
  t.put(1ull << 18, {true, 0x80000000, 3, true, true});
  auto a = t.get(5), b = t.get(512), c = t.get(1ull << 18);
  EXPECT_TRUE(a.present && a.ready && !a.writable);
  EXPECT_EQ(a.hpa_base, far + 0x7000);
  EXPECT_EQ(a.level, 1u);
  EXPECT_TRUE(b.present && !b.ready && b.writable);
  EXPECT_EQ(b.hpa_base, 0x40000000u);
  EXPECT_EQ(b.level, 2u);
  EXPECT_EQ(c.level, 3u);
  EXPECT_FALSE(t.contains(6));  // a neighbour in the same chunk stays absent
}

TEST(BackingTable, GetOrDefaultKeepsAnExistingRecordAndMakesTheDefaultOtherwise) {
  BackingTable t;
  t.put(9, {true, 0x9000, 1, true, false});
  auto kept = t.get_or_default(9);
  EXPECT_EQ(kept.hpa_base, 0x9000u);
  EXPECT_FALSE(kept.writable);
  auto made = t.get_or_default(10);  // what operator[] of the old map created
  EXPECT_TRUE(made.present);
  EXPECT_EQ(made.hpa_base, 0u);
  EXPECT_EQ(made.level, 1u);
  EXPECT_FALSE(made.ready);
  EXPECT_TRUE(made.writable);
  EXPECT_TRUE(t.contains(10));
}

TEST(BackingTable, EraseRemovesOnlyThatKey) {
  BackingTable t;
  t.put(100, {true, 0x1000, 1, true, true});
  t.put(101, {true, 0x2000, 1, true, true});
  t.erase(100);
  EXPECT_FALSE(t.contains(100));
  EXPECT_EQ(t.get(101).hpa_base, 0x2000u);
}

TEST(BackingTable, StorageGrowsWithTheRegionsBackedNotWithTheirSpread) {
  BackingTable t;
  // 512 consecutive gfns share one chunk; gfns 1 GiB apart need one chunk each.
  for (uint64_t g = 0; g < 512; ++g) t.put(g, {true, g << 12, 1, true, true});
  EXPECT_EQ(t.chunks(), 1u);
  for (uint64_t k = 1; k <= 4; ++k) t.put(k << 18, {true, 0, 1, true, true});
  EXPECT_EQ(t.chunks(), 5u);
}

}  // namespace
}  // namespace mmusim
