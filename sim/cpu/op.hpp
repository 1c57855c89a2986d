// What a vCPU executes: a stream of guest operations produced by a workload.
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"

namespace mmusim {

struct Op {
  // GuestShootdown: the guest unmapped [gva, gva + bytes) (munmap) and flushes it from its own
  // TLB and, by IPIs, from every other vCPU's (flush_tlb_mm_range / flush_tlb_multi).
  // Sync: the guest reports to the VMM (ucall) and waits until the VMM lets it go on.
  // Shadow paging: GuestPteWrite stores `value` at guest-virtual `gva` (a PTE the
  // guest kernel writes through its direct map); GuestCr3Load switches the guest to the page
  // tables at guest-physical `gva`; GuestTlbFlush flushes the vCPU's whole TLB (e.g. a CR3
  // reload after a munmap); GuestInvlpg invalidates the one page at `gva` (INVLPG). Under
  // shadow paging the last three exit to the hypervisor.
  enum class Kind : uint8_t { Access, Compute, GuestShootdown, Sync, GuestPteWrite, GuestCr3Load,
                              GuestTlbFlush, GuestInvlpg };
  Kind kind = Kind::Access;
  Access access = Access::Read;
  Addr gva = 0;        // Access: guest virtual address
  Cycles cycles = 0;   // Compute: guest work that touches no memory
  uint64_t bytes = 0;  // GuestShootdown: length of the unmapped range
  // Access with the guest's stage-1 MMU off (arm64 SCTLR_EL1.M = 0, e.g. early boot): the
  // address is the IPA itself and the access is non-cacheable (it sees DRAM, not the caches).
  bool mmu_off = false;
  uint64_t value = 0;  // GuestPteWrite: the entry written
};

class OpStream {
 public:
  virtual ~OpStream() = default;
  // Fills `op` with the next operation; false at the end of the stream.
  virtual bool next(Op& op) = 0;
};

}  // namespace mmusim
