// Builds one simulated host from a SimConfig and runs it: the host-wide parts (kernel layer,
// memory system, physical memory, kernel heap, the host memory manager's page allocator, RCU,
// the host scheduler) and --vms VMs on them (app/vm.hpp: each with its hypervisor MMU, workload,
// vCPUs, VMM thread and oracle; docs/ARCHITECTURE.md, Several VMs). Each Platform has its own
// kernel layer and SystemC context (sim/sync/sim_kernel.hpp): several can be built and run one
// after another in one process.
//
// Run phases: each VM runs its vCPUs to the end of their streams, checks and tears itself down
// (app/vm.hpp); once every VM is done, the last VMM thread checks no page-table page leaked and
// stops the kernel.
#pragma once
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <systemc>
#include <vector>

#include "app/progress_meter.hpp"
#include "app/vm.hpp"
#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/cpu/pcpu_tlbs.hpp"
#include "sim/hv/host_memory.hpp"
#include "sim/hv/host_scheduler.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/tlb_tags.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/sync/rcu.hpp"
#include "sim/sync/sim_kernel.hpp"

namespace mmusim {

class Platform {
 public:
  explicit Platform(const SimConfig& cfg, PlatformHooks hooks = {});
  ~Platform();
  // Runs to completion. Throws DeadlockError if the simulation stops before every VMM finished
  // (every thread blocked: a simulated deadlock).
  void run();
  // Writes --stats-json and --timeline if asked for.
  void write_outputs() const;
  void print_summary(std::ostream& os, double wall_seconds) const;
  Vm& vm(size_t i = 0) { return *vms_.at(i); }
  size_t vm_count() const { return vms_.size(); }
  HypervisorMmu& mmu() { return vm().mmu(); }

  // The host-wide parts, for tests and analysis. The kernel layer comes first: every SystemC
  // object of the platform is built after it and destroyed before it.
  SimKernel kernel;
  const SimConfig cfg;
  Stats stats;
  Timeline timeline;
  PhysMem phys;
  PagePool pool;
  MemorySystem memsys;
  KernelHeap heap;
  HostMemory host_memory;  // page allocator and host.mm.* counters of every VMM process
  Rcu rcu;
  std::unique_ptr<HostScheduler> sched;  // vCPU threads outnumber --pcpus only
  // Every physical CPU's TLBs, and the hypervisor's TLB tag spaces (docs/ARCHITECTURE.md,
  // Several VMs: TLB tags).
  std::unique_ptr<PcpuTlbs> tlbs;
  std::unique_ptr<TlbTags> tags;
  std::unique_ptr<ProgressMeter> progress;  // --progress, when it shows a line; outlives the
                                            // vCPUs' streams, which count ops to it

 private:
  VmHost vm_host_;
  std::vector<std::unique_ptr<Vm>> vms_;

 public:
  // VM 0's parts under the names a one-VM platform has always given them.
  FaultStats& faults;
  Violations& oracle;
  HostMm& host;
  RemoteFlush& flush;
  std::unique_ptr<ArchModel>& arch;
  std::unique_ptr<Workload>& workload;
  TouchedPages& touched;
  std::vector<std::unique_ptr<Vcpu>>& vcpus;
  std::vector<Stage2Leaf>& final_leaves;

 private:
  std::vector<std::unique_ptr<Vm>> build_vms(const PlatformHooks& hooks);
  void vm_done(Agent& vmm);  // in a VMM thread whose VM is torn down
  unsigned vms_done_ = 0;
  bool finished_ = false;
  // Statistics of the whole run, set once it finished.
  struct RunStats : StatsGroup {
    explicit RunStats(Stats& s) : StatsGroup(s) {}
    statistics::Value cycles{*this, "sim.cycles", "simulated cycles until every vCPU finished"};
    statistics::Value kvm_release{*this, "sim.kvm_release",
                                  "KVM release modelled (--kvm-version), VERSION*100+PATCHLEVEL: "
                                  "612 is 6.12"};
    statistics::Value tables_peak{*this, "hv.tables.peak",
                                  "most stage-2 page-table pages allocated at once"};
    statistics::Value backed_bytes{*this, "host.backed_bytes",
                                   "bytes of guest memory backed by host pages at the end"};
    statistics::Value pt_bytes{*this, "mem.pt_bytes",
                               "bytes of simulated memory whose contents the model stores"};
  };
};

}  // namespace mmusim
