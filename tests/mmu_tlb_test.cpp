// The set-associative TLB: hits and misses, LRU within a set, page sizes, tags and flushes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "sim/core/error.hpp"
#include "sim/mmu/tlb.hpp"

using namespace mmusim;

namespace {

TlbEntry entry(uint16_t tag, Addr va, unsigned shift, Addr gpa, Addr hpa) {
  TlbEntry e;
  e.tag = tag;
  e.page_shift = shift;
  e.va_base = va;
  e.gpa_base = gpa;
  e.hpa_base = hpa;
  e.perms = Perms{true, true, false};
  return e;
}

// 16 sets x 4 ways of 4K pages, 8 sets x 4 ways of 2M pages, 4 fully associative 1G entries.
Tlb l1() {
  return Tlb("l1", {{64, 4, {12}}, {32, 4, {21}}, {4, 4, {30}}});
}

constexpr Addr k4K = 1ull << 12, k2M = 1ull << 21, k1G = 1ull << 30;

}  // namespace

TEST(Tlb, MissThenHit) {
  Tlb t = l1();
  EXPECT_EQ(t.lookup(1, 0x401000), nullptr);
  t.insert(entry(1, 0x401000, 12, 0x9000, 0x77000));
  TlbEntry* e = t.lookup(1, 0x401abc);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->hpa_base, 0x77000u);
  EXPECT_EQ(e->gpa_base, 0x9000u);
  EXPECT_TRUE(e->valid);
  EXPECT_NE(e->fill_seq, 0u);
  EXPECT_EQ(t.lookup(1, 0x402000), nullptr);
  EXPECT_EQ(t.lookup(1, 0x400fff), nullptr);
  EXPECT_EQ(t.valid_entries(), 1u);
  // Refilling the same page replaces it rather than adding a second copy.
  t.insert(entry(1, 0x401000, 12, 0x9000, 0x88000));
  EXPECT_EQ(t.valid_entries(), 1u);
  EXPECT_EQ(t.lookup(1, 0x401000)->hpa_base, 0x88000u);
}

TEST(Tlb, FillSequenceIsIncreasing) {
  Tlb t = l1();
  t.insert(entry(1, 0x1000, 12, 0, 0));
  t.insert(entry(1, 0x2000, 12, 0, 0));
  EXPECT_LT(t.lookup(1, 0x1000)->fill_seq, t.lookup(1, 0x2000)->fill_seq);
}

TEST(Tlb, LruEvictionWithinASet) {
  Tlb t = l1();
  // Pages 16 apart land in the same set of a 16-set array.
  auto va = [](unsigned i) { return Addr(i) * 16 * k4K; };
  for (unsigned i = 0; i < 4; ++i) t.insert(entry(1, va(i), 12, 0, i * k4K));
  for (unsigned i = 0; i < 4; ++i) ASSERT_NE(t.lookup(1, va(i)), nullptr);
  // Touch 0 so that 1 becomes least recently used, then fill a fifth page.
  ASSERT_NE(t.lookup(1, va(0)), nullptr);
  t.insert(entry(1, va(4), 12, 0, 4 * k4K));
  EXPECT_NE(t.lookup(1, va(0)), nullptr);
  EXPECT_EQ(t.lookup(1, va(1)), nullptr) << "LRU way evicted";
  EXPECT_NE(t.lookup(1, va(2)), nullptr);
  EXPECT_NE(t.lookup(1, va(3)), nullptr);
  EXPECT_NE(t.lookup(1, va(4)), nullptr);
  // A page of another set is unaffected by this set's pressure.
  t.insert(entry(1, k4K, 12, 0, 0));
  EXPECT_EQ(t.valid_entries(), 5u);
}

