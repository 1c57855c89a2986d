#include "sim/core/violations.hpp"

#include <cstdio>
#include <iostream>

namespace mmusim {

Violations::Violations(Stats& stats, bool enabled, unsigned print_limit)
    : stats_(stats), enabled_(enabled), print_limit_(print_limit) {}

void Violations::report(const std::string& kind, Cycles when, const std::string& thread,
                        Addr addr, const std::string& detail) {
  if (!enabled_) return;
  stats_.violations.inc();
  auto it = stats_.by_kind.find(kind);
  if (it == stats_.by_kind.end())
    it = stats_.by_kind.try_emplace(kind, stats_, kind, "correctness oracle violations: " + kind)
             .first;
  it->second.inc();
  if (recorded_.size() < 1000) recorded_.push_back({kind, when, thread, addr, detail});
  if (stats_.violations.value() <= print_limit_) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(addr));
    std::cerr << "mmusim: check violation " << kind << " at cycle " << when << " by " << thread
              << " addr " << buf << ": " << detail << "\n";
  }
}

}  // namespace mmusim
