// Capability of a hypervisor MMU (docs/ARCHITECTURE.md, Dirty logging): the hypervisor side of
// Intel Page-Modification Logging. The walker logs GPAs into each vCPU's log
// (sim/mmu/pml_log.hpp); KVM drains a vCPU's log into the dirty bitmap at each of its VM exits
// (a log-full exit is one), and kicks every vCPU out of guest mode before KVM_GET_DIRTY_LOG so
// their logs are drained.
#pragma once
#include "sim/mmu/pml_log.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class PmlLogging {
 public:
  virtual ~PmlLogging() = default;
  // Whether the run uses PML (--pml on); false: the vCPUs need no log.
  virtual bool pml_enabled() const = 0;
  // Where vCPU `vcpu_id`'s log is (the VMCS fields KVM fills when it creates the vCPU).
  virtual void attach_pml_log(int vcpu_id, const PmlLog& log) = 0;
  // Runs at every VM exit of the vCPU, before the exit is handled.
  virtual void vcpu_exited(Agent& vcpu, int vcpu_id) = 0;
  // A log-full exit (after vcpu_exited): nothing more than re-entering is needed.
  virtual void pml_full_exit(Agent& vcpu, int vcpu_id) = 0;
};

}  // namespace mmusim
