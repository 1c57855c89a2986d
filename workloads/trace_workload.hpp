// --workload trace: replays a trace file (docs/TRACE_FORMAT.md). Each vCPU replays the records
// of its trace vCPU and each trace host thread h<N> becomes a host thread raising its host
// events through the arch's HostEventSink, every one after its recorded gaps. The guest's page
// tables are built by the modelled guest kernel on first touch (GuestKernel).
//
// Before the run the whole trace is scanned once (streaming): syntax, vCPU numbers against
// --vcpus, addresses against guest memory, and every host event kind against what the arch
// models -- so bad input is a UsageError naming file:line before any simulated cycle.
// During the run the file is read once more, by one demultiplexer feeding every replaying
// thread (workloads/trace_demux.hpp): bounded memory whatever the trace's length and
// interleaving.
//
// More vCPUs than the trace has (gva traces): vCPU i replays trace vCPU i mod T, its addresses
// shifted by (i / T) << S, where 2^S (at least 2^min_copy_shift, 1 TiB by default) lies above
// every address of the trace, so each copy is its own process image touching its own pages.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/modes.hpp"
#include "workloads/guest_kernel.hpp"
#include "workloads/trace_demux.hpp"
#include "workloads/trace_format.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

// What the pre-run scan learnt about a trace.
struct TraceSummary {
  TraceHeader header;
  unsigned vcpus = 0;                      // highest vCPU number + 1
  std::vector<uint64_t> vcpu_records;      // records per trace vCPU
  std::vector<uint32_t> host_threads;      // host thread numbers that have records
  uint64_t records = 0, accesses = 0, gaps = 0, host_events = 0;
  uint64_t distinct_pages = 0;             // gva: distinct pages; gpa: highest page + 1
  std::array<std::string, kHostEventKinds> first_event_at;  // "file:line" of each kind's first use
};

struct TraceWorkloadParams {
  std::string trace;               // the trace file to replay (text or binary, maybe gzip)
  unsigned vcpus = 4;              // vCPUs replaying it (checked against the trace's)
  unsigned guest_levels = 4;       // guest paging levels: bounds the user addresses
  uint64_t page_size = 4096;       // stage-2 mapping size: the data window is a multiple
  unsigned min_copy_shift = 40;    // log2 of the smallest stride between copies (1 TiB)
  Arch arch = Arch::X86;           // named when the arch does not model a host event
  GuestKernelParams kernel;        // the modelled guest kernel's latencies
  // Host memory for records read ahead of the thread that replays them (workloads/trace_demux).
  uint64_t queue_bytes = uint64_t(64) << 20;
};

class TraceWorkload : public Workload {
 public:
  explicit TraceWorkload(const TraceWorkloadParams& p);
  const char* name() const override { return "trace"; }
  uint64_t data_bytes() const override { return data_bytes_; }
  void attach(WorkloadEnv& env) override;
  GuestOs* guest_os() override { return kernel_.get(); }
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  std::vector<HostThreadSpec> host_threads() override;
  // One op per vCPU record (accesses and gaps), counted by the pre-run scan.
  WorkSize vcpu_work() const override;
  void publish(Stats& stats) override;
  const TraceSummary& summary() const { return sum_; }
  const TraceDemux& demux() const { return *demux_; }

 private:
  void scan();
  void replay_host_thread(Agent& a, unsigned consumer);
  TraceWorkloadParams p_;
  TraceSummary sum_;
  uint64_t data_bytes_ = 0;
  std::unique_ptr<GuestKernel> kernel_;
  std::unique_ptr<TraceDemux> demux_;
  HostEventSink* sink_ = nullptr;
  uint64_t host_events_applied_ = 0;
  unsigned copy_shift_ = 0;  // log2 of the stride between copies (scan)
};

}  // namespace mmusim
