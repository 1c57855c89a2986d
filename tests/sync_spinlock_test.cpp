// Ticket spinlock on a simulated word: FIFO order by request time, mutual exclusion, try_lock,
// statistics and timeline spans, with every step going through the real memory system.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <systemc>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/spinlock.hpp"
#include "tests/sync_test_harness.hpp"

namespace mmusim {
namespace {

using testing::SyncRig;

constexpr Addr kLockWord = phys_layout::kKernelBase + 0x1000;

TEST(SpinLock, UncontendedCountsAndWord) {
  SyncRig rig(1);
  SpinLock lock("lk", kLockWord, rig.stats);
  bool held_inside = false, held_after = true;
  rig.spawn(0, [&](Agent& a) {
    for (int i = 0; i < 3; ++i) {
      lock.lock(a);
      held_inside = lock.held() && lock.holder() == &a && a.held_locks.depth() == 1;
      a.advance(50);
      lock.unlock(a);
    }
    held_after = lock.held();
  });
  rig.run();
  EXPECT_TRUE(held_inside);
  EXPECT_FALSE(held_after);
  EXPECT_EQ(rig.stats.value("lk.acquire"), 3u);
  EXPECT_EQ(rig.stats.value("lk.contended"), 0u);
  const Histogram* h = rig.stats.find_histogram("lk.wait");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->count(), 3u);
  // Three tickets taken, three served.
  EXPECT_EQ(rig.mem.read64(kLockWord), (uint64_t(3) << 32) | 3u);
}

// Agents request at distinct times in the reverse of their spawn order; the ticket lock must
// grant in request order, each holder after the previous one released.
void fifo_order(Cycles quantum) {
  constexpr unsigned kN = 4;
  SyncRig rig(kN, quantum);
  SpinLock lock("lk", kLockWord, rig.stats);
  std::vector<unsigned> order;
  std::vector<Cycles> acquired(kN), released(kN), requested(kN);
  for (unsigned i = 0; i < kN; ++i) {
    rig.spawn(i, [&, i](Agent& a) {
      // Private work that only advances local time: the lock must still see true times.
      a.advance(20 * (kN - 1 - i) + 5);
      requested[i] = a.now();
      lock.lock(a);
      acquired[i] = a.now();
      order.push_back(i);
      a.advance(500);
      released[i] = a.now();
      lock.unlock(a);
    });
  }
  rig.run();
  ASSERT_EQ(order.size(), kN);
  for (unsigned k = 0; k < kN; ++k) EXPECT_EQ(order[k], kN - 1 - k) << "position " << k;
  for (unsigned k = 1; k < kN; ++k) {
    const unsigned prev = order[k - 1], cur = order[k];
    EXPECT_GE(acquired[cur], released[prev]);
  }
  EXPECT_EQ(rig.stats.value("lk.acquire"), kN);
  EXPECT_EQ(rig.stats.value("lk.contended"), kN - 1);
  const Histogram* h = rig.stats.find_histogram("lk.wait");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->count(), kN);
  // The last requester waited for three holders of 500 cycles each.
  EXPECT_GE(acquired[0] - requested[0], 3 * 500u - 3 * 20u);
}

TEST(SpinLock, FifoInRequestOrder) { fifo_order(1000); }
TEST(SpinLock, FifoInRequestOrderLargeQuantum) { fifo_order(100000); }

TEST(SpinLock, MutualExclusionUnderContention) {
  constexpr unsigned kN = 4, kIters = 40;
  SyncRig rig(kN);
  SpinLock lock("lk", kLockWord, rig.stats);
  int inside = 0, max_inside = 0;
  uint64_t total = 0;
  for (unsigned i = 0; i < kN; ++i) {
    rig.spawn(i, [&, i](Agent& a) {
      for (unsigned k = 0; k < kIters; ++k) {
        lock.lock(a);
        ++inside;
        max_inside = std::max(max_inside, inside);
        ++total;
        a.wait_cycles(10 + 7 * i + (k % 5));  // hold across real simulated time
        --inside;
        lock.unlock(a);
        a.advance(3 * i + 1);
      }
    });
  }
  rig.run();
  EXPECT_EQ(max_inside, 1);
  EXPECT_EQ(total, uint64_t(kN) * kIters);
  EXPECT_EQ(rig.stats.value("lk.acquire"), uint64_t(kN) * kIters);
  EXPECT_GT(rig.stats.value("lk.contended"), 0u);
  const uint64_t w = rig.mem.read64(kLockWord);
  EXPECT_EQ(w >> 32, uint64_t(kN) * kIters);
  EXPECT_EQ(w & 0xffffffffu, uint64_t(kN) * kIters);
}

