// What the host memory manager's own PTE for one page of guest RAM says, as the MMU-notifier
// change_pte callback hands it to KVM (the `pte_t` of kvm_set_spte_hva).
#pragma once
#include "sim/core/types.hpp"

namespace mmusim {

struct HostPte {
  Addr hpa = 0;          // host frame
  bool present = false;
  bool writable = false; // false for a shared (KSM) page or a COW-protected one
  bool young = true;
  bool dirty = false;
};

}  // namespace mmusim
