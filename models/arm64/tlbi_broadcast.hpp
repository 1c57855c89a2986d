// arm64 TLB maintenance for stage 2 as KVM does it (__kvm_tlb_flush_vmid_ipa,
// __kvm_tlb_flush_vmid): TLBI IPAS2E1IS for each page of the range, DSB ISH, TLBI VMALLE1IS
// (combined stage-1+2 entries are not tagged by IPA), DSB ISH; above --tlbi-range-threshold
// pages, one TLBI VMALLS12E1IS instead. The instructions are broadcast in the inner shareable
// domain by the interconnect (DVM messages) and act on every core's TLBs and walk caches
// without interrupting it: no IPI, no vCPU request, no acknowledgement from software.
//
// Timing: the DVM channel carries one TLBI message per --lat-tlbi-op cycles and is shared by
// every core, so concurrent flushers queue behind each other (the wait emerges); the entries
// are gone from every TLB when the last message of the batch has been delivered, and the DSB
// then waits --lat-tlbi-dsb cycles for every core's completion.
#pragma once
#include <memory>

#include "sim/core/stats.hpp"
#include "sim/hv/flush_strategy.hpp"

namespace mmusim {

class BroadcastTlbi : public FlushStrategy {
 public:
  explicit BroadcastTlbi(Stats& stats);
  const char* name() const override { return "broadcast"; }
  void flush(Agent& caller, const FlushRequest& req, FlushEnv& env) override;

 private:
  Cycles dvm_busy_until_ = 0;  // the interconnect's DVM channel
  Counter& ops_;
  Counter& by_ipa_;
  Counter& full_vmid_;
  Counter& removed_;
  Histogram& dvm_wait_;
};

}  // namespace mmusim
