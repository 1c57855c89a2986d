// The hypervisor MMU models take typed parameters: make_arch hands each arch only its own
// member of ArchParams, and a model built from Params sees values a SimConfig cannot give it
// (the shadow MMU's guest memory, which sets KVM's default budget of shadow pages).
#include <gtest/gtest.h>

#include "app/params_models.hpp"
#include "app/platform.hpp"
#include "models/arch_registry.hpp"

using namespace mmusim;

namespace {

// A platform whose memory, host mm, flush and RCU a second arch model is built on; the model
// keeps its statistics apart (its locks and counters would clash with the platform's).
struct ArchOnPlatform {
  ArchOnPlatform() : platform(config()), faults(stats) {}
  static SimConfig config() {
    SimConfig c;
    c.quiet = true;
    c.vcpus = 1;
    c.mem_per_vcpu = 64 << 10;
    return c;
  }
  std::unique_ptr<ArchModel> make(Arch arch, const ArchParams& params) {
    Platform& p = platform;
    ArchDeps d{p.phys, p.pool,  p.host,     p.flush,  p.rcu,    p.heap,
               stats,  faults,  p.timeline, p.oracle, p.touched, p.memsys.dvm};
    return make_arch(arch, params, d);
  }
  Platform platform;
  Stats stats;
  FaultStats faults;
};

}  // namespace

TEST(ModelsParams, ShadowPageBudgetFollowsTheGuestMemoryItIsGiven) {
  // kvm_mmu_calculate_default_mmu_pages: 20 per mille of the guest's pages, at least 64.
  ShadowMmuParams p;
  p.guest_mem_bytes = 2ull << 30;
  EXPECT_EQ(ShadowMmu::max_mmu_pages(p), (2ull << 30) / 4096 * 20 / 1000);
  p.guest_mem_bytes = 1ull << 20;
  EXPECT_EQ(ShadowMmu::max_mmu_pages(p), 64u);
  p.shadow_max_pages = 500;  // --shadow-max-pages wins
  EXPECT_EQ(ShadowMmu::max_mmu_pages(p), 500u);

  ArchOnPlatform env;
  ArchParams params;
  params.x86.x86_mmu = X86Mmu::Shadow;
  params.x86.shadow.guest_mem_bytes = 8ull << 30;
  auto arch = env.make(Arch::X86, params);
  ShadowMmu* shadow = dynamic_cast<X86Arch&>(*arch).shadow();
  ASSERT_NE(shadow, nullptr);
  EXPECT_EQ(shadow->max_pages(), (8ull << 30) / 4096 * 20 / 1000);
}

TEST(ModelsParams, TheBuilderGivesTheShadowMmuTheChurnWorkloadsMemory) {
  SimConfig c;
  c.vcpus = 3;
  c.churn_procs = 5;
  c.churn_proc_bytes = 8 << 20;
  c.shadow_max_pages = 0;
  const ShadowMmuParams p = arch_params(c).x86.shadow;
  EXPECT_EQ(p.guest_mem_bytes, uint64_t(3) * 5 * (8 << 20));
  EXPECT_EQ(ShadowMmu::max_mmu_pages(p), std::max<uint64_t>(64, 120ull * 256 * 20 / 1000));
}

TEST(ModelsParams, MakeArchBuildsEachArchFromItsOwnMember) {
  ArchOnPlatform env;
  ArchParams params;
  params.x86.guest_levels = 5;  // x86's: the arm64 model must not see it
  params.arm64.ipa_bits = 36;
  params.arm64.s2_levels = 3;
  auto arm = env.make(Arch::Arm64, params);
  const auto& s2 = dynamic_cast<const Arm64S2Format&>(arm->stage2_format());
  EXPECT_EQ(s2.ipa_bits(), 36u);
  EXPECT_EQ(s2.levels(), 3u);
  EXPECT_EQ(arm->guest_format().levels(), 4u);

  ArchOnPlatform env2;  // statistics of its own
  auto x86 = env2.make(Arch::X86, params);
  EXPECT_EQ(x86->guest_format().levels(), 5u);
}

