// Runs one benchmark scenario in a fresh child process (this same executable with
// "--child NAME"): its peak RSS is that run's alone, no heap of an earlier run shapes its
// allocations, and its wall time covers the whole process, start-up included.
#pragma once
#include <string>

namespace mmusim_bench {

struct ChildRun {
  std::string out;           // what the child printed on stdout
  double wall_seconds = 0;   // fork to exit, as the parent saw it
  double max_rss_kib = 0;    // the child's peak resident set (ru_maxrss)
};

// Exits the benchmark with a message when the child fails.
ChildRun run_child(const std::string& scenario);

}  // namespace mmusim_bench
