#include "sim/sync/agent.hpp"

#include "sim/sync/parked_agents.hpp"
#include "sim/sync/run_next.hpp"

namespace mmusim {

Agent::Agent(SimKernel& kernel, std::string name, int id, MemPort& port, int timeline_track)
    : kernel_(&kernel), name_(std::move(name)), id_(id), port_(port), track_(timeline_track) {
  reset();
}

void Agent::set_quantum_end_after(uint64_t t) {
  // The next multiple of the global quantum after t (what tlm_quantumkeeper computes from the
  // kernel's time with tlm_global_quantum::compute_local_quantum). Sync points mostly fall in
  // the quantum the last one ended: then the answer is the boundary already kept, without the
  // division.
  if (quantum_ == 0) {
    next_sync_ = t;
  } else if (t >= next_sync_ || t + quantum_ < next_sync_) {
    next_sync_ = t - t % quantum_ + quantum_;
  }
}

void Agent::reset() {
  local_ = sc_core::SC_ZERO_TIME;
  anchor_ = sc_core::SC_ZERO_TIME;
  quantum_ = kernel_->quantum();
  next_sync_ = 0;  // the quantum may have changed: no kept boundary
  set_quantum_end_after(clock().kernel_time().value());
}

void Agent::wait_local() {
  ++waited_;
  before_kernel_wait();
  sc_core::wait(local_);
  reset();
}

bool Agent::nothing_runs_before(uint64_t t) {
  SimKernel& k = *kernel_;
  // Parked agents are kept out of the kernel's horizon while deciding (an armed one would
  // show there as "kernel activity" at its own time).
  k.parked().disarm();
  // The horizon is now when another process is runnable, and the earliest timed notification
  // otherwise. Strictly before it and before every parked agent: no process can run first, and
  // none runs at the same instant (whose order against this one a wait would decide).
  return t < k.horizon().get() && t < k.parked().earliest_at();
}

void Agent::sync_for_access() {
  if (local_ == sc_core::SC_ZERO_TIME) return;
  SimKernel& k = *kernel_;
  if (!k.lookahead()) return wait_local();
  const sc_core::sc_time at = k.clock().kernel_time() + local_;
  if (nothing_runs_before(at.value())) {
    ++skipped_;
    anchor_ = local_;
    // A wait here would have re-aligned the quantum boundary to the sync point.
    set_quantum_end_after(at.value());
    return;
  }
  // The horizon the check read (kept by Horizon: nothing was notified in between).
  park(at, k.horizon().get());
}

bool Agent::runs_alone_for(Cycles c) {
  if (!kernel_->lookahead()) return false;
  return nothing_runs_before((clock().kernel_time() + local_ + clock().cycles(c)).value());
}

bool Agent::ahead_of_posts(Cycles lead) {
  if (!kernel_->lookahead() || lead == 0) return false;
  const uint64_t at = (clock().kernel_time() + local_).value();
  const uint64_t l = clock().cycles(lead).value();
  // A post lands at least l after its poster acts: none lands at or before `at` when nothing
  // runs at or before at - l, nor while the simulation is younger than l. The check runs then
  // too: it takes back the armed wake-up, as every decision does.
  return nothing_runs_before(at < l ? 0 : at - l) || at < l;
}

void Agent::park(const sc_core::sc_time& at, uint64_t horizon) {
  SimKernel& k = *kernel_;
  if (Agent* next = k.parked().swap_earliest(*this, at.value(), horizon)) {
    // Another parked agent is the next thing to run, before anything the kernel has pending.
    ++handed_off_;
#ifdef MMUSIM_CHECK_HORIZON
    // The hand-off's premise (run_next.hpp): nothing else can run at this instant.
    if (sc_core::sc_pending_activity_at_current_time(k.context())) {
      throw ModelError("hand-off while another process is runnable or a delta notification "
                       "is pending (a notification that bypassed SimKernel::notify?)");
    }
#endif
    // It runs as soon as this thread waits: first in the current round when the kernel allows
    // (run_next.hpp: one coroutine switch), else woken by an immediate notification (next round).
    if (k.direct_handoff() && next->static_wake_ && RunNext::make_next(k.context(), next->proc_)) {
      ++handed_off_direct_;
    } else {
      SimKernel::wake_now(next->wake_);
    }
    k.horizon().hand_over();
  } else {
    k.parked().push(*this, at.value());
    ++waited_;
    k.parked().arm_earliest();  // this agent itself when it is the earliest
  }
  if (static_wake_) {
    // Both through the context's pointer: the library's defaults would call the out-of-line
    // sc_get_curr_simcontext() at every park.
    sc_core::sc_simcontext* ctx = k.context();
    proc_ = ctx->get_curr_proc_info()->process_handle;
    sc_core::wait(ctx);
  } else {
    sc_core::wait(wake_.sc());
  }
  k.parked().resumed(*this);
  // Woken at `at` in true time; the kernel's clock may still be behind (a hand-off does not
  // move it). Then the distance stays as local offset, as after a skipped sync.
  local_ = at - k.clock().kernel_time();
  anchor_ = local_;
  set_quantum_end_after(at.value());
}

void Agent::catch_up() {
  if (anchor_ == sc_core::SC_ZERO_TIME) return;
  // Nothing can run before the anchor (lookahead said so, and this thread has notified nobody
  // since), so the wait resumes this thread at the sync point, as the skipped wait would have.
  ++waited_;
  const sc_core::sc_time rest = local_ - anchor_;
  sc_core::wait(anchor_);
  local_ = rest;
  anchor_ = sc_core::SC_ZERO_TIME;
}

// Each helper passes the local offset as the transport delay, so the memory system sees the
// access at this agent's true time, and keeps the returned delay as the new offset.
uint64_t Agent::load_nosync(Addr a, MemClass c) { return port_.read64(a, c, local_); }

uint64_t Agent::load(Addr a, MemClass c) {
  sync_for_access();
  return load_nosync(a, c);
}

void Agent::store(Addr a, uint64_t v, MemClass c) {
  sync_for_access();
  port_.write64(a, v, c, local_);
}

uint64_t Agent::cmpxchg(Addr a, uint64_t expected, uint64_t desired, MemClass c) {
  sync_for_access();
  return port_.cmpxchg64(a, expected, desired, c, local_);
}

uint64_t Agent::xchg(Addr a, uint64_t v, MemClass c) {
  sync_for_access();
  return port_.xchg64(a, v, c, local_);
}

uint64_t Agent::fetch_and(Addr a, uint64_t mask, MemClass c) {
  sync_for_access();
  return port_.fetch_and64(a, mask, c, local_);
}

uint64_t Agent::fetch_or(Addr a, uint64_t mask, MemClass c) {
  sync_for_access();
  return port_.fetch_or64(a, mask, c, local_);
}

uint64_t Agent::fetch_add(Addr a, uint64_t addend, MemClass c) {
  sync_for_access();
  return port_.fetch_add64(a, addend, c, local_);
}

}  // namespace mmusim
