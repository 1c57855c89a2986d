// The locks one simulated thread holds and in which mode, as lockdep keeps a task's held-lock
// stack: every simulated lock records its acquisitions and releases here, so a "caller holds
// X" rule can be checked against the truth (sim/sync/lockdep_assert.hpp), and a release by a
// thread that does not hold the lock is caught. The stack is short (a few entries; lock_all_vcpus
// reaches one per vCPU), so a scan beats any index.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mmusim {

// How a lock is held: Exclusive for a spinlock, a mutex or a writer; Shared for a reader.
enum class LockMode : uint8_t { Exclusive, Shared };

class HeldLocks {
 public:
  void acquired(const void* lock, LockMode mode) { held_.push_back({lock, mode}); }
  // Removes the most recent acquisition of `lock` in `mode`; false when there is none.
  bool released(const void* lock, LockMode mode) {
    auto it = std::find_if(held_.rbegin(), held_.rend(), [&](const Held& h) {
      return h.lock == lock && h.mode == mode;
    });
    if (it == held_.rend()) return false;
    held_.erase(std::next(it).base());
    return true;
  }
  bool holds(const void* lock) const {
    return std::any_of(held_.begin(), held_.end(), [&](const Held& h) { return h.lock == lock; });
  }
  bool holds(const void* lock, LockMode mode) const {
    return std::any_of(held_.begin(), held_.end(),
                       [&](const Held& h) { return h.lock == lock && h.mode == mode; });
  }
  // Held-lock depth (lockdep's curr->lockdep_depth).
  size_t depth() const { return held_.size(); }

 private:
  struct Held {
    const void* lock;
    LockMode mode;
  };
  std::vector<Held> held_;
};

}  // namespace mmusim
