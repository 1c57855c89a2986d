// Which default latencies are assumptions: docs/CALIBRATION.md found no public figure for them
// (its "unsourced" verdict). `--help` says so beside each, so nobody reads a default as a
// measured fact; tests/python/test_calibration_doc.py keeps this list and the document's rows
// the same.
#pragma once
#include <string>

namespace mmusim {

inline bool latency_is_assumption(const std::string& option) {
  static const char* const kAssumed[] = {
      "lat-tlb-l1",           "lat-pwc",              "lat-invalidate",
      "lat-request-check",    "lat-fault-entry",      "lat-tdp-map-work",
      "lat-spte-change-work", "lat-page-alloc",       "lat-cond-resched",
      "lat-shadow-fault-work", "lat-shadow-sync-work", "lat-shadow-emulate",
      "lat-host-pte-update",  "lat-host-page-copy",   "lat-tlbi-op",
      "lat-tlbi-dsb",         "lat-s2-map-work",      "lat-mips-tlb-exception",
      "lat-mips-refill-work", "lat-mips-asid-bump",   "lat-mips-map-work",
      "lat-guest-lock-spin",  "lat-guest-ipi-handler", "lat-home-node-occupancy"};
  for (const char* n : kAssumed)
    if (option == n) return true;
  return false;
}

// The words --help appends to such an option's description.
inline constexpr const char* kAssumptionNote = " [assumption: no public source, docs/CALIBRATION.md]";

}  // namespace mmusim
