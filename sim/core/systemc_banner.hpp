// Include in exactly one translation unit of an executable (the one with sc_main).
// libsystemc prints its copyright banner before sc_main runs unless
// SYSTEMC_DISABLE_COPYRIGHT_MESSAGE is already in the environment, so this sets it and
// re-executes the program before libsystemc's main() starts (glibc passes argv to constructors).
#pragma once
#include <cstdlib>
#include <unistd.h>

namespace mmusim::detail {

// glibc calls constructors as (argc, argv, envp), which the compiler cannot see: noipa keeps
// link-time optimisation from dropping the unused argc and shifting argv into its place.
__attribute__((constructor, noipa)) static void quiet_systemc_banner(int, char** argv) {
  if (std::getenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE")) return;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  execv("/proc/self/exe", argv);  // if that fails, go on and show the banner
}

}  // namespace mmusim::detail
