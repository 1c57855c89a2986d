// PhysMem (sparse functional backing store) and PagePool (page-table page allocator with
// liveness). Pure logic: no SystemC kernel involved.
#include <gtest/gtest.h>

#include "sim/core/error.hpp"
#include "sim/mem/phys_mem.hpp"

using namespace mmusim;

TEST(PhysMem, UnbackedWordsReadZeroWithoutBackingAPage) {
  PhysMem m;
  EXPECT_EQ(m.read64(0x1000), 0u);
  EXPECT_EQ(m.read64(phys_layout::kKernelBase + 8), 0u);
  EXPECT_EQ(m.backed_pages(), 0u);
}

TEST(PhysMem, WriteThenReadBackPerWord) {
  PhysMem m;
  m.write64(0x2000, 0x1111);
  m.write64(0x2008, 0x2222);
  m.write64(0x3ff8, 0x3333);  // last word of the next page
  EXPECT_EQ(m.read64(0x2000), 0x1111u);
  EXPECT_EQ(m.read64(0x2008), 0x2222u);
  EXPECT_EQ(m.read64(0x2010), 0u);
  EXPECT_EQ(m.read64(0x3ff8), 0x3333u);
  EXPECT_EQ(m.backed_pages(), 2u);
  // Alternate pages: consecutive lookups never hit the same page.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(m.read64(0x2008), 0x2222u);
    EXPECT_EQ(m.read64(0x3ff8), 0x3333u);
  }
}

TEST(PhysMem, WordPointerBacksAndAliasesTheStoredWord) {
  PhysMem m;
  uint64_t* w = m.word(0x5010);
  EXPECT_EQ(*w, 0u);
  EXPECT_EQ(m.backed_pages(), 1u);
  *w = 77;
  EXPECT_EQ(m.read64(0x5010), 77u);
  m.write64(0x5010, 78);
  EXPECT_EQ(*w, 78u);
}

TEST(PhysMem, ZeroPageClearsOnlyThatPage) {
  PhysMem m;
  m.write64(0x4000, 1);
  m.write64(0x4ff8, 2);
  m.write64(0x5000, 3);
  m.zero_page(0x4000);
  EXPECT_EQ(m.read64(0x4000), 0u);
  EXPECT_EQ(m.read64(0x4ff8), 0u);
  EXPECT_EQ(m.read64(0x5000), 3u);
  m.zero_page(0x9000);  // unbacked: stays unbacked
  EXPECT_EQ(m.backed_pages(), 2u);
}

TEST(PhysMem, DropPageForgetsContentsOfARecentlyReadPage) {
  PhysMem m;
  m.write64(0x7000, 9);
  EXPECT_EQ(m.read64(0x7000), 9u);  // looked up just before the drop
  m.drop_page(0x7000);
  EXPECT_EQ(m.backed_pages(), 0u);
  EXPECT_EQ(m.read64(0x7000), 0u);
  m.write64(0x7008, 5);  // backs a fresh, zeroed page
  EXPECT_EQ(m.read64(0x7000), 0u);
  EXPECT_EQ(m.read64(0x7008), 5u);
}

TEST(PhysMem, MisalignedAccessIsAModelError) {
  PhysMem m;
  EXPECT_THROW(m.read64(0x1004), ModelError);
  EXPECT_THROW(m.write64(0x1001, 1), ModelError);
  EXPECT_THROW(m.word(0x1002), ModelError);
}

