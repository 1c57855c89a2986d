// A SystemC event of the model. Threads wait on it and modules are sensitive to it as to an
// sc_event, but it cannot be notified directly: a notification goes through SimKernel::notify
// (or Agent::notify), which first tells the lookahead horizon that the kernel's pending activity
// changed (sim/sync/horizon.hpp). A notification that bypassed it could let an agent skip a
// wait it must make, and make a hand-off switch past a runnable process (run_next.hpp).
#pragma once
#include <systemc>

namespace mmusim {

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // For sc_core::wait(ev), `sensitive << ev` and event lists (ev.sc() | other.sc()): the
  // SystemC event, read-only (sc_event::notify and cancel need it mutable).
  const sc_core::sc_event& sc() const { return ev_; }
  operator const sc_core::sc_event&() const { return ev_; }

 private:
  friend class SimKernel;
  sc_core::sc_event ev_;
};

}  // namespace mmusim
