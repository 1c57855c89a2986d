// Simulated deadlock is detected and reported, never a hang: a host thread takes the x86
// mmu_lock for write and never releases it while a vCPU faults and needs it. sc_start then runs
// out of events with threads still blocked, and Platform::run throws DeadlockError naming every
// blocked thread and the lock it waits for (app/main.cpp maps it to exit status 3).
#include <gtest/gtest.h>

#include <string>

#include "app/platform.hpp"
#include "sim/core/error.hpp"
#include "sim/hv/notifier_callbacks.hpp"

using namespace mmusim;

namespace {

SimConfig one_vcpu(MmuLockMode lock) {
  SimConfig c;
  c.quiet = true;
  c.vcpus = 1;
  c.mem_per_vcpu = 1 << 20;
  c.mmu_lock = lock;
  return c;
}

// Runs the platform with a host thread "lock_holder" that takes mmu_lock for write and then
// either waits forever (still alive, blocked) or returns holding it; gives the deadlock report.
std::string deadlock_report(MmuLockMode lock, bool holder_waits_forever) {
  PlatformHooks h;
  Platform* plat = nullptr;
  const Event* never = nullptr;  // notified by nobody
  h.host_threads.push_back({"lock_holder", [&, holder_waits_forever](Agent& a) {
    // mmu_lock for write, as an MMU notifier takes it
    capability<NotifierCallbacks>(plat->mmu())->notifier_lock(a);
    if (holder_waits_forever) a.wait_event(*never, "a wake-up nobody sends");
  }});
  Platform p(one_vcpu(lock), h);
  plat = &p;
  const Event nobody_notifies;  // an event of the platform's simulation, gone before it
  never = &nobody_notifies;
  try {
    p.run();
  } catch (const DeadlockError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the run finished although mmu_lock was never released";
  return "";
}

}  // namespace

TEST(Deadlock, LockNeverReleasedNamesWaiterAndLock) {
  const std::string m = deadlock_report(MmuLockMode::Shared, false);
  SCOPED_TRACE(m);
  EXPECT_EQ(m.rfind("simulated deadlock at cycle ", 0), 0u);
  // The vCPU waits for mmu_lock (its first entry loads the root under mmu_lock for write).
  EXPECT_NE(m.find("vcpu.0 waits for lock_wait:hv.lock.mmu_lock:"), std::string::npos);
  // ... held by the host thread, which returned: it is named as the holder, not as blocked.
  EXPECT_NE(m.find(" held by lock_holder;"), std::string::npos);
  EXPECT_EQ(m.find("lock_holder waits for"), std::string::npos);
}

TEST(Deadlock, BlockedHolderIsListedToo) {
  const std::string m = deadlock_report(MmuLockMode::Exclusive, true);
  SCOPED_TRACE(m);
  EXPECT_NE(m.find("vcpu.0 waits for lock_wait:hv.lock.mmu_lock:"), std::string::npos);
  EXPECT_NE(m.find(" held by lock_holder;"), std::string::npos);
  EXPECT_NE(m.find("lock_holder waits for a wake-up nobody sends;"), std::string::npos);
}

TEST(Deadlock, IsAModelErrorForOlderCallers) {
  // Callers that catch ModelError (tests, tools) still see the deadlock.
  EXPECT_THROW(throw DeadlockError("x"), ModelError);
}
