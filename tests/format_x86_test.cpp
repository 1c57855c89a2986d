// Encode/decode round trips of the two x86 formats: the guest's 64-bit paging and Intel EPT.
#include <gtest/gtest.h>

#include "models/x86/ept_format.hpp"
#include "models/x86/x86_pt_format.hpp"
#include "sim/core/error.hpp"

using namespace mmusim;

namespace {

const Perms kR{true, false, false};
const Perms kRW{true, true, false};
const Perms kRX{true, false, true};
const Perms kRWX{true, true, true};

// Index/shift math is shared by both formats (9 bits per level, 4 KiB leaves).
void check_index_math(const PageTableFormat& f) {
  EXPECT_EQ(f.index_bits(), 9u);
  EXPECT_EQ(f.shift(1), 12u);
  EXPECT_EQ(f.shift(2), 21u);
  EXPECT_EQ(f.shift(3), 30u);
  EXPECT_EQ(f.shift(4), 39u);
  EXPECT_EQ(f.shift(5), 48u);
  EXPECT_EQ(f.span(1), 4096u);
  EXPECT_EQ(f.span(2), 2u << 20);
  EXPECT_EQ(f.span(3), 1u << 30);
  // One address whose index differs at every level: 5,4,3,2,1 from the top down.
  const Addr a = (Addr(5) << 48) | (Addr(4) << 39) | (Addr(3) << 30) | (Addr(2) << 21) |
                 (Addr(1) << 12) | 0x123;
  for (unsigned l = 1; l <= 5; ++l) EXPECT_EQ(f.index(a, l), l) << "level " << l;
  EXPECT_EQ(f.index(~Addr(0), 3), 511u);
}

}  // namespace

TEST(EptFormat, LevelsAndIndexMath) {
  EptFormat f4(4), f5(5);
  EXPECT_EQ(f4.levels(), 4u);
  EXPECT_EQ(f5.levels(), 5u);
  EXPECT_STRNE(f4.name(), f5.name());
  check_index_math(f4);
  check_index_math(f5);
  EXPECT_THROW(EptFormat(3), UsageError);
  EXPECT_THROW(EptFormat(6), UsageError);
}

TEST(EptFormat, LeafAllowed) {
  EptFormat f(5);
  EXPECT_TRUE(f.leaf_allowed(1));
  EXPECT_TRUE(f.leaf_allowed(2));
  EXPECT_TRUE(f.leaf_allowed(3));
  EXPECT_FALSE(f.leaf_allowed(4));
  EXPECT_FALSE(f.leaf_allowed(5));
}

TEST(EptFormat, TableRoundTrip) {
  EptFormat f(5);
  const Addr t = 0x123456789000ull;
  const uint64_t e = f.make_table(t);
  for (unsigned l = 2; l <= 5; ++l) {
    EXPECT_TRUE(f.present(e));
    EXPECT_FALSE(f.is_leaf(e, l)) << l;
    EXPECT_EQ(f.address(e, l), t);
  }
  EXPECT_EQ(f.perms(e), kRWX);
  EXPECT_TRUE(e & EptFormat::kMmuPresent);
  EXPECT_FALSE(e & EptFormat::kLarge);
  EXPECT_THROW(f.make_table(t + 8), ModelError);
}

TEST(EptFormat, LeafAtEachLevel) {
  EptFormat f(4);
  for (unsigned l = 1; l <= 3; ++l) {
    const Addr frame = Addr(0x7) << f.shift(l);
    const uint64_t e = f.make_leaf(frame, l, kRW, false, false);
    EXPECT_TRUE(f.present(e));
    EXPECT_TRUE(f.is_leaf(e, l));
    EXPECT_EQ(f.address(e, l), frame);
    EXPECT_EQ(f.perms(e), kRW);
    EXPECT_EQ(bool(e & EptFormat::kLarge), l > 1) << "large bit only above level 1";
    EXPECT_EQ((e >> 3) & 7, 6u) << "write-back memory type";
    EXPECT_TRUE(e & EptFormat::kIgnorePat);
    EXPECT_TRUE(e & EptFormat::kMmuPresent);
  }
  EXPECT_THROW(f.make_leaf(0, 4, kRW, false, false), ModelError);
  EXPECT_THROW(f.make_leaf(0x1000, 2, kRW, false, false), ModelError);  // not 2M aligned
}

TEST(EptFormat, PermsAndAccessedDirty) {
  EptFormat f(4);
  for (unsigned bits = 0; bits < 8; ++bits) {
    Perms p{bool(bits & 1), bool(bits & 2), bool(bits & 4)};
    const uint64_t e = f.make_leaf(0x5000, 1, p, false, false);
    EXPECT_EQ(f.perms(e), p);
    EXPECT_EQ(e & 7, bits);
    // Hardware presence is any of R/W/X: a leaf with no rights is not present.
    EXPECT_EQ(f.present(e), bits != 0);
  }
  const uint64_t none = f.make_leaf(0x5000, 1, kR, false, false);
  EXPECT_FALSE(f.accessed(none));
  EXPECT_FALSE(f.dirty(none));
  const uint64_t a = f.make_leaf(0x5000, 1, kR, true, false);
  EXPECT_TRUE(f.accessed(a));
  EXPECT_FALSE(f.dirty(a));
  EXPECT_TRUE(a & (1ull << 8));
  const uint64_t ad = f.make_leaf(0x5000, 1, kRW, true, true);
  EXPECT_TRUE(f.accessed(ad));
  EXPECT_TRUE(f.dirty(ad));
  EXPECT_TRUE(ad & (1ull << 9));
}

