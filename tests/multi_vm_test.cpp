// Several VMs on one host (docs/ARCHITECTURE.md, Several VMs): each VM has its own hypervisor
// MMU, memslots, mmu_lock and notifier sequence; the pCPUs, caches, DRAM and the host memory
// manager's page allocator are shared.
#include <gtest/gtest.h>

#include <sstream>

#include "app/platform.hpp"
#include "models/arm64/tlbi_broadcast.hpp"
#include "tests/platform_run.hpp"
#include "tests/repeat_stream.hpp"

using namespace mmusim;
using mmusim::testing::Repeat;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

SimConfig demand(Arch arch, unsigned vms) {
  SimConfig c;
  c.quiet = true;
  c.arch = arch;
  c.vcpus = 2;
  c.mem_per_vcpu = 4 << 20;
  c.vms = vms;
  return c;
}

class MultiVm : public ::testing::TestWithParam<Arch> {};

// Two copies of one VM, each vCPU on a pCPU of its own, run the same op streams over their own
// stage-2 tables: what the streams and the tables decide (accesses, TLB misses and so walks,
// faults, the pages mapped) is the same in both VMs and the same as a lone VM's. Their timing
// is not: the VMs share the caches, DRAM and the host's page allocator, so their cycles (and
// anything the time decides, such as how long a fault waited for mmu_lock) differ.
TEST_P(MultiVm, IdenticalVmsTakeTheSameFaultsAndWalksAsALoneVm) {
  const auto one = run_platform(demand(GetParam(), 1));
  const auto two = run_platform(demand(GetParam(), 2));
  ASSERT_EQ(one.exit_code, 0) << one.stats_json;
  ASSERT_EQ(two.exit_code, 0) << two.stats_json;
  for (const char* key : {"guest.accesses", "walk.count", "hv.fault.count", "hv.fault.fixed",
                          "check.touched_pages", "check.stage2_leaves"}) {
    const double lone = stat(one.stats_json, key);
    EXPECT_GT(lone, 0) << key;
    EXPECT_EQ(stat(two.stats_json, std::string("vm.0.") + key), lone) << key;
    EXPECT_EQ(stat(two.stats_json, std::string("vm.1.") + key), lone) << key;
    EXPECT_EQ(stat(two.stats_json, key), -1) << key << " is a per-VM statistic";
  }
  for (const char* vm : {"vm.0.", "vm.1."})
    EXPECT_EQ(stat(two.stats_json, std::string(vm) + "check.violations"), 0);
  // One host memory manager backs both: twice the pages, counted once, host-wide.
  EXPECT_EQ(stat(two.stats_json, "host.mm.pages_installed"),
            2 * stat(one.stats_json, "host.mm.pages_installed"));
  EXPECT_EQ(stat(two.stats_json, "host.backed_bytes"),
            2 * stat(one.stats_json, "host.backed_bytes"));
}

INSTANTIATE_TEST_SUITE_P(Arches, MultiVm, ::testing::Values(Arch::X86, Arch::Arm64, Arch::Mips),
                         [](const ::testing::TestParamInfo<Arch>& i) {
                           return std::string(mode_name(i.param));
                         });

// With --pcpus one host scheduler runs every VM's vCPU threads: four threads of two VMs on two
// pCPUs wait for their pCPU and get preempted, where each has a pCPU of its own without it.
TEST(MultiVmScheduler, OneSchedulerSharesThePcpusBetweenTheVms) {
  SimConfig c = demand(Arch::X86, 2);
  c.timeslice = 100000;
  const auto own = run_platform(c);
  c.pcpus = 2;
  const auto shared = run_platform(c);
  ASSERT_EQ(own.exit_code, 0) << own.stats_json;
  ASSERT_EQ(shared.exit_code, 0) << shared.stats_json;
  EXPECT_EQ(stat(own.stats_json, "sched.wait", "count"), -1);  // no scheduler
  EXPECT_GE(stat(shared.stats_json, "sched.wait", "count"), 4);
  EXPECT_GT(stat(shared.stats_json, "sched.preemptions"), 0);
  EXPECT_GT(stat(shared.stats_json, "sim.cycles"), stat(own.stats_json, "sim.cycles"));
  for (const char* vm : {"vm.0.", "vm.1."}) {
    EXPECT_EQ(stat(shared.stats_json, std::string(vm) + "check.violations"), 0);
    // Every page is mapped once either way (a fault the preemption interrupted may be retried).
    EXPECT_EQ(stat(shared.stats_json, std::string(vm) + "hv.fault.fixed"),
              stat(own.stats_json, std::string(vm) + "hv.fault.fixed"));
  }
}

