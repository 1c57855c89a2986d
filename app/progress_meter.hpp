// The progress line of a long run (--progress; README.md, Running): simulated time, faults
// handled (by every VM's hypervisor MMU), host speed and, when the workload knows its size, the share done and an ETA, on
// stderr -- rewritten in place on a terminal, one line per update otherwise.
//
// It is driven only by host time, checked where the simulation already passes: every vCPU op
// stream is wrapped (ProgressMeter::wrap) so that taking an op counts it and every
// kPollEvery-th op reads the steady clock. It adds no SystemC event, wait or process and only
// reads the model's state, so simulated results are the same with or without it.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/clock.hpp"
#include "sim/core/config.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/cpu/op.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct ProgressParams {
  bool enabled = false;   // --progress resolved against the terminal and --quiet
  bool terminal = false;  // stderr is a terminal: rewrite one line in place
  double after_s = 2.0;   // host seconds before the first line (--progress-after)
  double clock_ghz = 2.6; // simulated seconds from cycles
};

// Resolves --progress auto against isatty(stderr) and --quiet.
ProgressParams progress_params(const SimConfig& cfg);

class ProgressMeter {
 public:
  // `work` is what the vCPU streams of every VM yield in total (ops 0: unknown, no ETA).
  ProgressMeter(const ProgressParams& p, const Clock& clock, WorkSize work);
  ~ProgressMeter();  // ends the line if finish() was not reached (an error unwinds the run)
  // `ops` counted by this meter.
  std::unique_ptr<OpStream> wrap(std::unique_ptr<OpStream> ops);
  // Another VM's vCPU streams (a host file's VMs differ): their work adds to the total, which
  // stays unknown once a VM's is, or when the VMs count in different units.
  void add_work(WorkSize w) {
    const bool same = w.ops != 0 && work_.ops != 0 && std::string(w.unit) == work_.unit;
    work_.ops = same ? work_.ops + w.ops : 0;
  }
  // A hypervisor's live fault counter (one per VM): the line shows their sum.
  void count_faults(const statistics::Counter& faults) { faults_.push_back(&faults); }
  void start();   // the run begins: host time counts from here (also done on construction)
  void finish();  // clears the line on a terminal; called before anything else is printed

  // The line as printed, for a run `host_s` host seconds in (tests).
  std::string line(double host_s) const;
  // Called by the wrapped streams for every op taken.
  void op_taken() {
    if ((++ops_ & (kPollEvery - 1)) == 0) poll();
  }

 private:
  static constexpr uint64_t kPollEvery = 256;  // ops between two reads of the steady clock
  void poll();
  void show(const std::string& text);
  ProgressParams p_;
  const Clock& clock_;
  std::vector<const statistics::Counter*> faults_;
  WorkSize work_;
  uint64_t ops_ = 0;
  std::chrono::steady_clock::time_point t0_, next_;
  size_t shown_ = 0;  // characters of the line on the terminal now (0: none)
};

}  // namespace mmusim
