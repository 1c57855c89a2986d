// GPA tables freed by an unmap (kvm_mips_flush_gpa_pt as KVM_CAP_SYNC_MMU on MIPS uses it from
// kvm_unmap_hva_range): a pte table the host's invalidation covers whole is unlinked from its
// pmd under mmu_lock and freed only after every vCPU dropped its translations and an RCU grace
// period passed; a range one page short frees nothing. The oracle (no access to a freed table,
// no lost update) stays clean, and the next fault allocates a new table.
#include <gtest/gtest.h>

#include "app/platform.hpp"
#include "models/mips/mips_arch.hpp"
#include "sim/mmu/pt_iter.hpp"

using namespace mmusim;

namespace {

class Nothing : public OpStream {
 public:
  bool next(Op&) override { return false; }
};

// Runs `body` in a host thread of a MIPS platform whose vCPU does nothing; returns the
// violations the oracle counted over the whole run (teardown included).
uint64_t run_host(const SimConfig& cfg,
                  const std::function<void(Platform&, MipsArch&, Agent&)>& body) {
  Platform* plat = nullptr;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  h.host_threads.push_back({"test", [&](Agent& a) {
                              body(*plat, dynamic_cast<MipsArch&>(*plat->arch), a);
                            }});
  Platform p(cfg, h);
  plat = &p;
  p.run();
  return p.oracle.count();
}

// The pte table holding gpa's PTE (functional walk), 0 when none.
Addr pte_table(Platform& p, MipsArch& arch, Addr gpa) {
  PtIter it(arch.gpa_format(), arch.gpa_mmu().stage2_root(), gpa);
  while (it.level() > 1) {
    it.set_entry(p.phys.read64(it.entry_addr()));
    if (!it.present()) return 0;
    if (it.level() == 2) return arch.gpa_format().address(it.entry(), 2);
    it.descend();
  }
  return 0;
}

const Addr kGpa = GuestLayout::kDataGpa;  // 4 GiB: the start of a pte table's 2 MiB
const uint64_t kGfn = kGpa >> kPageShift;
const uint64_t kTablePages = 512;

}  // namespace

TEST(MipsTableFree, UnmapCoveringAWholeTableFreesItAfterRcuAndOneShortDoesNot) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = 1;
  c.mem_per_vcpu = 8 << 20;  // the three tables lie inside the data window
  const uint64_t violations = run_host(c, [](Platform& p, MipsArch& arch, Agent& a) {
    MipsGpaMmu& mmu = arch.gpa_mmu();
    // Map two whole pte tables' worth plus one page of a third.
    for (uint64_t i = 0; i < 2 * kTablePages + 1; ++i) {
      ASSERT_EQ(mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa + i * kPageSize,
                                                              Access::Write)),
                FaultOutcome::Fixed);
      p.touched.set(kGfn + i);
    }
    const Addr t0 = pte_table(p, arch, kGpa);
    const Addr t1 = pte_table(p, arch, kGpa + kTablePages * kPageSize);
    ASSERT_NE(t0, 0u);
    ASSERT_NE(t1, 0u);
    const uint64_t freed_before = p.stats.value("hv.tables.freed_rcu");

    // One page short of the second table: its PTEs go, the table stays.
    EXPECT_EQ(p.host.unmap_range(a, kGfn + kTablePages, kTablePages - 1), kTablePages - 1);
    EXPECT_EQ(p.stats.value("hv.mips.tables_unlinked"), 0u);
    EXPECT_EQ(pte_table(p, arch, kGpa + kTablePages * kPageSize), t1);
    EXPECT_EQ(mmu.pte_functional(kGpa + kTablePages * kPageSize), 0u);
    EXPECT_NE(mmu.pte_functional(kGpa + (2 * kTablePages - 1) * kPageSize), 0u);

    // The whole first table: unlinked at once, freed only after the grace period.
    EXPECT_EQ(p.host.unmap_range(a, kGfn, kTablePages), kTablePages);
    EXPECT_EQ(p.stats.value("hv.mips.tables_unlinked"), 1u);
    EXPECT_EQ(pte_table(p, arch, kGpa), 0u);
    EXPECT_GT(p.stats.value("hv.mips.flush_shadow_all"), 0u);
    p.rcu.barrier(a);
    EXPECT_EQ(p.stats.value("hv.tables.freed_rcu"), freed_before + 1);
    EXPECT_FALSE(p.pool.live(t0));
    EXPECT_TRUE(p.pool.live(t1));
    // Pages of the neighbouring tables are untouched.
    EXPECT_NE(mmu.pte_functional(kGpa + 2 * kTablePages * kPageSize), 0u);

    // The guest touches the range again: a new table is allocated and mapped.
    const uint64_t allocated = p.stats.value("hv.tables.allocated");
    EXPECT_EQ(mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Read)),
              FaultOutcome::Fixed);
    p.touched.set(kGfn);
    EXPECT_EQ(p.stats.value("hv.tables.allocated"), allocated + 1);
    EXPECT_NE(pte_table(p, arch, kGpa), 0u);
    EXPECT_NE(mmu.pte_functional(kGpa), 0u);
  });
  EXPECT_EQ(violations, 0u);
}
