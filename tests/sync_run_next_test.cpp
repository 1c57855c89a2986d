// RunNext (sim/sync/run_next.hpp): a thread waiting on its static sensitivity is made the first
// of the kernel's current round, so it runs before anything queued for the next round, and a
// thread already queued is never queued twice.
#include <gtest/gtest.h>

#include <string>
#include <systemc>
#include <vector>

#include "sim/sync/run_next.hpp"

namespace mmusim {
namespace {

using Log = std::vector<std::string>;

// Spawns a thread statically sensitive to `ev` that waits once and logs `name` when resumed.
void spawn_waiter(const char* name, sc_core::sc_event& ev, Log& log,
                  sc_core::sc_process_b** self) {
  sc_core::sc_spawn_options opts;
  opts.set_sensitivity(&ev);
  sc_core::sc_spawn(
      [&log, name, self] {
        *self = sc_core::sc_get_current_process_b();
        sc_core::wait();  // static: its event or RunNext resumes it
        log.push_back(name);
      },
      name, &opts);
}

// A notification queues C for the next round; RunNext then puts B first in the current one: B
// runs before C although it was made runnable after it. (Woken by a notification instead, B
// would follow C: the kernel's queue is first in, first out.)
TEST(RunNext, ThreadRunsFirstInTheCurrentRound) {
  ASSERT_TRUE(RunNext::available()) << "this build's SystemC is not 2.3.4";
  sc_core::sc_event wake_b, wake_c;
  Log log;
  sc_core::sc_process_b *b = nullptr, *c = nullptr;
  spawn_waiter("b", wake_b, log, &b);
  spawn_waiter("c", wake_c, log, &c);
  uint64_t delta_before = 0, delta_after = 0;
  sc_core::sc_spawn([&] {
    sc_core::wait(sc_core::SC_ZERO_TIME);  // b and c are waiting by now
    EXPECT_EQ(RunNext::first_in_round(sc_core::sc_get_curr_simcontext()), nullptr);
    wake_c.notify();  // immediate: c goes to the next round
    EXPECT_EQ(RunNext::first_in_round(sc_core::sc_get_curr_simcontext()), nullptr);
    ASSERT_TRUE(RunNext::make_next(sc_core::sc_get_curr_simcontext(), b));
    EXPECT_EQ(RunNext::first_in_round(sc_core::sc_get_curr_simcontext()), b);
    EXPECT_FALSE(RunNext::make_next(sc_core::sc_get_curr_simcontext(), b));  // queued already: not twice
    EXPECT_FALSE(RunNext::make_next(sc_core::sc_get_curr_simcontext(), c));  // queued by its notification
    delta_before = sc_core::sc_delta_count();
    log.push_back("a");
    sc_core::wait(sc_core::SC_ZERO_TIME);
    delta_after = sc_core::sc_delta_count();
    log.push_back("a again");
  }, "a");
  sc_core::sc_start();
  EXPECT_EQ(log, (Log{"a", "b", "c", "a again"}));
  EXPECT_EQ(delta_after, delta_before + 1);  // b and c ran in a's delta cycle
}

// The same with notifications only: the order is the notifications' order, c before b. What the
// test above checks is therefore RunNext's doing, not the kernel's default.
TEST(RunNext, NotifiedThreadsRunInNotificationOrder) {
  sc_core::sc_event wake_b, wake_c;
  Log log;
  sc_core::sc_process_b *b = nullptr, *c = nullptr;
  spawn_waiter("b", wake_b, log, &b);
  spawn_waiter("c", wake_c, log, &c);
  sc_core::sc_spawn([&] {
    sc_core::wait(sc_core::SC_ZERO_TIME);
    wake_c.notify();
    wake_b.notify();
    log.push_back("a");
    sc_core::wait(sc_core::SC_ZERO_TIME);
    log.push_back("a again");
  }, "a");
  sc_core::sc_start();
  EXPECT_EQ(log, (Log{"a", "c", "b", "a again"}));
}

}  // namespace
}  // namespace mmusim