// PhysMem indexes the page-table, kernel and data windows directly and hashes everything else;
// the two must be indistinguishable from outside.
TEST(PhysMem, WindowsAndTheRestOfTheAddressSpaceBehaveAlike) {
  const Addr addrs[] = {
      phys_layout::kDataBase + (Addr(1) << 30) + 0x18,     // data window (guest tables)
      phys_layout::kPageTableBase + 5 * kPageSize + 0x20,  // page-table window
      phys_layout::kKernelBase + 0x1040,                   // kernel window
      phys_layout::kPageTableBase + (PhysMem::kDensePages << kPageShift) + 8,  // window's end
      Addr(3) << 44,                                       // above the windows
      Addr(1) << 63,
  };
  PhysMem m;
  size_t backed = 0;
  for (const Addr a : addrs) {
    EXPECT_EQ(m.read64(a), 0u);
    m.write64(a, a ^ 0x5a5a);
    EXPECT_EQ(m.backed_pages(), ++backed);
    uint64_t* w = m.word(a);
    EXPECT_EQ(*w, a ^ 0x5a5a);
    *w += 1;
    EXPECT_EQ(m.backed_pages(), backed);  // the same page again
  }
  for (const Addr a : addrs) {
    EXPECT_EQ(m.read64(a), (a ^ 0x5a5a) + 1);
    EXPECT_EQ(m.read64(a + 8), 0u);           // same page, other word
    EXPECT_EQ(m.read64(a + kPageSize), 0u);   // next page, never backed
  }
  EXPECT_EQ(m.backed_pages(), backed);  // reads back nothing
  m.zero_page(addrs[1]);
  m.zero_page(addrs[4]);
  EXPECT_EQ(m.read64(addrs[1]), 0u);
  EXPECT_EQ(m.read64(addrs[4]), 0u);
  EXPECT_EQ(m.read64(addrs[2]), (addrs[2] ^ 0x5a5a) + 1);
  for (const Addr a : addrs) {
    m.drop_page(a);
    EXPECT_EQ(m.backed_pages(), --backed);
    EXPECT_EQ(m.read64(a), 0u);
    m.drop_page(a);  // dropping an unbacked page is harmless
    EXPECT_EQ(m.backed_pages(), backed);
  }
}

TEST(PhysMem, PeekSeesWindowWordsWithoutBackingAndDefersTheRest) {
  PhysMem m;
  const Addr in = phys_layout::kKernelBase + 0x208;
  const Addr out = Addr(3) << 44;
  ASSERT_NE(m.peek(in), nullptr);
  EXPECT_EQ(*m.peek(in), 0u);  // unbacked: a zero, and nothing is backed for it
  EXPECT_EQ(m.backed_pages(), 0u);
  m.write64(in, 42);
  EXPECT_EQ(m.peek(in), m.word(in));
  EXPECT_EQ(*m.peek(in), 42u);
  EXPECT_EQ(m.peek(out), nullptr);  // outside the windows only read64() can tell
  m.write64(out, 7);
  EXPECT_EQ(m.peek(out), nullptr);
  EXPECT_EQ(m.read64(out), 7u);
}

// A window's vector starts at the first page backed there; a page backed below it later moves
// the start down (peek, the direct path, then sees it) without moving any page, as long as the
// window's dense span still covers everything. A page too far below stays in the hash map.
TEST(PhysMem, APageBackedBelowAWindowsStartJoinsTheWindow) {
  PhysMem m;
  const Addr base = phys_layout::kKernelBase + 16 * kPageSize;
  m.write64(base + 2 * kPageSize, 1);
  uint64_t* first = m.word(base + 2 * kPageSize);
  EXPECT_EQ(m.peek(base), nullptr);  // below the vector's start: only read64() can tell
  m.write64(base, 2);
  ASSERT_NE(m.peek(base), nullptr);
  EXPECT_EQ(*m.peek(base), 2u);
  EXPECT_EQ(m.word(base + 2 * kPageSize), first);  // the page did not move
  EXPECT_EQ(*first, 1u);
  ASSERT_NE(m.peek(base + kPageSize), nullptr);  // between: unbacked, reads zero
  EXPECT_EQ(*m.peek(base + kPageSize), 0u);
  EXPECT_EQ(m.backed_pages(), 2u);
  // Beyond the dense span below: kept in the map, still a plain page.
  const Addr top = phys_layout::kPageTableBase + (PhysMem::kDensePages << kPageShift);
  m.write64(top, 3);
  m.write64(phys_layout::kPageTableBase, 4);  // the window's vector would be one too long
  EXPECT_EQ(m.peek(phys_layout::kPageTableBase), nullptr);
  EXPECT_EQ(m.read64(phys_layout::kPageTableBase), 4u);
  EXPECT_EQ(m.read64(top), 3u);
  m.drop_page(base);
  EXPECT_EQ(m.read64(base), 0u);
  EXPECT_EQ(m.read64(base + 2 * kPageSize), 1u);
  EXPECT_EQ(m.backed_pages(), 3u);
}

