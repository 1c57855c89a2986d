// The kernel layer of one simulation: its own SystemC context, the clock, the lookahead horizon,
// the parked agents and the speed-up switches. The Platform (or a test rig) owns one; every
// Agent reaches it through its own pointer, and components that keep time without an Agent
// (the memory system, walkers, RCU) get it or its Clock through their constructors. Nothing of
// it is global, so several simulations can be built and run one after another in one process
// (docs/PERFORMANCE.md describes what lookahead and hand-offs save).
#pragma once
#include <cstdint>
#include <systemc>

#include "sim/core/clock.hpp"
#include "sim/core/types.hpp"
#include "sim/sync/event.hpp"
#include "sim/sync/horizon.hpp"
#include "sim/sync/parked_agents.hpp"
#include "sim/sync/sim_context.hpp"

namespace mmusim {

struct KernelParams {
  double clock_ghz = 1.0;      // --clock-ghz
  Cycles quantum = 1000;       // --quantum: cycles of private work between syncs
  bool lookahead = true;       // --sync-lookahead: skip a sync when nothing else can run first
  bool direct_handoff = true;  // --direct-handoff: hand-offs switch straight to the woken thread
};

class SimKernel {
 public:
  // Installs a simulation context of its own (sim_context.hpp): build every SystemC object of
  // the simulation after this and destroy them before it.
  explicit SimKernel(const KernelParams& p);
  SimKernel(const SimKernel&) = delete;
  SimKernel& operator=(const SimKernel&) = delete;

  sc_core::sc_simcontext* context() const { return context_.get(); }
  const Clock& clock() const { return clock_; }
  Horizon& horizon() { return horizon_; }
  ParkedAgents& parked() { return parked_; }
  const ParkedAgents& parked() const { return parked_; }
  // The temporal-decoupling quantum in sc_time value units.
  uint64_t quantum() const { return quantum_; }
  bool lookahead() const { return lookahead_; }
  // Whether hand-offs switch straight to the woken thread (asked, and the build supports it:
  // RunNext::available()).
  bool direct_handoff() const { return direct_handoff_; }

  // The model's only way to notify one of its events: the horizon learns that what the kernel
  // has pending changed. `delay` zero is a delta notification, as sc_event::notify(SC_ZERO_TIME).
  void notify(Event& ev, const sc_core::sc_time& delay = sc_core::SC_ZERO_TIME) {
    horizon_.invalidate();
    ev.ev_.notify(delay);
  }
  // Call before handing control to the SystemC kernel other than through an Agent's waits (a
  // raw sc_core::wait, the end of a thread): the earliest parked agent gets its timed wake-up.
  void before_kernel_wait() { parked_.arm_earliest(); }

 private:
  // The hand-off's own notifications (Agent::park, ParkedAgents): an immediate wake-up that
  // leaves the kept horizon valid, and taking an armed wake-up back.
  friend class Agent;
  friend class ParkedAgents;
  static void wake_now(Event& ev) { ev.ev_.notify(); }
  static void cancel(Event& ev) { ev.ev_.cancel(); }

  SimContext context_;  // first: built before and destroyed after everything that uses it
  Clock clock_;
  Horizon horizon_;
  ParkedAgents parked_;
  uint64_t quantum_;
  bool lookahead_;
  bool direct_handoff_;
};

}  // namespace mmusim
