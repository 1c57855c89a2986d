// arm64 TLB maintenance for stage 2 as KVM does it (__kvm_tlb_flush_vmid_ipa,
// __kvm_tlb_flush_vmid): TLBI IPAS2E1IS for each page of the range, DSB ISH, TLBI VMALLE1IS
// (combined stage-1+2 entries are not tagged by IPA), DSB ISH; above --tlbi-range-threshold
// pages, one TLBI VMALLS12E1IS instead. A request shaped one-leaf (a stage-2 leaf: one TLBI
// IPAS2E1IS with its level, then VMALLE1IS) or range (FEAT_TLBIRANGE: RIPAS2E1IS per scale,
// see range_tlbi_ops, then VMALLE1IS) ignores the threshold. The instructions are broadcast in the inner shareable
// domain by the interconnect (DVM messages) and act on every core's TLBs and walk caches
// without interrupting it: no IPI, no vCPU request, no acknowledgement from software.
//
// Timing: the DVM channel (sim/mem/dvm_channel.hpp) carries one message per --lat-tlbi-op cycles
// and is shared by every core of the host -- the vCPUs of every VM -- so concurrent flushers,
// of one VM or of several, queue behind each other (the wait emerges); the entries are
// gone from every TLB when the last TLBI of the batch has been delivered. The DSB ISH then
// reaches every core (--lat-tlbi-dsb) and completes when each core that may hold entries of
// the VMID (each that ran a vCPU of the VM) has answered with its own completion message on
// the channel: the DSB's wait grows with those cores. The answers are booked on the channel
// when the DSB is issued, so a flusher arriving meanwhile queues behind them.
#pragma once
#include <memory>

#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/flush_strategy.hpp"
#include "sim/mem/dvm_channel.hpp"

namespace mmusim {

// TLBI range instructions invalidating `pages` pages from a page-aligned start as KVM issues
// them (__flush_s2_tlb_range_op): one per non-zero base-32 digit of pages/2 (scales 0..3, each
// covering up to 32 << (5*scale+1) pages), plus one single-page TLBI for an odd count.
uint64_t range_tlbi_ops(uint64_t pages);

// What the broadcast TLBI strategy reads of the run's parameters (app/params_models.cpp).
struct BroadcastTlbiParams {
  uint64_t tlbi_range_threshold = 64;  // pages above which one VMALLS12E1IS replaces by-IPA
  Cycles tlbi_op = 104;             // one TLBI message occupying the DVM interconnect
  Cycles tlbi_dsb = 780;            // DSB ISH: its sync reaching the cores, before the answers
};

class BroadcastTlbi : public FlushStrategy {
 public:
  // `dvm`: the host's channel, which outlives the strategy.
  BroadcastTlbi(const BroadcastTlbiParams& p, DvmChannel& dvm, Stats& stats);
  const char* name() const override { return "broadcast"; }
  void flush(Agent& caller, const FlushRequest& req, FlushEnv& env) override;

 private:
  const BroadcastTlbiParams p_;
  DvmChannel& dvm_;
  struct TlbiStats : StatsGroup {
    explicit TlbiStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter ops{*this, "hv.tlbi.ops", "broadcast TLBI instructions"};
    statistics::Counter by_ipa{*this, "hv.tlbi.by_ipa", "TLBI by IPA"};
    statistics::Counter full_vmid{*this, "hv.tlbi.full_vmid", "TLBI of a whole VMID"};
    statistics::Counter by_range{*this, "hv.tlbi.by_range",
                                 "TLBI range instructions (and single-page TLBIs of a range)"};
    statistics::Counter removed{*this, "hv.tlbi.entries_removed",
                                "TLB entries removed by broadcast TLBIs"};
    statistics::Histogram dvm_wait{*this, "hv.tlbi.dvm_wait",
                                   "cycles a DSB waited for broadcast TLBIs to complete"};
    statistics::Counter acks{*this, "hv.tlbi.dsb_acks",
                             "completion messages cores sent to a DSB after broadcast TLBIs"};
    statistics::Histogram dsb_wait{*this, "hv.tlbi.dsb_wait",
                                   "cycles a DSB waited from the last TLBI to the last answer"};
  } stats_;
};

}  // namespace mmusim
