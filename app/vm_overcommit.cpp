// A VM's wiring for vCPU overcommit and guest TLB shootdowns: the host scheduler when vCPU
// threads (of every VM) outnumber physical CPUs, each vCPU's view of the others in its VM (guest
// IPI targets), and the per-vCPU flush words in simulated kernel memory.
#include "app/vm.hpp"

namespace mmusim {

void Vm::attach_overcommit() {
  std::vector<Vcpu*> all;
  for (auto& v : vcpus) all.push_back(v.get());
  const bool pv = flush.strategy().paravirt_guest_flush();
  for (unsigned i = 0; i < vcpus.size(); ++i) {
    Vcpu& v = *vcpus[i];
    v.attach_host(h_.sched, first_thread_ + i, all, pv, h_.heap.alloc(2 * kLineSize));
    const VcpuFlushWords& w = v.flush_words();
    h_.phys.write64(w.range_first, ~uint64_t(0));  // no range pending
    // Until the scheduler first runs it, a vCPU is as good as preempted.
    if (h_.sched) h_.phys.write64(w.steal_time, kStealPreempted);
  }
}

}  // namespace mmusim
