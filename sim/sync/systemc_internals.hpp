// The one version check for the code that relies on how SystemC is built inside
// (sim/sync/run_next.cpp: the run queue's private members; sim/sync/sim_context.cpp: creating and
// installing a simulation context of one's own). Both were written against Debian's SystemC
// 2.3.4; with any other version they fall back to what the public API offers.
#pragma once
#include <systemc>

#if SC_VERSION_MAJOR == 2 && SC_VERSION_MINOR == 3 && SC_VERSION_PATCH == 4
#define MMUSIM_SYSTEMC_INTERNALS_KNOWN 1
#else
#define MMUSIM_SYSTEMC_INTERNALS_KNOWN 0
#endif
