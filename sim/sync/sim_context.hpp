// A SystemC simulation context of one's own, installed as the current one for the lifetime of
// this object, so that several simulations (Platforms, test rigs) can be built, run and torn
// down one after another in one process.
//
// Why: SystemC elaborates once per simulation context; modules built after sc_start of the same
// context are an error (E529). The library keeps the current context in a pointer it declares in
// its header (sc_curr_simcontext) and lets anyone construct an sc_simcontext; every library call
// (module and event construction, sc_start, sc_time_stamp) works on the current one. Neither is
// part of IEEE 1666, so this is done only on the SystemC version checked in
// systemc_internals.hpp; elsewhere the process's one context is used (one simulation per
// process, as before).
//
// Rules for the owner: build every SystemC object of the simulation after this object and
// destroy them before it (a member declared first), and do not nest two live contexts' use (the
// previous context is restored when this one goes).
//
// A thread still blocked when the context is destroyed is freed without unwinding its stack
// (SystemC deletes it with the context): objects it owns on its stack leak. The model's threads
// that outlive a run own nothing there beyond what their module owns.
#pragma once
#include <systemc>

namespace mmusim {

class SimContext {
 public:
  SimContext();
  ~SimContext();
  SimContext(const SimContext&) = delete;
  SimContext& operator=(const SimContext&) = delete;

  sc_core::sc_simcontext* get() const { return context_; }
  // True when this build gives each SimContext a fresh SystemC context (else: the process's one).
  static bool fresh_contexts();

 private:
  sc_core::sc_simcontext* context_ = nullptr;
  sc_core::sc_simcontext* previous_ = nullptr;
};

}  // namespace mmusim