TEST(Tlb, PageSizes) {
  Tlb t = l1();
  EXPECT_TRUE(t.holds_size(12));
  EXPECT_TRUE(t.holds_size(21));
  EXPECT_TRUE(t.holds_size(30));
  t.insert(entry(1, 5 * k2M, 21, 3 * k2M, 9 * k2M));
  for (Addr off : {Addr(0), k4K, k2M / 2, k2M - 1}) {
    TlbEntry* e = t.lookup(1, 5 * k2M + off);
    ASSERT_NE(e, nullptr) << off;
    EXPECT_EQ(e->page_shift, 21u);
    EXPECT_EQ(e->hpa_base, 9 * k2M);
  }
  EXPECT_EQ(t.lookup(1, 6 * k2M), nullptr);
  EXPECT_EQ(t.lookup(1, 5 * k2M - 1), nullptr);
  t.insert(entry(1, 2 * k1G, 30, 0, k1G));
  EXPECT_NE(t.lookup(1, 2 * k1G + k1G - 1), nullptr);
  EXPECT_EQ(t.lookup(1, 3 * k1G), nullptr);
  // An unaligned va_base is normalised to its page.
  t.insert(entry(1, 0x12345, 12, 0, 0));
  EXPECT_EQ(t.lookup(1, 0x12000)->va_base, 0x12000u);
}

TEST(Tlb, SizeWithoutArrayIsIgnored) {
  Tlb t("l1-4k-only", {{64, 4, {12}}});
  EXPECT_FALSE(t.holds_size(21));
  t.insert(entry(1, k2M, 21, 0, 0));
  EXPECT_EQ(t.valid_entries(), 0u);
  EXPECT_EQ(t.lookup(1, k2M), nullptr);
}

TEST(Tlb, UnifiedArrayHoldsSeveralSizes) {
  Tlb t("stlb", {{48, 12, {12, 21}}});
  EXPECT_TRUE(t.holds_size(12));
  EXPECT_TRUE(t.holds_size(21));
  // A 2M page and the first 4K page inside it share a base address but are distinct entries.
  t.insert(entry(1, k2M, 12, 0, 0xA000));
  t.insert(entry(1, k2M, 21, 0, 0x40000000));
  EXPECT_EQ(t.valid_entries(), 2u);
  EXPECT_EQ(t.lookup(1, k2M + 0x10)->page_shift, 12u);
  EXPECT_EQ(t.lookup(1, k2M + 0x1000)->page_shift, 21u);
}

TEST(Tlb, PageAtAddressZeroIsNotAFreeWay) {
  Tlb t = l1();
  // Pages 16 apart share a set of the 16-set 4K array; page 0 is one of them.
  auto va = [](unsigned i) { return Addr(i) * 16 * k4K; };
  for (unsigned i = 0; i < 4; ++i) t.insert(entry(1, va(i), 12, 0, i * k4K));
  ASSERT_NE(t.lookup(1, 0), nullptr);  // page 0 becomes the most recently used
  t.insert(entry(1, va(4), 12, 0, 0));
  EXPECT_NE(t.lookup(1, 0x123), nullptr);
  EXPECT_EQ(t.lookup(1, va(1)), nullptr) << "LRU way evicted, not page 0";
  EXPECT_EQ(t.valid_entries(), 4u);
}

