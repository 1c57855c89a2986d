// The mmusim executable: parse the configuration, build the platform, run, report.
// Exit status: 0 success, 2 bad input (one line naming the option/file), 3 model error or
// simulated deadlock.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <systemc>
#include <unistd.h>

#include "app/platform.hpp"
#include "sim/core/config.hpp"
#include "sim/core/error.hpp"
#include "sim/core/systemc_banner.hpp"

int sc_main(int argc, char** argv) {
  using namespace mmusim;
  SimConfig cfg;
  try {
    if (!parse_config(argc, argv, cfg)) return 0;  // --help
  } catch (const UsageError& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return 2;
  }
  try {
    auto t0 = std::chrono::steady_clock::now();
    PlatformHooks hooks;
    hooks.keep_final_leaves = false;  // the oracle visits them; nothing else reads them here
    Platform platform(cfg, std::move(hooks));
    platform.run();
    platform.write_outputs();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!cfg.quiet) platform.print_summary(std::cout, wall);
    return 0;
  } catch (const UsageError& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return 2;
  } catch (const DeadlockError& e) {
    // e.what() starts "simulated deadlock at cycle N:" and lists the blocked threads.
    std::cerr << "mmusim: " << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "mmusim: internal error: " << e.what() << "\n";
    return 3;
  }
}
