// arm64 as the platform sees it: a 4K-granule stage-1 guest on stage-2 tables of the
// configured IPA size and levels, the KVM stage-2 MMU, the broadcast TLBI flush strategy
// (--flush broadcast; --flush ipi-all stays available, as the user chooses), and locked
// memslots with their cache maintenance (used by the locked-boot workload).
#pragma once
#include <memory>

#include "models/arm64/arm64_s1_format.hpp"
#include "models/arm64/arm64_s2_format.hpp"
#include "models/arm64/locked_memslots.hpp"
#include "models/arm64/stage2_mmu.hpp"
#include "models/arm64/tlbi_broadcast.hpp"
#include "sim/hv/arch_model.hpp"

namespace mmusim {

class Arm64Arch : public ArchModel {
 public:
  explicit Arm64Arch(ArchDeps& d)
      : stats_(d.stats), s1_(d.cfg.guest_levels), s2_(d.cfg.ipa_bits, d.cfg.s2_levels),
        mmu_(d, s2_), slots_(d, mmu_) {
    mmu_.set_memslots(&slots_);
  }
  const char* name() const override { return "arm64"; }
  const PageTableFormat& guest_format() const override { return s1_; }
  const PageTableFormat& stage2_format() const override { return s2_; }
  HypervisorMmu& mmu() override { return mmu_; }
  std::unique_ptr<FlushStrategy> make_flush_strategy(const std::string& name) override {
    if (name == "broadcast") return std::make_unique<BroadcastTlbi>(stats_);
    return nullptr;
  }
  Stage2Mmu& stage2() { return mmu_; }
  LockedMemslots& memslots() { return slots_; }

 private:
  Stats& stats_;
  Arm64S1Format s1_;
  Arm64S2Format s2_;
  Stage2Mmu mmu_;
  LockedMemslots slots_;
};

}  // namespace mmusim
