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
  const uint64_t pages = len >> kPageShift;
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

void DirtyLogging::disable_dirty_log(Agent& a) {
  arch_disable_dirty_log(a);
  words_ = 0;
}

}  // namespace mmusim
