// A workload: what the vCPUs run (one op stream each), what host threads run beside them
// (host memory-manager events, VMM ioctls), and how the guest's own page tables come to be:
// built by the harness before the run for the whole data window (as KVM selftests do), or by a
// modelled guest kernel on first touch (GuestOs).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/core/touched_pages.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"
#include "sim/cpu/guest_os.hpp"
#include "sim/cpu/op.hpp"
#include "sim/cpu/vmm_rendezvous.hpp"
#include "sim/hv/host_events.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/rcu.hpp"

namespace mmusim {

// The platform pieces a workload's guest OS and host threads act on.
// A workload's own parameters are its Params (given to its constructor), not part of this.
struct WorkloadEnv {
  HypervisorMmu& mmu;
  HostMm& host;
  RemoteFlush& flush;
  Rcu& rcu;
  PhysMem& phys;
  const PageTableFormat& guest_fmt;
  Stats& stats;
  Timeline& timeline;
  Violations& oracle;
  TouchedPages& touched;
  // The arch's host-event entry points (nullptr: it models none); set by the platform.
  HostEventSink* host_events = nullptr;
};

struct HostThreadSpec {
  std::string name;                    // also the timeline track "host.<name>"
  std::function<void(Agent&)> body;    // runs in its own SystemC thread on physical CPU 0
};

// The vCPUs' work as the workload knows it before the run: how many ops all vCPU streams yield
// together, and what one op is. ops 0: not known. The progress line's ETA compares it with
// the ops the vCPUs have taken so far (app/progress_meter.hpp).
struct WorkSize {
  uint64_t ops = 0;
  const char* unit = "ops";
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual const char* name() const = 0;
  // Bytes of the guest data window (virtual GuestLayout::kDataGva, physical kDataGpa).
  virtual uint64_t data_bytes() const = 0;
  // Called once the platform exists, before the run.
  virtual void attach(WorkloadEnv&) {}
  // Null: the harness builds guest tables mapping the whole data window before the run.
  virtual GuestOs* guest_os() { return nullptr; }
  // Where the vCPUs' Op::Kind::Sync ops meet the VMM; null if the workload has none.
  virtual VmmRendezvous* rendezvous() { return nullptr; }
  virtual std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) = 0;
  virtual std::vector<HostThreadSpec> host_threads() { return {}; }
  virtual WorkSize vcpu_work() const { return {}; }
  // Adds workload-specific statistics at the end of the run.
  virtual void publish(Stats&) {}
};

}  // namespace mmusim
