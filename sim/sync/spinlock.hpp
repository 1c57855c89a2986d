// Simulated spinlock: a FIFO ticket lock on one simulated 64-bit word (low 32 bits: ticket now
// served, high 32 bits: next ticket), like the fair queued spinlocks of Linux. Taking a ticket is
// an atomic fetch_add; a waiter sleeps on an event until the served ticket changes, then re-reads
// the word (paying the cache-line transfer). Waiting time therefore emerges from the holders.
// The word must be touched only through this object. Wait spans on the Timeline are named
// "lock_wait:<stat_prefix>" (interned, so the lock may die before the Timeline is written).
#pragma once
#include <string>
#include <systemc>

#include <memory>

#include "sim/sync/lock_stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class SpinLock {
 public:
  // Statistics: "<stat_prefix>.wait" histogram of cycles from request to acquisition,
  // "<stat_prefix>.acquire" and "<stat_prefix>.contended" counters.
  SpinLock(const std::string& stat_prefix, Addr word, Stats& stats, Timeline* timeline = nullptr);
  // A lock that reports into `shared` together with others (LockStats).
  SpinLock(LockStats& shared, Addr word, Timeline* timeline = nullptr);
  void lock(Agent& a);
  bool try_lock(Agent& a);
  void unlock(Agent& a);
  bool held() const { return holder_ != nullptr; }
  const Agent* holder() const { return holder_; }
  bool held_by(const Agent& a) const { return holder_ == &a; }
  // The lock's name in reports: its statistics prefix (e.g. "hv.mmu_lock").
  const std::string& name() const { return lock_name_; }
  Addr word() const { return word_; }

 private:
  Addr word_;
  Event changed_;
  const Agent* holder_ = nullptr;
  SpinLock(std::unique_ptr<LockStats> own, LockStats* shared, Addr word, Timeline* timeline);
  LockStats& group(LockStats* shared) { return shared ? *shared : *own_stats_; }
  std::unique_ptr<LockStats> own_stats_;  // when the lock does not share a group
  Histogram& wait_;
  Counter& acquire_;
  Counter& contended_;
  Timeline* timeline_;
  // Mirror of the word's served half, updated at the very instant the releasing atomic acts on
  // the word, so a waiter can tell (without simulated traffic) whether its turn came while it
  // was not yet waiting on changed_ (no lost wake-ups).
  uint32_t served_ = 0;
  std::string name_;       // "lock_wait:<stat_prefix>": what a waiter waits for
  const char* span_name_;  // the same, interned in the Timeline when there is one
  std::string lock_name_;  // the statistics prefix, the lock's name in lockdep reports
};

}  // namespace mmusim
