// The correctness oracle's report: every violation is counted ("check.violations" and
// "check.<kind>") and remembered with time, thread and address; the first few are printed to
// stderr so a run that breaks an invariant says so.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/core/stats_group.hpp"
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
  uint64_t count() const { return stats_.violations.value(); }
  const std::vector<Violation>& recorded() const { return recorded_; }

 private:
  struct ViolationStats : StatsGroup {
    explicit ViolationStats(Stats& s) : StatsGroup(s, "check") {}
    statistics::Counter violations{*this, "violations",
                                   "correctness oracle violations of every kind"};
    // "check.<kind>", registered with the first violation of that kind.
    std::map<std::string, statistics::Counter> by_kind;
  } stats_;
  bool enabled_;
  unsigned print_limit_;
  std::vector<Violation> recorded_;  // first 1000 kept
};

}  // namespace mmusim
