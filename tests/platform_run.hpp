// Runs a whole Platform and hands its results back, so one test can compare several runs: each
// Platform has its own kernel layer and SystemC context (sim/sync/sim_kernel.hpp), so they run
// one after another in the test's process.
#pragma once
#include <functional>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "app/platform.hpp"

namespace mmusim::testing {

struct PlatformRun {
  int exit_code = -1;  // 0, or 3 when the run threw (stats_json then says "exception: <what>")
  std::string stats_json;
  std::string leaves;  // one "gpa level hpa perms" line per stage-2 leaf, in GPA order
};

inline PlatformRun run_platform(const SimConfig& cfg) {
  PlatformRun r;
  try {
    Platform p(cfg);
    p.run();
    std::ostringstream out;
    p.stats.write_json(out);
    r.stats_json = out.str();
    std::ostringstream leaves;
    for (const Stage2Leaf& l : p.final_leaves)
      leaves << std::hex << l.gpa << " " << l.level << " " << l.hpa << " " << l.perms.read
             << l.perms.write << l.perms.exec << "\n";
    r.leaves = leaves.str();
    r.exit_code = 0;
  } catch (const std::exception& e) {
    r.stats_json = std::string("exception: ") + e.what();
    r.exit_code = 3;
  }
  return r;
}

// Runs `body` and returns what it returned, or "exception: <what>" if it threw, for tests that
// build their own Platform (hooks, extra output).
inline std::string run_catching(const std::function<std::string()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
}

// Runs a Platform built from `c` and `h` and returns its stats JSON; `plat` (if given) points at
// the Platform while it runs, for hooks that reach into it.
inline std::string run_with_hooks(const SimConfig& c, const PlatformHooks& h,
                                  Platform** plat = nullptr) {
  Platform p(c, h);
  if (plat) *plat = &p;
  p.run();
  std::ostringstream out;
  p.stats.write_json(out);
  return out.str();
}

// Value of a counter (or of a histogram field, e.g. key "walk.refs" field "max") in stats JSON.
inline double stat(const std::string& json, const std::string& key, const std::string& field = "") {
  std::string pat = "\"" + std::regex_replace(key, std::regex(R"([.])"), R"(\.)") + "\": ";
  if (field.empty()) pat += "([0-9.]+)";
  else pat += "\\{[^}]*\"" + field + "\": ([0-9.]+)";
  std::smatch m;
  if (!std::regex_search(json, m, std::regex(pat))) return -1;
  return std::stod(m[1]);
}

// Runs `cfg` expecting it to finish with the oracle clean; the run, for its stats.
inline PlatformRun run_clean(const SimConfig& cfg) {
  PlatformRun r = run_platform(cfg);
  EXPECT_EQ(r.exit_code, 0) << r.stats_json;
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  return r;
}

}  // namespace mmusim::testing
