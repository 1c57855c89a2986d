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
// notifies an event. Every notification the model makes therefore goes through notify_event()
// below.
//
// Built with MMUSIM_CHECK_HORIZON (the sanitizer build does), every use of a kept answer is
// checked against the kernel's and a later one is a ModelError: a notification that bypassed
// notify_event() shows up in every test run there.
#pragma once
#include <cstdint>
#include <string>
#include <systemc>

#include "sim/core/clock.hpp"

#ifdef MMUSIM_CHECK_HORIZON
#include "sim/core/error.hpp"
#endif

namespace mmusim {

class Horizon {
 public:
  // Absolute time (sc_time value units) strictly before which no other process can run.
  static uint64_t get() {
    sc_core::sc_simcontext* k = Clock::kernel();
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
                         "notify_event(): kept " + std::to_string(at_) + ", kernel says " +
                         std::to_string(ask(k)));
      }
#endif
    }
    handed_over_ = false;
    return at_;
  }
  // Something was notified: the next get() asks the kernel again.
  static void invalidate() {
    stamp_ = kNoStamp;
    handed_over_ = false;
  }
  // A parked agent is woken directly by the running one (Agent::park): nothing the kernel has
  // pending changes on the way, so the kept answer stays valid for the next process that asks,
  // if it asks in the same evaluation phase.
  static void hand_over() { handed_over_ = true; }
  // How often the kernel was asked (for the performance doc and tests).
  static uint64_t queries() { return queries_; }

 private:
  static uint64_t ask(sc_core::sc_simcontext* k) {
    return k->time_stamp().value() + sc_core::sc_time_to_pending_activity(k).value();
  }
  static constexpr uint64_t kNoStamp = ~uint64_t(0);  // no change stamp ever reaches it
  static inline uint64_t at_ = 0;
  static inline uint64_t stamp_ = kNoStamp;
  static inline const sc_core::sc_process_b* proc_ = nullptr;
  static inline uint64_t queries_ = 0;
  static inline bool handed_over_ = false;
};

// The model's only way to notify an SystemC event (see above). `delay` zero is a delta
// notification, as sc_event::notify(SC_ZERO_TIME).
inline void notify_event(sc_core::sc_event& ev,
                         const sc_core::sc_time& delay = sc_core::SC_ZERO_TIME) {
  Horizon::invalidate();
  ev.notify(delay);
}

}  // namespace mmusim
