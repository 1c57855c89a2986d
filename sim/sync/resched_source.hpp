// Whether the host scheduler wants a thread's CPU back (Linux's need_resched()): what a long
// kernel loop asks at its cond_resched points. A thread scheduled by a modelled host scheduler
// has one (the vCPU, with --pcpus below --vcpus); other threads have none, and never need to.
#pragma once

namespace mmusim {

class Agent;

class ReschedSource {
 public:
  virtual ~ReschedSource() = default;
  // True when another runnable thread waits for the CPU `a` runs on and `a`'s time slice is
  // over (the scheduler tick would set TIF_NEED_RESCHED).
  virtual bool need_resched(Agent& a) = 0;
};

}  // namespace mmusim
