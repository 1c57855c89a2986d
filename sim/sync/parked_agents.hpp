// Agents parked at a synchronisation point, ordered by the true time they wait for.
//
// Why: most synchronisations of a busy simulation wait for another agent, not for some other
// SystemC activity. Through the kernel each such wait is a timed notification: a heap insert,
// the scheduler's main loop advancing time, and two coroutine switches (thread -> kernel ->
// thread). An agent parked here instead waits on its own event, and the agent that finds it
// earliest hands the processor to it with an immediate notification: one switch, no timed
// event, no pass through the main loop. The kernel's clock stays where it was; the woken agent
// keeps the distance as its local offset, as after a skipped sync (Agent::catch_up brings the
// clock along when something needs it).
//
// The order by simulated time is the kernel's: an agent runs on only while its true time lies
// strictly before both the kernel's next activity (Horizon) and every parked agent; otherwise
// the earliest of them goes first. Ties between parked agents go to the one parked first.
//
// The one rule that keeps parked agents from being forgotten: whenever control goes back to the
// SystemC kernel (a timed wait, a wait on an event, the end of a thread), the earliest parked
// agent holds a timed notification of its own event at its time ("armed"), so the kernel wakes
// it when nothing earlier is left. Only that one needs it: the agent it wakes keeps the rule in
// turn. Before deciding anything an agent takes the arming back (disarm), so the kernel's
// horizon shows only activity that is not a parked agent.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mmusim {

class Agent;
class SimKernel;

// One per simulation, in its kernel layer (sim_kernel.hpp).
class ParkedAgents {
 public:
  static constexpr uint64_t kNever = ~uint64_t(0);

  explicit ParkedAgents(SimKernel& kernel) : kernel_(kernel) {}
  ParkedAgents(const ParkedAgents&) = delete;
  ParkedAgents& operator=(const ParkedAgents&) = delete;

  // Parks `a` until absolute time `at` (sc_time value units).
  void push(Agent& a, uint64_t at);
  // The earliest parked agent (null when none) and its time (kNever when none).
  Agent* earliest() const { return heap_.empty() ? nullptr : heap_.front().agent; }
  uint64_t earliest_at() const { return heap_.empty() ? kNever : heap_.front().at; }
  // A hand-off in one step: when the earliest parked agent is due before `a` would be (at
  // `at`) and before `horizon`, parks `a` in its place, removes it from the queue and returns
  // it (to be woken by an immediate notification); otherwise changes nothing and returns null.
  // push + pop would sift through the heap twice, this once.
  Agent* swap_earliest(Agent& a, uint64_t at, uint64_t horizon);
  // `a` runs again (woken by a hand-off or by its armed notification): drop it from the queue.
  void resumed(Agent& a);

  // The kernel-wait rule above: arm the earliest parked agent (if not armed already).
  void arm_earliest();
  // Cancels the armed notification, if any.
  void disarm() {
    if (armed_) disarm_now();
  }

  size_t size() const { return heap_.size(); }

 private:
  struct Entry {
    uint64_t at;
    uint64_t seq;  // park order: ties go to the first parked
    Agent* agent;
  };
  static bool before(const Entry& x, const Entry& y) {
    return x.at != y.at ? x.at < y.at : x.seq < y.seq;
  }
  // A binary min-heap. An agent woken by its armed notification leaves it at once (no stale
  // entries to skip later); Agent::parked_ says whether it is still in.
  void sift_up(size_t i, Entry e);
  void sift_down(size_t i, Entry e);
  void remove_at(size_t i);
  void disarm_now();
  SimKernel& kernel_;
  std::vector<Entry> heap_;
  uint64_t seq_ = 0;
  Agent* armed_ = nullptr;
};

}  // namespace mmusim
