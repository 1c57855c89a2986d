// arm64 descriptor formats: stage-1 (4K granule, 4 levels) and stage-2 (IPA size, start level,
// concatenated start-level tables) encode and decode, and the walk index math they imply.
#include <gtest/gtest.h>

#include "models/arm64/arm64_s1_format.hpp"
#include "models/arm64/arm64_s2_format.hpp"
#include "sim/core/error.hpp"
#include "sim/mmu/pt_iter.hpp"

using namespace mmusim;

TEST(FormatArm64, Stage2PageDescriptorBitsAndRoundTrip) {
  Arm64S2Format f(40, 0);
  const Addr frame = 0x123456000ull;
  const uint64_t e = f.make_leaf(frame, 1, Perms{true, false, false}, true, false);
  EXPECT_EQ(e & 3u, 3u);                                // page descriptor 0b11
  EXPECT_NE(e & Arm64S2Format::kS2apRead, 0u);          // S2AP[0]
  EXPECT_EQ(e & Arm64S2Format::kS2apWrite, 0u);         // read-only
  EXPECT_NE(e & Arm64S2Format::kXn, 0u);                // not executable
  EXPECT_NE(e & vmsa::kAf, 0u);
  EXPECT_EQ((e >> 8) & 3u, 3u);                         // inner shareable
  EXPECT_EQ(f.memattr(e), Arm64S2Format::kMemAttrNormalWb);
  EXPECT_TRUE(f.present(e));
  EXPECT_TRUE(f.is_leaf(e, 1));
  EXPECT_EQ(f.address(e, 1), frame);
  EXPECT_EQ(f.perms(e), (Perms{true, false, false}));
  EXPECT_TRUE(f.accessed(e));
  EXPECT_FALSE(f.dirty(e));
  // Relaxation widens rights in place, keeping the frame and attributes.
  const uint64_t r = f.relax(e, Perms{true, true, true});
  EXPECT_EQ(f.perms(r), (Perms{true, true, true}));
  EXPECT_EQ(f.address(r, 1), frame);
  EXPECT_EQ(r & ~(Arm64S2Format::kS2apWrite | Arm64S2Format::kXn), e & ~Arm64S2Format::kXn);
}

TEST(FormatArm64, Stage2BlocksAndTables) {
  Arm64S2Format f(40, 0);
  const uint64_t b2m = f.make_leaf(0x40200000ull, 2, Perms{true, true, false}, true, true);
  EXPECT_EQ(b2m & 3u, 1u);  // block descriptor 0b01
  EXPECT_TRUE(f.is_leaf(b2m, 2));
  EXPECT_TRUE(f.dirty(b2m));
  EXPECT_EQ(f.address(b2m, 2), 0x40200000ull);
  const uint64_t b1g = f.make_leaf(0x80000000ull, 3, Perms{true, true, true}, true, false);
  EXPECT_TRUE(f.is_leaf(b1g, 3));
  EXPECT_EQ(f.address(b1g, 3), 0x80000000ull);
  EXPECT_THROW(f.make_leaf(0x40201000ull, 2, Perms{true, true, true}, true, false), ModelError);
  EXPECT_THROW(f.make_leaf(0, 4, Perms{true, true, true}, true, false), ModelError);
  const uint64_t t = f.make_table(0x100000001000ull);
  EXPECT_EQ(t & 3u, 3u);
  EXPECT_FALSE(f.is_leaf(t, 2));
  EXPECT_EQ(f.address(t, 2), 0x100000001000ull);
  // KVM's locked marker is invalid, and recognisable.
  EXPECT_FALSE(f.present(Arm64S2Format::kInvalidLocked));
  EXPECT_TRUE(f.locked(Arm64S2Format::kInvalidLocked));
  EXPECT_FALSE(f.locked(0));
}

TEST(FormatArm64, Stage2StartLevelAndConcatenation) {
  // 40-bit IPA as KVM sets it up: start at Arm level 1 (3 levels) with 2 concatenated tables.
  Arm64S2Format a(40, 0);
  EXPECT_EQ(a.levels(), 3u);
  EXPECT_EQ(a.arm_start_level(), 1u);
  EXPECT_EQ(a.root_pages(), 2u);
  EXPECT_EQ(a.entries_at(3), 1024u);
  EXPECT_EQ(a.entries_at(2), 512u);
  // IPA bit 39 selects the second concatenated table.
  EXPECT_EQ(a.index(Addr(1) << 39, 3), 512u);
  PtIter it(a, 0x100000000000ull, (Addr(1) << 39) + (Addr(3) << 30));
  EXPECT_EQ(it.entry_addr(), 0x100000000000ull + 515 * 8);
  // 43 bits: 16 tables; 44 bits: 4 levels with a partial level-0 table (32 entries).
  EXPECT_EQ(Arm64S2Format(43, 0).root_pages(), 16u);
  Arm64S2Format b(44, 0);
  EXPECT_EQ(b.levels(), 4u);
  EXPECT_EQ(b.root_pages(), 1u);
  EXPECT_EQ(b.entries_at(4), 32u);
  EXPECT_EQ(Arm64S2Format(48, 0).entries_at(4), 512u);
  // 36 bits fit one table at level 1; explicitly asking for 4 levels still works (2 entries).
  EXPECT_EQ(Arm64S2Format(36, 0).levels(), 3u);
  EXPECT_EQ(Arm64S2Format(40, 4).entries_at(4), 2u);
  // Not architectural: 48 bits in 3 levels would need 512 tables; 32 bits in 4 levels none.
  EXPECT_THROW(Arm64S2Format(48, 3), UsageError);
  EXPECT_THROW(Arm64S2Format(32, 4), UsageError);
}

TEST(FormatArm64, Stage1UserPagesAsLinuxBuildsThem) {
  Arm64S1Format f;
  EXPECT_EQ(f.levels(), 4u);
  const uint64_t rw = f.make_leaf(0x200000ull, 1, Perms{true, true, false}, true, true);
  EXPECT_EQ(rw & 3u, 3u);
  EXPECT_NE(rw & Arm64S1Format::kApUser, 0u);
  EXPECT_EQ(rw & Arm64S1Format::kApRdonly, 0u);
  EXPECT_NE(rw & Arm64S1Format::kUxn, 0u);
  EXPECT_NE(rw & Arm64S1Format::kPxn, 0u);
  EXPECT_NE(rw & Arm64S1Format::kNg, 0u);
  EXPECT_EQ(f.perms(rw), (Perms{true, true, false}));
  EXPECT_TRUE(f.dirty(rw));
  EXPECT_TRUE(f.accessed(rw));
  const uint64_t ro = f.make_leaf(0x40000000ull, 3, Perms{true, false, true}, false, false);
  EXPECT_EQ(ro & 3u, 1u);
  EXPECT_TRUE(f.is_leaf(ro, 3));
  EXPECT_EQ(f.perms(ro), (Perms{true, false, true}));
  EXPECT_FALSE(f.accessed(ro));
  const uint64_t t = f.make_table(0x5000);
  EXPECT_FALSE(f.is_leaf(t, 4));
  EXPECT_EQ(f.perms(t), (Perms{true, true, true}));  // the leaf decides
  EXPECT_EQ(f.address(t, 4), 0x5000u);
  EXPECT_THROW(Arm64S1Format(5), UsageError);
}
