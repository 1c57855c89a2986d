// KVM's dirty ring (KVM_CAP_DIRTY_LOG_RING; docs/ARCHITECTURE.md, Dirty ring), the generic code of
// virt/kvm/dirty_ring.c: one ring of struct kvm_dirty_gfn per vCPU, in simulated memory that the
// VMM maps. The vCPU's thread pushes the pages it dirties (slot, offset, then the DIRTY flag);
// once the ring holds its soft limit of entries (its size minus the reserved entries) KVM
// refuses to enter the guest (KVM_EXIT_DIRTY_RING_FULL) until the VMM has harvested entries --
// it reads those flagged DIRTY and flags them RESET -- and KVM_RESET_DIRTY_RINGS has walked the
// RESET entries of each ring, coalescing pages of one slot within 64 of each other into one
// mask per mmu_lock hold for the arch's protect hook.
// The ring's indices (kvm_dirty_ring: dirty_index written by the vCPU, reset_index by the reset)
// share one cache line of simulated memory too, so the vCPU's soft-full check and the reset
// meet in the memory system.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/core/dirty_ring_limits.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// The flags word of struct kvm_dirty_gfn (the model keeps the 32-bit flags and slot fields in
// one 64-bit word: flags low, slot high; the offset is the second word).
constexpr uint64_t kDirtyGfnDirty = 1;  // KVM_DIRTY_GFN_F_DIRTY: pushed, not harvested
constexpr uint64_t kDirtyGfnReset = 2;  // KVM_DIRTY_GFN_F_RESET: harvested, to be reset

struct DirtyRingStats : StatsGroup {
  explicit DirtyRingStats(Stats& s) : StatsGroup(s, "hv.dirty_ring") {}
  statistics::Counter pushes{*this, "pushes", "pages pushed to a vCPU's dirty ring"};
  statistics::Counter full_exits{*this, "full_exits",
                                 "guest entries refused with KVM_EXIT_DIRTY_RING_FULL"};
  statistics::Counter resets{*this, "resets", "KVM_RESET_DIRTY_RINGS ioctls"};
  statistics::Counter entries_reset{*this, "entries_reset", "ring entries a reset freed"};
  statistics::Counter reset_batches{*this, "reset_batches",
                                    "coalesced masks protected, one mmu_lock hold each"};
  statistics::Counter reprotected_pages{*this, "reprotected_pages",
                                        "pages of those masks write-protected again"};
};

// One vCPU's ring as the VMM maps it.
struct DirtyRingView {
  Addr gfns = 0;         // entry i at gfns + i * kDirtyGfnBytes
  uint32_t entries = 0;  // a power of two
};

class DirtyRings {
 public:
  // The rings of `vcpus` vCPUs of `entries` each, `rsvd` of them kept beyond the soft limit.
  DirtyRings(KernelHeap& heap, Stats& stats, unsigned vcpus, unsigned entries, unsigned rsvd);

  unsigned vcpus() const { return unsigned(rings_.size()); }
  DirtyRingView view(unsigned vcpu) const { return {rings_.at(vcpu).gfns, entries_}; }
  unsigned soft_limit() const { return soft_limit_; }

  // kvm_dirty_ring_push, in the vCPU's thread.
  void push(Agent& a, unsigned vcpu, uint32_t slot, uint64_t offset);
  // kvm_dirty_ring_soft_full at guest entry, in the vCPU's thread; counts the refused entry.
  bool full_exit(Agent& a, unsigned vcpu);
  // kvm_dirty_ring_reset of one ring: `protect(slot, offset, mask)` for each coalesced batch
  // (KVM takes mmu_lock around each); returns the entries freed.
  using ProtectBatch = std::function<void(uint32_t slot, uint64_t offset, uint64_t mask)>;
  uint64_t reset(Agent& a, unsigned vcpu, const ProtectBatch& protect);
  DirtyRingStats& stats() { return stats_; }

 private:
  struct Ring {
    Addr gfns = 0;
    Addr dirty_index = 0;  // words of struct kvm_dirty_ring, one cache line
    Addr reset_index = 0;
  };
  uint64_t used(Agent& a, const Ring& r);
  unsigned entries_, soft_limit_;
  std::vector<Ring> rings_;
  DirtyRingStats stats_;
};

}  // namespace mmusim
