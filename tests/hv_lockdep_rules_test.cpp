// The hypervisor MMUs check their "caller holds mmu_lock" rules in check builds
// (sim/sync/lockdep_assert.hpp): an MMU-notifier callback entered without the lock is a
// ModelError naming the callback, the thread and the lock; entered as MmuNotifier does, with
// notifier_lock() held, it runs. Ordinary builds compile the checks out (the test says so).
#include <gtest/gtest.h>

#include <string>

#include "app/platform.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "sim/sync/lockdep_assert.hpp"

using namespace mmusim;

namespace {

class Nothing : public OpStream {
 public:
  bool next(Op&) override { return false; }
};

struct Outcome {
  std::string without_lock;
  std::string with_lock;
};

Outcome unmap_with_and_without_lock(Arch arch) {
  SimConfig c;
  c.arch = arch;
  c.quiet = true;
  c.vcpus = 1;
  c.mem_per_vcpu = 1 << 20;
  Outcome out;
  Platform* plat = nullptr;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  h.host_threads.push_back({"notifier", [&](Agent& a) {
    const uint64_t gfn = GuestLayout::kDataGpa >> kPageShift;
    const GfnRange r{nullptr, gfn, gfn + 4};
    NotifierCallbacks& mmu = *capability<NotifierCallbacks>(plat->mmu());
    try {
      mmu.unmap_gfn_range(a, r);
    } catch (const ModelError& e) {
      out.without_lock = e.what();
    }
    mmu.notifier_lock(a);
    try {
      mmu.unmap_gfn_range(a, r);
    } catch (const ModelError& e) {
      out.with_lock = e.what();
    }
    mmu.notifier_unlock(a);
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  return out;
}

void expect_rule_checked(Arch arch) {
  if (!kCheckLocks) GTEST_SKIP() << "lock rules are checked in check builds (MMUSIM_CHECK_LOCKS)";
  const Outcome o = unmap_with_and_without_lock(arch);
  EXPECT_NE(o.without_lock.find("unmap_gfn_range: notifier"), std::string::npos) << o.without_lock;
  EXPECT_NE(o.without_lock.find("does not hold hv.lock.mmu_lock"), std::string::npos)
      << o.without_lock;
  EXPECT_EQ(o.with_lock, "");
}

}  // namespace

TEST(LockRules, X86TdpNotifierCallbackNeedsMmuLockForWrite) { expect_rule_checked(Arch::X86); }
TEST(LockRules, Arm64NotifierCallbackNeedsMmuLockForWrite) { expect_rule_checked(Arch::Arm64); }
TEST(LockRules, MipsNotifierCallbackNeedsMmuLock) { expect_rule_checked(Arch::Mips); }
