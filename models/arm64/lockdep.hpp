// The part of lockdep the thread of the locked-memslots series runs into: every task has a
// held-lock stack of at most MAX_LOCK_DEPTH (48) entries; the acquisition that brings the depth to
// 48 makes lockdep print "BUG: MAX_LOCK_DEPTH too low!" and turn itself off. kvm_lock_all_vcpus
// under kvm->lock gets there with 47 vCPUs (kvm->lock + 47 vcpu->mutex). The model checks the depth
// the simulated thread really has (Agent::held_locks, kept by every simulated lock) after each
// acquisition it is asked about; it counts every time the limit is reached
// ("hv.lockdep.depth_exceeded") and says it once per simulated host on stderr, as lockdep does once
// per boot.
#pragma once
#include <iostream>

#include "sim/core/stats_group.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class Lockdep {
 public:
  static constexpr int kMaxLockDepth = 48;
  explicit Lockdep(Stats& stats) : stats_(stats) {}
  void acquired(const Agent& a, const char* lock_name) {
    const uint64_t depth = a.held_locks.depth();
    if (depth > stats_.max_depth.value()) stats_.max_depth.set(depth);
    if (depth < uint64_t(kMaxLockDepth)) return;
    stats_.depth_exceeded.inc();
    if (said_) return;
    said_ = true;
    std::cerr << "mmusim: lockdep: BUG: MAX_LOCK_DEPTH too low! depth: " << depth
              << " max: " << kMaxLockDepth << " (" << a.name() << " taking " << lock_name
              << ")\n";
  }

 private:
  struct LockdepStats : StatsGroup {
    explicit LockdepStats(Stats& s) : StatsGroup(s, "hv.lockdep") {}
    statistics::Counter depth_exceeded{*this, "depth_exceeded",
                                       "lock acquisitions beyond lockdep's held-lock limit"};
    statistics::Value max_depth{*this, "max_depth", "most locks held at once by one thread"};
  } stats_;
  bool said_ = false;
};

}  // namespace mmusim
