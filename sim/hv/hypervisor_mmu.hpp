// The arch-neutral entry points of a hypervisor's MMU software. The vCPU's own SystemC thread
// calls handle_fault after a second-stage fault exits to the host, as KVM runs the fault handler
// in the vCPU's host thread; every step inside pays through sim/mem and sim/sync.
#pragma once
#include <cstdint>

#include <vector>

#include "sim/core/types.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// Outcome of one fault, as KVM's RET_PF_* values.
enum class FaultOutcome { Fixed, Spurious, Retry, Emulate };

inline const char* fault_outcome_name(FaultOutcome o) {
  switch (o) {
    case FaultOutcome::Fixed: return "fixed";
    case FaultOutcome::Spurious: return "spurious";
    case FaultOutcome::Retry: return "retry";
    case FaultOutcome::Emulate: return "emulate";
  }
  return "?";
}

// One second-stage leaf as the oracle and tests see it.
struct Stage2Leaf {
  Addr gpa = 0;  // first guest-physical address it maps
  unsigned level = 1;
  Addr hpa = 0;  // host frame base
  Perms perms;
  bool operator==(const Stage2Leaf& o) const {
    return gpa == o.gpa && level == o.level && hpa == o.hpa && perms == o.perms;
  }
};

class HypervisorMmu {
 public:
  virtual ~HypervisorMmu() = default;
  // A second-stage fault of `vcpu_id` on gpa for `access`, running in the vCPU's thread.
  virtual FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, Addr gpa, Access access) = 0;
  // Host physical address of the second-stage root the vCPU loads on guest entry.
  virtual Addr stage2_root() const = 0;
  // Destroys every mapping and frees every table (VM teardown), running in `host`'s thread.
  virtual void teardown(Agent& host) = 0;
  // Untimed mapping for the harness that prepares the guest before the run.
  virtual void map_functional(Addr gpa, unsigned level, Addr hpa_base) = 0;
  // Every present second-stage leaf, in GPA order (functional read of simulated memory).
  virtual std::vector<Stage2Leaf> leaves() const = 0;
};

}  // namespace mmusim
