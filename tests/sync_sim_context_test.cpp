// SimContext (sim/sync/sim_context.hpp): a SystemC simulation context of one's own, so that
// simulations can be elaborated and run one after another in one process. Without it the
// second elaboration after sc_start is SystemC's error E529.
#include <gtest/gtest.h>

#include <string>
#include <systemc>
#include <vector>

#include "sim/sync/sim_context.hpp"

namespace mmusim {
namespace {

// A module whose thread ticks `n` times, 10 ns apart, and stops the simulation; a second thread
// still waits for an event nobody notifies when the context goes.
struct Ticker : sc_core::sc_module {
  SC_HAS_PROCESS(Ticker);
  Ticker(sc_core::sc_module_name name, int n) : sc_core::sc_module(name), n_(n) {
    SC_THREAD(tick);
    SC_THREAD(sleep);
  }
  void tick() {
    for (int i = 0; i < n_; ++i) {
      sc_core::wait(sc_core::sc_time(10, sc_core::SC_NS));
      ticks.push_back(sc_core::sc_time_stamp().to_string());
    }
    sc_core::sc_stop();
  }
  void sleep() { sc_core::wait(never_); }
  std::vector<std::string> ticks;

 private:
  int n_;
  sc_core::sc_event never_;
};

std::vector<std::string> run_ticker(int n, sc_core::sc_simcontext** used = nullptr) {
  SimContext ctx;
  EXPECT_EQ(sc_core::sc_get_curr_simcontext(), ctx.get());
  if (used) *used = ctx.get();
  Ticker t("ticker", n);  // the same name in every context: each has its own hierarchy
  sc_core::sc_start();
  EXPECT_EQ(sc_core::sc_get_status(), sc_core::SC_STOPPED);
  return t.ticks;
}

TEST(SimContext, SimulationsRunOneAfterAnotherInOneProcess) {
  ASSERT_TRUE(SimContext::fresh_contexts()) << "this build's SystemC is not 2.3.4";
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO,
                                          sc_core::SC_DO_NOTHING);
  sc_core::sc_simcontext* const before = sc_core::sc_curr_simcontext;
  sc_core::sc_simcontext* first = nullptr;
  EXPECT_EQ(run_ticker(3, &first), (std::vector<std::string>{"10 ns", "20 ns", "30 ns"}));
  EXPECT_NE(first, before);
  EXPECT_EQ(sc_core::sc_curr_simcontext, before);  // restored
  // Each starts at time zero, elaborates afresh (no E529) and runs to its own end.
  EXPECT_EQ(run_ticker(2), (std::vector<std::string>{"10 ns", "20 ns"}));
  EXPECT_EQ(run_ticker(3), (std::vector<std::string>{"10 ns", "20 ns", "30 ns"}));
  EXPECT_EQ(sc_core::sc_curr_simcontext, before);
}

// A context made inside another's lifetime is current until it goes; then the outer one is
// again, and still elaborates and runs.
TEST(SimContext, TheOuterContextIsCurrentAgainWhenTheInnerGoes) {
  ASSERT_TRUE(SimContext::fresh_contexts()) << "this build's SystemC is not 2.3.4";
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO,
                                          sc_core::SC_DO_NOTHING);
  SimContext outer;
  Ticker a("ticker", 1);
  EXPECT_EQ(run_ticker(2), (std::vector<std::string>{"10 ns", "20 ns"}));
  EXPECT_EQ(sc_core::sc_get_curr_simcontext(), outer.get());
  sc_core::sc_start();
  EXPECT_EQ(a.ticks, (std::vector<std::string>{"10 ns"}));
}

}  // namespace
}  // namespace mmusim
