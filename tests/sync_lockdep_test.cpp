// The held-lock record every simulated lock keeps per agent (sim/sync/held_locks.hpp) and the
// "caller holds X" checks built on it (sim/sync/lockdep_assert.hpp): modes, nesting, releases
// by a thread that does not hold the lock, and the messages a broken rule gives.
#include <gtest/gtest.h>

#include <string>

#include "sim/core/error.hpp"
#include "sim/sync/lockdep_assert.hpp"
#include "sim/sync/rwlock.hpp"
#include "sim/sync/spinlock.hpp"
#include "tests/sync_test_harness.hpp"

namespace mmusim {
namespace {

using testing::SyncRig;

constexpr Addr kRwWord = phys_layout::kKernelBase + 0x1000;
constexpr Addr kSpinWord = phys_layout::kKernelBase + 0x2000;

// The message of the ModelError `f` throws, or "" when it throws none.
template <class F>
std::string broken_rule(F&& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

TEST(HeldLocks, ModesNestAndReleaseInAnyOrder) {
  HeldLocks h;
  int x = 0, y = 0;
  h.acquired(&x, LockMode::Shared);
  h.acquired(&y, LockMode::Exclusive);
  EXPECT_EQ(h.depth(), 2u);
  EXPECT_TRUE(h.holds(&x, LockMode::Shared));
  EXPECT_FALSE(h.holds(&x, LockMode::Exclusive));
  EXPECT_FALSE(h.released(&y, LockMode::Shared));  // held, but not in that mode
  EXPECT_TRUE(h.released(&x, LockMode::Shared));   // not the innermost: still fine
  EXPECT_FALSE(h.holds(&x));
  EXPECT_TRUE(h.holds(&y));
  EXPECT_TRUE(h.released(&y, LockMode::Exclusive));
  EXPECT_EQ(h.depth(), 0u);
}

TEST(Lockdep, RwLockRulesFollowTheCallersOwnMode) {
  SyncRig rig(2);
  RwLock lock("hv.lock.mmu_lock", kRwWord, rig.stats);
  std::string as_reader_write, as_reader_mode_write, other_agent, after_unlock, writer_read;
  bool reader_ok = false, writer_ok = false;
  rig.spawn(0, [&](Agent& a) {
    lock.read_lock(a);
    lockdep_check_held(a, lock, "f");
    lockdep_check_held_read(a, lock, "f");
    lockdep_check_held_mode(a, lock, true, "f");
    reader_ok = true;
    as_reader_write = broken_rule([&] { lockdep_check_held_write(a, lock, "zap_root"); });
    as_reader_mode_write = broken_rule([&] { lockdep_check_held_mode(a, lock, false, "g"); });
    a.advance(100);
    lock.read_unlock(a);
    after_unlock = broken_rule([&] { lockdep_check_held(a, lock, "h"); });
    lock.write_lock(a);
    lockdep_check_held_write(a, lock, "f");
    lockdep_check_held(a, lock, "f");
    writer_ok = true;
    writer_read = broken_rule([&] { lockdep_check_held_read(a, lock, "r"); });
    lock.write_unlock(a);
  });
  rig.spawn(1, [&](Agent& b) {
    b.advance(10);
    b.sync();  // while agent0 reads: holding is per thread, not "someone holds it"
    other_agent = broken_rule([&] { lockdep_check_held(b, lock, "map"); });
  });
  rig.run();
  EXPECT_TRUE(reader_ok);
  EXPECT_TRUE(writer_ok);
  EXPECT_EQ(as_reader_write, "zap_root: agent0 does not hold hv.lock.mmu_lock for write");
  EXPECT_EQ(as_reader_mode_write, "g: agent0 does not hold hv.lock.mmu_lock for write");
  EXPECT_EQ(other_agent, "map: agent1 does not hold hv.lock.mmu_lock");
  EXPECT_EQ(after_unlock, "h: agent0 does not hold hv.lock.mmu_lock");
  EXPECT_EQ(writer_read, "r: agent0 does not hold hv.lock.mmu_lock for read");
}

TEST(Lockdep, ReleaseByAThreadThatDoesNotHoldTheLockIsAModelError) {
  SyncRig rig(2);
  RwLock rw("rw", kRwWord, rig.stats);
  SpinLock spin("spin", kSpinWord, rig.stats);
  std::string read_unlock, write_unlock, spin_unlock;
  rig.spawn(0, [&](Agent& a) {
    rw.read_lock(a);
    spin.lock(a);
    a.advance(1000);
    a.sync();
    spin.unlock(a);
    rw.read_unlock(a);
  });
  rig.spawn(1, [&](Agent& b) {
    b.advance(100);
    b.sync();  // agent0 holds both now
    read_unlock = broken_rule([&] { rw.read_unlock(b); });
    write_unlock = broken_rule([&] { rw.write_unlock(b); });
    spin_unlock = broken_rule([&] { spin.unlock(b); });
  });
  rig.run();
  EXPECT_EQ(read_unlock, "rwlock rw read_unlock by agent1, which is no reader");
  EXPECT_EQ(write_unlock, "rwlock rw write_unlock by agent1, which does not hold it");
  EXPECT_EQ(spin_unlock, "spinlock spin unlocked by agent1, which does not hold it");
}

TEST(Lockdep, SpinLockAndRcuRules) {
  SyncRig rig(1);
  SpinLock lock("hv.lock.kvm_lock", kSpinWord, rig.stats);
  std::string before, inside, rcu;
  rig.spawn(0, [&](Agent& a) {
    before = broken_rule([&] { lockdep_check_held(a, lock, "lock_all_vcpus"); });
    lock.lock(a);
    inside = broken_rule([&] { lockdep_check_held(a, lock, "lock_all_vcpus"); });
    lock.unlock(a);
    rcu = broken_rule([&] { lockdep_check_rcu(a, "handle_removed_table"); });
    a.rcu_depth = 1;
    lockdep_check_rcu(a, "handle_removed_table");
    a.rcu_depth = 0;
  });
  rig.run();
  EXPECT_EQ(before, "lock_all_vcpus: agent0 does not hold hv.lock.kvm_lock");
  EXPECT_EQ(inside, "");
  EXPECT_EQ(rcu, "handle_removed_table: agent0 is not in an RCU read-side section");
}

}  // namespace
}  // namespace mmusim
