// Simulated reader-writer lock shaped like Linux's queued rwlock (the mmu_lock of x86 KVM):
// one simulated word holds the reader count and the writer bits; readers enter with an atomic
// add, a writer with cmpxchg once the count drains. Fairness: once a writer waits, new readers
// queue behind it (FIFO wait queue), so writers do not starve. Every step is simulated memory
// traffic on the lock word, so contention cost emerges.
// The word must read 0 when the lock is constructed (fresh kernel memory) and be touched only
// through this object: entry decisions follow the C++ mirror below, not a read of the word.
#pragma once
#include <deque>
#include <string>
#include <systemc>

#include <memory>

#include "sim/sync/lock_stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class RwLock {
 public:
  // Statistics: "<stat_prefix>.wait" histogram (cycles waited per acquisition, read or write),
  // "<stat_prefix>.read_acquire", "<stat_prefix>.write_acquire", "<stat_prefix>.contended".
  RwLock(const std::string& stat_prefix, Addr word, Stats& stats, Timeline* timeline = nullptr);
  // A lock that reports into `shared` together with others (LockStats).
  RwLock(LockStats& shared, Addr word, Timeline* timeline = nullptr);
  void read_lock(Agent& a);
  void read_unlock(Agent& a);
  void write_lock(Agent& a);
  void write_unlock(Agent& a);
  // rwlock_is_contended: whether a thread is queued for the lock. A read of the lock word (its
  // cache line moves to the asker), then the answer from the wait queue the word stands for.
  bool contended(Agent& a);
  unsigned readers() const { return readers_; }
  bool write_held() const { return writer_ != nullptr; }
  bool held_for_write_by(const Agent& a) const { return writer_ == &a; }
  bool held_for_read_by(const Agent& a) const { return a.held_locks.holds(this, LockMode::Shared); }
  // The lock's name in reports: its statistics prefix (e.g. "hv.mmu_lock").
  const std::string& name() const { return lock_name_; }

 private:
  struct Waiter {
    Agent* agent;
    bool writer;
    Event* wake;
    bool* granted;  // set by the releaser; lives in the waiting thread's frame
  };
  void wait_in_queue(Agent& a, bool writer, Cycles start);
  void grant_next(Agent& releaser);
  void acquired(Agent& a, bool writer, bool contended, Cycles start);
  // Implementation-private state mirrors the word for the scheduler's wait queue;
  // the word itself is what the agents' atomics act on.
  Addr word_;
  unsigned readers_ = 0;
  const Agent* writer_ = nullptr;
  std::deque<Waiter> queue_;
  RwLock(std::unique_ptr<LockStats> own, LockStats* shared, Addr word, Timeline* timeline);
  LockStats& group(LockStats* shared) { return shared ? *shared : *own_stats_; }
  std::unique_ptr<LockStats> own_stats_;  // when the lock does not share a group
  Histogram& wait_;
  Counter& read_acquire_;
  Counter& write_acquire_;
  Counter& contended_;
  Timeline* timeline_;
  std::string read_name_;   // "lock_wait:<stat_prefix>:read": what a waiting reader waits for
  std::string write_name_;  // "lock_wait:<stat_prefix>:write"
  const char* read_span_;   // the same, interned in the Timeline when there is one
  const char* write_span_;
  std::string lock_name_;  // the statistics prefix, the lock's name in lockdep reports
};

}  // namespace mmusim
