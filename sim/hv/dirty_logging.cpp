// KVM's generic dirty-log ioctls (docs/ARCHITECTURE.md, Dirty logging): the bitmap words are
// simulated memory, read-modify-writes on them are atomics, and the arch protects by mask.
#include "sim/hv/dirty_logging.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

// Atomically replace *word with f(old), `old` being what was last read of it; returns the
// value replaced (xchg / fetch_andnot as a cmpxchg loop).
template <class F>
uint64_t atomic_update(Agent& a, Addr word, uint64_t old, F f) {
  for (;;) {
    const uint64_t seen = a.cmpxchg(word, old, f(old));
    if (seen == old) return old;
    old = seen;
  }
}

}  // namespace

void DirtyLogging::set_dirty_log_caps(const DirtyLogCaps& caps) {
  if (caps.initially_set && !caps.manual_protect)
    throw ModelError("KVM_DIRTY_LOG_INITIALLY_SET needs KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE");
  caps_ = caps;
}

void DirtyLogging::enable_dirty_log(Agent& a, Addr gpa, uint64_t len) {
  if (len == 0 || len % kPageSize) throw ModelError("dirty log slot must be whole pages");
  if (rings_ && caps_.initially_set)
    throw ModelError("KVM_DIRTY_LOG_INITIALLY_SET with the dirty ring: the VM has no bitmap");
  const uint64_t pages = len >> kPageShift;
  gpa_ = gpa;
  pages_ = pages;
  // With the ring KVM allocates no bitmap; the arch's hook also records the range, so it runs
  // all the same and its bitmap stays unused.
  bitmap_ = arch_dirty_bitmap(a, gpa, len);
  if (!bitmap_) throw ModelError("dirty logging enabled on a slot without a dirty bitmap");
  words_ = size_t((pages + 63) / 64);
  // kvm_prepare_memory_region: with initially-set the new bitmap starts with every bit set.
  if (caps_.initially_set) {
    for (size_t i = 0; i < words_; ++i) {
      const uint64_t left = pages - uint64_t(i) * 64;
      a.store(bitmap_ + i * 8, left >= 64 ? ~uint64_t(0) : (uint64_t(1) << left) - 1);
    }
  }
  arch_enable_dirty_log(a, caps_.initially_set);
}

std::vector<uint64_t> DirtyLogging::get_dirty_log(Agent& a) {
  if (rings_) throw ModelError("KVM_GET_DIRTY_LOG with the dirty ring (-ENXIO)");
  std::vector<uint64_t> out(words_, 0);
  arch_sync_dirty_log(a);
  if (caps_.manual_protect) {  // a copy; protection waits for KVM_CLEAR_DIRTY_LOG
    for (size_t i = 0; i < words_; ++i) out[i] = a.load(bitmap_ + i * 8);
    return out;
  }
  // kvm_get_dirty_log_protect without manual protect: take each dirty word, protect its pages.
  bool flush = false;
  arch_mmu_lock(a);
  for (size_t i = 0; i < words_; ++i) {
    const Addr word = bitmap_ + i * 8;
    const uint64_t seen = a.load(word);
    if (!seen) continue;
    flush = true;
    out[i] = atomic_update(a, word, seen, [](uint64_t) { return uint64_t(0); });
    if (out[i]) arch_protect_masked(a, i, out[i]);
  }
  arch_mmu_unlock(a);
  if (flush) arch_flush_logged(a);
  return out;
}

