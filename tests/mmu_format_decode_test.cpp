// The per-entry questions every page-table format answers for the walker (present, leaf,
// address, rights, what the walker writes back), asked of all five formats the same way: each
// answer is checked against the architecture's rule for that bit pattern, over entries the
// format builds and over raw bit patterns no format would build.
#include <gtest/gtest.h>

#include <vector>

#include "models/arm64/arm64_s1_format.hpp"
#include "models/arm64/arm64_s2_format.hpp"
#include "models/mips/mips_pte_format.hpp"
#include "models/x86/ept_format.hpp"
#include "models/x86/x86_pt_format.hpp"

using namespace mmusim;

namespace {

// A spread of raw entries: every combination of the low 12 bits, each with a few address and
// high-bit patterns (NX/XN/UXN live up there).
std::vector<uint64_t> raw_entries() {
  std::vector<uint64_t> v;
  for (uint64_t low = 0; low < 4096; ++low)
    for (uint64_t high : {0ull, 0x0000123456789000ull, 1ull << 53, 1ull << 54, 1ull << 63,
                          0xFFF0000000000000ull})
      v.push_back(high | low);
  return v;
}

}  // namespace

TEST(PermsBits, RoundTripAndAccessOrder) {
  for (unsigned b = 0; b < 8; ++b) {
    const Perms p = Perms::from_bits(b);
    EXPECT_EQ(p.bits(), b);
    for (Access a : {Access::Read, Access::Write, Access::Fetch})
      EXPECT_EQ(Perms::bits_allow(b, a), p.allows(a)) << b << " " << access_name(a);
  }
}

TEST(FormatDecode, PermBitsMatchPerms) {
  EptFormat ept(4);
  X86PageFormat x86(4);
  Arm64S1Format s1;
  Arm64S2Format s2(40, 0);
  MipsPteFormat mips(3);
  const PageTableFormat* fmts[] = {&ept, &x86, &s1, &s2, &mips};
  for (const PageTableFormat* f : fmts)
    for (uint64_t e : raw_entries()) ASSERT_EQ(f->perm_bits(e), f->perms(e).bits()) << f->name();
}

TEST(FormatDecode, EptRawBits) {
  EptFormat f(4);
  for (uint64_t e : raw_entries()) {
    EXPECT_EQ(f.present(e), (e & 7) != 0);
    const Perms p = f.perms(e);
    EXPECT_EQ(p.read, (e & EptFormat::kRead) != 0);
    EXPECT_EQ(p.write, (e & EptFormat::kWrite) != 0);
    EXPECT_EQ(p.exec, (e & EptFormat::kExec) != 0);
    for (unsigned l = 1; l <= 4; ++l) {
      const bool leaf = l == 1 || (l <= 3 && (e & EptFormat::kLarge) != 0);
      ASSERT_EQ(f.is_leaf(e, l), leaf) << std::hex << e << " level " << l;
      const Addr frame = e & EptFormat::kAddrMask;
      EXPECT_EQ(f.address(e, l), leaf && l > 1 ? frame & ~(f.span(l) - 1) : frame);
    }
  }
}

TEST(FormatDecode, X86LargeLeafDropsThePatBit) {
  X86PageFormat f(5);
  // In a 2 MiB leaf bit 12 is PAT, not an address bit; in a table entry it is an address bit.
  const uint64_t leaf = f.make_leaf(Addr(3) << 21, 2, Perms{true, true, true}, false, false) |
                        (1ull << 12);
  EXPECT_EQ(f.address(leaf, 2), Addr(3) << 21);
  const uint64_t table = f.make_table(0x6000) | (1ull << 12);
  EXPECT_EQ(f.address(table, 4), 0x7000u);
  // NX is active-low execute; presence grants read.
  EXPECT_FALSE(f.perms(X86PageFormat::kPresent | X86PageFormat::kNx).exec);
  EXPECT_TRUE(f.perms(X86PageFormat::kPresent).exec);
  EXPECT_FALSE(f.perms(X86PageFormat::kRw).read);
}

