#include "sim/core/clock.hpp"

#include <cmath>

namespace mmusim {

Clock::Clock(double ghz, sc_core::sc_simcontext* context) : context_(context) {
  period_ps_ = static_cast<uint64_t>(std::llround(1000.0 / ghz));
  if (period_ps_ == 0) period_ps_ = 1;
  // sc_time's resolution defaults to 1 ps; value() counts resolution units.
  uint64_t ps_value = static_cast<uint64_t>(
      std::llround(sc_core::sc_time(1, sc_core::SC_PS).to_seconds() /
                   sc_core::sc_get_time_resolution().to_seconds()));
  if (ps_value == 0) ps_value = 1;
  unit_ = period_ps_ * ps_value;
  for (Cycles c = 0; c < kTable; ++c) table_[c] = sc_core::sc_time::from_value(c * unit_);
}

double Clock::ghz() const { return 1000.0 / static_cast<double>(period_ps_); }

}  // namespace mmusim
