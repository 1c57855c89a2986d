// Host events replayed from a workload (a trace), carried out by the host memory manager as
// it would do them, in the replaying host thread: HostMm changes its own mappings and raises
// KVM's MMU notifiers around each change when KVM subscribed (x86; MIPS with --mips-sync-mmu
// on). Arch-neutral: the arch's hypervisor MMU sees these events only through its notifier
// callbacks, so any arch with a HostMm-driven notifier offers this sink.
//
//   unmap       MADV_DONTNEED of the range (HostMm::unmap_range: one invalidation)
//   change-pte  the page migrates to a new frame (HostMm::migrate)
//   age         clear_flush_young over the range (needs MMU notifiers: the host cannot see
//               guest accesses without them, so the kind is refused when there are none)
//   cow         a COW break: a private copy in a new frame
//   ksm-merge   the page is merged onto the page at gpa2: if that page is not a KSM page yet
//               it is first moved onto a fresh stable (shared, read-only) frame, as KSM does
//               with two identical unstable pages; then gpa's page is mapped to the same frame
//   swap-out    each backed page of the range is written to swap and freed
// Memslot and dirty-log ioctls are not host memory-manager events: refused here.
// A page the host does not back (never touched, already swapped) is skipped and counted.
#pragma once
#include <optional>

#include "sim/core/stats_group.hpp"
#include "sim/hv/host_events.hpp"
#include "sim/hv/host_mm.hpp"

namespace mmusim {

class HostMmEventSink : public HostEventSink {
 public:
  HostMmEventSink(HostMm& host, Stats& stats);
  bool supports(HostEventKind kind) const override;
  void apply(Agent& host, const HostEvent& ev) override;

 private:
  HostMm& host_;
  struct EventStats : StatsGroup {
    explicit EventStats(Stats& s) : StatsGroup(s, "host.events") {}
    statistics::Counter applied{*this, "applied", "host events applied"};
    statistics::Counter pages{*this, "pages", "pages a host event acted on"};
    statistics::Counter pages_skipped{*this, "pages_skipped",
                                      "pages of host events skipped (not backed by the host)"};
  };
  Stats& registry_;
  std::optional<EventStats> stats_;  // registered with the first event (not in every run)
};

}  // namespace mmusim
