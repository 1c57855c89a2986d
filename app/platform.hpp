// Builds one simulated machine from a SimConfig and runs it: memory system, vCPUs with TLBs and
// walkers, the hypervisor's MMU software for the chosen arch, host threads, the workload, and
// the correctness oracle. Each Platform has its own kernel layer and SystemC context
// (sim/sync/sim_kernel.hpp): several can be built and run one after another in one process.
//
// Run phases: the vCPUs (and any extra host threads) run to the end of their streams; the VMM
// thread then checks the stage-2 tables against what was touched (lost-update oracle), tears
// the VM down (every table freed after RCU), checks nothing leaked, and stops the kernel.
#pragma once
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <systemc>
#include <vector>

#include "app/progress_meter.hpp"
#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"
#include "sim/cpu/vcpu.hpp"
#include "sim/cpu/vcpu_stats.hpp"
#include "sim/hv/arch_model.hpp"
#include "sim/hv/mmu_stats.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/host_scheduler.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/sync/rcu.hpp"
#include "sim/sync/sim_kernel.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/guest_page_tables.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

// A simulated host thread with its own SystemC thread, memory port and agent.
class HostThread : public sc_core::sc_module {
 public:
  HostThread(sc_core::sc_module_name name, SimKernel& kernel, int pcpu, int track,
             std::function<void(Agent&)> body);
  MemPort port;
  Agent agent;
  bool finished = false;
  Event finished_event;

 private:
  void main();
  std::function<void(Agent&)> body_;
};

// Ways to change what runs, for tests and for workloads built on the platform.
struct PlatformHooks {
  // Replaces the configured workload's op stream of a vCPU (the guest tables still map the
  // configured workload's data window).
  std::function<std::unique_ptr<OpStream>(unsigned vcpu)> stream;
  // Extra host threads that run alongside the vCPUs (and the workload's), on physical CPU 0.
  std::vector<std::pair<std::string, std::function<void(Agent&)>>> host_threads;
  // Replaces the arch's host-event sink given to the workload (tests of event replay).
  HostEventSink* host_events = nullptr;
  // Keep the final stage-2 leaves in Platform::final_leaves (tests inspect them). The mmusim
  // executable does not: a populated 64 GiB guest has 16 M leaves, more bytes than its tables.
  bool keep_final_leaves = true;
};

class Platform {
 public:
  explicit Platform(const SimConfig& cfg, PlatformHooks hooks = {});
  ~Platform();
  // Runs to completion. Throws DeadlockError if the simulation stops before the VMM finished
  // (every thread blocked: a simulated deadlock).
  void run();
  // Writes --stats-json and --timeline if asked for.
  void write_outputs() const;
  void print_summary(std::ostream& os, double wall_seconds) const;
  HypervisorMmu& mmu() { return arch->mmu(); }

  // The parts, for tests and analysis. The kernel layer comes first: every SystemC object of
  // the platform is built after it and destroyed before it.
  SimKernel kernel;
  const SimConfig cfg;
  Stats stats;
  FaultStats faults;        // shared by the hypervisor MMU(s) and the vCPUs
  GuestStats guest_stats;   // sums over the vCPUs
  Timeline timeline;
  Violations oracle;
  PhysMem phys;
  PagePool pool;
  MemorySystem memsys;
  KernelHeap heap;
  HostMm host;
  Rcu rcu;
  FillClock fills;
  RemoteFlush flush;
  std::unique_ptr<ArchModel> arch;  // formats and hypervisor MMU of --arch
  std::unique_ptr<Workload> workload;  // --workload
  GuestLayout layout;
  std::unique_ptr<GuestPageTables> guest_pt;  // when the workload has no guest OS
  TouchedPages touched;
  std::unique_ptr<WorkloadEnv> workload_env;
  std::unique_ptr<HostScheduler> sched;  // --pcpus < --vcpus only
  std::unique_ptr<ProgressMeter> progress;  // --progress, when it shows a line; outlives the
                                            // vCPUs' streams, which count ops to it
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  std::vector<std::unique_ptr<HostThread>> host_threads;
  std::unique_ptr<HostThread> vmm;
  std::vector<Stage2Leaf> final_leaves;  // stage-2 leaves when the vCPUs were done (if kept)
  Cycles populate_end = 0, teardown_cycles = 0;
  bool finished = false;
  bool keep_final_leaves = true;  // PlatformHooks::keep_final_leaves

 private:
  void build_guest();
  void build_vcpus(const PlatformHooks& hooks);
  void attach_pml_log(Vcpu& v);  // --pml on: the vCPU's log, for its walker and the MMU
  void attach_overcommit();  // host scheduler, guest IPIs, flush words (platform_overcommit.cpp)
  void add_host_thread(const std::string& name, std::function<void(Agent&)> body);
  void vmm_main(Agent& vmm);
  void check_stage2();
  // Statistics of the whole run, set once it finished.
  struct RunStats : StatsGroup {
    explicit RunStats(Stats& s) : StatsGroup(s) {}
    statistics::Value cycles{*this, "sim.cycles", "simulated cycles until every vCPU finished"};
    statistics::Value teardown_cycles{*this, "sim.teardown_cycles",
                                      "simulated cycles of the VM teardown"};
    statistics::Value vcpus{*this, "sim.vcpus", "vCPUs simulated"};
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
