// One VM of the host (docs/ARCHITECTURE.md, Several VMs): its VMM process's memory (a HostMm
// over the host-wide page allocator), the arch's hypervisor MMU (its own roots, memslots,
// mmu_lock and MMU-notifier sequence), the workload with its guest layout and tables, the
// vCPUs, the remote-flush front end over them, host threads, the VMM thread, and the lost-update
// oracle over its stage-2 tables. Everything host-wide (kernel layer, memory system, physical
// memory, kernel heap, RCU, host scheduler) is the Platform's and reached through VmHost.
//
// Run phases of a VM: its vCPUs (and host threads) run to the end of their streams; its VMM
// thread then checks the stage-2 tables against what was touched, tears the VM down (every
// table freed after RCU) and tells the platform (VmHost::vm_done), which ends the run once every
// VM is done.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "app/progress_meter.hpp"
#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/touched_pages.hpp"
#include "sim/core/violations.hpp"
#include "sim/cpu/vcpu.hpp"
#include "sim/cpu/vcpu_stats.hpp"
#include "sim/hv/arch_model.hpp"
#include "sim/hv/host_memory.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/host_scheduler.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/mmu_stats.hpp"
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
  // Replaces the configured workload's op stream of a vCPU, in every VM (the guest tables still
  // map the configured workload's data window).
  std::function<std::unique_ptr<OpStream>(unsigned vcpu)> stream;
  // Extra host threads that run alongside VM 0's vCPUs (and its workload's), on physical CPU 0.
  std::vector<std::pair<std::string, std::function<void(Agent&)>>> host_threads;
  // Replaces the arch's host-event sink given to VM 0's workload (tests of event replay).
  HostEventSink* host_events = nullptr;
  // Keep the final stage-2 leaves in Vm::final_leaves (tests inspect them). The mmusim
  // executable does not: a populated 64 GiB guest has 16 M leaves, more bytes than its tables.
  bool keep_final_leaves = true;
};

class Vm;

// The host-wide parts a VM is built on and runs against (owned by the Platform).
struct VmHost {
  SimKernel& kernel;
  const SimConfig& cfg;  // the host's; each VM has its own (SimConfig::vm_config)
  Stats& stats;  // host-wide names; a VM registers its own through a prefixed view
  Timeline& timeline;
  PhysMem& phys;
  PagePool& pool;  // stage-2 and shadow table pages of every VM
  MemorySystem& memsys;
  KernelHeap& heap;
  HostMemory& memory;
  Rcu& rcu;
  HostScheduler* sched;  // null: a pCPU per vCPU thread
  std::unique_ptr<ProgressMeter>& progress;  // --progress: made by VM 0; counts every VM's ops and faults
  std::function<void(Vm&, Agent& vmm)> vm_done;  // in the VM's VMM thread, after its teardown
  PcpuTlbs* tlbs;  // every pCPU's TLBs, which the vCPUs pinned to each share
  TlbTags* tags;   // the hypervisor's TLB tag spaces
};

class Vm {
 public:
  // VM `index` of `count` on `host`, configured by `cfg` (the host's config, or the VM's own from
  // a host file), its vCPU threads numbered from `first_thread` over the host's. Its statistics
  // and timeline tracks are named "vm.<index>." when count > 1 and exactly as a lone VM's
  // otherwise.
  Vm(VmHost& host, const SimConfig& cfg, unsigned index, unsigned count, unsigned first_thread,
     const PlatformHooks& hooks);
  ~Vm();
  HypervisorMmu& mmu() { return arch->mmu(); }
  // After the run: vCPU and run statistics of the VM; then, once the host's sim.cycles is set,
  // the workload's (rates over the run's time).
  void publish();
  void publish_workload();
  // The VM's lines of the text summary, each started with `indent`.
  void print_summary(std::ostream& os, const std::string& indent) const;
  // The VM's threads that did not finish, each with what it waits for (a deadlock report).
  void describe_blocked(std::ostream& m) const;

  const unsigned index;
  const std::string prefix;  // "vm.<index>." with several VMs, else ""
  Stats stats;               // a view of the host's registry under `prefix`
  FaultStats faults;         // shared by the hypervisor MMU and the vCPUs
  GuestStats guest_stats;    // sums over the vCPUs
  Violations oracle;
  HostMm host;  // the VMM process's mm
  FillClock fills;
  RemoteFlush flush;
  std::unique_ptr<ArchModel> arch;     // formats and hypervisor MMU of --arch
  std::unique_ptr<Workload> workload;  // --workload
  GuestLayout layout;
  std::unique_ptr<GuestPageTables> guest_pt;  // when the workload has no guest OS
  TouchedPages touched;
  std::unique_ptr<WorkloadEnv> workload_env;
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  std::vector<std::unique_ptr<HostThread>> host_threads;
  std::unique_ptr<HostThread> vmm;
  std::vector<Stage2Leaf> final_leaves;  // stage-2 leaves when the vCPUs were done (if kept)
  Cycles populate_end = 0, teardown_cycles = 0;
  bool finished = false;

 private:
  // The name of one of the VM's threads as a SystemC module (which may not contain '.', the
  // hierarchy separator: warning W506) and as a timeline track.
  std::string module_name(const std::string& name) const;
  void build_guest();
  void build_vcpus(const PlatformHooks& hooks);
  void attach_pml_log(Vcpu& v);  // --pml on: the vCPU's log, for its walker and the MMU
  void attach_overcommit();  // host scheduler, guest IPIs, flush words (platform_overcommit.cpp)
  void add_host_thread(const std::string& name, std::function<void(Agent&)> body);
  void vmm_main(Agent& vmm);
  void check_stage2();
  VmHost& h_;
  const SimConfig& cfg_;
  const bool keep_final_leaves_;
  const unsigned count_;
  const unsigned first_thread_;  // host-wide number of the VM's vCPU 0 thread
};

}  // namespace mmusim
