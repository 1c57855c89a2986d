#include "sim/sync/parked_agents.hpp"

#include "sim/sync/agent.hpp"
#include "sim/sync/sim_kernel.hpp"

namespace mmusim {

void ParkedAgents::sift_up(size_t i, Entry e) {
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!before(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

void ParkedAgents::sift_down(size_t i, Entry e) {
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], e)) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = e;
}

void ParkedAgents::remove_at(size_t i) {
  heap_[i].agent->parked_ = false;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  if (i > 0 && before(last, heap_[(i - 1) / 2])) sift_up(i, last);
  else sift_down(i, last);
}

void ParkedAgents::push(Agent& a, uint64_t at) {
  a.parked_ = true;
  heap_.push_back(Entry{at, ++seq_, &a});
  sift_up(heap_.size() - 1, heap_.back());
}

Agent* ParkedAgents::swap_earliest(Agent& a, uint64_t at, uint64_t horizon) {
  if (heap_.empty()) return nullptr;
  const Entry mine{at, seq_ + 1, &a};  // parked last: a tie goes to the one already parked
  const Entry& top = heap_.front();
  if (!before(top, mine) || top.at >= horizon) return nullptr;
  ++seq_;
  Agent* next = top.agent;
  // Agent::park disarms before it asks; if not, the pending wake-up goes (a direct switch does
  // not cancel it as an immediate notification would).
  if (armed_ == next) disarm_now();
  next->parked_ = false;
  a.parked_ = true;
  sift_down(0, mine);
  return next;
}

void ParkedAgents::resumed(Agent& a) {
  if (a.parked_) {
    // Woken by its armed notification, still in the queue: rare (the earliest agent, armed
    // when control went back to the kernel), so a scan finds it rather than every heap move
    // keeping a slot up to date in the agent, a write to another thread's data per move.
    for (size_t i = 0; i < heap_.size(); ++i) {
      if (heap_[i].agent == &a) {
        remove_at(i);
        break;
      }
    }
  }
  if (armed_ == &a) armed_ = nullptr;
}

void ParkedAgents::arm_earliest() {
  Agent* a = earliest();
  if (a == armed_) return;
  disarm();
  if (!a) return;
  const uint64_t at = heap_.front().at;
  const uint64_t now = kernel_.clock().kernel_time().value();
  // Parked agents never lie before the kernel's clock: each parked at a time no earlier than the
  // true time of the agent that was running then, which the clock never passes.
  kernel_.notify(a->wake_, sc_core::sc_time::from_value(at > now ? at - now : 0));
  armed_ = a;
}

void ParkedAgents::disarm_now() {
  SimKernel::cancel(armed_->wake_);
  kernel_.horizon().invalidate();
  armed_ = nullptr;
}

}  // namespace mmusim
