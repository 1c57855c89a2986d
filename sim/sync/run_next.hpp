// Makes a waiting SystemC thread the next one to run in the current round of the evaluation
// phase, so that the running thread's wait switches straight to it.
//
// Why: a hand-off between agents (parked_agents.hpp) woke the next agent with an immediate
// notification. SystemC queues a thread woken that way for the *next* round of the evaluation
// phase, so the waiting thread first switched to the kernel's loop, which started that round
// and switched to the woken thread: two coroutine switches and a pass through the loop per
// hand-off, several per simulated fault. IEEE 1666 leaves the order of runnable processes within
// an evaluation phase to the implementation; SystemC's own kernel puts a thread first in the
// current round for its internal uses (sc_simcontext::execute_thread_next), which is not public.
// This does the same on Debian's SystemC 2.3.4, whose run-queue layout it relies on (checked at
// compile time, systemc_internals.hpp: other versions fall back to the notification, see
// available()).
//
// A hand-off only happens when nothing else is runnable and no delta or update is pending
// (its horizon test), so the current round is empty and putting the thread first in it changes
// no order: results are identical either way (HandOff.DirectSwitchKeepsEveryActionInPlace and
// X86Populate.DirectHandoffDoesNotChangeResults check; RunNext.ThreadRunsFirstInTheCurrentRound
// the queue itself). That rests on every notification of the model going through SimKernel::notify
// (horizon.hpp): one that did not could leave a process runnable that the notification path
// would run first (sim/sync/event.hpp keeps the model from notifying any other way). Built
// with MMUSIM_CHECK_HORIZON, Agent::park throws a ModelError when anything is pending there.
//
// It skips the checks SystemC makes when a static event triggers a thread: that the thread is
// not suspended or disabled (sc_process_handle::suspend/disable) and waits for one trigger (a
// plain wait(), not wait(n)). The model uses no process control and parks with a plain wait().
#pragma once
#include <systemc>

namespace mmusim {

class RunNext {
 public:
  // True when this build knows the kernel's run-queue layout.
  static bool available();
  // The thread `t` of simulation context `k`, waiting statically (a plain wait() on its static
  // sensitivity) and in no run queue, runs next. Returns false, doing nothing, when `t` is
  // already queued to run.
  static bool make_next(sc_core::sc_simcontext* k, sc_core::sc_process_b* t);
  // The thread first in the current round's queue of `k`, null when it is empty (for tests).
  static const sc_core::sc_process_b* first_in_round(sc_core::sc_simcontext* k);
};

}  // namespace mmusim
