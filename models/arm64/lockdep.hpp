// The part of lockdep the seed-004 thread runs into: every task has a held-lock stack of at
// most MAX_LOCK_DEPTH (48) entries; the acquisition that brings the depth to 48 makes lockdep
// print "BUG: MAX_LOCK_DEPTH too low!" and turn itself off. kvm_lock_all_vcpus under kvm->lock
// gets there with 47 vCPUs (kvm->lock + 47 vcpu->mutex). The model checks the depth the
// simulated thread really has (Agent::held_locks, kept by every simulated lock) after each
// acquisition it is asked about; it counts every time the limit is reached
// ("hv.lockdep.depth_exceeded") and says it once per simulated host on stderr, as lockdep does
// once per boot.
#pragma once
#include <iostream>

#include "sim/core/stats.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class Lockdep {
 public:
  static constexpr int kMaxLockDepth = 48;
  explicit Lockdep(Stats& stats) : exceeded_(stats.counter("hv.lockdep.depth_exceeded")),
                                   max_depth_(stats.counter("hv.lockdep.max_depth")) {}
  void acquired(const Agent& a, const char* lock_name) {
    const uint64_t depth = a.held_locks.depth();
    if (depth > max_depth_.value()) max_depth_.set(depth);
    if (depth < uint64_t(kMaxLockDepth)) return;
    exceeded_.inc();
    if (said_) return;
    said_ = true;
    std::cerr << "mmusim: lockdep: BUG: MAX_LOCK_DEPTH too low! depth: " << depth
              << " max: " << kMaxLockDepth << " (" << a.name() << " taking " << lock_name
              << ")\n";
  }

 private:
  Counter& exceeded_;
  Counter& max_depth_;
  bool said_ = false;
};

}  // namespace mmusim
