// Simulated RCU: callbacks run only after every reader that was inside at grace-period start
// has left; readers that enter later do not delay it; order, batching, barrier, statistics.
#include <gtest/gtest.h>

#include <string>
#include <systemc>
#include <vector>

#include "sim/core/clock.hpp"
#include "sim/core/error.hpp"
#include "sim/core/stats.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/rcu.hpp"
#include "tests/sync_test_harness.hpp"

namespace mmusim {
namespace {

using testing::SyncRig;

// The rig plus the RCU module with every agent registered.
struct RcuRig : SyncRig {
  Rcu rcu;
  explicit RcuRig(unsigned n, Cycles quantum = 1000)
      : SyncRig(n, quantum), rcu("rcu", kernel, stats) {
    for (auto& a : agents) rcu.register_agent(*a);
  }
};

TEST(Rcu, CallbackWaitsForReaderInside) {
  RcuRig rig(2);
  Cycles reader_left = 0, ran_at = 0;
  bool ran = false;
  rig.spawn(0, [&](Agent& a) {
    rig.rcu.read_lock(a);
    a.wait_cycles(1000);
    reader_left = a.now();
    rig.rcu.read_unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    a.wait_cycles(100);
    rig.rcu.call_rcu(a, [&] {
      ran = true;
      ran_at = rig.clock().now();
    });
    EXPECT_EQ(rig.rcu.pending(), 1u);
  });
  rig.run();
  ASSERT_TRUE(ran);
  EXPECT_GE(ran_at, reader_left);
  EXPECT_LE(ran_at, reader_left + 1);
  EXPECT_EQ(rig.rcu.pending(), 0u);
  EXPECT_EQ(rig.stats.value("rcu.grace_periods"), 1u);
  EXPECT_EQ(rig.stats.value("rcu.callbacks"), 1u);
  const Histogram* h = rig.stats.find_histogram("rcu.gp_latency");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->count(), 1u);
  EXPECT_GE(h->max(), 900u);  // queued at 100, reader left at 1000
  EXPECT_EQ(rig.agents[0]->rcu_depth, 0);
}

TEST(Rcu, CallbackWithoutReadersRunsPromptly) {
  RcuRig rig(2);
  Cycles ran_at = ~Cycles(0);
  rig.spawn(0, [&](Agent& a) {
    a.advance(250);  // local time only: call_rcu synchronises before queueing
    rig.rcu.call_rcu(a, [&] { ran_at = rig.clock().now(); });
  });
  rig.spawn(1, [&](Agent& a) {  // a reader before and one after, neither overlapping
    rig.rcu.read_lock(a);
    a.wait_cycles(100);
    rig.rcu.read_unlock(a);
    a.wait_cycles(400);
    rig.rcu.read_lock(a);
    a.wait_cycles(100);
    rig.rcu.read_unlock(a);
  });
  rig.run();
  EXPECT_EQ(ran_at, 250u);
  EXPECT_EQ(rig.stats.value("rcu.grace_periods"), 1u);
}

TEST(Rcu, OrderPreservedAcrossBatches) {
  RcuRig rig(2);
  std::vector<int> order;
  rig.spawn(0, [&](Agent& a) {  // a reader that keeps the second batch waiting a while
    a.wait_cycles(50);
    rig.rcu.read_lock(a);
    a.wait_cycles(500);
    rig.rcu.read_unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    for (int i = 0; i < 3; ++i) rig.rcu.call_rcu(a, [&, i] { order.push_back(i); });
    a.wait_cycles(100);  // the first batch ran at t=0; now a reader is inside
    for (int i = 3; i < 6; ++i) rig.rcu.call_rcu(a, [&, i] { order.push_back(i); });
  });
  rig.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(rig.stats.value("rcu.callbacks"), 6u);
  EXPECT_EQ(rig.stats.value("rcu.grace_periods"), 2u);
}

// Reader A is inside from 0 to 1000; a callback is queued at 100; reader B enters at 200 and
// stays until 5000. The grace period ends when A leaves; a callback queued at 1500 (during B's
// section) needs a new grace period, which waits for B.
TEST(Rcu, LateReaderDoesNotDelayGracePeriod) {
  RcuRig rig(3);
  Cycles first_ran = 0, second_ran = 0;
  rig.spawn(0, [&](Agent& a) {
    rig.rcu.read_lock(a);
    a.wait_cycles(1000);
    rig.rcu.read_unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    a.wait_cycles(200);
    rig.rcu.read_lock(a);
    rig.rcu.read_lock(a);  // nested: leaving the inner section is not quiescence
    a.wait_cycles(2000);
    rig.rcu.read_unlock(a);
    a.wait_cycles(2800);
    rig.rcu.read_unlock(a);
  });
  rig.spawn(2, [&](Agent& a) {
    a.wait_cycles(100);
    rig.rcu.call_rcu(a, [&] { first_ran = rig.clock().now(); });
    a.wait_cycles(1400);
    rig.rcu.call_rcu(a, [&] { second_ran = rig.clock().now(); });
  });
  rig.run();
  EXPECT_EQ(first_ran, 1000u);
  EXPECT_EQ(second_ran, 5000u);
  EXPECT_EQ(rig.stats.value("rcu.grace_periods"), 2u);
}

// A reader running ahead of the kernel (temporal decoupling) leaves its section at its own true
// time: the callback must not run at the kernel time it was ahead of.
TEST(Rcu, ReaderExitCountsAtTrueTime) {
  RcuRig rig(2, 100000);
  Cycles left = 0, ran_at = 0;
  rig.spawn(0, [&](Agent& a) {
    rig.rcu.read_lock(a);
    a.wait_cycles(100);
    a.advance(800);  // private work: local time only
    left = a.now();
    rig.rcu.read_unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    a.wait_cycles(50);
    rig.rcu.call_rcu(a, [&] { ran_at = rig.clock().now(); });
  });
  rig.run();
  EXPECT_EQ(left, 900u);
  EXPECT_GE(ran_at, left);
}

TEST(Rcu, BarrierWaitsForQueuedCallbacks) {
  RcuRig rig(2);
  int ran = 0;
  Cycles barrier_done = 0;
  size_t pending_after = 99;
  rig.spawn(0, [&](Agent& a) {
    rig.rcu.read_lock(a);
    a.wait_cycles(700);
    rig.rcu.read_unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    a.wait_cycles(10);
    for (int i = 0; i < 4; ++i) rig.rcu.call_rcu(a, [&] { ++ran; });
    rig.rcu.barrier(a);
    barrier_done = a.now();
    pending_after = rig.rcu.pending();
    EXPECT_EQ(ran, 4);
    rig.rcu.barrier(a);  // nothing queued: returns at once
    EXPECT_EQ(a.now(), barrier_done);
  });
  rig.run();
  EXPECT_EQ(ran, 4);
  EXPECT_GE(barrier_done, 700u);
  EXPECT_EQ(pending_after, 0u);
}

TEST(Rcu, UnbalancedUnlockThrows) {
  RcuRig rig(1);
  bool threw = false;
  rig.spawn(0, [&](Agent& a) {
    try {
      rig.rcu.read_unlock(a);
    } catch (const ModelError&) {
      threw = true;
    }
  });
  rig.run();
  EXPECT_TRUE(threw);
}

}  // namespace
}  // namespace mmusim
