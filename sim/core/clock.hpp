// Conversion between SystemC time and core-clock cycles. The clock period is set once, before
// elaboration, from --clock-ghz; SystemC time resolution is 1 ps so periods like 1/3 GHz round to
// the nearest picosecond.
#pragma once
#include <systemc>
#include "sim/core/types.hpp"

namespace mmusim {

class Clock {
 public:
  // Sets the period from a frequency in GHz (0.1 .. 10). Call before any sc_time is built.
  static void set_ghz(double ghz);
  static double ghz();
  static uint64_t period_ps() { return period_ps_; }
  static sc_core::sc_time cycles(Cycles c) {
    // Small latencies come from a table built in set_ghz: sc_time::from_value is a library
    // call, and this runs several times for every simulated access.
    if (c < kTable && table_ready_) return table_[c];
    return sc_core::sc_time::from_value(c * period_ps_ * ps_value_);
  }
  // The kernel's current time. sc_core::sc_time_stamp() is an exported library call; the
  // simulation context's accessor is inline and reads the same field, and the hot paths ask
  // for it dozens of times per simulated fault.
  static const sc_core::sc_time& kernel_time() { return kernel()->time_stamp(); }
  // The simulation context. sc_get_curr_simcontext() is inline, but the compiler keeps it out of
  // line (it may construct the context), a call per use; the context exists once anything of the
  // model is built, so its pointer is read directly.
  static sc_core::sc_simcontext* kernel() {
    sc_core::sc_simcontext* k = sc_core::sc_curr_simcontext;
    return __builtin_expect(k != nullptr, 1) ? k : sc_core::sc_get_curr_simcontext();
  }
  static Cycles to_cycles(const sc_core::sc_time& t) {
    return t.value() / (period_ps_ * ps_value_);
  }
  // Current kernel time in cycles (without any caller's local quantum offset).
  static Cycles now() { return to_cycles(kernel_time()); }

 private:
  static constexpr Cycles kTable = 4096;
  static sc_core::sc_time table_[kTable];
  static bool table_ready_;
  static uint64_t period_ps_;
  static uint64_t ps_value_;  // how many sc_time units make one picosecond
};

}  // namespace mmusim
