// Statistics that several hypervisor MMU models keep under the same names (README.md,
// Outputs).
//
// FaultStats: stage-2 (or shadow) faults, which every MMU and every vCPU update: one group owned
// by the Platform and handed to each, so each name is registered once; record() counts one
// handled fault's outcome and latency the same way for every MMU.
//
// TableStats, SpteTableStats: an MMU's own stage-2 table pages (and SPTE updates); the MMU's
// statistics struct derives from the one it keeps.
#pragma once
#include "sim/core/stats_group.hpp"
#include "sim/hv/hypervisor_mmu.hpp"

namespace mmusim {

struct FaultStats : StatsGroup {
  explicit FaultStats(Stats& s) : StatsGroup(s, "hv.fault") {}
  statistics::Counter count{*this, "count", "stage-2 (or shadow) faults taken by the hypervisor"};
  statistics::Counter fixed{*this, "fixed", "stage-2 faults that installed or changed a mapping"};
  statistics::Counter retry{*this, "retry",
      "stage-2 faults retried (raced with another update or an invalidation)"};
  statistics::Counter spurious{*this, "spurious",
                               "stage-2 faults that found the mapping already present"};
  statistics::Histogram latency{*this, "latency",
                                "cycles per stage-2 fault in the hypervisor's fault handler"};
  statistics::Counter walk_cycles{*this, "cycles.walk",
      "cycles of the walks that found a stage-2 fault, summed over faults"};
  // One fault the MMU's handler finished: its outcome (an emulated write is none of fixed,
  // retried or spurious) and the handler's cycles.
  void record(FaultOutcome out, Cycles handler_cycles) {
    switch (out) {
      case FaultOutcome::Fixed: fixed.inc(); break;
      case FaultOutcome::Retry: retry.inc(); break;
      case FaultOutcome::Spurious: spurious.inc(); break;
      case FaultOutcome::Emulate: break;
    }
    latency.sample(handler_cycles);
  }
};

struct TableStats : StatsGroup {
  explicit TableStats(Stats& s) : StatsGroup(s) {}
  statistics::Counter tables_alloc{*this, "hv.tables.allocated",
                                   "stage-2 page-table pages allocated"};
  statistics::Counter tables_freed{*this, "hv.tables.freed_rcu",
                                   "stage-2 page-table pages freed after an RCU grace period"};
};

// An MMU that updates SPTEs with compare-and-exchange and can free tables it never linked.
struct SpteTableStats : TableStats {
  explicit SpteTableStats(Stats& s) : TableStats(s) {}
  statistics::Counter tables_unused{*this, "hv.tables.freed_unlinked",
                                    "stage-2 page-table pages freed without ever being linked"};
  statistics::Counter cmpxchg_fail{*this, "hv.spte.cmpxchg_fail",
                                   "SPTE compare-and-exchange updates that lost a race"};
};

}  // namespace mmusim
