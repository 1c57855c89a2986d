// The vCPUs' statistics (README.md, Outputs): each vCPU's own
// under "vcpu.N.", and their sums over every vCPU ("guest.*", "tlb.*", the flush counts the
// vCPUs carry out), which one group owned by the Platform declares and every vCPU adds into.
// The hot path counts in plain integers; the vCPU publishes them here at the end of the run.
#pragma once
#include <string>

#include "sim/core/stats_group.hpp"

namespace mmusim {

// The counters a vCPU keeps both per vCPU and summed ("tlb.*" or "guest.<name>").
struct VcpuCounters : StatsGroup {
  VcpuCounters(Stats& s, const std::string& prefix, const std::string& guest_prefix)
      : StatsGroup(s, prefix), guest(s, guest_prefix) {}
  StatsGroup guest;  // where the non-TLB counters live: "vcpu.N" or "guest"
  statistics::Counter accesses{guest, "accesses", "guest memory accesses"};
  statistics::Counter l1_hit{*this, "tlb.l1.hit", "L1 TLB hits"};
  statistics::Counter l1_miss{*this, "tlb.l1.miss", "L1 TLB misses"};
  statistics::Counter l2_hit{*this, "tlb.l2.hit", "L2 TLB hits"};
  statistics::Counter l2_miss{*this, "tlb.l2.miss", "L2 TLB misses (a page walk follows)"};
  statistics::Counter exits{guest, "exits", "VM exits"};
  statistics::Counter stage2_faults{guest, "stage2_faults",
                                    "second-stage (or shadow) faults taken"};
  statistics::Counter ipis_taken{guest, "ipis_taken",
                                 "host IPIs taken (remote TLB flush requests)"};
  statistics::Counter tlb_flushes{guest, "tlb_flushes", "TLB flushes carried out"};
};

// Sums over every vCPU: one group per run.
struct GuestStats : VcpuCounters {
  explicit GuestStats(Stats& s) : VcpuCounters(s, "", "guest") {}
  VcpuCounters& counters() { return *this; }
  StatsGroup shootdown{guest, "shootdown"};
  statistics::Counter shootdowns{shootdown, "count", "guest TLB shootdowns (flush_tlb_multi)"};
  statistics::Counter ipis{shootdown, "ipis", "guest shootdown IPIs sent"};
  statistics::Counter ipis_handled{shootdown, "ipis_handled", "guest shootdown IPIs handled"};
  statistics::Counter pv_skipped{shootdown, "pv_skipped",
      "shootdown targets skipped because they were preempted (PV flush)"};
  statistics::Counter pv_flushes_on_entry{shootdown, "pv_flushes_on_entry",
                                          "PV TLB flushes done when a preempted vCPU ran again"};
  statistics::Histogram latency{shootdown, "latency",
                                "cycles from a guest shootdown to its last ack"};
  statistics::Counter invlpg{guest, "invlpg", "guest INVLPGs"};
  StatsGroup hv_flush{registry(), "hv.flush"};
  statistics::Counter flush_full{hv_flush, "full", "full TLB flushes done by vCPUs on request"};
  statistics::Counter flush_ranged_entries{hv_flush, "ranged_entries",
                                           "TLB entries dropped by ranged flush requests"};
};

// One vCPU's, under "vcpu.N".
struct VcpuStats : VcpuCounters {
  VcpuStats(Stats& s, int id)
      : VcpuCounters(s, "vcpu." + std::to_string(id), "vcpu." + std::to_string(id)) {}
  statistics::Histogram fault_latency{*this, "fault_latency",
                                      "cycles from a stage-2 fault's exit to the guest's re-entry"};
  statistics::Value populate_cycles{*this, "populate_cycles", "cycles the vCPU ran its op stream"};
  statistics::Value descheduled_cycles{*this, "descheduled_cycles",
                                       "cycles the vCPU waited for a physical CPU"};
  statistics::Counter preemptions{*this, "preemptions", "preemptions by the host scheduler"};
  statistics::Counter shootdowns{*this, "shootdowns", "guest TLB shootdowns this vCPU started"};
  statistics::Counter pv_flushes_on_entry{*this, "pv_flushes_on_entry",
                                          "PV TLB flushes done when this vCPU ran again"};
  statistics::Counter flush_full{*this, "flush.full", "full TLB flushes done on request"};
  statistics::Counter flush_ranged_entries{*this, "flush.ranged_entries",
                                           "TLB entries dropped by ranged flush requests"};
};

}  // namespace mmusim
