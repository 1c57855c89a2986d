// What an architecture contributes to a platform: its guest (stage-1) and second-stage page
// formats and its hypervisor MMU software. The platform builds everything else (memory, vCPUs,
// host threads) the same way for every arch; models/arch_registry picks one by --arch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/touched_pages.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/mmu_stats.hpp"
#include "sim/hv/flush_strategy.hpp"
#include "sim/hv/host_events.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/dvm_channel.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/mmu/walker.hpp"
#include "sim/sync/rcu.hpp"

namespace mmusim {

// The shared platform pieces an arch's hypervisor code is built on (its parameters come apart,
// in the arch's own Params: models/arch_params.hpp).
struct ArchDeps {
  PhysMem& phys;
  PagePool& pool;
  HostMm& host;
  RemoteFlush& flush;
  Rcu& rcu;
  KernelHeap& heap;
  Stats& stats;
  FaultStats& faults;  // owned by the Platform, shared with the vCPUs
  Timeline& timeline;
  Violations& oracle;
  TouchedPages& touched;  // lost-update oracle's expectation; MMU code clears what it zaps
  DvmChannel& dvm;        // the host's interconnect, shared by every VM (arm64 broadcast TLBI)
};

class ArchModel {
 public:
  virtual ~ArchModel() = default;
  virtual const char* name() const = 0;
  virtual const PageTableFormat& guest_format() const = 0;
  virtual const PageTableFormat& stage2_format() const = 0;
  virtual HypervisorMmu& mmu() = 0;
  // The translation hardware of one vCPU: by default the 2D hardware walker over this arch's
  // formats ("walk.*" statistics).
  virtual std::unique_ptr<TranslationWalker> make_walker(const char* name, const WalkerParams& p,
                                                         const Clock& clock, PagePool* pool,
                                                         Violations* oracle, Stats& stats) {
    if (!walk_stats_) walk_stats_ = std::make_unique<HwWalkStats>(stats, "walk");
    if (p.pml && !pml_stats_) pml_stats_ = std::make_unique<PmlWalkStats>(stats);
    return std::make_unique<Walker>(name, p, clock, guest_format(), stage2_format(), pool,
                                    oracle, *walk_stats_, pml_stats_.get());
  }
  // A flush strategy of the arch's own for --flush `kind` (e.g. arm64 broadcast TLBI);
  // nullptr: the arch-neutral strategies apply.
  virtual std::unique_ptr<FlushStrategy> make_flush_strategy(FlushKind kind) {
    (void)kind;
    return nullptr;
  }
  // The arch's entry points for host events (notifiers, memslots, dirty log) replayed from a
  // workload; nullptr: none modelled, so a trace holding any host event is refused.
  virtual HostEventSink* host_event_sink() { return nullptr; }

 private:
  std::unique_ptr<HwWalkStats> walk_stats_;  // the vCPUs' walkers share it
  std::unique_ptr<PmlWalkStats> pml_stats_;  // only with --pml on
};

}  // namespace mmusim
