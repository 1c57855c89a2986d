// KVM MIPS GPA fault handling on both sides of KVM_CAP_SYNC_MMU on MIPS, driven by host threads
// calling the MIPS MMU directly while the platform runs: the fast path (old -> young, clean ->
// dirty with dirty logging, EFAULT on a write-protected PTE), the slow path's mmu_notifier_seq
// retry (exactly when an invalidation lands between the sequence read and mmu_lock), a write to a
// KSM page breaking COW inside the fault, and kvm_set_spte_hva's flush decision table.
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

SimConfig mips_cfg() {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = 1;
  c.mem_per_vcpu = 64 << 10;
  return c;
}

using Pte = MipsPteFormat;

// Runs `body` in a host thread of a MIPS platform whose vCPU does nothing.
void run_host(const SimConfig& cfg, const std::function<void(Platform&, MipsArch&, Agent&)>& body) {
  Platform* plat = nullptr;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  h.host_threads.push_back({"test", [&](Agent& a) {
                              body(*plat, dynamic_cast<MipsArch&>(*plat->arch), a);
                            }});
  Platform p(cfg, h);
  plat = &p;
  p.run();
}

const Addr kGpa = GuestLayout::kDataGpa;
const uint64_t kGfn = kGpa >> kPageShift;

}  // namespace

TEST(MipsFault, ReadFaultMapsYoungCleanWritableThenWriteDirtiesOnFastPath) {
  SimConfig c = mips_cfg();
  c.mips_dirty_log = true;
  run_host(c, [](Platform& p, MipsArch& arch, Agent& a) {
    MipsGpaMmu& mmu = arch.gpa_mmu();
    EXPECT_EQ(mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Read)),
              FaultOutcome::Fixed);
    uint64_t pte = mmu.pte_functional(kGpa);
    EXPECT_TRUE(Pte::young(pte));
    EXPECT_TRUE(Pte::writable(pte));
    EXPECT_FALSE(Pte::modified(pte));
    EXPECT_FALSE(arch.gpa_format().perms(pte).write);  // D clear: the next write traps
    EXPECT_FALSE(arch.memslots().page_dirty(p.phys, kGfn));
    EXPECT_EQ(p.stats.value("hv.mips.slow.count"), 1u);

    EXPECT_EQ(mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Write)),
              FaultOutcome::Fixed);
    pte = mmu.pte_functional(kGpa);
    EXPECT_TRUE(Pte::modified(pte));
    EXPECT_TRUE(arch.gpa_format().perms(pte).write);
    EXPECT_TRUE(arch.memslots().page_dirty(p.phys, kGfn));
    EXPECT_EQ(p.stats.value("hv.mips.fast.made_dirty"), 1u);
    EXPECT_EQ(p.stats.value("hv.mips.slow.count"), 1u);  // no second slow path
    EXPECT_EQ(p.stats.value("hv.dirty_log.marked"), 1u);
    p.touched.set(kGfn);
  });
}

TEST(MipsFault, OldPteIsMadeYoungOnFastPath) {
  run_host(mips_cfg(), [](Platform& p, MipsArch& arch, Agent& a) {
    MipsGpaMmu& mmu = arch.gpa_mmu();
    mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Read));
    EXPECT_TRUE(p.host.clear_young(a, kGfn));  // through the notifier: kvm_age_hva
    uint64_t pte = mmu.pte_functional(kGpa);
    EXPECT_FALSE(Pte::young(pte));
    EXPECT_FALSE(arch.gpa_format().perms(pte).read);  // V clear: any access traps
    EXPECT_FALSE(p.host.test_young(a, kGfn));
    EXPECT_EQ(mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Read)),
              FaultOutcome::Fixed);
    pte = mmu.pte_functional(kGpa);
    EXPECT_TRUE(Pte::young(pte));
    EXPECT_TRUE(arch.gpa_format().perms(pte).read);
    EXPECT_TRUE(p.host.test_young(a, kGfn));
    EXPECT_EQ(p.stats.value("hv.mips.fast.made_young"), 1u);
    EXPECT_EQ(p.stats.value("hv.mips.slow.count"), 1u);
    EXPECT_EQ(p.stats.value("hv.notifier.clear_young"), 1u);
    EXPECT_EQ(p.stats.value("hv.notifier.test_young"), 2u);
    p.touched.set(kGfn);
  });
}

