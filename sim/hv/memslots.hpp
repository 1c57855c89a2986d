// KVM memslots: each slot maps a run of guest frames [base_gfn, base_gfn + npages) to the VMM's
// host virtual addresses from userspace_addr, with flags (dirty logging, read-only). The MMU
// notifiers speak host virtual addresses; memslots turn an HVA range into the GFN range of each
// slot it overlaps (KVM's handle_hva_to_gpa / kvm_handle_hva_range). Dirty logging keeps one bit
// per page in simulated memory, set atomically by mark_page_dirty.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/core/types.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// KVM_MEM_* flags.
enum MemslotFlags : uint32_t { kMemLogDirtyPages = 1u << 0, kMemReadonly = 1u << 1 };

struct Memslot {
  uint32_t id = 0;
  uint64_t base_gfn = 0;
  uint64_t npages = 0;
  Addr userspace_addr = 0;  // HVA of base_gfn
  uint32_t flags = 0;
  Addr dirty_bitmap = 0;    // simulated address of the bitmap; 0 when not logging
  uint64_t gfn_of(Addr hva) const { return base_gfn + ((hva - userspace_addr) >> kPageShift); }
  Addr hva_of(uint64_t gfn) const { return userspace_addr + ((gfn - base_gfn) << kPageShift); }
  bool has_gfn(uint64_t gfn) const { return gfn >= base_gfn && gfn < base_gfn + npages; }
};

// One slot's part of an HVA range, as guest frames [start, end).
struct GfnRange {
  const Memslot* slot = nullptr;
  uint64_t start = 0, end = 0;
};

class Memslots {
 public:
  explicit Memslots(KernelHeap& heap) : heap_(heap) {}
  // Adds a slot; a dirty bitmap is allocated when kMemLogDirtyPages is set. Returns its id.
  uint32_t add(uint64_t base_gfn, uint64_t npages, Addr userspace_addr, uint32_t flags);
  const std::vector<Memslot>& slots() const { return slots_; }
  const Memslot* find(uint64_t gfn) const;
  // KVM_SET_USER_MEMORY_REGION changing only a slot's flags (dirty logging on/off); turning
  // logging on allocates a fresh, clear bitmap.
  void set_flags(uint32_t id, uint32_t flags);
  // Every slot's part of [hva_start, hva_end), pages intersecting the range included.
  std::vector<GfnRange> hva_to_gfn(Addr hva_start, Addr hva_end) const;
  // mark_page_dirty: sets gfn's bit in its slot's bitmap (a locked OR) if the slot logs now.
  // Returns whether a bit was set (the bit was clear before).
  bool mark_page_dirty(Agent& a, uint64_t gfn) const;
  // Functional read of the bitmap (tests, statistics).
  bool page_dirty(const class PhysMem& phys, uint64_t gfn) const;

 private:
  KernelHeap& heap_;
  std::vector<Memslot> slots_;
};

}  // namespace mmusim
