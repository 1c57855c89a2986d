// TLB tags on shared physical CPUs (docs/ARCHITECTURE.md, Several VMs: TLB tags): the TLBs are
// the pCPUs', every vCPU thread pinned to a pCPU fills that pCPU's, and the tags KVM hands out
// (arm64 VMIDs per VM, x86 VPIDs per vCPU, MIPS ASIDs from a counter per pCPU) keep the entries of different VMs apart.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <set>

#include "app/platform.hpp"
#include "tests/platform_run.hpp"
#include "workloads/guest_layout.hpp"

using namespace mmusim;
using mmusim::testing::run_platform;
using mmusim::testing::stat;

namespace {

// Reads `pages` pages of the data window round and round, `rounds` times: TLB hits after the
// first round, as long as nothing invalidated the entries.
class Rounds : public OpStream {
 public:
  Rounds(uint64_t pages, uint64_t rounds) : pages_(pages), left_(pages * rounds) {}
  bool next(Op& op) override {
    if (left_ == 0) return false;
    --left_;
    op.kind = Op::Kind::Access;
    op.access = Access::Read;
    op.gva = GuestLayout::kDataGva + (i_++ % pages_) * kPageSize;
    return true;
  }

 private:
  uint64_t pages_, left_, i_ = 0;
};

PlatformHooks rounds(uint64_t pages, uint64_t times) {
  PlatformHooks h;
  h.stream = [=](unsigned) { return std::make_unique<Rounds>(pages, times); };
  return h;
}

// Four one-vCPU VMs on two pCPUs, preempted every few thousand cycles.
SimConfig overcommitted(Arch arch) {
  SimConfig c;
  c.quiet = true;
  c.arch = arch;
  c.vms = 4;
  c.vcpus = 1;
  c.pcpus = 2;
  c.mem_per_vcpu = 1 << 20;
  c.timeslice = 20000;
  return c;
}

struct Result {
  std::string json;
  double stale = 0;  // stale TLB hits the oracle saw, over every VM
};

Result run(const SimConfig& c, const PlatformHooks& hooks) {
  Result r;
  r.json = mmusim::testing::run_catching([&] {
    Platform p(c, hooks);
    p.run();
    std::ostringstream out;
    p.stats.write_json(out);
    return out.str();
  });
  for (unsigned vm = 0; vm < c.vms; ++vm)
    r.stale += std::max(0.0, stat(r.json, "vm." + std::to_string(vm) + ".check.stale_tlb_hit"));
  return r;
}

// Three VMIDs (2 bits, VMID 0 reserved) for four VMs: VMs take VMIDs as they run, the space
// runs out, a new generation starts and every TLB is invalidated (__kvm_flush_vm_context). A
// VMID reused by another VM then finds none of its former owner's entries. With the rollover's
// invalidation skipped (a tests-only knob), a VM that inherits a VMID on the pCPU its former
// owner ran on hits that VM's entries for the same guest addresses: the oracle reports them.
TEST(TlbTags, VmidRolloverInvalidatesEveryTlb) {
  SimConfig c = overcommitted(Arch::Arm64);
  c.vmid_bits_narrow = 2;
  const PlatformHooks h = rounds(16, 400);
  const Result ok = run(c, h);
  ASSERT_EQ(ok.json.rfind("exception", 0), std::string::npos) << ok.json;
  EXPECT_GT(stat(ok.json, "host.tlb_tag.rollovers"), 0);
  EXPECT_GT(stat(ok.json, "host.tlb_tag.rollover_flushed"), 0);
  EXPECT_GT(stat(ok.json, "host.tlb_tag.allocations"), 4);
  EXPECT_EQ(ok.stale, 0) << ok.json;
  for (unsigned vm = 0; vm < 4; ++vm)
    EXPECT_EQ(stat(ok.json, "vm." + std::to_string(vm) + ".check.violations"), 0);

  c.skip_vmid_rollover_flush = true;
  const Result skipped = run(c, h);
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
  const Result old = run(c, h);
  c.kvm_version = KvmRelease{5, 18};
  const Result now = run(c, h);
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
  const Result forced = run(c, h);
  EXPECT_GT(stat(forced.json, "host.tlb_tag.forced_exits"), 0);
}

// With 16-bit VMIDs the four VMs keep theirs: no rollover.
TEST(TlbTags, WideVmidSpaceNeverRollsOver) {
  const Result r = run(overcommitted(Arch::Arm64), rounds(16, 100));
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
  const Result r = run(c, rounds(8, 200));
  EXPECT_GT(stat(r.json, "host.tlb_tag.last_vcpu_ran_flushes"), 2) << r.json;
  EXPECT_GT(stat(r.json, "host.tlb_tag.last_vcpu_ran_flushed"), 0);
  EXPECT_EQ(r.stale, 0);
}

// MIPS (KVM MIPS without GuestIDs): one ASID counter per pCPU (asid_cache), shared by every
// vCPU of every VM on it. Three one-vCPU VMs on one pCPU with 1-bit ASIDs: the contexts outnumber
// the ASIDs, so entering with a stale version takes a new one and the counter keeps wrapping,
// each wrap flushing the pCPU's TLB. Every VM's new ASIDs come from the one counter.
SimConfig mips_three_vms_one_pcpu(MipsVirt virt) {
  SimConfig c = overcommitted(Arch::Mips);
  c.vms = 3;
  c.pcpus = 1;
  c.mips_asid_bits = 1;
  c.mips_virt = virt;
  if (virt == MipsVirt::Te) c.kvm_version = KvmRelease{5, 12};
  return c;
}

double mips_asids_taken(const std::string& json, unsigned vms) {
  double n = 0;
  for (unsigned vm = 0; vm < vms; ++vm)
    n += stat(json, "vm." + std::to_string(vm) + ".mips.asid.new") +
         stat(json, "vm." + std::to_string(vm) + ".mips.asid.wrap");
  return n;
}

TEST(TlbTags, MipsAsidCounterIsPerPcpuAndWraps) {
  for (MipsVirt virt : {MipsVirt::Vz, MipsVirt::Te}) {
    const SimConfig c = mips_three_vms_one_pcpu(virt);
    const Result r = run(c, rounds(8, 200));
    ASSERT_EQ(r.json.rfind("exception", 0), std::string::npos) << r.json;
    EXPECT_GT(stat(r.json, "host.tlb_tag.pcpu.0.asid_wraps"), 2) << mode_name(virt);
    // The pCPU's counter handed out each VM's first ASID and every later one, of all VMs.
    EXPECT_EQ(stat(r.json, "host.tlb_tag.pcpu.0.asids"), 3 + mips_asids_taken(r.json, 3))
        << mode_name(virt);
    for (unsigned vm = 0; vm < 3; ++vm) {
      const std::string v = "vm." + std::to_string(vm) + ".";
      EXPECT_GT(stat(r.json, v + "mips.asid.new") + stat(r.json, v + "mips.asid.wrap"), 0)
          << mode_name(virt) << " VM " << vm;
      EXPECT_EQ(stat(r.json, v + "check.violations"), 0) << mode_name(virt);
    }
    EXPECT_EQ(r.stale, 0) << mode_name(virt);
    // VZ without GuestID drops the guest TLB when the pCPU switches vCPUs; trap and emulate
    // does not (its host TLB is ASID-tagged throughout), so only there do wraps find entries
    // to flush (a VZ wrap comes at an entry right after the switch flush).
    if (virt == MipsVirt::Vz) {
      EXPECT_GT(stat(r.json, "host.tlb_tag.switch_flushes"), 2);
    } else {
      EXPECT_EQ(stat(r.json, "host.tlb_tag.switch_flushes"), 0);
      EXPECT_GT(stat(r.json, "host.tlb_tag.asid_wrap_flushed"), 0);
    }
  }
}

// Flush requests of two VMs on one pCPU advance that pCPU's one counter, and with --mips-asid-bits
// 2 it wraps; two pCPUs keep counters of their own.
TEST(TlbTags, MipsFlushesOfTwoVmsShareTheCounter) {
  SimConfig c = overcommitted(Arch::Mips);
  c.workload = WorkloadKind::DirtyLog;
  c.mips_dirty_log = true;
  c.vms = 4;
  c.pcpus = 2;
  c.mips_asid_bits = 2;
  const Result r = run(c, PlatformHooks{});
  ASSERT_EQ(r.json.rfind("exception", 0), std::string::npos) << r.json;
  EXPECT_GT(stat(r.json, "vm.0.mips.asid.new"), 0) << r.json;
  EXPECT_GT(stat(r.json, "vm.2.mips.asid.new"), 0);  // VM 0 and VM 2 share pCPU 0
  EXPECT_GT(stat(r.json, "host.tlb_tag.pcpu.0.asid_wraps"), 0);
  EXPECT_GT(stat(r.json, "host.tlb_tag.pcpu.1.asid_wraps"), 0);
  EXPECT_EQ(stat(r.json, "host.tlb_tag.pcpu.0.asids") + stat(r.json, "host.tlb_tag.pcpu.1.asids"),
            4 + mips_asids_taken(r.json, 4));
  EXPECT_EQ(r.stale, 0);
  for (unsigned vm = 0; vm < 4; ++vm)
    EXPECT_EQ(stat(r.json, "vm." + std::to_string(vm) + ".check.violations"), 0);
}

// Skipping the wrap's flush of the pCPU's TLB (a tests-only knob): a VM given an ASID another VM
// held before the wrap hits that VM's entries for the same guest addresses. Trap and emulate,
// since VZ's switch flush of the guest TLB would hide it.
TEST(TlbTags, MipsWrapWithoutFlushHitsAnotherVmsEntries) {
  SimConfig c = mips_three_vms_one_pcpu(MipsVirt::Te);
  c.skip_vmid_rollover_flush = true;
  const Result r = run(c, rounds(8, 200));
  ASSERT_EQ(r.json.rfind("exception", 0), std::string::npos) << r.json;
  EXPECT_GT(stat(r.json, "host.tlb_tag.pcpu.0.asid_wraps"), 0);
  EXPECT_EQ(stat(r.json, "host.tlb_tag.asid_wrap_flushed"), 0);
  EXPECT_GT(r.stale, 0) << "a reused ASID must hit its former holder's entries";
}

// --vpid off: every vCPU runs with VPID 0, and each VM entry and exit invalidates its mappings,
// so a vCPU misses again after each exit where with VPIDs its entries survive.
TEST(TlbTags, VpidOffFlushesAtEveryEntryAndExit) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::X86;
  c.vcpus = 2;
  c.mem_per_vcpu = 1 << 20;
  const Result on = run(c, rounds(8, 200));
  c.vpid = VpidMode::Off;
  const Result off = run(c, rounds(8, 200));
  EXPECT_EQ(stat(on.json, "host.tlb_tag.vpidless_flushes"), -1) << "no shared tag space";
  const double exits = stat(off.json, "guest.exits");
  EXPECT_GT(exits, 0) << off.json;
  EXPECT_GE(stat(off.json, "host.tlb_tag.vpidless_flushes"), 2 * exits);
  EXPECT_GT(stat(off.json, "host.tlb_tag.vpidless_flushed"), 0);
  EXPECT_GT(stat(off.json, "walk.count"), stat(on.json, "walk.count"));
}

}  // namespace
