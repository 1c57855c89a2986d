// The hypervisor MMU interfaces (docs/ARCHITECTURE.md, Hypervisor MMU interfaces): each arch's
// MMU offers exactly the capabilities it models, found through capability<Cap>, and the fault
// entry refuses an address of the space its hardware does not report.
#include <gtest/gtest.h>

#include <string>

#include "app/platform.hpp"
#include "sim/core/error.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "sim/hv/kvm_run_hook.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "sim/hv/root_invalidation.hpp"
#include "sim/hv/shadow_paging.hpp"
#include "tests/platform_run.hpp"

using namespace mmusim;

namespace {

class Nothing : public OpStream {
 public:
  bool next(Op&) override { return false; }
};

std::string capabilities_here(const SimConfig& c) {
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  Platform p(c, h);
  HypervisorMmu& m = p.mmu();
  std::string s;
  if (capability<DirtyLogging>(m)) s += "dirty-log ";
  if (capability<NotifierCallbacks>(m)) s += "notifiers ";
  if (capability<KvmRunHook>(m)) s += "kvm-run ";
  if (capability<RootInvalidation>(m)) s += "zap-all ";
  if (capability<ShadowPaging>(m)) s += "shadow-paging ";
  return s;
}

SimConfig small(Arch arch, X86Mmu x86_mmu = X86Mmu::Tdp) {
  SimConfig c;
  c.arch = arch;
  c.x86_mmu = x86_mmu;
  c.quiet = true;
  c.vcpus = 1;
  c.mem_per_vcpu = 1 << 20;
  return c;
}

// The capabilities the MMU of `c` has, named in a fixed order (each Platform has a simulation
// context of its own, so several are built one after another in this process).
std::string capabilities(const SimConfig& c) {
  return mmusim::testing::run_catching([&] { return capabilities_here(c); });
}

// The ModelError message handle_fault gives for `f` from a host thread ("" if none).
std::string fault_error(const SimConfig& c, const TranslationFault& f) {
  std::string err;
  Platform* plat = nullptr;
  PlatformHooks h;
  h.stream = [](unsigned) { return std::make_unique<Nothing>(); };
  h.host_threads.push_back({"faulter", [&](Agent& a) {
    try {
      plat->mmu().handle_fault(a, -1, f);
    } catch (const ModelError& e) {
      err = e.what();
    }
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  return err;
}

}  // namespace

TEST(MmuCapabilities, EachArchOffersWhatItModels) {
  EXPECT_EQ(capabilities(small(Arch::X86)), "dirty-log notifiers zap-all ");
  EXPECT_EQ(capabilities(small(Arch::X86, X86Mmu::Shadow)), "shadow-paging ");
  EXPECT_EQ(capabilities(small(Arch::Arm64)), "dirty-log notifiers kvm-run ");
  EXPECT_EQ(capabilities(small(Arch::Mips)), "dirty-log notifiers ");
}

TEST(MmuCapabilities, TdpMmuRefusesAGuestVirtualFault) {
  const std::string e = fault_error(small(Arch::X86), TranslationFault::gva(0x1000, Access::Read));
  EXPECT_NE(e.find("given a guest-virtual fault address"), std::string::npos) << e;
}

TEST(MmuCapabilities, ShadowMmuRefusesAGuestPhysicalFault) {
  const std::string e =
      fault_error(small(Arch::X86, X86Mmu::Shadow), TranslationFault::gpa(0x1000, Access::Read));
  EXPECT_NE(e.find("given a guest-physical fault address"), std::string::npos) << e;
}

// Shadow mode builds the shadow MMU only: no TDP MMU beside it allocates a root (hv.root.*)
// or takes part in teardown, while the TDP run has its root.
TEST(MmuCapabilities, ShadowModeBuildsNoTdpMmu) {
  SimConfig c = small(Arch::X86, X86Mmu::Shadow);
  c.workload = WorkloadKind::GuestPtChurn;  // a guest that builds its own tables, as shadow mode needs
  c.churn_steps = 20;
  const mmusim::testing::PlatformRun tdp = mmusim::testing::run_platform(small(Arch::X86));
  const mmusim::testing::PlatformRun shadow = mmusim::testing::run_platform(c);
  ASSERT_EQ(tdp.exit_code, 0) << tdp.stats_json;
  ASSERT_EQ(shadow.exit_code, 0) << shadow.stats_json;
  EXPECT_NE(tdp.stats_json.find("\"hv.root.allocated\""), std::string::npos);
  EXPECT_EQ(shadow.stats_json.find("\"hv.root.allocated\""), std::string::npos);
  EXPECT_EQ(shadow.stats_json.find("\"hv.notifier."), std::string::npos);
}