// On one pCPU the four vCPU threads of two VMs run one at a time: the time each ran (from its
// start to its end, less the time it waited descheduled) adds up to no more than the run. vCPU 0
// of VM 0 and vCPU 0 of VM 1 are different threads to the scheduler, so neither runs on the
// other's turn.
TEST(MultiVmScheduler, OnePcpuRunsOneVcpuThreadOfAnyVmAtATime) {
  SimConfig c = demand(Arch::X86, 2);
  c.timeslice = 100000;
  c.pcpus = 1;
  const auto r = run_platform(c);
  ASSERT_EQ(r.exit_code, 0) << r.stats_json;
  double ran = 0;
  for (const char* vm : {"vm.0.", "vm.1."}) {
    for (const char* v : {"vcpu.0.", "vcpu.1."}) {
      const std::string pre = std::string(vm) + v;
      const double run = stat(r.stats_json, pre + "populate_cycles") -
                         stat(r.stats_json, pre + "descheduled_cycles");
      EXPECT_GT(run, 0) << pre;
      ran += run;
    }
  }
  EXPECT_LE(ran, stat(r.stats_json, "sim.cycles"));
}

// --progress with several VMs: one meter for the host counts every VM's ops and every VM's
// faults (not only VM 0's, whose fault counter it was built next to).
TEST(MultiVmProgress, TheProgressLineCountsEveryVmsFaults) {
  SimConfig c = demand(Arch::X86, 2);
  c.progress = ProgressMode::On;
  c.progress_after = 1e6;  // never shown during the run: the test reads the line itself
  Platform p(c);
  p.run();
  ASSERT_TRUE(p.progress);
  const uint64_t vm0 = p.stats.value("vm.0.hv.fault.count"), vm1 = p.stats.value("vm.1.hv.fault.count");
  ASSERT_GT(vm0, 0u);
  ASSERT_GT(vm1, 0u);
  const std::string line = p.progress->line(1.0);
  EXPECT_NE(line.find("), " + std::to_string(vm0 + vm1) + " faults |"), std::string::npos) << line;
}

// arm64 broadcast TLBI (models/arm64/tlbi_broadcast.hpp): the DVM channel is the host's
// interconnect, not a VM's. One flush of 64 pages by IPA (65 TLBI messages) in each of two VMs
// at the same cycle: the later of the two waits on the channel for the other's messages. A lone
// VM's same flush waits for nothing.
namespace {
std::string flush_64_pages_in_every_vm(unsigned vms) {
  SimConfig c = demand(Arch::Arm64, vms);
  c.flush = FlushKind::Broadcast;
  Platform* plat = nullptr;
  PlatformHooks h;
  for (unsigned vm = 0; vm < vms; ++vm)
    h.host_threads.push_back({"flusher" + std::to_string(vm), [&plat, vm](Agent& a) {
      a.wait_cycles(20000);  // the vCPUs are faulting their first pages in, far from done
      plat->vm(vm).flush.flush_range(a, -1, GuestLayout::kDataGpa, 64 * kPageSize);
    }});
  Platform p(c, h);
  plat = &p;
  p.run();
  std::ostringstream out;
  p.stats.write_json(out);
  return out.str();
}
}  // namespace

TEST(MultiVmBroadcastTlbi, TwoVmsFlushesQueueOnTheHostsDvmChannel) {
  const std::string one = flush_64_pages_in_every_vm(1), two = flush_64_pages_in_every_vm(2);
  const Cycles tlbi_op = BroadcastTlbiParams{}.tlbi_op;
  EXPECT_EQ(stat(one, "hv.tlbi.dvm_wait", "sum"), 0) << one;
  EXPECT_EQ(stat(one, "hv.tlbi.ops"), 65 + 1);  // the flush and the teardown's VMALLS12E1IS
  double waited = 0;
  for (const char* vm : {"vm.0.", "vm.1."}) {
    EXPECT_EQ(stat(two, std::string(vm) + "hv.tlbi.ops"), 65 + 1) << vm;
    EXPECT_EQ(stat(two, std::string(vm) + "check.violations"), 0) << vm;
    waited += stat(two, std::string(vm) + "hv.tlbi.dvm_wait", "sum");
  }
  EXPECT_GE(waited, double(65 * tlbi_op)) << two;
}

