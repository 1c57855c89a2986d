// Common shape of the host memory-manager event workloads (ksm-merge, swap-storm,
// idle-tracking): every vCPU makes --event-passes passes over its own slice of guest memory
// (demand-paging slices, --overlap honoured), reading and writing in a per-workload mix, while
// one host thread ("host.mm") raises --host-events events, one every --host-event-interval
// cycles, each on --host-event-pages consecutive guest pages from a random place in the data
// window. A page the host does not back (never touched, or swapped out) is skipped and counted.
//
// The host changes go through HostMm, which raises the MMU notifiers when KVM subscribed to
// them (--mips-sync-mmu on); with notifiers off the host changes behind KVM's back, which the
// oracle then shows as stale mappings.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/rng.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct HostEventWorkloadParams {
  DemandPagingParams paging;          // the vCPUs' slices (vcpus, mem_per_vcpu, overlap, ...)
  unsigned event_passes = 4;          // passes each vCPU makes over its slice
  unsigned host_events = 16;          // events the host thread raises
  Cycles host_event_interval = 260000;  // cycles between two events
  uint64_t host_event_pages = 64;     // consecutive guest pages one event covers
  uint64_t seed = 1;                  // access mix and event placement
};

class HostEventWorkload : public Workload {
 public:
  // `write_fraction`: share of guest accesses that are writes (each workload's Params has it).
  HostEventWorkload(const HostEventWorkloadParams& p, double write_fraction);
  uint64_t data_bytes() const override { return paging_.data_bytes(); }
  void attach(WorkloadEnv& env) override;
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  std::vector<HostThreadSpec> host_threads() override;
  void publish(Stats& stats) override;

 protected:
  // One event on guest frame gfn; returns false when the page could not be acted on.
  virtual bool event_on_page(Agent& host, uint64_t gfn) = 0;
  // One event on guest frames [gfn, gfn + count); returns the pages acted on. By default
  // event_on_page for each page; an event the host does on a whole range at once overrides it.
  virtual uint64_t event_on_range(Agent& host, uint64_t gfn, uint64_t count);
  // Called once per event before its pages (a fresh KSM stable page, ...).
  virtual void begin_event(Agent& host) { (void)host; }
  // The stats prefix of this workload, e.g. "workload.ksm".
  virtual const char* stat_prefix() const = 0;
  WorkloadEnv* env_ = nullptr;

 private:
  void host_main(Agent& a);
  HostEventWorkloadParams p_;
  DemandPaging paging_;
  double write_fraction_;
  uint64_t events_ = 0, pages_done_ = 0, pages_skipped_ = 0;
};

}  // namespace mmusim
