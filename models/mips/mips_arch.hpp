// MIPS as the platform sees it: a 4-level Linux MIPS guest on a 3-level GPA page table, KVM
// MIPS's GPA fault handling, MMU notifiers through the VM's memslots (when --mips-sync-mmu is
// on), and software-refilled, ASID-tagged TLBs loading even/odd page pairs, as KVM MIPS runs
// them with the VZ ASE (MipsVzWalker) or by trap and emulate (MipsTeWalker), per --mips-virt.
//
// Memslots: guest RAM below and above 4 GiB, as QEMU splits its RAM block; dirty logging on the
// upper slot (where workload data lives) with --mips-dirty-log.
//
// Oracle: "stale_mapping" is reported when a refill loads a translation to a host frame that
// the host no longer maps at that guest page (what a host COW/KSM/migration leaves behind
// without MMU notifiers); once per guest page and frame.
#pragma once
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "models/mips/mips_gpa_mmu.hpp"
#include "models/mips/mips_pte_format.hpp"
#include "models/mips/mips_te_walker.hpp"
#include "models/mips/mips_vz_walker.hpp"
#include "sim/hv/arch_model.hpp"
#include "sim/hv/host_mm_event_sink.hpp"
#include "sim/hv/memslots.hpp"
#include "sim/hv/mmu_notifier.hpp"

namespace mmusim {

// What the MIPS arch reads of the run's parameters, with those of its components
// (app/params_models.cpp builds it).
struct MipsArchParams {
  bool mips_sync_mmu = true;        // KVM_CAP_SYNC_MMU: MMU notifiers registered
  bool mips_dirty_log = false;      // dirty logging on the data memslot
  MipsVirt virt = MipsVirt::Vz;     // VZ or trap and emulate (auto resolved by app/)
  MipsGpaMmuParams gpa_mmu;         // the GPA fault handling's
  MipsRefillWalkerParams refill;    // every vCPU's refill walker's
  MmuNotifierParams notifier;       // the MMU-notifier glue's
};

class MipsArch : public ArchModel {
 public:
  static constexpr uint64_t kHighRamGfn = (uint64_t(4) << 30) >> kPageShift;
  static constexpr uint64_t kGpaFrames = uint64_t(1) << (39 - kPageShift);

  MipsArch(const MipsArchParams& p, ArchDeps& d)
      : refill_(p.refill), virt_(p.virt), heap_(d.heap), gpa_(3), slots_(d.heap),
        mmu_(p.gpa_mmu, gpa_, d.phys, d.pool, d.host, d.flush, d.rcu, d.heap, d.stats, d.faults,
             d.timeline,
             d.oracle, d.touched, slots_),
        notifier_(p.notifier, mmu_, slots_, d.flush, d.heap, d.stats), host_(d.host), oracle_(d.oracle),
        sink_(d.host, d.stats) {
    slots_.add(0, kHighRamGfn, HostMm::hva_of(0), 0);
    slots_.add(kHighRamGfn, kGpaFrames - kHighRamGfn, HostMm::hva_of(kHighRamGfn),
               p.mips_dirty_log ? uint32_t(kMemLogDirtyPages) : 0u);
    if (p.mips_sync_mmu) {
      d.host.set_notifier(&notifier_);
      mmu_.set_notifier(&notifier_);
    }
  }
  ~MipsArch() override {
    if (host_.notifier() == &notifier_) host_.set_notifier(nullptr);
  }
  const char* name() const override { return "mips"; }
  const PageTableFormat& guest_format() const override { return guest_; }
  const PageTableFormat& stage2_format() const override { return gpa_; }
  HypervisorMmu& mmu() override { return mmu_; }
  MipsGpaMmu& gpa_mmu() { return mmu_; }
  const MipsPteFormat& gpa_format() const { return gpa_; }
  MmuNotifier& notifier() { return notifier_; }
  Memslots& memslots() { return slots_; }
  // Replayed host events go through the host mm (and so through the notifiers when on).
  HostEventSink* host_event_sink() override { return &sink_; }

  // Software-refilled TLBs: the 2D walker's parameters do not apply; the MIPS walkers have the
  // arch's own (MipsArchParams::refill).
  std::unique_ptr<TranslationWalker> make_walker(const char* name, const WalkerParams&,
                                                 const Clock& clock, PagePool* pool,
                                                 Violations* oracle, Stats& stats) override {
    auto check = [this](Addr gpa, Addr hpa, const std::string& thread, Cycles when) {
      check_frame(gpa, hpa, thread, when);
    };
    if (virt_ == MipsVirt::Te) {
      if (!te_stats_) te_stats_ = std::make_unique<MipsTeStats>(stats);
      // The emulated guest TLB: KVM's per-vCPU array, in host kernel memory.
      const Addr guest_tlb =
          heap_.alloc(MipsTeWalker::kGuestTlbEntries * MipsTeWalker::kEntryBytes);
      return std::make_unique<MipsTeWalker>(name, refill_, clock, guest_, gpa_, pool, oracle,
                                            walk_stats(stats), *te_stats_, guest_tlb, check);
    }
    if (!vz_stats_) vz_stats_ = std::make_unique<MipsVzStats>(stats);
    return std::make_unique<MipsVzWalker>(name, refill_, clock, guest_, gpa_, pool, oracle,
                                          walk_stats(stats), *vz_stats_, check);
  }

 private:
  const MipsRefillWalkerParams refill_;  // for the walkers made on request
  const MipsVirt virt_;
  KernelHeap& heap_;
  MipsRefillStats& walk_stats(Stats& stats) {
    if (!walk_stats_) walk_stats_ = std::make_unique<MipsRefillStats>(stats);
    return *walk_stats_;
  }
  std::unique_ptr<MipsRefillStats> walk_stats_;  // the vCPUs' walkers share it
  std::unique_ptr<MipsVzStats> vz_stats_;        // VZ runs
  std::unique_ptr<MipsTeStats> te_stats_;        // trap-and-emulate runs
  void check_frame(Addr gpa, Addr hpa, const std::string& thread, Cycles when) {
    if (!oracle_.enabled()) return;
    const uint64_t gfn = gpa >> kPageShift;
    HostPage hp = host_.lookup(gfn);
    if (hp.level == 0 && !host_.swapped(gfn)) return;  // no host page was ever there
    if (hp.level != 0 && hp.hpa == hpa) return;          // current
    if (!reported_.insert({gfn, hpa}).second) return;
    std::ostringstream d;
    d << "TLB refill mapped gpa 0x" << std::hex << gpa << " to host frame 0x" << hpa
      << " but the host now maps " << (hp.level ? "another frame" : "nothing (swapped out)")
      << " there";
    oracle_.report("stale_mapping", when, thread, gpa, d.str());
  }

  MipsGuestFormat guest_;
  MipsPteFormat gpa_;
  Memslots slots_;
  MipsGpaMmu mmu_;
  MmuNotifier notifier_;
  HostMm& host_;
  Violations& oracle_;
  std::set<std::pair<uint64_t, Addr>> reported_;
  HostMmEventSink sink_;
};

}  // namespace mmusim
