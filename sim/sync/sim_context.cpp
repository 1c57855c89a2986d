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
  // Deleted while still current: what its objects' teardown asks of "the current context" is
  // asked of this one.
  delete context_;
  sc_core::sc_curr_simcontext = previous_;
}

#else

bool SimContext::fresh_contexts() { return false; }

SimContext::SimContext() : context_(sc_core::sc_get_curr_simcontext()) {}

SimContext::~SimContext() = default;

#endif

}  // namespace mmusim