TEST(MipsFault, WriteToKsmPageFailsFastPathAndBreaksCowWithOneSeqRetry) {
  run_host(mips_cfg(), [](Platform& p, MipsArch& arch, Agent& a) {
    MipsGpaMmu& mmu = arch.gpa_mmu();
    mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Read));
    const Addr shared = p.host.new_shared_frame();
    ASSERT_TRUE(p.host.ksm_merge(a, kGfn, shared));
    uint64_t pte = mmu.pte_functional(kGpa);
    EXPECT_EQ(Pte::pfn_bits(pte), shared);  // change_pte followed the host
    EXPECT_FALSE(Pte::writable(pte));
    EXPECT_EQ(p.stats.value("hv.notifier.seq_retry"), 0u);
    // The write: fast path refuses (not writable), the slow path's gfn_to_pfn_prot breaks COW,
    // whose invalidation bumps mmu_notifier_seq after it was read: one retry, then the map.
    EXPECT_EQ(mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Write)),
              FaultOutcome::Fixed);
    EXPECT_EQ(p.stats.value("hv.mips.fast.efault"), 1u);
    EXPECT_EQ(p.stats.value("host.mm.cow_break"), 1u);
    EXPECT_EQ(p.stats.value("hv.notifier.seq_retry"), 1u);
    pte = mmu.pte_functional(kGpa);
    EXPECT_NE(Pte::pfn_bits(pte), shared);
    EXPECT_EQ(Pte::pfn_bits(pte), p.host.lookup(kGfn).hpa);
    EXPECT_TRUE(Pte::writable(pte));
    EXPECT_TRUE(Pte::modified(pte));
    p.touched.set(kGfn);
  });
}

TEST(MipsFault, WithoutSyncMmuTheOldCodeNeverRetriesAndMapsWritable) {
  SimConfig c = mips_cfg();
  c.mips_sync_mmu = false;
  run_host(c, [](Platform& p, MipsArch& arch, Agent& a) {
    MipsGpaMmu& mmu = arch.gpa_mmu();
    mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Read));
    const Addr before = Pte::pfn_bits(mmu.pte_functional(kGpa));
    const Addr shared = p.host.new_shared_frame();
    ASSERT_TRUE(p.host.ksm_merge(a, kGfn, shared));
    // Nothing told KVM: the GPA PTE still maps the old, now private-to-the-guest frame.
    EXPECT_EQ(Pte::pfn_bits(mmu.pte_functional(kGpa)), before);
    EXPECT_NE(p.host.lookup(kGfn).hpa, before);
    EXPECT_EQ(p.stats.value("hv.notifier.change_pte"), 0u);
    EXPECT_EQ(p.stats.value("hv.notifier.seq_retry"), 0u);
  });
}

TEST(MipsFault, SeqRetryExactlyWhenInvalidationLandsBetweenSeqReadAndLock) {
  run_host(mips_cfg(), [](Platform& p, MipsArch& arch, Agent& a) {
    MipsGpaMmu& mmu = arch.gpa_mmu();
    const Addr other = kGpa + 4 * kPageSize;
    mmu.handle_fault(a, -1, TranslationFault::gpa(other, Access::Write));
    // An invalidation (a migration of another page) before the fault reads the sequence:
    // no retry.
    ASSERT_TRUE(p.host.migrate(a, other >> kPageShift));
    mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa, Access::Read));
    EXPECT_EQ(p.stats.value("hv.notifier.seq_retry"), 0u);
    EXPECT_EQ(p.stats.value("hv.fault.retry"), 0u);
    // The same invalidation between the sequence read and mmu_lock: exactly one retry (the
    // second pass reads the new sequence and nothing lands in between).
    int calls = 0;
    mmu.between_seq_and_lock = [&](Agent& h) {
      if (calls++ == 0) p.host.migrate(h, other >> kPageShift);
    };
    mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa + kPageSize, Access::Read));
    mmu.between_seq_and_lock = nullptr;
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(p.stats.value("hv.notifier.seq_retry"), 1u);
    EXPECT_EQ(p.stats.value("hv.fault.retry"), 1u);
    EXPECT_NE(mmu.pte_functional(kGpa + kPageSize), 0u);
    // An invalidation still in progress (start without end) also makes the fault retry.
    const Addr hva = HostMm::hva_of(other >> kPageShift);
    calls = 0;
    mmu.between_seq_and_lock = [&](Agent& h) {
      if (calls++ == 0) arch.notifier().invalidate_range_start(h, hva, hva + kPageSize);
      else if (calls == 2) arch.notifier().invalidate_range_end(h, hva, hva + kPageSize);
    };
    mmu.handle_fault(a, -1, TranslationFault::gpa(kGpa + 2 * kPageSize, Access::Read));
    EXPECT_EQ(calls, 3);  // retried while in progress, and after the end bumped the sequence
    EXPECT_EQ(p.stats.value("hv.notifier.seq_retry"), 3u);
    for (Addr g : {kGpa, kGpa + kPageSize, kGpa + 2 * kPageSize}) p.touched.set(g >> kPageShift);
  });
}

