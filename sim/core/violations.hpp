// The correctness oracle's report: every violation is counted ("check.violations" and
// "check.<kind>") and remembered with time, thread and address; the first few are printed to
// stderr so a run that breaks an invariant says so.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/stats.hpp"
#include "sim/core/types.hpp"

namespace mmusim {

struct Violation {
  std::string kind;    // e.g. "stale_tlb_hit", "freed_table_access", "lost_update"
  Cycles when = 0;
  std::string thread;  // agent name
  Addr addr = 0;
  std::string detail;
};

class Violations {
 public:
  Violations(Stats& stats, bool enabled, unsigned print_limit = 10);
  bool enabled() const { return enabled_; }
  void report(const std::string& kind, Cycles when, const std::string& thread, Addr addr,
              const std::string& detail);
  uint64_t count() const { return total_.value(); }
  const std::vector<Violation>& recorded() const { return recorded_; }

 private:
  Stats& stats_;
  bool enabled_;
  unsigned print_limit_;
  Counter& total_;
  std::vector<Violation> recorded_;  // first 1000 kept
};

}  // namespace mmusim
