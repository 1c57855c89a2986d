// Pause-loop exiting, directed yield and PV sched yield under vCPU overcommit
// (sim/cpu/vcpu_pause_loop.cpp): a vCPU spinning for the acknowledgements of its guest TLB
// shootdown gives its pCPU to the preempted target it waits for, so the wait ends sooner than
// when only the timeslice ends it.
#include <gtest/gtest.h>

#include "app/platform.hpp"
#include "tests/platform_run.hpp"
#include "tests/workload_config.hpp"

using namespace mmusim;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

// ebizzy with IPI shootdowns, 4 vCPUs on 2 pCPUs, the default 1 ms timeslice.
SimConfig overcommitted(Cycles ple_window, DirectedYield dy, PvSchedYield pv) {
  SimConfig c = mmusim::testing::workload_config(Arch::X86, WorkloadKind::Ebizzy, 4);
  c.pcpus = 2;
  c.flush = FlushKind::IpiAll;
  c.iterations = 4;
  c.ple_window = ple_window;
  c.directed_yield = dy;
  c.pv_sched_yield = pv;
  return c;
}

std::string run(const SimConfig& c) {
  auto r = run_platform(c);
  EXPECT_EQ(r.exit_code, 0) << r.stats_json.substr(0, 300);
  EXPECT_EQ(stat(r.stats_json, "check.violations"), 0);
  return r.stats_json;
}

}  // namespace

TEST(PauseLoopExiting, SpinnerYieldsToThePreemptedTargetAndWaitsLess) {
  const std::string on = run(overcommitted(4096, DirectedYield::On, PvSchedYield::Off));
  const std::string off = run(overcommitted(0, DirectedYield::On, PvSchedYield::Off));
  EXPECT_GT(stat(on, "sched.ple_exits"), 0);
  EXPECT_GT(stat(on, "sched.directed_yields"), 0);
  EXPECT_EQ(stat(off, "sched.ple_exits"), 0);
  EXPECT_EQ(stat(off, "sched.directed_yields"), 0);
  EXPECT_LT(stat(on, "guest.shootdown.latency", "sum"), stat(off, "guest.shootdown.latency", "sum"));
  EXPECT_LT(stat(on, "sim.cycles"), stat(off, "sim.cycles"));
}

TEST(PauseLoopExiting, ExitsWithoutDirectedYieldHandNothingOverAndTheWindowGrows) {
  const std::string exits_only = run(overcommitted(4096, DirectedYield::Off, PvSchedYield::Off));
  EXPECT_GT(stat(exits_only, "sched.ple_exits"), 0);
  EXPECT_EQ(stat(exits_only, "sched.directed_yields"), 0);
  EXPECT_EQ(stat(exits_only, "sched.yield_candidates_skipped"), 0);
  // The window doubles on every exit of a spin (grow_ple_window), so a spin of S cycles
  // exits about log2(S / 4096) times, far fewer than the S / 4096 of a fixed window.
  const double spun = stat(exits_only, "guest.shootdown.latency", "sum");
  EXPECT_LT(stat(exits_only, "sched.ple_exits") * 10, spun / 4096);
}

TEST(PauseLoopExiting, NoExitsWithAPcpuPerVcpu) {
  // Dedicated pCPUs: PAUSE exits disabled, as a VMM pinning each vCPU does; nothing is
  // preempted, so the run is the same whatever the window.
  SimConfig c = overcommitted(4096, DirectedYield::On, PvSchedYield::On);
  c.pcpus = 4;
  const std::string with = run(c);
  c.ple_window = 0;
  c.pv_sched_yield = PvSchedYield::Off;
  const std::string without = run(c);
  EXPECT_LE(stat(with, "sched.ple_exits"), 0);
  EXPECT_EQ(stat(with, "sim.cycles"), stat(without, "sim.cycles"));
}

// Directed yield across VMs: two VMs of 8 vCPUs on 8 pCPUs (thread t = vm * 8 + i on pCPU
// t % 8), so vCPU i of each VM shares pCPU i with vCPU i of the other and no two vCPUs of one VM
// share a pCPU: every yield_to target waits behind the other VM's vCPU i. The boost must
// reschedule that vCPU (resched_curr on the target's pCPU, whichever VM runs there): it is then
// preempted at its next check instead of at its tick, so most directed yields add a preemption.
TEST(PauseLoopExiting, DirectedYieldReschedulesAVcpuOfAnotherVm) {
  auto two_vms = [](DirectedYield dy) {
    SimConfig c = overcommitted(4096, dy, PvSchedYield::Off);
    c.vms = 2;
    c.vcpus = 8;  // with 4 on 4, targets answer in their work and spinners rarely yield
    c.pcpus = 8;
    c.iterations = 20;
    c.timeslice = 1000000;  // several ticks within the run
    auto r = run_platform(c);
    EXPECT_EQ(r.exit_code, 0) << r.stats_json.substr(0, 300);
    for (const char* vm : {"vm.0.", "vm.1."})
      EXPECT_EQ(stat(r.stats_json, std::string(vm) + "check.violations"), 0);
    return r.stats_json;
  };
  const std::string on = two_vms(DirectedYield::On), off = two_vms(DirectedYield::Off);
  const double yields = stat(on, "sched.directed_yields");
  EXPECT_GE(yields, 10);
  EXPECT_EQ(stat(off, "sched.directed_yields"), 0);
  EXPECT_GT(stat(on, "sched.preemptions"), stat(off, "sched.preemptions") + yields / 2)
      << "the boosted vCPUs' pCPUs were not rescheduled";
}

TEST(PvSchedYield, ShootdownSenderYieldsToAPreemptedTarget) {
  const std::string on = run(overcommitted(0, DirectedYield::On, PvSchedYield::On));
  const std::string off = run(overcommitted(0, DirectedYield::On, PvSchedYield::Off));
  EXPECT_GT(stat(on, "sched.pv_sched_yields"), 0);
  EXPECT_GT(stat(on, "sched.directed_yields"), 0);
  EXPECT_EQ(stat(off, "sched.pv_sched_yields"), 0);
  EXPECT_LT(stat(on, "guest.shootdown.latency", "sum"), stat(off, "guest.shootdown.latency", "sum"));
}
