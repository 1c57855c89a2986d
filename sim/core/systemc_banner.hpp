// Include in exactly one translation unit of an executable (the one with sc_main).
// libsystemc prints its copyright banner before sc_main runs unless
// SYSTEMC_DISABLE_COPYRIGHT_MESSAGE is already in the environment, so this sets it and
// re-executes the program before libsystemc's main() starts.
//
// The arguments are read back from /proc/self/cmdline rather than taken from the constructor's
// parameters: glibc does pass (argc, argv, envp) to constructors, but link-time optimisation
// may merge all of a program's constructors into one function that calls them with no
// arguments (an LTO build re-executed itself with a null argv and lost every option).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

namespace mmusim::detail {

__attribute__((constructor)) static void quiet_systemc_banner() {
  if (std::getenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE")) return;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  std::FILE* f = std::fopen("/proc/self/cmdline", "rb");
  if (!f) return;  // go on and show the banner
  std::string all;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) all.append(buf, n);
  std::fclose(f);
  std::vector<char*> argv;
  for (size_t i = 0; i < all.size(); i += std::char_traits<char>::length(&all[i]) + 1)
    argv.push_back(&all[i]);
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());  // if that fails, go on and show the banner
}

}  // namespace mmusim::detail