// KSM merges the same guest page of two VMs onto one shared frame. Each VM's memory is its own
// VMM process's mm, so the merge is one rmap step per VM, and each raises that mm's MMU notifier:
// both VMs zap their mapping, and the vCPU's next read maps the shared frame read-only. The
// oracle checks each VM's final tables against its own mm.
TEST(MultiVmKsm, MergingAPageOfTwoVmsInvalidatesBothVmsMappings) {
  SimConfig c = demand(Arch::X86, 2);
  c.vcpus = 1;
  const Addr gva = GuestLayout::kDataGva, gpa = GuestLayout::kDataGpa;
  const uint64_t gfn = gpa >> kPageShift;
  Platform* plat = nullptr;
  Addr shared = 0;
  bool merged[2] = {false, false};
  PlatformHooks h;
  h.stream = [&](unsigned) { return std::make_unique<Repeat>(gva, 3000, 100); };
  h.host_threads.push_back({"ksmd", [&](Agent& a) {
    a.wait_cycles(100000);  // both vCPUs have mapped the page and keep reading it
    shared = plat->vm(0).host.new_shared_frame();
    for (int vm = 0; vm < 2; ++vm) merged[vm] = plat->vm(vm).host.ksm_merge(a, gfn, shared);
  }});
  Platform p(c, h);
  plat = &p;
  p.run();
  ASSERT_EQ(p.vm_count(), 2u);
  EXPECT_EQ(p.stats.value("host.mm.ksm_merge"), 2u);
  for (int vm = 0; vm < 2; ++vm) {
    SCOPED_TRACE(vm);
    EXPECT_TRUE(merged[vm]);
    const std::string pre = "vm." + std::to_string(vm) + ".";
    EXPECT_EQ(p.stats.value(pre + "hv.notifier.invalidate_range_start"), 1u);
    EXPECT_EQ(p.stats.value(pre + "hv.notifier.change_pte"), 1u);
    EXPECT_EQ(p.stats.value(pre + "check.violations"), 0u);
    // Faulted in again after the zap: the first fault, then the one after the merge.
    EXPECT_EQ(p.stats.value(pre + "hv.fault.fixed"), 2u);
    bool found = false;
    for (const Stage2Leaf& l : p.vm(vm).final_leaves) {
      if (l.gpa != gpa) continue;
      found = true;
      EXPECT_EQ(l.hpa, shared);
      EXPECT_FALSE(l.perms.write);
    }
    EXPECT_TRUE(found);
  }
}

// VMs of a host file differ (sim/core/config_host_file.hpp): each is built from its own config, and
// their vCPU threads are numbered one after another over the host's pCPUs. A VM of one vCPU
// and one of three, without --pcpus, give four pCPUs and no scheduler; on two pCPUs the same
// four threads share them (VM 1's vCPU 1 is thread 2, on pCPU 0 with VM 0's vCPU 0).
TEST(MultiVmHostFile, VmsOfDifferentSizesRunSideBySide) {
  SimConfig c = demand(Arch::X86, 1);
  SimConfig small = c, big = c;
  small.vm_name = "small";
  small.vcpus = 1;
  big.vm_name = "big";
  big.vcpus = 3;
  big.mem_per_vcpu = 8 << 20;
  c.vm_configs = {small, big};
  c.vms = 2;
  c.timeslice = 100000;
  ASSERT_EQ(c.total_vcpus(), 4u);
  const auto own = run_platform(c);
  c.pcpus = 2;
  const auto shared = run_platform(c);
  for (const auto* r : {&own, &shared}) {
    ASSERT_EQ(r->exit_code, 0) << r->stats_json;
    EXPECT_EQ(stat(r->stats_json, "vm.0.sim.vcpus"), 1);
    EXPECT_EQ(stat(r->stats_json, "vm.1.sim.vcpus"), 3);
    // Each VM touched its own memory: 1 x 4M and 3 x 8M, 4K pages.
    EXPECT_EQ(stat(r->stats_json, "vm.0.hv.fault.fixed"), 1024);
    EXPECT_EQ(stat(r->stats_json, "vm.1.hv.fault.fixed"), 3 * 2048);
    EXPECT_EQ(stat(r->stats_json, "vm.0.check.violations"), 0);
    EXPECT_EQ(stat(r->stats_json, "vm.1.check.violations"), 0);
  }
  EXPECT_EQ(stat(own.stats_json, "sched.wait", "count"), -1);  // a pCPU per thread
  EXPECT_GT(stat(shared.stats_json, "sched.preemptions"), 0);
}

}  // namespace
