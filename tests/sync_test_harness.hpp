// The SystemC rig shared by the sync_* tests (spinlock, rwlock, RCU, refcount): every one of them
// needs the same memory system with one MemPort and one Agent per simulated CPU, so it lives here
// once instead of in each test file.
//
// A SyncRig has its own kernel layer and SystemC context (sim/sync/sim_kernel.hpp): it
// elaborates SystemC modules ("mem", "port<i>", "agent<i>") and run() starts the kernel, and
// several rigs can be built and run one after another in one process.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "sim/core/clock.hpp"
#include "sim/core/stats.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/sim_kernel.hpp"

namespace mmusim::testing {

// A memory system with one port and agent per simulated CPU, all on one socket (the lock and
// host-mm tests time transfers against the local latency); bodies run as spawned threads.
struct SyncRig {
  SimKernel kernel;  // first: built before and destroyed after every SystemC object of the rig
  MemorySystemParams cfg;
  Stats stats;
  PhysMem mem;
  std::unique_ptr<MemorySystem> memsys;
  std::vector<std::unique_ptr<MemPort>> ports;
  std::vector<std::unique_ptr<Agent>> agents;

  explicit SyncRig(unsigned n, Cycles quantum = 1000) : SyncRig(n, params(quantum)) {}
  SyncRig(unsigned n, const KernelParams& kp) : kernel(kp) {
    cfg.pcpus = n;
    cfg.sockets = 1;
    memsys = std::make_unique<MemorySystem>("mem", cfg, kernel.clock(), mem, stats);
    for (unsigned i = 0; i < n; ++i) {
      ports.push_back(std::make_unique<MemPort>(("port" + std::to_string(i)).c_str(), int(i),
                                                kernel.clock()));
      ports.back()->set_cpu(int(i));
      ports.back()->socket.bind(memsys->target);
      agents.push_back(std::make_unique<Agent>(kernel, "agent" + std::to_string(i), int(i),
                                               *ports.back(), int(i)));
    }
  }
  // A 1 GHz kernel layer with `quantum`, lookahead and direct hand-offs.
  static KernelParams params(Cycles quantum = 1000) {
    KernelParams kp;
    kp.quantum = quantum;
    return kp;
  }
  const Clock& clock() const { return kernel.clock(); }
  // static_wake: the thread is statically sensitive to its agent's wake-up event, as a vCPU's
  // is (Agent::use_static_wake), so hand-offs to it can switch straight to it.
  void spawn(unsigned i, std::function<void(Agent&)> body, bool static_wake = false) {
    Agent* a = agents[i].get();
    sc_core::sc_spawn_options opts;
    if (static_wake) {
      opts.set_sensitivity(&a->wake_event());
      a->use_static_wake();
    }
    sc_core::sc_spawn(
        [a, body] {
          body(*a);
          a->before_kernel_wait();  // the thread ends: control goes back to the kernel
        },
        nullptr, &opts);
  }
  void run() { sc_core::sc_start(); }
};

}  // namespace mmusim::testing
