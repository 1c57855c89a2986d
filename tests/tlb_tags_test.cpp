// TLB tags on shared physical CPUs (docs/ARCHITECTURE.md, Several VMs: TLB tags): the TLBs are
// the pCPUs', every vCPU thread pinned to a pCPU fills that pCPU's, and the tags KVM hands out
// (arm64 VMIDs per VM, x86 VPIDs per vCPU) keep the entries of different VMs apart. MIPS's are in
// tests/mips_tlb_tags_test.cpp.
#include <gtest/gtest.h>

#include <set>

#include "tests/tlb_tags_fixture.hpp"

using namespace mmusim;
using namespace mmusim::testing;

namespace {

// Three VMIDs (2 bits, VMID 0 reserved) for four VMs: VMs take VMIDs as they run, the space
// runs out, a new generation starts and every TLB is invalidated (__kvm_flush_vm_context). A
// VMID reused by another VM then finds none of its former owner's entries. With the rollover's
// invalidation skipped (a tests-only knob), a VM that inherits a VMID on the pCPU its former
// owner ran on hits that VM's entries for the same guest addresses: the oracle reports them.
TEST(TlbTags, VmidRolloverInvalidatesEveryTlb) {
  SimConfig c = overcommitted(Arch::Arm64);
  c.vmid_bits_narrow = 2;
  const PlatformHooks h = rounds(16, 400);
  const Result ok = run_vms(c, h);
  ASSERT_EQ(ok.json.rfind("exception", 0), std::string::npos) << ok.json;
  EXPECT_GT(stat(ok.json, "host.tlb_tag.rollovers"), 0);
  EXPECT_GT(stat(ok.json, "host.tlb_tag.rollover_flushed"), 0);
  EXPECT_GT(stat(ok.json, "host.tlb_tag.allocations"), 4);
  EXPECT_EQ(ok.stale, 0) << ok.json;
  for (unsigned vm = 0; vm < 4; ++vm)
    EXPECT_EQ(stat(ok.json, "vm." + std::to_string(vm) + ".check.violations"), 0);

  c.skip_vmid_rollover_flush = true;
  const Result skipped = run_vms(c, h);
  ASSERT_EQ(skipped.json.rfind("exception", 0), std::string::npos) << skipped.json;
  EXPECT_GT(stat(skipped.json, "host.tlb_tag.rollovers"), 0);
  EXPECT_EQ(stat(skipped.json, "host.tlb_tag.rollover_flushed"), 0);
  EXPECT_GT(skipped.stale, 0) << "a reused VMID must hit its former owner's entries";
}

// Up to 5.17 (--vmid-allocator global, update_vmid): the rollover also makes every vCPU in guest
// mode exit (force_vm_exit), and every VM takes a new VMID, so there are more allocations; the
// 5.18 allocator keeps the VMIDs active on a pCPU and makes nobody exit.
TEST(TlbTags, GlobalVmidAllocatorForcesEveryVcpuOut) {
  SimConfig c = overcommitted(Arch::Arm64);
  c.vmid_bits_narrow = 2;
  const PlatformHooks h = rounds(16, 400);
  c.kvm_version = KvmRelease{5, 17};
  const Result old = run_vms(c, h);
  c.kvm_version = KvmRelease{5, 18};
  const Result now = run_vms(c, h);
  ASSERT_EQ(old.json.rfind("exception", 0), std::string::npos) << old.json;
  ASSERT_EQ(now.json.rfind("exception", 0), std::string::npos) << now.json;
  EXPECT_GT(stat(old.json, "host.tlb_tag.rollovers"), 0);
  EXPECT_GT(stat(old.json, "host.tlb_tag.forced_exits"), 0);
  EXPECT_GT(stat(now.json, "host.tlb_tag.rollovers"), 0);
  EXPECT_EQ(stat(now.json, "host.tlb_tag.forced_exits"), 0);
  EXPECT_EQ(old.stale, 0);
  EXPECT_EQ(now.stale, 0);
  // The option wins over the release.
  c.vmid_allocator = VmidAllocator::Global;
  const Result forced = run_vms(c, h);
  EXPECT_GT(stat(forced.json, "host.tlb_tag.forced_exits"), 0);
}

// Up to 5.17 the VMID allocation takes kvm_vmid_lock, and the rollover holds it while it waits
// for the forced exits and flushes: the vCPUs it made exit, re-entering, need a new VMID too and
// wait on the lock, so none runs a new-generation VMID before every TLB is clean.
TEST(TlbTags, GlobalRolloverHoldsKvmVmidLock) {
  SimConfig c = overcommitted(Arch::Arm64);
  c.vcpus = 2;
  c.pcpus = 4;
  c.vmid_bits_narrow = 2;
  c.kvm_version = KvmRelease{5, 17};
  const Result r = run_vms(c, rounds(16, 400));
  ASSERT_EQ(r.json.rfind("exception", 0), std::string::npos) << r.json;
  EXPECT_GT(stat(r.json, "host.tlb_tag.forced_exits"), 0) << r.json;
  // Every allocation under the lock; a vCPU whose sibling allocated meanwhile takes it too.
  EXPECT_GE(stat(r.json, "host.kvm_vmid_lock.acquire"), stat(r.json, "host.tlb_tag.allocations"));
  EXPECT_GT(stat(r.json, "host.kvm_vmid_lock.contended"), 0);
  EXPECT_EQ(r.stale, 0);
}

// With 16-bit VMIDs the four VMs keep theirs: no rollover.
TEST(TlbTags, WideVmidSpaceNeverRollsOver) {
  const Result r = run_vms(overcommitted(Arch::Arm64), rounds(16, 100));
  EXPECT_EQ(stat(r.json, "host.tlb_tag.rollovers"), 0) << r.json;
  EXPECT_EQ(stat(r.json, "host.tlb_tag.allocations"), 4);
  EXPECT_EQ(r.stale, 0);
}

// The vCPUs of two VMs on one pCPU fill that pCPU's TLBs: after the run its STLB holds entries
// of both VMs, for the same guest addresses, under two different tags.
TEST(TlbTags, VcpusOfTwoVmsOnOnePcpuShareItsTlb) {
  for (Arch arch : {Arch::X86, Arch::Arm64}) {
    SimConfig c = overcommitted(arch);
    c.vms = 2;
    c.pcpus = 1;
    Platform p(c, rounds(8, 50));
    p.run();
    std::set<unsigned> vms;
    std::set<uint16_t> tags;
    std::set<Addr> vas[2];
    p.tlbs->l2(0).for_each([&](TlbEntry& e) {
      vms.insert(e.vm);
      tags.insert(e.tag);
      vas[e.vm].insert(e.va_base);
    });
    EXPECT_EQ(vms.size(), 2u) << mode_name(arch);
    EXPECT_EQ(tags.size(), 2u) << mode_name(arch);
    EXPECT_EQ(vas[0], vas[1]) << mode_name(arch) << ": the same guest pages, tagged apart";
    // Both vCPUs looked up the one TLB: each hit its own entries, never the other VM's.
    std::ostringstream out;
    p.stats.write_json(out);
    EXPECT_EQ(stat(out.str(), "vm.0.check.violations"), 0);
    EXPECT_EQ(stat(out.str(), "vm.1.check.violations"), 0);
  }
}

// x86's KVM_REQ_TLB_FLUSH is kvm_vcpu_flush_tlb_all: INVEPT all-context on the pCPU, which
// drops every VPID's entries there, another VM's too. Remote flushes in VM 0 (a host thread
// flushing every 20,000 cycles) therefore cost VM 1, on the same pCPU, walks it would not
// take with a pCPU of its own; arm64 flushes by VMID, so VM 1 keeps its entries there.
TEST(TlbTags, X86FlushRequestDropsEveryVmsEntriesOnThePcpu) {
  auto vm1_walks = [](Arch arch, unsigned pcpus) {
    SimConfig c = overcommitted(arch);
    c.vms = 2;
    c.pcpus = pcpus;
    PlatformHooks h = rounds(8, 400);
    Platform* plat = nullptr;
    h.host_threads.push_back({"flusher", [&](Agent& a) {
      for (int i = 0; i < 20; ++i) {
        a.wait_cycles(20000);
        plat->vm(0).flush.flush_all(a, -1);
      }
    }});
    Platform p(c, h);
    plat = &p;
    p.run();
    EXPECT_EQ(p.stats.value("vm.1.check.violations"), 0u);
    return p.stats.value("vm.1.walk.count");
  };
  EXPECT_GT(vm1_walks(Arch::X86, 1), vm1_walks(Arch::X86, 2));
  EXPECT_EQ(vm1_walks(Arch::Arm64, 1) <= vm1_walks(Arch::Arm64, 2) + 8, true);
}

// The vCPUs of one arm64 VM share its VMID; on one pCPU, a vCPU loaded after the other drops
// the VMID's local entries (kvm_arch_vcpu_load's last_vcpu_ran rule), so it refills them.
TEST(TlbTags, Arm64LastVcpuRanDropsTheVmidsEntries) {
  SimConfig c = overcommitted(Arch::Arm64);
  c.vms = 1;
  c.vcpus = 2;
  c.pcpus = 1;
  const Result r = run_vms(c, rounds(8, 200));
  EXPECT_GT(stat(r.json, "host.tlb_tag.last_vcpu_ran_flushes"), 2) << r.json;
  EXPECT_GT(stat(r.json, "host.tlb_tag.last_vcpu_ran_flushed"), 0);
  EXPECT_EQ(r.stale, 0);
}

// --vpid off: every vCPU runs with VPID 0, and each VM entry and exit invalidates its mappings,
// so a vCPU misses again after each exit where with VPIDs its entries survive.
TEST(TlbTags, VpidOffFlushesAtEveryEntryAndExit) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::X86;
  c.vcpus = 2;
  c.mem_per_vcpu = 1 << 20;
  const Result on = run_vms(c, rounds(8, 200));
  c.vpid = VpidMode::Off;
  const Result off = run_vms(c, rounds(8, 200));
  EXPECT_EQ(stat(on.json, "host.tlb_tag.vpidless_flushes"), -1) << "no shared tag space";
  const double exits = stat(off.json, "guest.exits");
  EXPECT_GT(exits, 0) << off.json;
  EXPECT_GE(stat(off.json, "host.tlb_tag.vpidless_flushes"), 2 * exits);
  EXPECT_GT(stat(off.json, "host.tlb_tag.vpidless_flushed"), 0);
  EXPECT_GT(stat(off.json, "walk.count"), stat(on.json, "walk.count"));
}

}  // namespace
