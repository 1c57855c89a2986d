// The host's CPU scheduler when vCPU threads of every VM outnumber physical CPUs (--pcpus P).
// Each vCPU thread is pinned to one physical CPU (thread t on pCPU t % P); a pCPU runs one vCPU
// at a time and hands itself to waiting vCPUs in FIFO order. A running vCPU asks, at scheduler
// ticks (--timeslice), whether another vCPU waits for its pCPU; if so it is preempted and queues
// behind it. Every wait here is a real SystemC wait on the owner's hand-over, so how long a vCPU
// stays descheduled emerges from what the other vCPUs on its pCPU do.
//
// The run queue is host-private bookkeeping (one CPU's runqueue, manipulated at the caller's
// true simulated time); the cost of a switch is HostSchedulerParams::context_switch.
#pragma once
#include <deque>
#include <memory>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// What the host scheduler is built from (app/params_hardware.cpp fills it).
struct HostSchedulerParams {
  unsigned vcpus = 4;            // vCPU threads it schedules, of every VM
  unsigned pcpus = 4;            // physical CPUs (vCPU thread t runs on pCPU t % pcpus)
  Cycles context_switch = 1500;  // switching a pCPU to another vCPU thread (vcpu_load)
};

class HostScheduler {
 public:
  // Statistics: sched.preemptions, sched.wait (histogram: cycles from asking for the pCPU to
  // running on it).
  HostScheduler(const HostSchedulerParams& p, Stats& stats);
  unsigned pcpus() const { return unsigned(cpus_.size()); }
  unsigned pcpu_of(unsigned vcpu) const { return vcpu % pcpus(); }
  // Waits, FIFO behind earlier askers, until `vcpu` runs on its pCPU; pays the context switch.
  void acquire(Agent& a, unsigned vcpu);
  // `vcpu` stops running; the first waiter (if any) gets the pCPU.
  void release(Agent& a, unsigned vcpu);
  // Whether another vCPU waits for the pCPU `vcpu` runs on (at the caller's true time).
  bool has_waiter(Agent& a, unsigned vcpu);
  // Preemption at a tick: release, queue behind the waiters, run again when handed the pCPU.
  void preempt(Agent& a, unsigned vcpu);

 private:
  struct Cpu {
    int owner = -1;             // vCPU running on it
    std::deque<unsigned> queue; // vCPUs waiting, in arrival order
  };
  const HostSchedulerParams p_;
  std::vector<Cpu> cpus_;
  std::vector<std::unique_ptr<Event>> granted_;  // per vCPU: "you own your pCPU"
  struct SchedulerStats : StatsGroup {
    explicit SchedulerStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter preemptions{*this, "sched.preemptions",
                                    "vCPU preemptions by the host scheduler"};
    statistics::Histogram wait{*this, "sched.wait",
                               "cycles a runnable vCPU waited for a physical CPU"};
  } stats_;
};

}  // namespace mmusim