TEST(FormatDecode, Arm64TypeBitTellsBlockFromTable) {
  Arm64S1Format s1;
  Arm64S2Format s2(40, 0);
  const PageTableFormat* fmts[] = {&s1, &s2};
  for (const PageTableFormat* f : fmts) {
    const uint64_t block = vmsa::kValid | (Addr(5) << 30);
    const uint64_t table = vmsa::kValid | vmsa::kTypeTable | (Addr(5) << 30);
    EXPECT_TRUE(f->is_leaf(block, 3)) << f->name();
    EXPECT_TRUE(f->is_leaf(block, 2)) << f->name();
    EXPECT_FALSE(f->is_leaf(table, 3)) << f->name();
    EXPECT_TRUE(f->is_leaf(table, 1)) << f->name() << ": a page descriptor";
    // No block at the 512 GiB level: the same bits there are a table pointer.
    EXPECT_FALSE(f->is_leaf(block, 4)) << f->name();
    EXPECT_FALSE(f->present(table & ~vmsa::kValid)) << f->name();
  }
  EXPECT_FALSE(s1.perms(vmsa::kValid | Arm64S1Format::kApRdonly).write);
  EXPECT_FALSE(s1.perms(vmsa::kValid | Arm64S1Format::kUxn).exec);
  EXPECT_EQ(s2.perms(vmsa::kValid | Arm64S2Format::kS2apRead | Arm64S2Format::kXn),
            (Perms{true, false, false}));
}

TEST(FormatDecode, MipsHasNoLeafAboveLevelOne) {
  MipsPteFormat f(4);
  for (uint64_t e : raw_entries()) {
    EXPECT_TRUE(f.is_leaf(e, 1));
    for (unsigned l = 2; l <= 4; ++l) {
      ASSERT_FALSE(f.is_leaf(e, l));
      EXPECT_EQ(f.address(e, l), e & MipsPteFormat::kAddrMask);
    }
    // The hardware's view: V needs presence, D needs V.
    const bool v = (e & MipsPteFormat::kPresent) && (e & MipsPteFormat::kValid);
    EXPECT_EQ(f.perms(e), (Perms{v, v && (e & MipsPteFormat::kDirty) != 0, v}));
  }
}

TEST(FormatDecode, LeafAllowedOutsideTheTree) {
  EptFormat ept(5);
  MipsPteFormat mips(3);
  for (unsigned l : {0u, 4u, 5u, 31u, 32u, 33u, 64u, 1000u}) {
    EXPECT_FALSE(ept.leaf_allowed(l)) << l;
    EXPECT_FALSE(mips.leaf_allowed(l)) << l;
  }
  EXPECT_TRUE(mips.leaf_allowed(1));
  EXPECT_FALSE(mips.leaf_allowed(2));
}

TEST(FormatDecode, WhatTheWalkerWritesBack) {
  EptFormat ept(4);
  Arm64S2Format s2(40, 0);
  X86PageFormat x86(4);
  Arm64S1Format s1;
  MipsPteFormat mips(3);
  const uint64_t e = ept.make_leaf(0x7000, 1, Perms{true, true, false}, false, false);
  EXPECT_EQ(ept.mark_used(e, false), e | EptFormat::kAccessed);
  EXPECT_EQ(ept.mark_used(e, true), e | EptFormat::kAccessed | EptFormat::kDirty);
  const uint64_t a = s2.make_leaf(0x7000, 1, Perms{true, true, false}, false, false);
  EXPECT_EQ(s2.mark_used(a, false), a | vmsa::kAf);
  EXPECT_EQ(s2.mark_used(a, true), a | vmsa::kAf) << "no hardware dirty-state management";
  // Software-managed flags: nothing is written.
  for (uint64_t raw : {0ull, 0x1234567ull, ~0ull}) {
    EXPECT_EQ(x86.mark_used(raw, true), raw);
    EXPECT_EQ(s1.mark_used(raw, true), raw);
    EXPECT_EQ(mips.mark_used(raw, true), raw);
  }
}
