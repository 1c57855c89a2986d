// The SystemC rig shared by the mem_* tests that drive the memory system through MemPort ->
// b_transport (mem_port_test, mem_poc_test): both need the same two-CPU initiator module bound to
// one MemorySystem, so it lives here once instead of in each test file.
//
// A MemRig elaborates SystemC modules ("mem", "init" with "port0"/"port1") in the process's
// SystemC context and run() starts the kernel: build at most one rig per TEST (ctest runs each
// TEST in its own process; by hand, use --gtest_filter one test at a time). The rigs of the
// layers above have contexts of their own (sim/sync/sim_kernel.hpp); this layer's tests do
// without it.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <systemc>
#include <utility>

#include "sim/core/clock.hpp"
#include "sim/core/stats.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim::testing {

// Runs `body` in a SystemC thread, with one MemPort per CPU bound to a shared MemorySystem.
struct MemInitiator : sc_core::sc_module {
  SC_HAS_PROCESS(MemInitiator);
  MemInitiator(sc_core::sc_module_name n, const Clock& clock,
               std::function<void(MemInitiator&)> body)
      : sc_core::sc_module(n), port0("port0", 0, clock), port1("port1", 1, clock),
        body_(std::move(body)) {
    SC_THREAD(run);
  }
  void run() {
    body_(*this);
    done = true;
  }
  MemPort port0, port1;
  bool done = false;

 private:
  std::function<void(MemInitiator&)> body_;
};

// A two-CPU memory system on one socket with a MemInitiator bound to it; run() fails the test if
// the body did not finish.
struct MemRig {
  // `tune` changes the memory system's parameters before it is built.
  explicit MemRig(std::function<void(MemInitiator&)> body,
                  std::function<void(MemorySystemParams&)> tune = {}) {
    cfg.pcpus = 2;
    cfg.sockets = 1;
    if (tune) tune(cfg);
    ms = std::make_unique<MemorySystem>("mem", cfg, clk, mem, stats);
    init = std::make_unique<MemInitiator>("init", clk, std::move(body));
    init->port0.socket.bind(ms->target);
    init->port1.socket.bind(ms->target);
  }
  void run() {
    sc_core::sc_start();
    ASSERT_TRUE(init->done);
  }
  const Clock& clock() const { return clk; }
  Clock clk{1.0, sc_core::sc_get_curr_simcontext()};
  MemorySystemParams cfg;
  PhysMem mem;
  Stats stats;
  std::unique_ptr<MemorySystem> ms;
  std::unique_ptr<MemInitiator> init;
};

}  // namespace mmusim::testing
