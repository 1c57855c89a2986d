#include "sim/core/clock.hpp"

#include <cmath>

namespace mmusim {

sc_core::sc_time Clock::table_[Clock::kTable];
bool Clock::table_ready_ = false;
uint64_t Clock::period_ps_ = 1000;
uint64_t Clock::ps_value_ = 1;

void Clock::set_ghz(double ghz) {
  period_ps_ = static_cast<uint64_t>(std::llround(1000.0 / ghz));
  if (period_ps_ == 0) period_ps_ = 1;
  // sc_time's resolution defaults to 1 ps; value() counts resolution units.
  ps_value_ = static_cast<uint64_t>(
      std::llround(sc_core::sc_time(1, sc_core::SC_PS).to_seconds() /
                   sc_core::sc_get_time_resolution().to_seconds()));
  if (ps_value_ == 0) ps_value_ = 1;
  for (Cycles c = 0; c < kTable; ++c) table_[c] = sc_core::sc_time::from_value(c * period_ps_ * ps_value_);
  table_ready_ = true;
}

double Clock::ghz() { return 1000.0 / static_cast<double>(period_ps_); }

}  // namespace mmusim
