// The Linux MIPS PTE format: software bits vs the V/D bits the TLB sees, and the kernel helpers
// that keep them in step (what makes old pages and clean pages trap on MIPS).
#include <gtest/gtest.h>

#include "models/mips/mips_pte_format.hpp"
#include "sim/core/error.hpp"

using namespace mmusim;
using F = MipsPteFormat;

TEST(MipsPteFormat, LevelsAndIndexMath) {
  F gpa(3), guest(4);
  EXPECT_EQ(gpa.levels(), 3u);
  EXPECT_EQ(guest.levels(), 4u);
  EXPECT_EQ(gpa.span(3), uint64_t(1) << 30);
  const Addr a = (Addr(3) << 30) | (Addr(2) << 21) | (Addr(1) << 12);
  for (unsigned l = 1; l <= 3; ++l) EXPECT_EQ(gpa.index(a, l), l);
  EXPECT_THROW(F(2), UsageError);
  EXPECT_TRUE(gpa.leaf_allowed(1));
  EXPECT_FALSE(gpa.leaf_allowed(2));
}

TEST(MipsPteFormat, YoungAndDirtyDriveTheHardwareBits) {
  F f(3);
  const Addr frame = 0x12345000;
  uint64_t e = f.make_leaf(frame, 1, Perms{true, true, true}, false, false);
  EXPECT_TRUE(f.present(e));
  EXPECT_EQ(f.address(e, 1), frame);
  EXPECT_FALSE(f.perms(e).read);  // old: invalid to the TLB
  e = F::mkyoung(e);
  EXPECT_TRUE(f.perms(e).read);
  EXPECT_FALSE(f.perms(e).write);  // clean: a write traps
  e = F::mkdirty(e);
  EXPECT_TRUE(f.perms(e).write);
  EXPECT_TRUE(f.dirty(e));
  EXPECT_FALSE(f.perms(F::mkclean(e)).write);
  EXPECT_FALSE(f.perms(F::mkold(e)).read);
  EXPECT_FALSE(f.perms(F::mkold(e)).write);
  uint64_t wp = F::wrprotect(e);
  EXPECT_FALSE(f.perms(wp).write);
  EXPECT_TRUE(f.dirty(wp));  // still modified in software
  // A write-protected page made dirty stays unwritable to the TLB.
  EXPECT_FALSE(f.perms(F::mkdirty(F::mkclean(wp))).write);
  // EntryLo keeps pfn, V, D and the cache attribute, not the software bits.
  uint64_t lo = F::entrylo(e);
  EXPECT_EQ(lo & F::kAddrMask, frame);
  EXPECT_TRUE(lo & F::kValid);
  EXPECT_TRUE(lo & F::kDirty);
  EXPECT_FALSE(lo & F::kAccessed);
  EXPECT_FALSE(lo & F::kModified);
}

TEST(MipsPteFormat, UnreadablePageNeverBecomesValid) {
  F f(3);
  uint64_t e = f.make_leaf(0x1000, 1, Perms{false, false, false}, true, true);
  EXPECT_FALSE(f.perms(e).read);
  EXPECT_FALSE(f.perms(e).write);
}

TEST(MipsPteFormat, TablesAndGuestLeaves) {
  F f(3);
  uint64_t t = f.make_table(0x7000);
  EXPECT_TRUE(f.present(t));
  EXPECT_EQ(f.address(t, 2), 0x7000u);
  EXPECT_FALSE(f.present(0));
  EXPECT_THROW(f.make_table(0x7001), ModelError);
  MipsGuestFormat g;
  // The harness asks for neither accessed nor dirty; the guest kernel pre-faults them.
  uint64_t e = g.make_leaf(0x2000, 1, Perms{true, true, true}, false, false);
  EXPECT_TRUE(g.perms(e).read);
  EXPECT_TRUE(g.perms(e).write);
}
