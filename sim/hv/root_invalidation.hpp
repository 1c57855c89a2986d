// Capability of a hypervisor MMU (docs/ARCHITECTURE.md, Hypervisor MMU interfaces): root
// invalidation as kvm_mmu_zap_all_fast (memslot deletion, "zap all"): every root is
// invalidated, vCPUs reload, the invalidated roots are zapped.
#pragma once
#include "sim/sync/agent.hpp"

namespace mmusim {

class RootInvalidation {
 public:
  virtual ~RootInvalidation() = default;
  virtual void zap_all(Agent& host) = 0;
};

}  // namespace mmusim