TEST(EptFormat, PresentBitAndReservedLargeBit) {
  EptFormat f(5);
  EXPECT_FALSE(f.present(0));
  // KVM's software bit alone (e.g. a zapped-but-marked entry) is not hardware-present.
  EXPECT_FALSE(f.present(EptFormat::kMmuPresent));
  EXPECT_TRUE(f.present(EptFormat::kExec));
  // Bit 7 at levels 4 and 5 is reserved, never a leaf; at level 1 every entry is a leaf.
  const uint64_t e = f.make_table(0x1000) | EptFormat::kLarge;
  EXPECT_FALSE(f.is_leaf(e, 4));
  EXPECT_FALSE(f.is_leaf(e, 5));
  EXPECT_TRUE(f.is_leaf(e, 3));
  EXPECT_TRUE(f.is_leaf(f.make_table(0x1000), 1));
  // Address bits above 51 and below 12 are not part of the address.
  EXPECT_EQ(f.address(~uint64_t(0) & ~EptFormat::kLarge, 4), 0x000FFFFFFFFFF000ull);
}

TEST(X86PageFormat, LevelsAndIndexMath) {
  X86PageFormat f4(4), f5(5);
  EXPECT_EQ(f4.levels(), 4u);
  EXPECT_EQ(f5.levels(), 5u);
  check_index_math(f4);
  check_index_math(f5);
  EXPECT_THROW(X86PageFormat(2), UsageError);
  EXPECT_TRUE(f4.leaf_allowed(3));
  EXPECT_FALSE(f4.leaf_allowed(4));
}

TEST(X86PageFormat, TableRoundTrip) {
  X86PageFormat f(4);
  const Addr t = 0xABCDE000ull;
  const uint64_t e = f.make_table(t);
  EXPECT_EQ(e & 0xFFF, X86PageFormat::kPresent | X86PageFormat::kRw | X86PageFormat::kUser |
                           X86PageFormat::kAccessed);
  EXPECT_FALSE(e & X86PageFormat::kNx);
  for (unsigned l = 2; l <= 4; ++l) {
    EXPECT_TRUE(f.present(e));
    EXPECT_FALSE(f.is_leaf(e, l));
    EXPECT_EQ(f.address(e, l), t);
  }
  EXPECT_EQ(f.perms(e), kRWX);
}

TEST(X86PageFormat, LeafAtEachLevel) {
  X86PageFormat f(5);
  for (unsigned l = 1; l <= 3; ++l) {
    const Addr frame = Addr(0x3) << f.shift(l);
    const uint64_t e = f.make_leaf(frame, l, kRX, true, false);
    EXPECT_TRUE(f.present(e));
    EXPECT_TRUE(f.is_leaf(e, l));
    EXPECT_EQ(f.address(e, l), frame);
    EXPECT_EQ(bool(e & X86PageFormat::kPs), l > 1);
    EXPECT_EQ(f.perms(e), kRX);
    EXPECT_TRUE(f.accessed(e));
    EXPECT_FALSE(f.dirty(e));
  }
  // In a 2 MiB leaf bit 12 is PAT, not an address bit.
  const uint64_t big = f.make_leaf(0x40000000, 2, kRW, false, false) | (1ull << 12);
  EXPECT_EQ(f.address(big, 2), 0x40000000u);
  // PS in a PML4E/PML5E is not a leaf.
  EXPECT_FALSE(f.is_leaf(f.make_table(0x1000) | X86PageFormat::kPs, 4));
  EXPECT_THROW(f.make_leaf(0, 4, kRW, false, false), ModelError);
  EXPECT_THROW(f.make_leaf(0x200000 + 0x1000, 2, kRW, false, false), ModelError);
}

TEST(X86PageFormat, PermsAndAccessedDirty) {
  X86PageFormat f(4);
  const uint64_t ro = f.make_leaf(0x9000, 1, kR, false, false);
  EXPECT_EQ(f.perms(ro), kR);
  EXPECT_TRUE(ro & X86PageFormat::kNx);
  const uint64_t rwx = f.make_leaf(0x9000, 1, kRWX, true, true);
  EXPECT_EQ(f.perms(rwx), kRWX);
  EXPECT_FALSE(rwx & X86PageFormat::kNx);
  EXPECT_TRUE(f.accessed(rwx));
  EXPECT_TRUE(f.dirty(rwx));
  EXPECT_TRUE(rwx & (1ull << 5));
  EXPECT_TRUE(rwx & (1ull << 6));
  // Not present: no rights at all, whatever the other bits say.
  EXPECT_FALSE(f.present(rwx & ~X86PageFormat::kPresent));
  EXPECT_EQ(f.perms(rwx & ~X86PageFormat::kPresent).read, false);
  EXPECT_EQ(f.address(rwx | X86PageFormat::kNx, 1), 0x9000u);
}