// Every latency a hypervisor model reads is written twice, in SimConfig and in the model's own
// Params: the builders must hand each model its own default.
TEST(ModelsParams, LatencyDefaultsAreTheModelsOwn) {
  const SimConfig cfg;
  const TdpMmuParams tdp_mmu = tdp_mmu_params(cfg), tdp_mmu_own;
  EXPECT_EQ(tdp_mmu.ipi, tdp_mmu_own.ipi);
  EXPECT_EQ(tdp_mmu.fault_entry, tdp_mmu_own.fault_entry);
  EXPECT_EQ(tdp_mmu.tdp_map_work, tdp_mmu_own.tdp_map_work);
  EXPECT_EQ(tdp_mmu.spte_change_work, tdp_mmu_own.spte_change_work);
  EXPECT_EQ(tdp_mmu.page_alloc, tdp_mmu_own.page_alloc);
  EXPECT_EQ(tdp_mmu.cond_resched, tdp_mmu_own.cond_resched);
  const ShadowMmuParams shadow_mmu = shadow_mmu_params(cfg), shadow_mmu_own;
  EXPECT_EQ(shadow_mmu.fault_entry, shadow_mmu_own.fault_entry);
  EXPECT_EQ(shadow_mmu.page_alloc, shadow_mmu_own.page_alloc);
  EXPECT_EQ(shadow_mmu.shadow_fault_work, shadow_mmu_own.shadow_fault_work);
  EXPECT_EQ(shadow_mmu.shadow_emulate, shadow_mmu_own.shadow_emulate);
  EXPECT_EQ(shadow_mmu.shadow_sync_work, shadow_mmu_own.shadow_sync_work);
  EXPECT_EQ(shadow_mmu.l1_hit, shadow_mmu_own.l1_hit);
  const Stage2MmuParams stage2_mmu = stage2_mmu_params(cfg), stage2_mmu_own;
  EXPECT_EQ(stage2_mmu.fault_entry, stage2_mmu_own.fault_entry);
  EXPECT_EQ(stage2_mmu.s2_map_work, stage2_mmu_own.s2_map_work);
  EXPECT_EQ(stage2_mmu.spte_change_work, stage2_mmu_own.spte_change_work);
  EXPECT_EQ(stage2_mmu.page_alloc, stage2_mmu_own.page_alloc);
  EXPECT_EQ(stage2_mmu.cond_resched, stage2_mmu_own.cond_resched);
  const BroadcastTlbiParams broadcast_tlbi = broadcast_tlbi_params(cfg), broadcast_tlbi_own;
  EXPECT_EQ(broadcast_tlbi.tlbi_op, broadcast_tlbi_own.tlbi_op);
  EXPECT_EQ(broadcast_tlbi.tlbi_dsb, broadcast_tlbi_own.tlbi_dsb);
  const LockedMemslotsParams locked_memslots = locked_memslots_params(cfg), locked_memslots_own;
  EXPECT_EQ(locked_memslots.request_check, locked_memslots_own.request_check);
  const MipsGpaMmuParams mips_gpa_mmu = mips_gpa_mmu_params(cfg), mips_gpa_mmu_own;
  EXPECT_EQ(mips_gpa_mmu.fault_entry, mips_gpa_mmu_own.fault_entry);
  EXPECT_EQ(mips_gpa_mmu.mips_map_work, mips_gpa_mmu_own.mips_map_work);
  EXPECT_EQ(mips_gpa_mmu.page_alloc, mips_gpa_mmu_own.page_alloc);
  const MipsRefillWalkerParams refill = mips_refill_walker_params(cfg), refill_own;
  EXPECT_EQ(refill.mips_tlb_exception, refill_own.mips_tlb_exception);
  EXPECT_EQ(refill.mips_refill_work, refill_own.mips_refill_work);
  EXPECT_EQ(refill.mips_asid_bump, refill_own.mips_asid_bump);
}
