// KVM's dirty ring (docs/ARCHITECTURE.md, Dirty ring): pushes, the soft limit, and the reset's
// walk with its coalescing rule (kvm_dirty_ring_reset).
#include "sim/hv/dirty_ring.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

DirtyRings::DirtyRings(KernelHeap& heap, Stats& stats, unsigned vcpus, unsigned entries,
                       unsigned rsvd)
    : entries_(entries), soft_limit_(entries - rsvd), stats_(stats) {
  if (!power_of_two(entries) || entries <= rsvd)
    throw ModelError("a dirty ring must be a power of two above its reserved entries");
  for (unsigned v = 0; v < vcpus; ++v) {
    Ring r;
    r.gfns = heap.alloc(uint64_t(entries) * kDirtyGfnBytes);  // vzalloc: all flags 0
    r.dirty_index = heap.alloc();
    r.reset_index = r.dirty_index + 8;
    rings_.push_back(r);
  }
}

uint64_t DirtyRings::used(Agent& a, const Ring& r) {
  return a.load(r.dirty_index) - a.load(r.reset_index);
}

void DirtyRings::push(Agent& a, unsigned vcpu, uint32_t slot, uint64_t offset) {
  const Ring& r = rings_.at(vcpu);
  const uint64_t index = a.load(r.dirty_index);
  // KVM warns when it overruns the ring: the reserved entries are there so that it never does.
  if (index - a.load(r.reset_index) >= entries_)
    throw ModelError("dirty ring of vCPU " + std::to_string(vcpu) + " overrun");
  const Addr e = r.gfns + (index & (entries_ - 1)) * kDirtyGfnBytes;
  // slot and offset first, then the flag that hands the entry to the VMM.
  a.store(e + 8, offset);
  a.store(e, (uint64_t(slot) << 32) | kDirtyGfnDirty);
  a.store(r.dirty_index, index + 1);
  stats_.pushes.inc();
}

bool DirtyRings::full_exit(Agent& a, unsigned vcpu) {
  if (used(a, rings_.at(vcpu)) < soft_limit_) return false;
  stats_.full_exits.inc();
  return true;
}

uint64_t DirtyRings::reset(Agent& a, unsigned vcpu, const ProtectBatch& protect) {
  const Ring& r = rings_.at(vcpu);
  uint64_t index = a.load(r.reset_index);
  uint64_t count = 0;
  // The batch: pages of slot `cur_slot` at offsets cur_offset + bit of `mask` (0: none yet).
  uint32_t cur_slot = 0;
  uint64_t cur_offset = 0, mask = 0;
  auto flush_batch = [&] {
    if (mask) protect(cur_slot, cur_offset, mask);
  };
  for (;;) {
    const Addr e = r.gfns + (index & (entries_ - 1)) * kDirtyGfnBytes;
    const uint64_t word = a.load(e);
    if (!(word & kDirtyGfnReset)) break;  // not harvested (yet)
    const uint32_t slot = uint32_t(word >> 32);
    const uint64_t offset = a.load(e + 8);
    a.store(e, 0);  // kvm_dirty_gfn_set_invalid
    a.store(r.reset_index, ++index);
    ++count;
    // Coalescing: an entry of the batch's slot within 64 pages after its offset joins the
    // mask; one up to 63 pages before joins it by moving the offset down, when no bit of the
    // mask would be shifted out.
    if (mask && slot == cur_slot) {
      const int64_t delta = int64_t(offset - cur_offset);
      if (delta >= 0 && delta < 64) {
        mask |= uint64_t(1) << delta;
        continue;
      }
      if (delta > -64 && delta < 0 && ((mask << -delta) >> -delta) == mask) {
        cur_offset = offset;
        mask = (mask << -delta) | 1;
        continue;
      }
    }
    flush_batch();
    cur_slot = slot;
    cur_offset = offset;
    mask = 1;
  }
  flush_batch();
  stats_.entries_reset.inc(count);
  return count;
}

}  // namespace mmusim
