#include "sim/hv/host_scheduler.hpp"

#include <algorithm>

#include "sim/core/error.hpp"

namespace mmusim {

HostScheduler::HostScheduler(const HostSchedulerParams& p, Stats& stats)
    : p_(p), cpus_(p.pcpus), resched_(p.vcpus),
      stats_(stats) {
  for (unsigned i = 0; i < p.vcpus; ++i) granted_.push_back(std::make_unique<Event>());
}

void HostScheduler::acquire(Agent& a, unsigned vcpu) {
  a.sync();
  const Cycles t0 = a.now();
  Cpu& c = cpus_[pcpu_of(vcpu)];
  if (c.owner < 0 && c.queue.empty()) {
    c.owner = int(vcpu);
  } else {
    c.queue.push_back(vcpu);
    // release() sets the owner before it notifies, and we re-check after every wake-up, so a
    // hand-over between our check and our wait is not lost.
    while (c.owner != int(vcpu)) a.wait_event(*granted_[vcpu], "its physical CPU (host scheduler)");
  }
  a.wait_cycles(p_.context_switch);
  stats_.wait.sample(a.now() - t0);
}

void HostScheduler::release(Agent& a, unsigned vcpu) {
  a.sync();
  Cpu& c = cpus_[pcpu_of(vcpu)];
  if (c.owner != int(vcpu)) throw ModelError("host scheduler: a vCPU released a pCPU it does not own");
  if (c.queue.empty()) {
    c.owner = -1;
    return;
  }
  unsigned next = c.queue.front();
  c.queue.pop_front();
  c.owner = int(next);
  a.kernel().notify(*granted_[next], sc_core::SC_ZERO_TIME);
}

bool HostScheduler::has_waiter(Agent& a, unsigned vcpu) {
  a.sync();
  return !cpus_[pcpu_of(vcpu)].queue.empty();
}

void HostScheduler::preempt(Agent& a, unsigned vcpu) {
  stats_.preemptions.inc();
  yield(a, vcpu);
}

void HostScheduler::yield(Agent& a, unsigned vcpu) {
  release(a, vcpu);
  acquire(a, vcpu);
}

bool HostScheduler::waiting(Agent& a, unsigned vcpu) {
  a.sync();
  const auto& q = cpus_[pcpu_of(vcpu)].queue;
  return std::find(q.begin(), q.end(), vcpu) != q.end();
}

int HostScheduler::boost(Agent& a, unsigned from, unsigned to) {
  a.sync();
  Cpu& c = cpus_[pcpu_of(to)];
  auto it = std::find(c.queue.begin(), c.queue.end(), to);
  if (it == c.queue.end()) throw ModelError("host scheduler: boosted a vCPU that does not wait");
  c.queue.erase(it);
  c.queue.push_front(to);
  stats_.directed_yields.inc();
  if (c.owner >= 0 && unsigned(c.owner) != from && resched_[unsigned(c.owner)])
    resched_[unsigned(c.owner)]();
  return c.owner;
}

}  // namespace mmusim