// The holder releases while the waiter's ticket atomic is still in flight (the waiter is not
// yet sleeping on the lock's event): the waiter must still notice its turn.
TEST(SpinLock, ReleaseDuringTicketLatencyIsNotLost) {
  SyncRig rig(2);
  SpinLock lock("lk", kLockWord, rig.stats);
  Event holding;
  Cycles asked = 0, released = 0, got = 0;
  rig.spawn(0, [&](Agent& a) {
    lock.lock(a);
    a.sync();  // tell the other agent at the true acquisition time
    a.kernel().notify(holding);
    a.wait_cycles(5);  // far less than the waiter's atomic on a line this CPU holds modified
    released = a.now();
    lock.unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    sc_core::wait(holding);
    asked = a.now();
    lock.lock(a);
    got = a.now();
    lock.unlock(a);
  });
  rig.run();
  ASSERT_GT(got, 0u) << "waiter never acquired: wake-up lost";
  EXPECT_GT(released, asked);
  EXPECT_GE(got, released);
  EXPECT_LT(got, released + 1000);
  EXPECT_EQ(rig.stats.value("lk.acquire"), 2u);
  EXPECT_EQ(rig.stats.value("lk.contended"), 1u);
}

TEST(SpinLock, TryLock) {
  SyncRig rig(2);
  SpinLock lock("lk", kLockWord, rig.stats);
  bool first = false, while_held = true, after = false;
  rig.spawn(0, [&](Agent& a) {
    first = lock.try_lock(a);
    a.wait_cycles(1000);
    lock.unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    a.wait_cycles(300);
    while_held = lock.try_lock(a);
    a.wait_cycles(1500);
    after = lock.try_lock(a);
    if (after) lock.unlock(a);
  });
  rig.run();
  EXPECT_TRUE(first);
  EXPECT_FALSE(while_held);
  EXPECT_TRUE(after);
  EXPECT_EQ(rig.stats.value("lk.acquire"), 2u);
  EXPECT_FALSE(lock.held());
}

TEST(SpinLock, UnlockByNonHolderThrows) {
  SyncRig rig(2);
  SpinLock lock("lk", kLockWord, rig.stats);
  bool threw = false;
  rig.spawn(0, [&](Agent& a) {
    lock.lock(a);
    a.wait_cycles(500);
    lock.unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    a.wait_cycles(100);
    try {
      lock.unlock(a);
    } catch (const ModelError&) {
      threw = true;
    }
  });
  rig.run();
  EXPECT_TRUE(threw);
  EXPECT_FALSE(lock.held());
}

TEST(SpinLock, TimelineSpanOnlyWhenContended) {
  SyncRig rig(2);
  Timeline tl(true);
  const int t0 = tl.track("agent0"), t1 = tl.track("agent1");
  ASSERT_EQ(t0, 0);  // the rig gives agent i track i
  ASSERT_EQ(t1, 1);
  SpinLock lock("lk", kLockWord, rig.stats, &tl);
  rig.spawn(0, [&](Agent& a) {
    lock.lock(a);  // uncontended: no span
    a.wait_cycles(800);
    lock.unlock(a);
  });
  rig.spawn(1, [&](Agent& a) {
    a.wait_cycles(100);
    lock.lock(a);  // waits ~700 cycles: one span
    lock.unlock(a);
  });
  rig.run();
  EXPECT_EQ(tl.size(), 1u);
  EXPECT_EQ(rig.stats.value("lk.contended"), 1u);
  const Histogram* h = rig.stats.find_histogram("lk.wait");
  ASSERT_NE(h, nullptr);
  EXPECT_GE(h->max(), 700u);
}

}  // namespace
}  // namespace mmusim
