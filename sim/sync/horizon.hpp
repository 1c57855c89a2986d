// The lookahead horizon: the earliest instant at which some SystemC process other than the one
// running now can act (a runnable process, a delta notification, the earliest timed wake-up).
// Agent::sync_for_access skips a wait when its true time lies strictly before it.
//
// Asking the kernel (sc_time_to_pending_activity) costs about a hundred instructions, and a
// simulated fault asks about twenty times. While one thread runs, nothing but that thread can
// change what the kernel has pending, and the thread changes it only by notifying an event (a
// wait ends the run). So the answer is kept for one run of one process: until another process
// runs, the kernel moves on to another evaluation phase (its change stamp, bumped at every
// update phase, differs: a process that waited and resumed is in a later phase), or the model
// notifies an event. Every notification the model makes therefore goes through
// SimKernel::notify (sim_kernel.hpp), which tells the horizon; the model's events are Events
// (event.hpp), which offer no other way to notify.
//
// Built with MMUSIM_CHECK_HORIZON (the sanitizer build does), every use of a kept answer is
// checked against the kernel's and a later one is a ModelError: a notification that bypassed
// SimKernel::notify shows up in every test run there.
#pragma once
#include <cstdint>
#include <string>
#include <systemc>


#ifdef MMUSIM_CHECK_HORIZON
#include "sim/core/error.hpp"
#endif

namespace mmusim {

class Horizon {
 public:
  // `kernel`: the simulation context whose pending activity this keeps (the Platform's own).
  explicit Horizon(sc_core::sc_simcontext* kernel) : kernel_(kernel) {}
  // Absolute time (sc_time value units) strictly before which no other process can run.
  uint64_t get() {
    sc_core::sc_simcontext* k = kernel_;
    const sc_core::sc_process_b* proc = k->get_curr_proc_info()->process_handle;
    if (stamp_ != k->change_stamp() || (proc_ != proc && !handed_over_)) {
      at_ = ask(k);
      stamp_ = k->change_stamp();
      proc_ = proc;
      ++queries_;
    } else {
      proc_ = proc;  // the same process, or the answer came with the processor (hand_over)
#ifdef MMUSIM_CHECK_HORIZON
      if (at_ > ask(k)) {
        throw ModelError("lookahead horizon kept past a notification the model made without "
                         "SimKernel::notify(): kept " + std::to_string(at_) + ", kernel says " +
                         std::to_string(ask(k)));
      }
#endif
    }
    handed_over_ = false;
    return at_;
  }
  // Something was notified: the next get() asks the kernel again.
  void invalidate() {
    stamp_ = kNoStamp;
    handed_over_ = false;
  }
  // A parked agent is woken directly by the running one (Agent::park): nothing the kernel has
  // pending changes on the way, so the kept answer stays valid for the next process that asks,
  // if it asks in the same evaluation phase.
  void hand_over() { handed_over_ = true; }
  // How often the kernel was asked (for the performance doc and tests).
  uint64_t queries() const { return queries_; }

 private:
  static uint64_t ask(sc_core::sc_simcontext* k) {
    return k->time_stamp().value() + sc_core::sc_time_to_pending_activity(k).value();
  }
  static constexpr uint64_t kNoStamp = ~uint64_t(0);  // no change stamp ever reaches it
  sc_core::sc_simcontext* kernel_;
  uint64_t at_ = 0;
  uint64_t stamp_ = kNoStamp;
  const sc_core::sc_process_b* proc_ = nullptr;
  uint64_t queries_ = 0;
  bool handed_over_ = false;
};

}  // namespace mmusim