TEST(Tlb, SizesComeAndGoWithTheirEntries) {
  // 4 sets x 12 ways holding 4K and 2M pages.
  Tlb t("stlb", {{48, 12, {12, 21}}});
  const Addr huge = 4 * k2M;  // 2M page number 4: set 0
  t.insert(entry(1, huge, 21, 0, 0x40000000));
  ASSERT_NE(t.lookup(1, huge + 0x5000), nullptr);
  // Twelve 4K pages of set 0 (page numbers that are multiples of 4) push the 2M page out.
  for (unsigned i = 1; i <= 12; ++i) t.insert(entry(1, Addr(i) * 4 * k4K, 12, 0, 0));
  EXPECT_EQ(t.valid_entries(), 12u);
  EXPECT_EQ(t.lookup(1, huge + 0x5000), nullptr) << "the only 2M entry was evicted";
  EXPECT_NE(t.lookup(1, 8 * k4K), nullptr);
  // A 2M page comes back (evicting the LRU 4K page), and goes again by flush_va.
  t.insert(entry(1, huge, 21, 0, 0x40000000));
  EXPECT_EQ(t.lookup(1, huge + 0x5000)->page_shift, 21u);
  EXPECT_EQ(t.lookup(1, 4 * k4K), nullptr);
  EXPECT_EQ(t.flush_va(1, huge + 0x5000), 1u);
  EXPECT_EQ(t.lookup(1, huge + 0x5000), nullptr);
  EXPECT_NE(t.lookup(1, 8 * k4K), nullptr);
  // After a full flush, either size is found again as soon as it is filled.
  t.flush_all();
  EXPECT_EQ(t.lookup(1, 8 * k4K), nullptr);
  t.insert(entry(1, huge, 21, 0, 0));
  t.insert(entry(2, 8 * k4K, 12, 0, 0));
  EXPECT_NE(t.lookup(1, huge), nullptr);
  EXPECT_NE(t.lookup(2, 8 * k4K), nullptr);
  EXPECT_EQ(t.flush_tag(2), 1u);
  EXPECT_EQ(t.lookup(2, 8 * k4K), nullptr);
  EXPECT_EQ(t.flush_gpa_range(1, 0, k2M), 1u);
  EXPECT_EQ(t.lookup(1, huge), nullptr);
  EXPECT_EQ(t.valid_entries(), 0u);
}

TEST(Tlb, SamePageOfAnotherTagInTheSameSet) {
  Tlb t = l1();
  t.insert(entry(1, 0x5000, 12, 0, 0x1000));
  t.insert(entry(2, 0x5000, 12, 0, 0x2000));
  // Refilling tag 2's page replaces tag 2's entry, never tag 1's.
  t.insert(entry(2, 0x5000, 12, 0, 0x3000));
  EXPECT_EQ(t.valid_entries(), 2u);
  EXPECT_EQ(t.lookup(1, 0x5000)->hpa_base, 0x1000u);
  EXPECT_EQ(t.lookup(2, 0x5000)->hpa_base, 0x3000u);
  EXPECT_EQ(t.flush_va(2, 0x5000), 1u);
  EXPECT_EQ(t.lookup(1, 0x5000)->hpa_base, 0x1000u);
  EXPECT_EQ(t.lookup(2, 0x5000), nullptr);
}

TEST(Tlb, TagsIsolate) {
  Tlb t = l1();
  t.insert(entry(1, 0x5000, 12, 0, 0x1000));
  t.insert(entry(2, 0x5000, 12, 0, 0x2000));
  EXPECT_EQ(t.lookup(1, 0x5000)->hpa_base, 0x1000u);
  EXPECT_EQ(t.lookup(2, 0x5000)->hpa_base, 0x2000u);
  EXPECT_EQ(t.lookup(3, 0x5000), nullptr);
}

TEST(Tlb, FlushAllAndTag) {
  Tlb t = l1();
  t.insert(entry(1, 0x1000, 12, 0, 0));
  t.insert(entry(1, k2M, 21, 0, 0));
  t.insert(entry(2, 0x1000, 12, 0, 0));
  t.insert(entry(2, k1G, 30, 0, 0));
  EXPECT_EQ(t.flush_tag(2), 2u);
  EXPECT_EQ(t.lookup(2, 0x1000), nullptr);
  EXPECT_NE(t.lookup(1, 0x1000), nullptr);
  EXPECT_EQ(t.flush_tag(2), 0u);
  EXPECT_EQ(t.flush_all(), 2u);
  EXPECT_EQ(t.valid_entries(), 0u);
  EXPECT_EQ(t.flush_all(), 0u);
}

