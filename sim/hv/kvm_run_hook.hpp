// Capability of a hypervisor MMU (docs/ARCHITECTURE.md, Hypervisor MMU interfaces): work done
// when KVM_RUN is issued again after the vCPU's thread returned to the VMM (a guest sync
// point), such as arm64's pending MMU ops under locked memslots. Runs before the vCPU
// re-enters the guest.
#pragma once
#include "sim/sync/agent.hpp"

namespace mmusim {

class KvmRunHook {
 public:
  virtual ~KvmRunHook() = default;
  virtual void vcpu_run_again(Agent& vcpu, int vcpu_id) = 0;
};

}  // namespace mmusim