// kvm_set_spte_hva on one page whose GPA PTE is `old`: returns whether a flush was requested and
// the PTE left behind.
struct SetSpte {
  bool flush;
  uint64_t pte;
};

TEST(MipsFault, SetSpteFlushDecisionTable) {
  SimConfig c = mips_cfg();
  run_host(c, [](Platform& p, MipsArch& arch, Agent& a) {
    MipsGpaMmu& mmu = arch.gpa_mmu();
    const MipsPteFormat& f = arch.gpa_format();
    mmu.handle_fault(a, -1,
                     TranslationFault::gpa(kGpa, Access::Read));  // tables exist for the page
    const Memslot& data_slot = arch.memslots().slots()[1];
    Memslot logging = data_slot, readonly = data_slot;
    logging.flags = kMemLogDirtyPages;
    readonly.flags = kMemReadonly;
    const Addr ptep_gpa = kGpa;
    auto run = [&](const Memslot& slot, uint64_t old, const HostPte& h) {
      // Plant `old` functionally, then run the callback under mmu_lock.
      Addr table_pte = 0;
      {
        PtIter it(f, mmu.stage2_root(), ptep_gpa);
        while (it.level() > 1) {
          it.set_entry(p.phys.read64(it.entry_addr()));
          it.descend();
        }
        table_pte = it.entry_addr();
      }
      p.phys.write64(table_pte, old);
      mmu.notifier_lock(a);
      bool flush = mmu.set_spte_gfn(a, GfnRange{&slot, kGfn, kGfn + 1}, h);
      mmu.notifier_unlock(a);
      return SetSpte{flush, p.phys.read64(table_pte)};
    };
    const Addr f1 = 0x40000000, f2 = 0x40001000;
    const Perms rw{true, true, true};
    const uint64_t young_clean = f.make_leaf(f1, 1, rw, true, false);
    const uint64_t young_dirty = f.make_leaf(f1, 1, rw, true, true);
    const uint64_t old_clean = f.make_leaf(f1, 1, rw, false, false);
    auto host = [](Addr hpa, bool present, bool young, bool dirty, bool writable = true) {
      HostPte h;
      h.hpa = hpa;
      h.present = present;
      h.young = young;
      h.dirty = dirty;
      h.writable = writable;
      return h;
    };
    // Replacing an absent or an old entry never flushes (no TLB holds it).
    EXPECT_FALSE(run(data_slot, 0, host(f2, true, true, false)).flush);
    EXPECT_FALSE(run(data_slot, old_clean, host(f2, true, true, false)).flush);
    // Same frame, still young, no dirty -> clean: no flush.
    EXPECT_FALSE(run(data_slot, young_clean, host(f1, true, true, false)).flush);
    EXPECT_FALSE(run(data_slot, young_dirty, host(f1, true, true, true)).flush);
    // Each change that needs one: frame changed, made old, not present, dirty -> clean.
    EXPECT_TRUE(run(data_slot, young_clean, host(f2, true, true, false)).flush);
    EXPECT_TRUE(run(data_slot, young_clean, host(f1, true, false, false)).flush);
    SetSpte gone = run(data_slot, young_clean, host(0, false, false, false));
    EXPECT_TRUE(gone.flush);
    EXPECT_FALSE(f.present(gone.pte));
    EXPECT_TRUE(run(data_slot, young_dirty, host(f1, true, true, false)).flush);
    // Dirty logging: a page clean to KVM stays clean even if the host says dirty...
    SetSpte log = run(logging, young_clean, host(f1, true, true, true));
    EXPECT_FALSE(Pte::modified(log.pte));
    EXPECT_FALSE(f.perms(log.pte).write);
    EXPECT_FALSE(log.flush);
    // ...but one already dirty takes the host's state.
    EXPECT_TRUE(Pte::modified(run(logging, young_dirty, host(f1, true, true, true)).pte));
    // A read-only slot write-protects whatever the host maps.
    SetSpte ro = run(readonly, 0, host(f2, true, true, true));
    EXPECT_FALSE(Pte::writable(ro.pte));
    EXPECT_FALSE(f.perms(ro.pte).write);
    EXPECT_EQ(Pte::pfn_bits(ro.pte), f2);
    // Leave the page as the host backs it, for the end-of-run oracle.
    run(data_slot, 0, host(p.host.lookup(kGfn).hpa, true, true, false));
    p.touched.set(kGfn);
  });
}