TEST(PagePool, AllocReturnsDistinctZeroedPagesInsideThePool) {
  PhysMem m;
  PagePool pool(m);
  const Addr a = pool.alloc();
  const Addr b = pool.alloc();
  EXPECT_NE(a, b);
  EXPECT_TRUE(pool.owns(a));
  EXPECT_EQ(a % kPageSize, 0u);
  EXPECT_GE(a, phys_layout::kPageTableBase);
  for (Addr off = 0; off < kPageSize; off += 8) EXPECT_EQ(m.read64(a + off), 0u);
  EXPECT_TRUE(pool.live(a));
  EXPECT_TRUE(pool.live(b + 0x123));  // any address within the page
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_EQ(pool.peak(), 2u);
}

TEST(PagePool, FreedPageIsNotLiveAndIsReusedLastInFirstOutZeroed) {
  PhysMem m;
  PagePool pool(m);
  const Addr a = pool.alloc();
  const Addr b = pool.alloc();
  const Addr c = pool.alloc();
  m.write64(b + 16, 0xdead);
  m.write64(c + 8, 0xbeef);
  pool.free(b);
  pool.free(c);
  EXPECT_FALSE(pool.live(b));
  EXPECT_FALSE(pool.live(c + 8));
  EXPECT_TRUE(pool.live(a));
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.peak(), 3u);
  EXPECT_EQ(pool.alloc(), c);  // last freed comes back first
  EXPECT_EQ(m.read64(c + 8), 0u);  // and is zeroed again
  EXPECT_EQ(pool.alloc(), b);
  EXPECT_EQ(m.read64(b + 16), 0u);
  EXPECT_TRUE(pool.live(b));
  const Addr d = pool.alloc();  // free list empty: a fresh page
  EXPECT_NE(d, a);
  EXPECT_NE(d, b);
  EXPECT_NE(d, c);
  EXPECT_EQ(pool.in_use(), 4u);
}

TEST(PagePool, DoubleFreeAndForeignPagesThrow) {
  PhysMem m;
  PagePool pool(m);
  const Addr a = pool.alloc();
  pool.free(a);
  EXPECT_THROW(pool.free(a), ModelError);
  EXPECT_THROW(pool.free(0x1000), ModelError);  // not ours
  EXPECT_THROW(pool.free(phys_layout::kPageTableBase + 100 * kPageSize), ModelError);  // not given
  const Addr b = pool.alloc();
  EXPECT_THROW(pool.free(b + 8), ModelError);  // not a page start
  EXPECT_TRUE(pool.live(b));
  EXPECT_FALSE(pool.live(0x1000));
  EXPECT_FALSE(pool.live(phys_layout::kPageTableBase - kPageSize));  // just below the pool
  EXPECT_FALSE(pool.live(phys_layout::kPageTableBase + 100 * kPageSize));  // never handed out
}

TEST(PagePool, ExhaustionThrows) {
  PhysMem m;
  PagePool pool(m, phys_layout::kPageTableBase, 2);
  pool.alloc();
  const Addr b = pool.alloc();
  EXPECT_THROW(pool.alloc(), ModelError);
  EXPECT_FALSE(pool.live(b + kPageSize));  // past the pool's end
  pool.free(b);
  EXPECT_EQ(pool.alloc(), b);
}
