// The VMM side of a guest sync point (a selftest's GUEST_SYNC / ucall): the vCPU exits to the
// VMM and its thread waits until the VMM lets it continue. The VMM thread waits until every
// vCPU has arrived, does its work (e.g. get and clear the dirty log), then releases them.
// Waiting is emergent: it lasts until the other side gets there.
// A vCPU may also return to the VMM between sync points because its dirty ring is soft-full
// (KVM_EXIT_DIRTY_RING_FULL): the VMM wakes for it, harvests and resets the rings, then lets
// every such vCPU run again (docs/ARCHITECTURE.md, Dirty ring).
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
  // In the vCPU's thread (outside guest mode): KVM_EXIT_DIRTY_RING_FULL, then wait until the
  // VMM reset the rings.
  void vcpu_ring_full_and_wait(Agent& a) {
    a.sync();
    const uint64_t gen = rings_reset_gen_;
    ++ring_full_;
    a.kernel().notify(all_arrived_);
    while (rings_reset_gen_ == gen) a.wait_event(rings_reset_, "the VMM to reset the dirty rings");
  }
  // In the VMM's thread.
  void vmm_wait_all(Agent& a) {
    a.sync();
    while (arrived_ < vcpus_) a.wait_event(all_arrived_, "every vCPU to reach its sync point");
  }
  // In the VMM's thread: waits until every vCPU reached its sync point (true) or one returned
  // with a full dirty ring (false; the VMM then calls vmm_rings_reset once it reset them).
  bool vmm_wait_all_or_ring_full(Agent& a) {
    a.sync();
    while (arrived_ < vcpus_ && ring_full_ == 0)
      a.wait_event(all_arrived_, "every vCPU to reach its sync point or fill its dirty ring");
    return ring_full_ == 0;
  }
  // Lets every vCPU waiting for a reset check its ring again (one that filled it while the VMM
  // was harvesting finds it still full and comes back).
  void vmm_rings_reset(Agent& a) {
    a.sync();
    ring_full_ = 0;
    ++rings_reset_gen_;
    a.kernel().notify(rings_reset_);
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
  unsigned ring_full_ = 0;  // vCPUs waiting for a ring reset
  uint64_t rings_reset_gen_ = 0;
  Event all_arrived_, released_, rings_reset_;
};

}  // namespace mmusim
