// Conversion between SystemC time and core-clock cycles, and the kernel's current time. One
// Clock belongs to each simulation (the Platform's kernel layer, sim/sync/sim_kernel.hpp): its
// period comes from --clock-ghz and it reads the time of its own SystemC simulation context.
// SystemC time resolution is 1 ps, so periods like 1/3 GHz round to the nearest picosecond.
#pragma once
#include <array>
#include <systemc>
#include "sim/core/types.hpp"

namespace mmusim {

class Clock {
 public:
  // A clock of `ghz` (0.1 .. 10) reading the time of `context`, which must be the current
  // simulation context while this runs (the time resolution is the context's).
  Clock(double ghz, sc_core::sc_simcontext* context);
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  double ghz() const;
  uint64_t period_ps() const { return period_ps_; }
  sc_core::sc_time cycles(Cycles c) const {
    // Small latencies come from a table built by the constructor: sc_time::from_value is a
    // library call, and this runs several times for every simulated access.
    if (c < kTable) return table_[c];
    return sc_core::sc_time::from_value(c * unit_);
  }
  // The kernel's current time. sc_core::sc_time_stamp() is an exported library call; the
  // simulation context's accessor is inline and reads the same field, and the hot paths ask
  // for it dozens of times per simulated fault.
  const sc_core::sc_time& kernel_time() const { return context_->time_stamp(); }
  // The simulation context this clock reads (the Platform's own).
  sc_core::sc_simcontext* kernel() const { return context_; }
  Cycles to_cycles(const sc_core::sc_time& t) const { return t.value() / unit_; }
  // Current kernel time in cycles (without any caller's local quantum offset).
  Cycles now() const { return to_cycles(kernel_time()); }

 private:
  static constexpr Cycles kTable = 4096;
  sc_core::sc_simcontext* context_;
  uint64_t period_ps_;
  uint64_t unit_;  // sc_time units per cycle: the period times the units in one picosecond
  std::array<sc_core::sc_time, kTable> table_;
};

}  // namespace mmusim
