// Capability of a hypervisor MMU (docs/ARCHITECTURE.md, Hypervisor MMU interfaces): shadow
// paging. Without EPT the hardware walks the hypervisor's shadow tables (guest virtual -> host
// physical), so the MMU's faults are guest #PFs carrying a guest VIRTUAL address
// (FaultSpace::Gva), and these guest instructions exit: a CR3 load (the vCPU then drops its
// root and loads the one for the new CR3 through load_root), a guest TLB flush
// (kvm_mmu_sync_roots), an INVLPG (kvm_mmu_invlpg; the vCPU drops its own TLB entry too), and
// the emulation of a guest write that handle_fault answered with FaultOutcome::Emulate (a
// write to a write-protected guest page-table page). An MMU without this capability runs with
// a second stage: INVLPG does not exit and the vCPU only drops its own TLB entry.
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class ShadowPaging {
 public:
  virtual ~ShadowPaging() = default;
  virtual void guest_cr3_load(Agent& vcpu, int vcpu_id, Addr cr3_gpa) = 0;
  virtual void guest_tlb_flush(Agent& vcpu, int vcpu_id) = 0;
  virtual void guest_invlpg(Agent& vcpu, int vcpu_id, Addr gva) = 0;
  virtual void emulate_guest_write(Agent& vcpu, int vcpu_id, Addr gva, uint64_t value) = 0;
};

}  // namespace mmusim
