// KVM MIPS's two modes (--mips-virt). VZ: a guest TLB miss is a guest refill exception the
// guest handles, a root TLB miss a root refill KVM serves from the GPA table -- a double miss
// takes one of each, a root-only miss one. Trap and emulate: a first touch of a guest-mapped
// page exits to KVM, which delivers the guest's refill, emulates its TLBWR into the emulated
// guest TLB (in simulated memory) and fills the GVA tables the host refill then uses. Both
// keep the stale-mapping oracle clean with MMU notifiers and report without them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/platform.hpp"
#include "models/mips/mips_te_walker.hpp"
#include "sim/core/config.hpp"
#include "tests/op_list.hpp"
#include "tests/platform_run.hpp"

using namespace mmusim;
using mmusim::testing::PlatformRun;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

Op access(unsigned page, Access a) {
  Op op;
  op.kind = Op::Kind::Access;
  op.access = a;
  op.gva = GuestLayout::kDataGva + Addr(page) * kPageSize;
  return op;
}

SimConfig mips(MipsVirt virt) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = 1;
  c.mem_per_vcpu = 1 << 20;
  c.mips_virt = virt;
  if (virt == MipsVirt::Te) c.kvm_version = {5, 12};
  // Small vCPU TLB arrays, so old pages miss there and reach the MIPS TLBs behind them.
  c.tlb_l1_entries = 4;
  c.tlb_l1_ways = 4;
  c.tlb_l2_entries = 8;
  c.tlb_l2_ways = 8;
  return c;
}

struct Counts {
  uint64_t guest_refill = 0, root_refill = 0;
  uint64_t delivered = 0, tlbwr = 0, gva_fill = 0, host_refill = 0, kseg0 = 0, exits = 0;
  uint64_t violations = 0;
  uint64_t entryhi0 = 0;  // TE: the first emulated guest TLB entry's EntryHi, read from memory
};

Counts run_ops(const SimConfig& c, const std::vector<Op>& ops) {
  PlatformHooks h;
  h.stream = [&](unsigned) { return std::make_unique<mmusim::testing::OpList>(ops); };
  Platform p(c, h);
  p.run();
  Counts n;
  n.violations = p.stats.value("check.violations");
  if (c.mips_virt == MipsVirt::Te) {
    n.delivered = p.stats.value("mips.te.refill_delivered");
    n.tlbwr = p.stats.value("mips.te.tlbwr_emulated");
    n.gva_fill = p.stats.value("mips.te.gva_fill");
    n.host_refill = p.stats.value("mips.te.host_refill");
    n.kseg0 = p.stats.value("mips.te.kseg0_fault");
    n.exits = p.stats.value("mips.te.tlb_exit");
    auto* te = dynamic_cast<MipsTeWalker*>(p.vcpus.at(0)->walker.get());
    if (te) n.entryhi0 = p.phys.read64(te->guest_tlb_base());
  } else {
    n.guest_refill = p.stats.value("mips.vz.guest_refill");
    n.root_refill = p.stats.value("mips.vz.root_refill");
  }
  return n;
}

// Writes one page of each of `pairs` even/odd pairs (pages 0, 2, 4, ...): more pairs than the
// 64-entry guest and root TLBs hold, so the first ones are evicted from both, while the guest
// table pages, read by every guest refill, stay in the root TLB.
std::vector<Op> fill_pairs(unsigned pairs) {
  std::vector<Op> ops;
  for (unsigned i = 0; i < pairs; ++i) ops.push_back(access(2 * i, Access::Write));
  return ops;
}

}  // namespace

