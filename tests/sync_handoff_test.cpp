// Hand-off between parked agents (sim/sync/parked_agents.hpp): an agent whose sync finds another
// agent parked earlier wakes it directly instead of waiting through the kernel. The order of
// shared actions stays the order of simulated time, and a parked agent is never forgotten when
// the running one blocks or ends.
#include <gtest/gtest.h>
#include <cstdio>
#include <sstream>
#include <string>
#include <systemc>
#include <utility>
#include <vector>

#include "sim/core/clock.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/horizon.hpp"
#include "sim/sync/parked_agents.hpp"
#include "sim/sync/run_next.hpp"
#include "tests/sync_test_harness.hpp"

namespace mmusim {
namespace {

using testing::SyncRig;

constexpr Addr kWord = phys_layout::kKernelBase + 0x3000;

struct Trace {
  std::vector<std::pair<Cycles, int>> actions;  // (true time, agent) in execution order
  uint64_t handed_off = 0, direct = 0, waited = 0, final_value = 0;
};

// How the agents' threads wait when parked and are woken by a hand-off.
enum class Wake {
  Event,          // wait on the wake-up event; woken by an immediate notification
  StaticNotify,   // static sensitivity; still woken by the notification (--direct-handoff off)
  StaticDirect,   // static sensitivity; the hand-off switches straight to it (sync/run_next)
};

// Four agents with different periods each add to one shared word 50 times.
Trace run_counters(bool lookahead, Wake wake = Wake::Event) {
  KernelParams kp = SyncRig::params();
  kp.lookahead = lookahead;
  kp.direct_handoff = wake == Wake::StaticDirect;
  SyncRig rig(4, kp);
  Trace t;
  for (unsigned i = 0; i < 4; ++i) {
    rig.spawn(i, [&t, i](Agent& a) {
      for (int k = 0; k < 50; ++k) {
        a.advance(17 + 6 * i);
        a.sync_for_access();
        t.actions.emplace_back(a.now(), int(i));
        a.fetch_add(kWord, 1);
      }
      t.handed_off += a.syncs_handed_off();
      t.direct += a.handoffs_direct();
      t.waited += a.syncs_waited();
      if (i == 0) {
        a.advance(100000);  // after everyone else
        t.final_value = a.load(kWord);
      }
    }, wake != Wake::Event);
  }
  rig.run();
  return t;
}

TEST(HandOff, SharedActionsRunInSimulatedTimeOrder) {
  const Trace t = run_counters(true);
  ASSERT_EQ(t.actions.size(), 200u);
  for (size_t k = 1; k < t.actions.size(); ++k)
    EXPECT_LE(t.actions[k - 1].first, t.actions[k].first) << "action " << k;
  EXPECT_EQ(t.final_value, 200u);
  // The agents interleave: most switches between them are hand-offs, not kernel waits.
  EXPECT_GT(t.handed_off, 50u);
  EXPECT_GT(t.handed_off, t.waited);
}

// run_counters as text. Each run has its own rig, kernel layer and SystemC context, so the
// runs of one test follow each other in this process.
std::string counters_text(bool lookahead, Wake wake = Wake::Event) {
  const Trace t = run_counters(lookahead, wake);
  std::ostringstream o;
  o << "handed_off " << t.handed_off << " direct " << t.direct << " final " << t.final_value
    << "\n";
  for (const auto& [at, id] : t.actions) o << at << " " << id << "\n";
  return o.str();
}

TEST(HandOff, SameActionsAsWaitingThroughTheKernel) {
  const std::string on = counters_text(true), off = counters_text(false);
  ASSERT_EQ(off.rfind("handed_off 0 direct 0 final 200\n", 0), 0u) << off.substr(0, 80);
  ASSERT_NE(on.rfind("handed_off 0 ", 0), 0u) << on.substr(0, 80);  // on: some hand-offs
  // Every action at the same instant by the same agent, in the same order.
  EXPECT_EQ(on.substr(on.find('\n')), off.substr(off.find('\n')));
}

// Threads statically sensitive to their wake-up event (as vCPUs are) are handed the processor by
// a direct switch: the woken thread goes first in the kernel's current round instead of the next
// one. Nothing else is runnable when a hand-off happens, so every action keeps its instant and
// its order, the same as with a notification and as waiting through the kernel.
TEST(HandOff, DirectSwitchKeepsEveryActionInPlace) {
  ASSERT_TRUE(RunNext::available()) << "this build's SystemC is not 2.3.4";
  const std::string direct = counters_text(true, Wake::StaticDirect);
  const std::string notify = counters_text(true, Wake::StaticNotify);
  const std::string event = counters_text(true, Wake::Event);
  const std::string kernel = counters_text(false, Wake::StaticDirect);
  // Direct: every hand-off was a direct switch, and there were many.
  unsigned long handed = 0, switched = 0, fin = 0;
  ASSERT_EQ(std::sscanf(direct.c_str(), "handed_off %lu direct %lu final %lu", &handed, &switched,
                        &fin), 3) << direct.substr(0, 80);
  EXPECT_GT(handed, 50u);
  EXPECT_EQ(switched, handed);
  EXPECT_EQ(fin, 200u);
  // Notification: the same hand-offs, none direct.
  EXPECT_EQ(notify.rfind("handed_off " + std::to_string(handed) + " direct 0 final 200\n", 0), 0u)
      << notify.substr(0, 80);
  const auto body = [](const std::string& s) { return s.substr(s.find('\n')); };
  EXPECT_EQ(body(direct), body(notify));
  EXPECT_EQ(body(direct), body(event));
  EXPECT_EQ(body(direct), body(kernel));
}

// Agent 1 parks at 1000 while agent 0, due earlier, runs on and then blocks on an event only
// agent 1 will notify: the kernel must still wake agent 1 (the earliest parked agent is armed
// whenever control goes back to the kernel), or the run would stop with both blocked.
TEST(HandOff, ParkedAgentIsWokenWhenTheRunningOneBlocks) {
  SyncRig rig(2);
  Event ev;
  Cycles agent1_load_at = 0, agent0_woken_at = 0;
  bool done0 = false, done1 = false;
  rig.spawn(1, [&](Agent& a) {
    a.advance(1000);
    agent1_load_at = a.now();
    a.load(kWord);
    a.notify(ev);
    done1 = true;
  });
  rig.spawn(0, [&](Agent& a) {
    a.advance(10);
    a.load(kWord);
    a.wait_event(ev, "agent 1's notification");
    agent0_woken_at = a.now();
    done0 = true;
  });
  rig.run();
  EXPECT_TRUE(done1);
  EXPECT_TRUE(done0);
  EXPECT_EQ(agent1_load_at, 1000u);
  EXPECT_EQ(agent0_woken_at, 1000u);  // the notification comes at agent 1's sync point
  EXPECT_EQ(rig.kernel.parked().size(), 0u);
}

}  // namespace
}  // namespace mmusim
