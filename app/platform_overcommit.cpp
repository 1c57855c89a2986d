// The platform's wiring for vCPU overcommit and guest TLB shootdowns: the host scheduler when
// vCPUs outnumber physical CPUs, each vCPU's view of the others (guest IPI targets), and the
// per-vCPU flush words in simulated kernel memory.
#include "app/platform.hpp"

#include "app/params_hardware.hpp"

namespace mmusim {

void Platform::attach_overcommit() {
  const bool overcommitted = cfg.physical_cpus() < cfg.vcpus;
  if (overcommitted) sched = std::make_unique<HostScheduler>(host_scheduler_params(cfg), stats);
  std::vector<Vcpu*> all;
  for (auto& v : vcpus) all.push_back(v.get());
  const bool pv = flush.strategy().paravirt_guest_flush();
  for (auto& v : vcpus) {
    v->attach_host(sched.get(), all, pv, heap.alloc(2 * kLineSize));
    const VcpuFlushWords& w = v->flush_words();
    phys.write64(w.range_first, ~uint64_t(0));  // no range pending
    // Until the scheduler first runs it, a vCPU is as good as preempted.
    if (overcommitted) phys.write64(w.steal_time, kStealPreempted);
  }
}

}  // namespace mmusim
