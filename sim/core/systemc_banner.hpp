// Include in exactly one translation unit of an executable (the one with sc_main).
// libsystemc's main() prints SystemC's copyright banner before it calls sc_main, unless
// SYSTEMC_DISABLE_COPYRIGHT_MESSAGE is in the environment when it checks (SystemC 2.3.4 reads
// the variable in the banner function, which only main() calls). This program's constructors
// run before main(), so setting the variable here silences it: no re-execution, nothing else
// changes. A value the caller set is kept.
#pragma once
#include <cstdlib>

namespace mmusim::detail {

__attribute__((constructor)) static void quiet_systemc_banner() {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
}

}  // namespace mmusim::detail
