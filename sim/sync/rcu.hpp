// Simulated RCU. Readers mark read-side sections (rcu_read_lock/unlock: per-agent, no shared
// memory traffic, as in a non-preemptible kernel). call_rcu queues a callback; a grace period
// starts when callbacks are pending and ends once every registered agent has been seen outside
// a read-side section after the start (an agent not in a section when the period starts is
// quiescent at once, like an idle CPU or a vCPU in guest mode). Callbacks then run, in order, on
// the RCU module's own SystemC thread. A grace period's length therefore emerges from readers.
// Timing: read_lock never synchronises the agent; read_unlock does only when that exit is one a
// grace period in progress waits for (so it counts at the reader's true time); call_rcu and
// barrier synchronise. Callbacks queued while a grace period runs wait for the next one.
#pragma once
#include <deque>
#include <functional>
#include <string>
#include <systemc>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class Rcu : public sc_core::sc_module {
 public:
  // Statistics: "rcu.grace_periods", "rcu.callbacks", "rcu.gp_latency" (histogram, cycles from
  // the first queued callback of a batch to its invocation).
  // `kernel`: the simulation's kernel layer (sim_kernel.hpp), which outlives this.
  Rcu(sc_core::sc_module_name name, SimKernel& kernel, Stats& stats);
  void register_agent(Agent& a);
  void read_lock(Agent& a);
  void read_unlock(Agent& a);
  // Queue cb to run after a grace period; cb runs on the RCU thread at simulated time.
  void call_rcu(Agent& a, std::function<void()> cb);
  size_t pending() const;  // queued and not yet run, including a batch in its grace period
  // Waits (in the caller's thread) until every callback queued so far has run.
  void barrier(Agent& a);

 private:
  void gp_thread();
  struct Pending {
    std::function<void()> cb;
    Cycles queued_at;
  };
  SimKernel& kernel_;
  std::vector<Agent*> agents_;
  std::deque<Pending> next_batch_;
  Event work_, reader_left_, batch_done_;
  uint64_t batches_done_ = 0, batches_started_ = 0;
  uint64_t queued_ = 0, invoked_ = 0;  // callbacks ever queued / ever run (for barrier)
  bool gp_active_ = false;
  // Agents that were inside a read-side section when the current grace period started and
  // have not left it since; the grace period ends when this empties.
  std::vector<Agent*> holdouts_;
  struct RcuStats : StatsGroup {
    explicit RcuStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter grace_periods{*this, "rcu.grace_periods", "grace periods completed"};
    statistics::Counter callbacks{*this, "rcu.callbacks", "RCU callbacks invoked"};
    statistics::Histogram gp_latency{*this, "rcu.gp_latency",
        "cycles from a batch's first queued callback to its invocation"};
  } stats_;
};

}  // namespace mmusim