TEST(MipsVz, DoubleMissTakesTwoExceptionsAndRootOnlyMissOne) {
  const SimConfig c = mips(MipsVirt::Vz);
  std::vector<Op> ops = fill_pairs(80);
  const Counts base = run_ops(c, ops);
  EXPECT_EQ(base.violations, 0u);
  // 80 pairs went through 64-entry TLBs: the guest TLB holds pairs 16..79; the root TLB the
  // guest table pages' two pairs and data pairs 18..79. Page 32 (pair 16): guest TLB hit, root
  // TLB miss -- one exception, a root refill.
  ops.push_back(access(32, Access::Read));
  const Counts root_only = run_ops(c, ops);
  EXPECT_EQ(root_only.guest_refill - base.guest_refill, 0u);
  EXPECT_EQ(root_only.root_refill - base.root_refill, 1u);
  // Page 0: evicted from both TLBs. The guest refill's table reads hit in the root TLB; the
  // data GPA misses there: one exception of each kind.
  ops.push_back(access(0, Access::Read));
  const Counts both = run_ops(c, ops);
  EXPECT_EQ(both.guest_refill - root_only.guest_refill, 1u);
  EXPECT_EQ(both.root_refill - root_only.root_refill, 1u);
  EXPECT_EQ(both.violations, 0u);
}

TEST(MipsTe, FirstTouchDeliversTheRefillEmulatesTlbwrAndFillsFromTheGvaTables) {
  const SimConfig c = mips(MipsVirt::Te);
  std::vector<Op> ops = {access(0, Access::Write)};
  const Counts one = run_ops(c, ops);
  EXPECT_EQ(one.violations, 0u);
  EXPECT_EQ(one.delivered, 1u);
  EXPECT_EQ(one.tlbwr, 1u);
  EXPECT_EQ(one.gva_fill, 1u);
  EXPECT_GE(one.kseg0, 1u);  // the guest handler's table reads through guest KSEG0
  // The emulated guest TLB is in simulated memory: entry 0 holds page 0's pair.
  EXPECT_EQ(one.entryhi0 & ~uint64_t(0xfff),
            (GuestLayout::kDataGva & ~Addr(2 * kPageSize - 1)) | MipsTeWalker::kEntryHiUsed);
  // A second page's first touch: the same three steps, and the guest's table reads now refill
  // from the GVA tables KVM filled for KSEG0 -- no KSEG0 fault.
  ops.push_back(access(2, Access::Write));
  const Counts two = run_ops(c, ops);
  EXPECT_EQ(two.delivered - one.delivered, 1u);
  EXPECT_EQ(two.tlbwr - one.tlbwr, 1u);
  EXPECT_EQ(two.gva_fill - one.gva_fill, 1u);
  EXPECT_EQ(two.kseg0, one.kseg0);
  EXPECT_EQ(two.violations, 0u);
  // Page 0 again, after the vCPU TLB lost it: the host refill from the GVA tables alone.
  for (unsigned i = 0; i < 12; ++i) ops.push_back(access(40 + 2 * i, Access::Read));
  const Counts warm = run_ops(c, ops);
  ops.push_back(access(0, Access::Read));
  const Counts again = run_ops(c, ops);
  EXPECT_EQ(again.exits, warm.exits);
  EXPECT_EQ(again.host_refill - warm.host_refill, 1u);
}

TEST(MipsVirt, BothModesKeepTheOracleCleanWithNotifiersAndReportWithout) {
  for (MipsVirt v : {MipsVirt::Vz, MipsVirt::Te}) {
    for (WorkloadKind w : {WorkloadKind::KsmMerge, WorkloadKind::SwapStorm,
                           WorkloadKind::DemandPaging}) {
      SimConfig c = mips(v);
      c.vcpus = 4;
      c.workload = w;
      c.host_event_interval = 50000;
      PlatformRun r = run_platform(c);
      ASSERT_EQ(r.exit_code, 0) << r.stats_json;
      EXPECT_EQ(stat(r.stats_json, "check.violations"), 0) << mode_name(v);
      EXPECT_GT(stat(r.stats_json, "check.touched_pages"), 0) << mode_name(v);
    }
    SimConfig c = mips(v);
    c.vcpus = 4;
    c.workload = WorkloadKind::KsmMerge;
    c.host_event_interval = 50000;
    c.mips_sync_mmu = false;
    PlatformRun r = run_platform(c);
    EXPECT_GT(stat(r.stats_json, "check.stale_mapping"), 0) << mode_name(v) << r.stats_json;
  }
}
