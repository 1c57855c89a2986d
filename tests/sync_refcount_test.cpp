// Simulated refcount: get/put arithmetic, last-put detection, get_unless_zero at zero and under
// racing cmpxchg loops.
#include <gtest/gtest.h>

#include <string>
#include <systemc>
#include <vector>

#include "sim/core/stats.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/refcount.hpp"
#include "tests/sync_test_harness.hpp"

namespace mmusim {
namespace {

using testing::SyncRig;

constexpr Addr kCountWord = phys_layout::kKernelBase + 0x2000;

TEST(Refcount, GetPutCounts) {
  SyncRig rig(1);
  Refcount rc(kCountWord);
  std::vector<uint64_t> seen;
  std::vector<bool> last;
  rig.spawn(0, [&](Agent& a) {
    rc.set(a, 1);
    seen.push_back(rc.read(a));
    rc.get(a);
    rc.get(a);
    seen.push_back(rc.read(a));
    last.push_back(rc.put(a));
    last.push_back(rc.put(a));
    seen.push_back(rc.read(a));
    last.push_back(rc.put(a));
    seen.push_back(rc.read(a));
  });
  rig.run();
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 3, 1, 0}));
  EXPECT_EQ(last, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(rc.word(), kCountWord);
  EXPECT_EQ(rig.mem.read64(kCountWord), 0u);
}

TEST(Refcount, GetUnlessZero) {
  SyncRig rig(1);
  Refcount rc(kCountWord);
  bool at_zero = true, at_one = false;
  uint64_t after_fail = 99, after_ok = 0;
  rig.spawn(0, [&](Agent& a) {
    at_zero = rc.get_unless_zero(a);  // unbacked word reads 0
    after_fail = rc.read(a);
    rc.set(a, 1);
    at_one = rc.get_unless_zero(a);
    after_ok = rc.read(a);
  });
  rig.run();
  EXPECT_FALSE(at_zero);
  EXPECT_EQ(after_fail, 0u);
  EXPECT_TRUE(at_one);
  EXPECT_EQ(after_ok, 2u);
}

// Several CPUs race get_unless_zero/put on the same word at the same instants: the cmpxchg
// loops must retry rather than lose updates, and exactly the final put sees the last reference.
TEST(Refcount, RacingGettersAndPutters) {
  constexpr unsigned kN = 4, kIters = 25;
  SyncRig rig(kN);
  Refcount rc(kCountWord);
  unsigned failed_gets = 0, last_puts = 0;
  bool initialised = false;
  Event ready;
  for (unsigned i = 0; i < kN; ++i) {
    rig.spawn(i, [&, i](Agent& a) {
      if (i == 0) {
        rc.set(a, 1);  // the owner's reference
        initialised = true;
        a.kernel().notify(ready);
      } else if (!initialised) {
        sc_core::wait(ready);
      }
      for (unsigned k = 0; k < kIters; ++k) {
        if (!rc.get_unless_zero(a)) ++failed_gets;
        a.wait_cycles(5);
        if (rc.put(a)) ++last_puts;
      }
      if (i == 0) {
        a.wait_cycles(10000);  // everybody else is done: drop the owner's reference
        if (rc.put(a)) ++last_puts;
      }
    });
  }
  rig.run();
  EXPECT_EQ(failed_gets, 0u);
  EXPECT_EQ(last_puts, 1u);
  EXPECT_EQ(rig.mem.read64(kCountWord), 0u);
}

}  // namespace
}  // namespace mmusim
