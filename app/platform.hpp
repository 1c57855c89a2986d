// Builds one simulated machine from a SimConfig and runs it: memory system, vCPUs with TLBs and
// walkers, the hypervisor's MMU software for the chosen arch, host threads, the workload, and
// the correctness oracle. One Platform per process (SystemC elaborates once).
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"

namespace mmusim {

class TdpMmu;

class Platform {
 public:
  explicit Platform(const SimConfig& cfg);
  ~Platform();
  // Runs to completion: populate, oracle checks, VM teardown.
  void run();
  Stats& stats();
  const Violations& violations() const;
  const TdpMmu& tdp_mmu() const;
  // Writes --stats-json and --timeline if asked for.
  void write_outputs() const;
  void print_summary(std::ostream& os, double wall_seconds) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mmusim
