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
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// What the host scheduler is built from (app/params_hardware.cpp fills it).
struct HostSchedulerParams {
  unsigned vcpus = 4;            // vCPU threads it schedules, of every VM
  unsigned pcpus = 4;            // physical CPUs (vCPU thread t runs on pCPU t % pcpus)
  Cycles context_switch = 3900;  // switching a pCPU to another vCPU thread (vcpu_load)
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
  // A voluntary yield (no preemption counted): release, queue, run again when handed the pCPU.
  void yield(Agent& a, unsigned vcpu);

  // --- directed yield (docs/ARCHITECTURE.md, Pause-loop exiting and directed yield) ---
  // How the scheduler makes vCPU thread `vcpu`, while it runs, reschedule (resched_curr):
  // set by the thread when it is attached, whichever VM it belongs to.
  void set_resched(unsigned vcpu, std::function<void()> fn) { resched_.at(vcpu) = std::move(fn); }
  // Whether `vcpu` is runnable but waits for its pCPU (KVM's vcpu->ready: preempted).
  bool waiting(Agent& a, unsigned vcpu);
  // yield_to(): `to`, waiting for its pCPU, becomes the next to run there (CFS's next buddy;
  // with FIFO hand-over: the head of the queue), and the vCPU thread running on that pCPU --
  // of any VM -- is told to reschedule (resched_curr) unless it is the caller `from`, which
  // steps aside itself. Returns that running thread, or -1 when none runs; counts
  // sched.directed_yields. Precondition: waiting(to).
  int boost(Agent& a, unsigned from, unsigned to);
  // kvm->last_boosted_vcpu of the VM whose first vCPU thread is `vm_key`: where
  // kvm_vcpu_on_spin starts its round-robin search (one per VM, as it lives in struct kvm).
  unsigned last_boosted(unsigned vm_key) const {
    auto it = last_boosted_.find(vm_key);
    return it == last_boosted_.end() ? 0 : it->second;
  }
  void set_last_boosted(unsigned vm_key, unsigned vcpu) { last_boosted_[vm_key] = vcpu; }
  void note_ple_exit() { stats_.ple_exits.inc(); }
  void note_candidate_skipped() { stats_.candidates_skipped.inc(); }
  void note_pv_sched_yield() { stats_.pv_sched_yields.inc(); }

 private:
  struct Cpu {
    int owner = -1;             // vCPU running on it
    std::deque<unsigned> queue; // vCPUs waiting, in arrival order
  };
  const HostSchedulerParams p_;
  std::vector<Cpu> cpus_;
  std::vector<std::unique_ptr<Event>> granted_;  // per vCPU: "you own your pCPU"
  std::vector<std::function<void()>> resched_;   // per vCPU: set_resched
  std::map<unsigned, unsigned> last_boosted_;  // per VM, keyed by its first vCPU thread
  struct SchedulerStats : StatsGroup {
    explicit SchedulerStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter preemptions{*this, "sched.preemptions",
                                    "vCPU preemptions by the host scheduler"};
    statistics::Histogram wait{*this, "sched.wait",
                               "cycles a runnable vCPU waited for a physical CPU"};
    statistics::Counter ple_exits{*this, "sched.ple_exits",
                                  "pause-loop exits of vCPUs spinning in guest mode"};
    statistics::Counter directed_yields{*this, "sched.directed_yields",
                                        "preempted vCPUs made the next to run (yield_to)"};
    statistics::Counter candidates_skipped{
        *this, "sched.yield_candidates_skipped",
        "vCPUs kvm_vcpu_on_spin passed over (running, or not an eligible candidate)"};
    statistics::Counter pv_sched_yields{*this, "sched.pv_sched_yields",
                                        "KVM_HC_SCHED_YIELD hypercalls of the guest"};
  } stats_;
};

}  // namespace mmusim