TEST(Tlb, FlushVa) {
  Tlb t = l1();
  t.insert(entry(1, 0x200000, 21, 0, 0));  // covers 0x200000..0x3fffff
  t.insert(entry(1, 0x201000, 12, 0, 0));  // also covers 0x201000 (both sizes cached)
  t.insert(entry(1, 0x202000, 12, 0, 0));
  t.insert(entry(2, 0x201000, 12, 0, 0));
  EXPECT_EQ(t.flush_va(1, 0x201234), 2u);  // the 4K and the 2M entry covering it
  EXPECT_EQ(t.lookup(1, 0x201000), nullptr);
  EXPECT_EQ(t.lookup(1, 0x3ff000), nullptr);
  EXPECT_NE(t.lookup(1, 0x202000), nullptr);
  EXPECT_NE(t.lookup(2, 0x201000), nullptr);
  EXPECT_EQ(t.flush_va(1, 0x201234), 0u);
}

TEST(Tlb, FlushGpaRange) {
  Tlb t = l1();
  t.insert(entry(1, 0x10000, 12, 0x800000, 0));   // gpa 0x800000..0x800fff
  t.insert(entry(1, 0x11000, 12, 0x801000, 0));   // gpa 0x801000..0x801fff
  t.insert(entry(1, 0x12000, 12, 0x900000, 0));
  t.insert(entry(1, 0x400000, 21, 0x600000, 0));  // gpa 0x600000..0x7fffff
  t.insert(entry(2, 0x10000, 12, 0x800000, 0));
  EXPECT_EQ(t.flush_gpa_range(1, 0x800800, 0x1000), 2u);  // straddles two pages
  EXPECT_EQ(t.lookup(1, 0x10000), nullptr);
  EXPECT_EQ(t.lookup(1, 0x11000), nullptr);
  EXPECT_NE(t.lookup(1, 0x12000), nullptr);
  EXPECT_NE(t.lookup(2, 0x10000), nullptr);
  // The last byte of the 2M page's GPA range hits it; the byte after its range does not.
  EXPECT_EQ(t.flush_gpa_range(1, 0x800000, 1), 0u);
  EXPECT_EQ(t.flush_gpa_range(1, 0x7fffff, 1), 1u);
  EXPECT_EQ(t.lookup(1, 0x400000), nullptr);
  EXPECT_EQ(t.flush_gpa_range(1, 0x900000, 0), 0u);
  EXPECT_EQ(t.flush_gpa_range(1, 0, ~uint64_t(0)), 1u);
  EXPECT_EQ(t.valid_entries(), 1u);
}

TEST(Tlb, ForEachAndGeometryErrors) {
  Tlb t = l1();
  t.insert(entry(1, 0x1000, 12, 0, 0));
  t.insert(entry(1, k2M, 21, 0, 0));
  unsigned n = 0;
  t.for_each([&](TlbEntry& e) {
    ++n;
    e.stale = true;
  });
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(t.lookup(1, 0x1000)->stale);
  EXPECT_THROW(Tlb("bad", {{10, 4, {12}}}), UsageError);
  EXPECT_THROW(Tlb("bad-size", {{16, 4, {64}}}), UsageError);
  Tlb odd("odd", {{12, 4, {12}}});  // 3 sets: not a power of two, indexed by modulo
  for (unsigned i = 0; i < 12; ++i) odd.insert(entry(1, Addr(i) * k4K, 12, 0, 0));
  EXPECT_EQ(odd.valid_entries(), 12u);
  for (unsigned i = 0; i < 12; ++i) EXPECT_NE(odd.lookup(1, Addr(i) * k4K), nullptr);
}

TEST(Tlb, LookupThroughput) {
  // Not a benchmark gate (machines vary); it prints the rate and guards against a lookup
  // that became pathologically slow (e.g. allocating).
  Tlb t("stlb", {{64, 4, {12}}, {32, 4, {21}}, {1536, 12, {12, 21}}});
  for (unsigned i = 0; i < 64; ++i) t.insert(entry(1, Addr(i) * k4K, 12, 0, 0));
  const unsigned n = 5u << 20;  // a multiple of the 128-page cycle: half hit
  uint64_t hits = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < n; ++i) hits += t.lookup(1, Addr(i & 127) * k4K) != nullptr;
  auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(hits, n / 2);
  std::printf("TLB lookups: %.1f M/s\n", n / dt / 1e6);
  EXPECT_GT(n / dt, 2e6);
}
