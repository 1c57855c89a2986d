// Lookahead in Agent (sim/sync/agent.hpp): a sync is skipped only when no other thread can run
// before this agent's true time, and everything another thread observes -- the values it reads,
// the instant a notification wakes it, the quantum boundary -- is what the wait would have given.
#include <gtest/gtest.h>

#include <systemc>

#include "sim/core/clock.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/horizon.hpp"
#include "tests/sync_test_harness.hpp"

namespace mmusim {
namespace {

using testing::SyncRig;

constexpr Addr kWord = phys_layout::kKernelBase + 0x3000;

// The rigs' clock runs at 1 GHz: one cycle per nanosecond.
Cycles kernel_now() { return Cycles(sc_core::sc_time_stamp() / sc_core::sc_time(1, sc_core::SC_NS)); }

// A rig of two agents with lookahead on or off.
KernelParams with_lookahead(bool on) {
  KernelParams kp = SyncRig::params();
  kp.lookahead = on;
  return kp;
}

TEST(Lookahead, SkipsTheWaitWhenNothingElseCanRunFirst) {
  SyncRig rig(2);
  uint64_t skipped = 0, waited = 0;
  Cycles kernel_at_load = 0, true_at_load = 0;
  rig.spawn(1, [](Agent& a) { a.wait_cycles(10000); });  // asleep far beyond agent 0's work
  rig.spawn(0, [&](Agent& a) {
    a.wait_cycles(1);  // let agent 1 start and go to sleep
    const uint64_t s0 = a.syncs_skipped(), w0 = a.syncs_waited();
    a.advance(100);
    true_at_load = a.now();
    a.load(kWord);
    kernel_at_load = kernel_now();
    skipped = a.syncs_skipped() - s0;
    waited = a.syncs_waited() - w0;
  });
  rig.run();
  EXPECT_EQ(skipped, 1u);
  EXPECT_EQ(waited, 0u);
  EXPECT_EQ(true_at_load, 101u);
  // The kernel never moved: agent 1, spawned first, went to sleep at once, so neither the
  // wait_cycles(1) nor the load needed a context switch.
  EXPECT_EQ(kernel_at_load, 0u);
}

TEST(Lookahead, WaitsWhenAnotherThreadIsDueFirstAndSeesItsStore) {
  SyncRig rig(2);
  uint64_t seen = 0, waited = 0;
  rig.spawn(1, [](Agent& a) {
    a.wait_cycles(50);
    a.store(kWord, 7);
  });
  rig.spawn(0, [&](Agent& a) {
    a.wait_cycles(1);
    const uint64_t w0 = a.syncs_waited() + a.syncs_handed_off();
    a.advance(100);  // true time 101: agent 1's store at 50 comes first
    seen = a.load(kWord);
    // Agent 1 is parked at 50: this agent hands the processor to it (one switch, no kernel wait).
    waited = a.syncs_waited() + a.syncs_handed_off() - w0;
  });
  rig.run();
  EXPECT_EQ(seen, 7u);
  EXPECT_EQ(waited, 1u);
}

// The notification after a skipped sync wakes the waiter at the notifier's true time (its last
// sync point), exactly as if the notifier had waited before its store.
Cycles woken_at(bool lookahead) {
  SyncRig rig(2, with_lookahead(lookahead));
  Event ev;
  Cycles woke = 0;
  rig.spawn(1, [&](Agent& a) {
    a.wait_event(ev, "the test event");
    woke = a.now();
  });
  rig.spawn(0, [&](Agent& a) {
    a.wait_cycles(1);
    a.advance(300);
    a.store(kWord, 1);  // sync point at 301, then the store's latency
    a.notify(ev);
    a.advance(5000);
    a.sync();
  });
  rig.run();
  return woke;
}

TEST(Lookahead, NotificationHappensAtTheTrueTimeWithLookahead) { EXPECT_EQ(woken_at(true), 301u); }
TEST(Lookahead, NotificationHappensAtTheTrueTimeWithoutLookahead) { EXPECT_EQ(woken_at(false), 301u); }

TEST(Lookahead, QuantumBoundaryFollowsTheSkippedSyncPoint) {
  SyncRig rig(2, /*quantum=*/1000);
  bool need_at_1701 = true, need_at_2001 = false;
  uint64_t skipped = 0;
  rig.spawn(1, [](Agent& a) { a.wait_cycles(100000); });
  rig.spawn(0, [&](Agent& a) {
    a.wait_cycles(1);
    const uint64_t s0 = a.syncs_skipped();
    a.advance(1200);
    a.load(kWord);  // skipped at 1201: a wait there would end the quantum at 2000
    skipped = a.syncs_skipped() - s0;
    a.set_offset(a.clock().cycles(1700));  // true time 1701 (kernel still at 1)
    need_at_1701 = a.need_sync();
    a.set_offset(a.clock().cycles(2000));
    need_at_2001 = a.need_sync();
  });
  rig.run();
  EXPECT_EQ(skipped, 1u);
  EXPECT_FALSE(need_at_1701);  // a boundary left at 1000 (from kernel time 1) would say true
  EXPECT_TRUE(need_at_2001);
}

// The kernel's answer is kept while one thread runs (sim/sync/horizon.hpp): a run of skipped
// syncs asks once.
TEST(Lookahead, KeptHorizonAsksTheKernelOncePerRun) {
  SyncRig rig(2);
  uint64_t skipped = 0, queries = 0;
  rig.spawn(1, [](Agent& a) { a.wait_cycles(100000); });
  rig.spawn(0, [&](Agent& a) {
    const uint64_t s0 = a.syncs_skipped(), q0 = a.kernel().horizon().queries();
    a.wait_cycles(1);
    for (int i = 0; i < 10; ++i) {
      a.advance(100);
      a.load(kWord);
    }
    skipped = a.syncs_skipped() - s0;
    queries = a.kernel().horizon().queries() - q0;
  });
  rig.run();
  EXPECT_EQ(skipped, 11u);
  EXPECT_EQ(queries, 1u);
}

// A notification made by the running thread changes what the kernel has pending: the kept
// answer must not outlive it. Agent 1 waits for an event; agent 0 skips a sync (nothing else
// can run), notifies the event, then loads: agent 1 is now runnable at agent 0's sync point, so
// that load must wait for it and see its store.
TEST(Lookahead, NotificationDropsTheKeptHorizon) {
  SyncRig rig(2);
  Event ev;
  uint64_t seen = 0, waited = 0;
  rig.spawn(1, [&](Agent& a) {
    a.wait_event(ev, "the test event");
    a.store(kWord, 9);
  });
  rig.spawn(0, [&](Agent& a) {
    a.wait_cycles(1);
    a.advance(100);
    a.load(kWord);  // skipped: agent 1 sleeps on the event
    a.kernel().notify(ev);
    const uint64_t w0 = a.syncs_waited();
    a.advance(100);
    seen = a.load(kWord);
    waited = a.syncs_waited() - w0;
  });
  rig.run();
  EXPECT_EQ(waited, 1u);
  EXPECT_EQ(seen, 9u);
}

TEST(Lookahead, OffMakesEverySyncWait) {
  SyncRig rig(2, with_lookahead(false));
  uint64_t skipped = 1, waited = 0;
  rig.spawn(1, [](Agent& a) { a.wait_cycles(10000); });
  rig.spawn(0, [&](Agent& a) {
    a.wait_cycles(1);
    const uint64_t s0 = a.syncs_skipped(), w0 = a.syncs_waited();
    a.advance(100);
    a.load(kWord);
    skipped = a.syncs_skipped() - s0;
    waited = a.syncs_waited() - w0;
  });
  rig.run();
  EXPECT_EQ(skipped, 0u);
  EXPECT_EQ(waited, 1u);
}

}  // namespace
}  // namespace mmusim
