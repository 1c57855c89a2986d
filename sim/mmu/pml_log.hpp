// Intel Page-Modification Logging as the hardware sees it (docs/ARCHITECTURE.md, Dirty
// logging): when the walker sets the dirty flag of a leaf EPT entry it writes the page's GPA
// into the vCPU's 512-entry log at the PML index and decrements the index; an index outside
// 0..511 when a GPA is to be logged is a log-full event: a VM exit, with the dirty flag left
// clear and the access not done (it is retried after the hypervisor drained the log).
// The platform provides both locations (in KVM they are VMCS fields the vCPU set-up fills).
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"

namespace mmusim {

constexpr uint64_t kPmlEntries = 512;        // one 4 KiB page of 8-byte GPAs
constexpr uint64_t kPmlIndexFirst = kPmlEntries - 1;  // the index counts down from here
constexpr uint64_t kPmlIndexMask = 0xffff;   // the VMCS field is 16 bits: 0 - 1 is 0xffff

struct PmlLog {
  Addr buffer = 0;  // host-physical page of the log (0: PML off)
  Addr index = 0;   // host-physical word holding the PML index
};

}  // namespace mmusim
