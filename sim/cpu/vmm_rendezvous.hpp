// The VMM side of a guest sync point (a selftest's GUEST_SYNC / ucall): the vCPU exits to the
// VMM and its thread waits until the VMM lets it continue. The VMM thread waits until every
// vCPU has arrived, does its work (e.g. get and clear the dirty log), then releases them.
// Waiting is emergent: it lasts until the other side gets there.
#pragma once
#include <systemc>

#include "sim/sync/agent.hpp"

namespace mmusim {

class VmmRendezvous {
 public:
  explicit VmmRendezvous(unsigned vcpus) : vcpus_(vcpus) {}

  // In the vCPU's thread (outside guest mode): arrive, then wait to be released.
  void vcpu_arrive_and_wait(Agent& a) {
    a.sync();
    const uint64_t gen = generation_;
    if (++arrived_ == vcpus_) a.kernel().notify(all_arrived_);
    while (generation_ == gen) a.wait_event(released_, "the VMM (ucall)");
  }
  // In the VMM's thread.
  void vmm_wait_all(Agent& a) {
    a.sync();
    while (arrived_ < vcpus_) a.wait_event(all_arrived_, "every vCPU to reach its sync point");
  }
  void vmm_release(Agent& a) {
    a.sync();
    arrived_ = 0;
    ++generation_;
    a.kernel().notify(released_);
  }

 private:
  unsigned vcpus_;
  unsigned arrived_ = 0;
  uint64_t generation_ = 0;
  Event all_arrived_, released_;
};

}  // namespace mmusim
