// The statistics of one simulated lock, or of a set of locks that report under one name (every
// vCPU's mutex, or the mmu_lock the x86 TDP and shadow MMUs both model): "<name>.wait",
// "<name>.contended", and the acquisitions by mode ("<name>.acquire" for a spinlock or mutex,
// "<name>.read_acquire" and "<name>.write_acquire" for a reader-writer lock), each registered
// when the first lock of that kind joins the group (sim/core/stats_group.hpp).
#pragma once
#include <optional>
#include <string>

#include "sim/core/stats_group.hpp"

namespace mmusim {

struct LockStats : StatsGroup {
  LockStats(Stats& stats, const std::string& name) : StatsGroup(stats, name), name_(name) {}
  const std::string& name() const { return name_; }

  statistics::Histogram wait{*this, "wait", "cycles from a lock request to its acquisition"};
  statistics::Counter contended{*this, "contended",
                                "acquisitions that found the lock held and waited"};

  statistics::Counter& acquire() {
    if (!acquire_) acquire_.emplace(*this, "acquire", "acquisitions of the spinlock or mutex");
    return *acquire_;
  }
  statistics::Counter& read_acquire() {
    if (!read_) read_.emplace(*this, "read_acquire", "shared (read) acquisitions");
    return *read_;
  }
  statistics::Counter& write_acquire() {
    if (!write_) write_.emplace(*this, "write_acquire", "exclusive (write) acquisitions");
    return *write_;
  }

 private:
  std::string name_;
  std::optional<statistics::Counter> acquire_, read_, write_;
};

}  // namespace mmusim
