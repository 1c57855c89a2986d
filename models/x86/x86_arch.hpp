// x86 as the platform sees it: x86-64 guest paging, with one hypervisor MMU: the TDP MMU on
// EPT (--x86-mmu tdp), or without EPT the shadow MMU (--x86-mmu shadow).
#pragma once
#include <memory>

#include "models/x86/ept_format.hpp"
#include "models/x86/shadow_mmu.hpp"
#include "models/x86/shadow_walker.hpp"
#include "models/x86/tdp_mmu.hpp"
#include "models/x86/x86_pt_format.hpp"
#include "sim/hv/arch_model.hpp"
#include "sim/hv/host_mm_event_sink.hpp"
#include "sim/hv/memslots.hpp"
#include "sim/hv/mmu_notifier.hpp"

namespace mmusim {

// What the x86 arch reads of the run's parameters, with those of its MMUs
// (app/params_models.cpp builds it).
struct X86ArchParams {
  unsigned guest_levels = 4;        // --guest-levels: guest paging levels
  unsigned ept_levels = 4;          // --ept-levels: EPT levels
  EptAd ept_ad = EptAd::On;         // --ept-ad: whether the EPT walker sets A/D flags
  X86Mmu x86_mmu = X86Mmu::Tdp;     // --x86-mmu: the TDP MMU on EPT, or shadow paging
  TdpMmuParams tdp;                 // the TDP MMU's (--x86-mmu tdp)
  ShadowMmuParams shadow;           // the shadow MMU's (--x86-mmu shadow)
  MmuNotifierParams notifier;       // the MMU-notifier glue's
};

class X86Arch : public ArchModel {
 public:
  // Guest RAM below and above 4 GiB as two memslots (as QEMU splits it), through which the
  // host's MMU notifiers reach the TDP MMU.
  static constexpr uint64_t kHighRamGfn = (uint64_t(4) << 30) >> kPageShift;
  static constexpr uint64_t kGpaFrames = uint64_t(1) << (48 - kPageShift);

  X86Arch(const X86ArchParams& p, ArchDeps& d)
      : guest_(p.guest_levels), ept_(p.ept_levels, p.ept_ad),
        mmu_lock_stats_(d.stats, "hv.lock.mmu_lock"), slots_(d.heap), host_(d.host) {
    if (p.x86_mmu == X86Mmu::Shadow) {  // no EPT: shadow page tables
      shadow_ = std::make_unique<ShadowMmu>(p.shadow, d.phys, d.pool, d.host, d.flush, d.heap,
                                            d.stats, d.faults, mmu_lock_stats_, d.timeline,
                                            d.oracle);
      return;
    }
    tdp_ = std::make_unique<TdpMmu>(p.tdp, ept_, d.phys, d.pool, d.host, d.flush, d.rcu, d.heap,
                                    d.stats, d.faults, mmu_lock_stats_, d.timeline, d.oracle,
                                    d.touched);
    notifier_ = std::make_unique<MmuNotifier>(p.notifier, *tdp_, slots_, d.flush, d.heap, d.stats);
    sink_ = std::make_unique<HostMmEventSink>(d.host, d.stats);
    slots_.add(0, kHighRamGfn, HostMm::hva_of(0), 0);
    slots_.add(kHighRamGfn, kGpaFrames - kHighRamGfn, HostMm::hva_of(kHighRamGfn), 0);
    d.host.set_notifier(notifier_.get());
    tdp_->set_notifier(notifier_.get());
  }
  ~X86Arch() override {
    if (notifier_ && host_.notifier() == notifier_.get()) host_.set_notifier(nullptr);
  }
  const char* name() const override { return "x86"; }
  const PageTableFormat& guest_format() const override { return guest_; }
  const PageTableFormat& stage2_format() const override { return ept_; }
  HypervisorMmu& mmu() override {
    return shadow_ ? static_cast<HypervisorMmu&>(*shadow_) : *tdp_;
  }
  std::unique_ptr<TranslationWalker> make_walker(const char* name, const WalkerParams& p,
                                                 const Clock& clock, PagePool* pool,
                                                 Violations* oracle, Stats& stats) override {
    if (shadow_) {
      if (!shadow_walk_stats_)
        shadow_walk_stats_ = std::make_unique<ShadowWalkStats>(stats, "walk");
      return std::make_unique<ShadowWalker>(name, p, clock, pool, oracle, *shadow_walk_stats_);
    }
    return ArchModel::make_walker(name, p, clock, pool, oracle, stats);
  }
  ShadowMmu* shadow() { return shadow_.get(); }
  // Replayed host events reach the TDP MMU through the host mm's notifiers; the shadow MMU
  // has no notifier callbacks, so it takes none.
  HostEventSink* host_event_sink() override { return sink_.get(); }

 private:
  X86PageFormat guest_;
  EptFormat ept_;
  LockStats mmu_lock_stats_;  // hv.lock.mmu_lock, of whichever MMU is built
  Memslots slots_;
  HostMm& host_;
  // Exactly one MMU: the TDP MMU with its notifier and host-event sink (--x86-mmu tdp), or
  // the shadow MMU (--x86-mmu shadow), which has no notifier callbacks.
  std::unique_ptr<TdpMmu> tdp_;
  std::unique_ptr<MmuNotifier> notifier_;
  std::unique_ptr<HostMmEventSink> sink_;
  std::unique_ptr<ShadowMmu> shadow_;
  std::unique_ptr<ShadowWalkStats> shadow_walk_stats_;  // the vCPUs' shadow walkers share it
};

}  // namespace mmusim
