#include "sim/sync/sim_context.hpp"

#include "sim/sync/systemc_internals.hpp"

namespace mmusim {

#if MMUSIM_SYSTEMC_INTERNALS_KNOWN

bool SimContext::fresh_contexts() { return true; }

SimContext::SimContext() : previous_(sc_core::sc_curr_simcontext) {
  context_ = new sc_core::sc_simcontext;
  sc_core::sc_curr_simcontext = context_;
}

SimContext::~SimContext() {
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the context (with its threads' coroutine stacks) is kept, not freed:
  // QuickThreads switches stacks without telling ASan, so the stack of a thread left blocked
  // keeps its frames' poisoning, and a later simulation in this process whose memory reuses it
  // would trip over it (docs/HARDENING.md, Sanitizers). Leak checking is off there anyway.
  sc_core::sc_curr_simcontext = previous_;
#else
  // Deleted while still current: what its objects' teardown asks of "the current context" is
  // asked of this one.
  delete context_;
  sc_core::sc_curr_simcontext = previous_;
#endif
}

#else

bool SimContext::fresh_contexts() { return false; }

SimContext::SimContext() : context_(sc_core::sc_get_curr_simcontext()) {}

SimContext::~SimContext() = default;

#endif

}  // namespace mmusim