void DirtyLogging::clear_dirty_log(Agent& a, const std::vector<uint64_t>& bits) {
  if (!caps_.manual_protect)
    throw ModelError("KVM_CLEAR_DIRTY_LOG without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
  if (rings_) throw ModelError("KVM_CLEAR_DIRTY_LOG with the dirty ring (-ENXIO)");
  if (bits.size() > words_) throw ModelError("dirty log clear beyond the logged range");
  arch_sync_dirty_log(a);
  bool flush = false;
  arch_mmu_lock(a);
  for (size_t i = 0; i < bits.size(); ++i) {
    if (!bits[i]) continue;
    const uint64_t m = bits[i];
    const Addr word = bitmap_ + i * 8;
    const uint64_t mask =
        m & atomic_update(a, word, a.load(word), [m](uint64_t w) { return w & ~m; });
    if (!mask) continue;  // only bits that were set are protected again
    flush = true;
    arch_protect_masked(a, i, mask);
  }
  arch_mmu_unlock(a);
  if (flush) arch_flush_logged(a);
}

void DirtyLogging::enable_dirty_ring(Stats& stats, unsigned vcpus, const DirtyRingParams& p) {
  KernelHeap* heap = arch_kernel_heap();
  if (!heap) throw ModelError("KVM_CAP_DIRTY_LOG_RING on an arch without a dirty ring");
  if (rings_) throw ModelError("KVM_CAP_DIRTY_LOG_RING enabled twice (-EINVAL)");
  const unsigned rsvd = dirty_ring_rsvd_entries(arch_cpu_dirty_log_size());
  if (!power_of_two(p.entries) || p.entries < dirty_ring_min_entries(arch_cpu_dirty_log_size()) ||
      p.entries > kDirtyRingMaxEntries)
    throw ModelError("KVM_CAP_DIRTY_LOG_RING of " + std::to_string(p.entries) +
                     " entries (-EINVAL)");
  rings_ = std::make_unique<DirtyRings>(*heap, stats, vcpus, p.entries, rsvd);
  ring_reset_ = p.reset;
}

bool DirtyLogging::dirty_ring_push(Agent& a, int vcpu_id, Addr gpa) {
  if (!rings_) return false;
  if (vcpu_id < 0 || unsigned(vcpu_id) >= rings_->vcpus())
    throw ModelError("a page dirtied with the dirty ring but no running vCPU");
  // The one logged range is memslot 0 of address space 0 in the entries.
  rings_->push(a, unsigned(vcpu_id), 0, (gpa - gpa_) >> kPageShift);
  return true;
}

uint64_t DirtyLogging::reset_dirty_rings(Agent& a) {
  if (!rings_) throw ModelError("KVM_RESET_DIRTY_RINGS without the dirty ring (-EINVAL)");
  // Under kvm->slots_lock, which no other thread of the model takes (not modelled).
  rings_->stats().resets.inc();
  uint64_t cleared = 0;
  for (unsigned v = 0; v < rings_->vcpus(); ++v) {
    cleared += rings_->reset(a, v, [&](uint32_t slot, uint64_t offset, uint64_t mask) {
      // kvm_reset_dirty_gfn ignores an entry beyond its memslot (a VMM's bad write).
      if (slot != 0 || !words_ || offset + (63 - uint64_t(__builtin_clzll(mask))) >= pages_)
        return;
      if (ring_reset_ == DirtyRingReset::SkipProtect) return;
      rings_->stats().reset_batches.inc();
      rings_->stats().reprotected_pages.inc(uint64_t(__builtin_popcountll(mask)));
      protect_ring_batch(a, offset, mask);
    });
  }
  // kvm_flush_remote_tlbs once every ring is reset, when any entry was.
  if (cleared && words_) arch_flush_logged(a);
  return cleared;
}

void DirtyLogging::protect_ring_batch(Agent& a, uint64_t offset, uint64_t mask) {
  // KVM hands the arch the batch at its own offset (kvm_arch_mmu_enable_log_dirty_pt_masked
  // takes any gfn offset); the arch hook here takes bitmap words, so a batch that straddles
  // two words is given as their two masks, within the one mmu_lock hold.
  const size_t word = size_t(offset / 64);
  const unsigned shift = unsigned(offset % 64);
  const uint64_t low = mask << shift;
  const uint64_t high = shift ? mask >> (64 - shift) : 0;
  arch_mmu_lock(a);
  if (low) arch_protect_masked(a, word, low);
  if (high) arch_protect_masked(a, word + 1, high);
  arch_mmu_unlock(a);
}

void DirtyLogging::disable_dirty_log(Agent& a) {
  arch_disable_dirty_log(a);
  words_ = 0;
}

}  // namespace mmusim
