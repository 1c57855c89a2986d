// Simulated RCU: read-side sections are per-agent nesting counts; the grace-period thread
// snapshots who is inside a section when a grace period starts and waits for each of them to
// leave. Only readers inside at the start can hold references to what the queued callbacks free
// (removal happened before call_rcu in simulation order), so later readers never delay it.
#include "sim/sync/rcu.hpp"

#include <algorithm>

#include "sim/core/clock.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

Rcu::Rcu(sc_core::sc_module_name name, SimKernel& kernel, Stats& stats)
    : sc_core::sc_module(name),
      kernel_(kernel),
      stats_(stats) {
  SC_HAS_PROCESS(Rcu);
  SC_THREAD(gp_thread);
}

void Rcu::register_agent(Agent& a) {
  if (std::find(agents_.begin(), agents_.end(), &a) == agents_.end()) agents_.push_back(&a);
}

void Rcu::read_lock(Agent& a) {
  // No memory traffic and no synchronisation: entering early in the agent's local time can only
  // make a grace period wait longer than needed, never end too soon.
  ++a.rcu_depth;
}

void Rcu::read_unlock(Agent& a) {
  if (a.rcu_depth <= 0) throw ModelError("rcu_read_unlock without rcu_read_lock by " + a.name());
  if (--a.rcu_depth != 0 || !gp_active_) return;
  if (std::find(holdouts_.begin(), holdouts_.end(), &a) == holdouts_.end()) return;
  // This exit ends (part of) a grace period, which another thread observes: it must happen at
  // the reader's true time, not at the kernel time it runs ahead of, or callbacks could free
  // memory the reader is still (in its own time) using.
  a.sync();
  const auto it = std::find(holdouts_.begin(), holdouts_.end(), &a);
  if (it == holdouts_.end()) return;
  holdouts_.erase(it);
  if (holdouts_.empty()) kernel_.notify(reader_left_);
}

void Rcu::call_rcu(Agent& a, std::function<void()> cb) {
  // Queueing is visible to the grace-period thread, so it happens at the caller's true time;
  // that also keeps queued_at <= the time the callback runs.
  a.sync();
  next_batch_.push_back(Pending{std::move(cb), a.now()});
  ++queued_;
  kernel_.notify(work_);
}

size_t Rcu::pending() const { return static_cast<size_t>(queued_ - invoked_); }

void Rcu::barrier(Agent& a) {
  a.sync();
  // Callbacks run in queue order, so "everything queued before now has run" is a count.
  const uint64_t target = queued_;
  while (invoked_ < target) a.wait_event(batch_done_, "rcu_barrier");
}

void Rcu::gp_thread() {
  for (;;) {
    while (next_batch_.empty()) sc_core::wait(work_);
    // The batch is fixed at the start of the grace period: callbacks queued from now on may
    // refer to removals the current snapshot of readers does not cover.
    std::deque<Pending> batch;
    batch.swap(next_batch_);
    ++batches_started_;
    holdouts_.clear();
    for (Agent* ag : agents_)
      if (ag->rcu_depth > 0) holdouts_.push_back(ag);
    gp_active_ = true;
    while (!holdouts_.empty()) sc_core::wait(reader_left_);
    gp_active_ = false;
    stats_.grace_periods.inc();

    stats_.gp_latency.sample(kernel_.clock().now() - batch.front().queued_at);
    for (Pending& p : batch) {
      p.cb();
      ++invoked_;
      stats_.callbacks.inc();
    }
    ++batches_done_;
    kernel_.notify(batch_done_);
  }
}

}  // namespace mmusim
