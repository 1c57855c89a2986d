// arm64 as the platform sees it: a 4K-granule stage-1 guest on stage-2 tables of the
// configured IPA size and levels, the KVM stage-2 MMU, the broadcast TLBI flush strategy
// (--flush broadcast; --flush ipi-all stays available, as the user chooses), and locked
// memslots with their cache maintenance (used by the locked-boot workload), and KVM's MMU
// notifiers through two memslots over guest RAM.
#pragma once
#include <algorithm>
#include <memory>

#include "models/arm64/arm64_s1_format.hpp"
#include "models/arm64/arm64_s2_format.hpp"
#include "models/arm64/locked_memslots.hpp"
#include "models/arm64/stage2_mmu.hpp"
#include "models/arm64/tlbi_broadcast.hpp"
#include "sim/hv/arch_model.hpp"
#include "sim/hv/memslots.hpp"
#include "sim/hv/mmu_notifier.hpp"

namespace mmusim {

// What the arm64 arch reads of the run's parameters, with those of its components
// (app/params_models.cpp builds it).
struct Arm64ArchParams {
  unsigned guest_levels = 4;        // --guest-levels: stage-1 levels
  unsigned ipa_bits = 40;           // --ipa-bits: stage-2 input size
  unsigned s2_levels = 0;           // --s2-levels; 0: as KVM (fewest, <= 16 concatenated)
  Stage2MmuParams stage2;           // the stage-2 MMU's
  LockedMemslotsParams memslots;    // the locked memslots'
  BroadcastTlbiParams tlbi;         // the broadcast TLBI flush strategy's (--flush broadcast)
  MmuNotifierParams notifier;       // the MMU-notifier glue's
};

class Arm64Arch : public ArchModel {
 public:
  static constexpr uint64_t kHighRamGfn = (uint64_t(4) << 30) >> kPageShift;

  Arm64Arch(const Arm64ArchParams& p, ArchDeps& d)
      : tlbi_(p.tlbi), dvm_(d.dvm), stats_(d.stats), s1_(p.guest_levels),
        s2_(p.ipa_bits, p.s2_levels), mmu_(p.stage2, d, s2_), slots_(p.memslots, d, mmu_), kvm_slots_(d.heap),
        notifier_(p.notifier, mmu_, kvm_slots_, d.flush, d.heap, d.stats), host_(d.host) {
    mmu_.set_memslots(&slots_);
    // Guest RAM below and above 4 GiB as two KVM memslots (as QEMU splits it; the IPA size
    // bounds the upper one), through which the host's MMU notifiers reach stage 2.
    const uint64_t ipa_frames = uint64_t(1) << (s2_.ipa_bits() - kPageShift);
    kvm_slots_.add(0, std::min(kHighRamGfn, ipa_frames), HostMm::hva_of(0), 0);
    if (ipa_frames > kHighRamGfn)
      kvm_slots_.add(kHighRamGfn, ipa_frames - kHighRamGfn, HostMm::hva_of(kHighRamGfn), 0);
    d.host.set_notifier(&notifier_);
    mmu_.set_notifier(&notifier_);
  }
  ~Arm64Arch() override {
    if (host_.notifier() == &notifier_) host_.set_notifier(nullptr);
  }
  const char* name() const override { return "arm64"; }
  const PageTableFormat& guest_format() const override { return s1_; }
  const PageTableFormat& stage2_format() const override { return s2_; }
  HypervisorMmu& mmu() override { return mmu_; }
  std::unique_ptr<FlushStrategy> make_flush_strategy(FlushKind kind) override {
    if (kind == FlushKind::Broadcast) return std::make_unique<BroadcastTlbi>(tlbi_, dvm_, stats_);
    return nullptr;
  }
  Stage2Mmu& stage2() { return mmu_; }
  LockedMemslots& memslots() { return slots_; }

 private:
  const BroadcastTlbiParams tlbi_;  // for the strategy made on request
  DvmChannel& dvm_;                 // the host's, shared with every other VM's strategy
  Stats& stats_;
  Arm64S1Format s1_;
  Arm64S2Format s2_;
  Stage2Mmu mmu_;
  LockedMemslots slots_;  // the VMM's locked memslots (the locked-memslots series)
  Memslots kvm_slots_;    // KVM's memslots as the MMU notifiers see them
  MmuNotifier notifier_;
  HostMm& host_;
};

}  // namespace mmusim
