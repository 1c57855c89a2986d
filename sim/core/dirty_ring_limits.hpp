// KVM's limits on the size of a dirty ring (KVM_CAP_DIRTY_LOG_RING; docs/ARCHITECTURE.md, Dirty
// ring), shared by the option checks and the ring model: the VMM gives the size of each vCPU's
// ring in bytes, a power of two of at least one page and of the reserved entries, and at most
// KVM_DIRTY_RING_MAX_ENTRIES entries of 16 bytes (struct kvm_dirty_gfn).
#pragma once
#include <algorithm>
#include <cstdint>

namespace mmusim {

constexpr uint64_t kDirtyGfnBytes = 16;            // struct kvm_dirty_gfn: flags, slot, offset
constexpr unsigned kDirtyRingRsvdEntries = 64;     // KVM_DIRTY_RING_RSVD_ENTRIES
constexpr unsigned kDirtyRingMaxEntries = 65536;   // KVM_DIRTY_RING_MAX_ENTRIES
constexpr unsigned kDirtyRingPageEntries = 4096 / kDirtyGfnBytes;  // a ring is at least a page

// Entries a ring keeps free beyond its soft limit (kvm_dirty_ring_get_rsvd_entries): the fixed
// reserve plus what one flush of the CPU's own dirty log can push at once (kvm_cpu_dirty_log_size:
// the 512 entries of the PML buffer on x86 with PML, 0 elsewhere).
constexpr unsigned dirty_ring_rsvd_entries(unsigned cpu_dirty_log_size) {
  return kDirtyRingRsvdEntries + cpu_dirty_log_size;
}

// The smallest ring KVM accepts (kvm_vm_ioctl_enable_dirty_log_ring): a power of two holding a
// page and the reserved entries.
constexpr unsigned dirty_ring_min_entries(unsigned cpu_dirty_log_size) {
  unsigned n = kDirtyRingPageEntries;
  while (n < dirty_ring_rsvd_entries(cpu_dirty_log_size)) n *= 2;
  return n;
}

constexpr bool power_of_two(uint64_t n) { return n && !(n & (n - 1)); }

}  // namespace mmusim
