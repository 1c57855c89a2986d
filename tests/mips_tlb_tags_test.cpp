// MIPS TLB tags on shared physical CPUs (docs/ARCHITECTURE.md, Several VMs: TLB tags): tags
// come from a counter per pCPU, and whose context holds one depends on the mode -- each vCPU's
// guest mm (trap and emulate), the VM's GPA mm (VZ without GuestIDs: Root ASID Dealias), or a
// GuestID per vCPU (VZ with --mips-guestid-bits).
#include <gtest/gtest.h>

#include "tests/tlb_tags_fixture.hpp"

using namespace mmusim;
using namespace mmusim::testing;

namespace {

// MIPS (KVM MIPS without GuestIDs): one ASID counter per pCPU (asid_cache), shared by every
// vCPU of every VM on it. Three one-vCPU VMs on one pCPU with 1-bit ASIDs: the contexts outnumber
// the ASIDs, so entering with a stale version takes a new one and the counter keeps wrapping,
// each wrap flushing the pCPU's TLB. Every VM's new ASIDs come from the one counter.
SimConfig mips_three_vms_one_pcpu(MipsVirt virt, unsigned guestid_bits = 0) {
  SimConfig c = overcommitted(Arch::Mips);
  c.vms = 3;
  c.mips_guestid_bits = guestid_bits;
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

TEST(MipsTlbTags, AsidCounterIsPerPcpuAndWraps) {
  for (MipsVirt virt : {MipsVirt::Vz, MipsVirt::Te}) {
    const SimConfig c = mips_three_vms_one_pcpu(virt);
    const Result r = run_vms(c, rounds(8, 200));
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
TEST(MipsTlbTags, FlushesOfTwoVmsShareTheCounter) {
  SimConfig c = overcommitted(Arch::Mips);
  c.workload = WorkloadKind::DirtyLog;
  c.mips_dirty_log = true;
  c.vms = 4;
  c.pcpus = 2;
  c.mips_asid_bits = 2;
  const Result r = run_vms(c, PlatformHooks{});
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
TEST(MipsTlbTags, WrapWithoutFlushHitsAnotherVmsEntries) {
  SimConfig c = mips_three_vms_one_pcpu(MipsVirt::Te);
  c.skip_vmid_rollover_flush = true;
  const Result r = run_vms(c, rounds(8, 200));
  ASSERT_EQ(r.json.rfind("exception", 0), std::string::npos) << r.json;
  EXPECT_GT(stat(r.json, "host.tlb_tag.pcpu.0.asid_wraps"), 0);
  EXPECT_EQ(stat(r.json, "host.tlb_tag.asid_wrap_flushed"), 0);
  EXPECT_GT(r.stale, 0) << "a reused ASID must hit its former holder's entries";
}

// One VM of two vCPUs on one pCPU, dirty logging (each round's clear flushes remote TLBs).
SimConfig mips_two_vcpus_one_pcpu(unsigned guestid_bits) {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = 2;
  c.pcpus = 1;
  c.mem_per_vcpu = 1 << 20;
  c.timeslice = 20000;
  c.workload = WorkloadKind::DirtyLog;
  c.mips_dirty_log = true;
  c.mips_guestid_bits = guestid_bits;
  return c;
}

// VZ without GuestIDs: the VM has one GPA mm, so its vCPUs on a pCPU share one root ASID, and a
// remote flush marks that context once (kvm_vz_flush_shadow_all sets asid_flush_mask): the
// pCPU's counter hands out at most one ASID per flush for the VM, not one per vCPU. The vCPU
// that enters second finds the new ASID taken and runs with it.
TEST(MipsTlbTags, VzVcpusOfOneVmShareItsRootAsid) {
  const SimConfig c = mips_two_vcpus_one_pcpu(0);
  const Result r = run_vms(c, PlatformHooks{});
  ASSERT_EQ(r.json.rfind("exception", 0), std::string::npos) << r.json;
  const double flushes = stat(r.json, "hv.flush.count");
  const double asids = stat(r.json, "host.tlb_tag.pcpu.0.asids");
  ASSERT_GT(flushes, 4) << r.json;
  EXPECT_GT(asids, 1);
  EXPECT_LE(asids, 1 + flushes) << "a flush gave each vCPU its own ASID";
  EXPECT_EQ(asids, 1 + stat(r.json, "mips.asid.new") + stat(r.json, "mips.asid.wrap"));
  EXPECT_GT(stat(r.json, "host.tlb_tag.switch_flushes"), 2);
  EXPECT_EQ(stat(r.json, "check.violations"), 0);
  EXPECT_EQ(r.stale, 0);
}

// VZ with GuestIDs: each vCPU has a GuestID of its own on the pCPU (so two firsts), a flush
// request drops the vCPU's GuestIDs (kvm_vz_check_requests), and the guest TLB, tagged by
// GuestID, needs no flush when the pCPU switches vCPUs.
TEST(MipsTlbTags, GuestIdsAreTheVcpusOwnAndSurviveSwitches) {
  const Result r = run_vms(mips_two_vcpus_one_pcpu(8), PlatformHooks{});
  ASSERT_EQ(r.json.rfind("exception", 0), std::string::npos) << r.json;
  const double guestids = stat(r.json, "host.tlb_tag.pcpu.0.guestids");
  EXPECT_EQ(guestids, 2 + stat(r.json, "mips.asid.new") + stat(r.json, "mips.asid.wrap"));
  EXPECT_GT(stat(r.json, "mips.asid.new"), stat(r.json, "hv.flush.count"))
      << "each vCPU takes a new GuestID per flush";
  EXPECT_EQ(stat(r.json, "host.tlb_tag.switch_flushes"), 0);
  EXPECT_LT(stat(r.json, "host.tlb_tag.pcpu.0.asids"), 0) << "no root ASIDs are handed out";
  EXPECT_EQ(stat(r.json, "check.violations"), 0);
  EXPECT_EQ(r.stale, 0);
}

// The same reads round and round on a pCPU shared by two vCPUs: without GuestIDs each switch
// drops the guest TLB and the combined entries, so the vCPUs refill them again and again; with
// GuestIDs they survive.
TEST(MipsTlbTags, GuestIdsSpareTheRefillsOfASwitch) {
  SimConfig c = mips_two_vcpus_one_pcpu(0);
  c.workload = WorkloadKind::DemandPaging;
  c.mips_dirty_log = false;
  const Result rad = run_vms(c, rounds(8, 400));
  c.mips_guestid_bits = 8;
  const Result gid = run_vms(c, rounds(8, 400));
  ASSERT_EQ(rad.json.rfind("exception", 0), std::string::npos) << rad.json;
  ASSERT_EQ(gid.json.rfind("exception", 0), std::string::npos) << gid.json;
  EXPECT_GT(stat(rad.json, "host.tlb_tag.switch_flushes"), 2);
  EXPECT_LT(stat(gid.json, "mips.vz.guest_refill"), stat(rad.json, "mips.vz.guest_refill"));
  EXPECT_EQ(rad.stale + gid.stale, 0);
}

// A 1-bit GuestID space (one GuestID per version, 0 being the root's) for three VMs on one pCPU:
// every new GuestID wraps the counter, and each wrap flushes the pCPU's TLBs
// (kvm_vz_local_flush_roottlb_all_guests). With that flush skipped (a tests-only knob) a VM
// given the GuestID another held hits that VM's entries, since nothing else separates them.
TEST(MipsTlbTags, GuestIdWrapFlushesThePcpu) {
  SimConfig c = mips_three_vms_one_pcpu(MipsVirt::Vz, 1);
  const Result ok = run_vms(c, rounds(8, 200));
  ASSERT_EQ(ok.json.rfind("exception", 0), std::string::npos) << ok.json;
  EXPECT_GT(stat(ok.json, "host.tlb_tag.pcpu.0.guestid_wraps"), 2);
  EXPECT_GT(stat(ok.json, "host.tlb_tag.asid_wrap_flushed"), 0);
  EXPECT_EQ(ok.stale, 0);
  c.skip_vmid_rollover_flush = true;
  const Result skipped = run_vms(c, rounds(8, 200));
  EXPECT_GT(skipped.stale, 0) << "a reused GuestID must hit its former holder's entries";
}

// Two vCPUs, each on a pCPU of its own, while the host swaps their pages out: each swap-out's
// MMU notifier flushes remote TLBs.
SimConfig mips_swap_storm() {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::Mips;
  c.vcpus = 2;
  c.mem_per_vcpu = 1 << 20;
  c.workload = WorkloadKind::SwapStorm;
  c.host_events = 6;
  return c;
}

// A remote flush renews the root ASID without GuestIDs, which tags the root TLB only: the
// guest's own GVA->GPA pairs (the untagged guest TLB) survive it, as in KVM, where a root ASID
// flush affects the root TLB alone (kvm_vz_check_requests). With GuestIDs the flush retires the
// vCPU's guest TLB entries too, so its guest refills them. One vCPU per pCPU: no switches.
TEST(MipsTlbTags, RootAsidFlushKeepsTheGuestTlb) {
  SimConfig c = mips_swap_storm();
  const Result rad = run_vms(c, PlatformHooks{});
  c.mips_guestid_bits = 8;
  const Result gid = run_vms(c, PlatformHooks{});
  ASSERT_EQ(rad.json.rfind("exception", 0), std::string::npos) << rad.json;
  ASSERT_EQ(gid.json.rfind("exception", 0), std::string::npos) << gid.json;
  EXPECT_GT(stat(rad.json, "hv.flush.count"), 4);
  EXPECT_LT(stat(rad.json, "mips.vz.guest_refill"), stat(gid.json, "mips.vz.guest_refill"));
  EXPECT_EQ(rad.stale + gid.stale, 0);
}

// The flusher's side of VZ without GuestIDs is part of kvm_arch_flush_remote_tlbs: a strategy
// that skips the flush (unsafe-skip) skips marking the VM's root ASID too, so the vCPUs keep
// hitting translations the host took away, and the oracle sees them; with the flush, none.
TEST(MipsTlbTags, SkippedFlushLeavesTheRootAsidAndItsStaleEntries) {
  SimConfig c = mips_swap_storm();
  const Result ok = run_vms(c, PlatformHooks{});
  ASSERT_EQ(ok.json.rfind("exception", 0), std::string::npos) << ok.json;
  EXPECT_GT(stat(ok.json, "mips.asid.new"), 0);
  EXPECT_EQ(ok.stale, 0);
  c.flush = FlushKind::UnsafeSkip;
  const Result skipped = run_vms(c, PlatformHooks{});
  ASSERT_EQ(skipped.json.rfind("exception", 0), std::string::npos) << skipped.json;
  EXPECT_EQ(stat(skipped.json, "mips.asid.new"), 0) << "nobody marked the VM's ASID";
  EXPECT_GT(skipped.stale, 0);
}

}  // namespace
